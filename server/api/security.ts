// Browser-facing protections applied to every response of the console's HTTP server.
import type { IncomingMessage, ServerResponse } from 'node:http'

export function contentSecurityPolicy(dev: boolean) {
  return [
    "default-src 'self'",
    // Next's inline bootstrap scripts; eval only for the dev server's refresh runtime
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    // Monaco injects style elements and runs its language services in module workers
    "style-src 'self' 'unsafe-inline'",
    "worker-src 'self' blob:",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

export function setSecurityHeaders(res: ServerResponse, dev: boolean) {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(dev))
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Referrer-Policy', 'same-origin')
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()')
}

/**
 * CSRF: a state-changing request from a browser must come from this origin. Browsers send Origin
 * on every cross-site POST; requests authenticated by a bearer token carry no ambient credentials
 * and need no check. Cookie-less requests are checked too: a cross-site sign-in would log the
 * victim's browser into the attacker's account (login CSRF).
 */
export function isCrossSiteWrite(req: IncomingMessage, trustedOrigins: readonly string[] = []): boolean {
  const method = req.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false
  if (req.headers.authorization?.toLowerCase().startsWith('bearer ')) return false
  const fetchSite = req.headers['sec-fetch-site']
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') return true
  const origin = req.headers.origin
  if (!origin) return false
  try {
    const o = new URL(origin)
    // the console's own origins (FM_PUBLIC_URL behind a proxy that rewrites Host, its loopback addresses)
    if (trustedOrigins.some((t) => sameOrigin(t, o))) return false
    return o.host !== req.headers.host
  } catch {
    return true
  }
}

function sameOrigin(a: string, b: URL) {
  try {
    return new URL(a).origin === b.origin
  } catch {
    return false
  }
}

/**
 * The address a request came from, for per-client rate limits (sign-in attempts). A client's own
 * forwarding headers are ignored unless the operator says a proxy sits in front (FM_TRUST_PROXY):
 * then the last X-Forwarded-For entry, the one that proxy appended, is the client.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for']
    const last = (Array.isArray(fwd) ? fwd.join(',') : (fwd ?? ''))
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .pop()
    if (last) return last
  }
  return req.socket.remoteAddress ?? 'unknown'
}
