// Sending one JSON message to a webhook from the server process: a bounded timeout per attempt,
// bounded retries with exponential backoff (network errors, timeouts, 408, 429 and 5xx; a 4xx
// other than those is the receiver's answer and final), redirects not followed (a 3xx is a
// failure: the message goes where the user said, nowhere else), and an outcome to record.
// The receiver's address is checked after resolution and the connection goes to exactly the
// address checked (webhook-address.ts): a name that resolves to an internal address, or that
// answers differently the second time it is asked (DNS rebinding), reaches nothing internal.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { WebhookMessage } from '../../client-safe/notify-messages.ts'
import { type AllowPolicy, checkAddress, hostTarget, policyFromEnv, refusal } from './webhook-address.ts'

/** Resolves a host name to every address it has (tests answer for names that do not exist). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  )

export interface DeliveryOptions {
  /** per attempt (default 5 s) */
  timeoutMs?: number
  /** attempts in all (default 4) */
  attempts?: number
  /** wait before retry n (1-based): baseDelayMs × 4^(n−1) (default 1 s: 1, 4, 16 s) */
  baseDelayMs?: number
  /** each attempt's outcome, as it happens (the delivery row is updated) */
  onAttempt?: (a: AttemptOutcome) => void | Promise<void>
  /** cut waiting short (the server stops) */
  signal?: AbortSignal
  /** which internal addresses may receive (default: FM_WEBHOOK_ALLOW_PRIVATE, read at each delivery) */
  policy?: AllowPolicy
  resolve?: Resolver
  /** the webhook's secret: each attempt is signed with it (x-fm-agent-signature) */
  secret?: string
  /**
   * Before each retry: where it goes now and with which secret (a webhook changed or renewed
   * meanwhile), or why it should not go at all (removed, its user disabled).
   */
  beforeRetry?: () => Promise<{ url: string; secret?: string } | { cancel: string }>
}

export const SIGNATURE_HEADER = 'x-fm-agent-signature'

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the webhook's secret>`: the time is
 * signed with the body, so a receiver that also checks it is recent refuses a replayed message.
 */
export function signatureHeader(secret: string, body: string, now = Date.now()): string {
  const t = Math.floor(now / 1000)
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`
}

/** The receiver's check (and this project's tests'): the signature matches and is at most `toleranceS` old. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  opts: { now?: number; toleranceS?: number } = {},
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '')
  if (!m) return false
  const t = Number(m[1])
  if (Math.abs((opts.now ?? Date.now()) / 1000 - t) > (opts.toleranceS ?? 300)) return false
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest()
  const got = Buffer.from(m[2]!, 'hex')
  return got.length === want.length && timingSafeEqual(got, want)
}

export interface AttemptOutcome {
  attempt: number
  ok: boolean
  httpStatus: number | null
  error: string | null
  /** whether another attempt may follow */
  retry: boolean
}

export interface DeliveryOutcome {
  ok: boolean
  attempts: number
  httpStatus: number | null
  error: string | null
}

/** A receiver the policy refuses: final, never retried. */
export class WebhookRefusedError extends Error {
  readonly code = 'FM_WEBHOOK_REFUSED'
}

/**
 * Checks a webhook address as the server would send to it: a literal address at once, a name
 * after resolving it (every address it has must pass). Null when it may receive; the refusal
 * otherwise. Used when a webhook is saved (a name that does not resolve is refused too: nothing
 * could be delivered) and, in the connection's own lookup, when a message is sent.
 */
export async function webhookTargetProblem(
  url: string,
  policy: AllowPolicy,
  resolve: Resolver = systemResolver,
  timeoutMs = 3000,
): Promise<string | null> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return 'not a valid address'
  }
  const target = hostTarget(u.hostname)
  if ('address' in target) {
    const c = checkAddress(target.address, policy)
    return c.ok ? null : refusal(u.hostname, c.cls, policy, false)
  }
  let timer: NodeJS.Timeout | undefined
  const addresses = await Promise.race([
    resolve(target.name),
    new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs)
    }),
  ])
    .catch((e: NodeJS.ErrnoException) => e)
    .finally(() => clearTimeout(timer))
  // a resolver that is slow or failing now may answer later: each delivery checks again
  if (addresses === null) return null
  if (addresses instanceof Error)
    return addresses.code === 'ENOTFOUND' || addresses.code === 'ENODATA'
      ? `${target.name}: no such host (the server cannot resolve it)`
      : null
  for (const a of addresses) {
    const c = checkAddress(a.address, policy)
    if (!c.ok) return refusal(target.name, c.cls, policy, true)
  }
  return addresses.length ? null : `${target.name}: no such host (the server cannot resolve it)`
}

/** The connection's lookup: resolve once, check every address, hand the socket only checked ones. */
function guardedLookup(policy: AllowPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const cb = callback as (err: Error | null, address: string | LookupAddress[], family?: number) => void
    resolve(hostname).then(
      (addresses) => {
        for (const a of addresses) {
          const c = checkAddress(a.address, policy)
          if (!c.ok) return cb(new WebhookRefusedError(refusal(hostname, c.cls, policy, true)), '')
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0
        const usable = addresses.filter((a) => !wanted || a.family === wanted)
        if (!usable.length) return cb(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '')
        if (options.all) cb(null, usable)
        else cb(null, usable[0]!.address, usable[0]!.family)
      },
      (e: Error) => cb(e, ''),
    )
  }
}

const RETRY_STATUS = new Set([408, 425, 429])

function retryable(status: number): boolean {
  return status >= 500 || RETRY_STATUS.has(status)
}

type Attempt = { httpStatus: number | null; error: string | null; final?: boolean }

async function attemptOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  policy: AllowPolicy,
  resolve: Resolver,
): Promise<Attempt> {
  const u = new URL(url)
  // an address in the URL is never looked up: it is checked here (names are checked in the lookup)
  const target = hostTarget(u.hostname)
  if ('address' in target) {
    const c = checkAddress(target.address, policy)
    if (!c.ok) return { httpStatus: null, error: `refused: ${refusal(u.hostname, c.cls, policy, false)}`, final: true }
  }
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest
  try {
    const res = await new Promise<IncomingMessage>((ok, fail) => {
      const req = request(
        {
          protocol: u.protocol,
          // the name as written: Host header, TLS server name and certificate check all use it;
          // only the socket's address comes from the guarded lookup
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || undefined,
          path: `${u.pathname}${u.search}`,
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: guardedLookup(policy, resolve),
          // no pooled sockets: each attempt connects to an address checked for it
          agent: false,
          signal: AbortSignal.timeout(timeoutMs),
        },
        ok,
      )
      req.on('error', fail)
      req.end(body)
    })
    // the body is not ours to keep: drop it so the connection is released
    res.resume()
    res.destroy()
    const status = res.statusCode ?? 0
    if (status >= 200 && status < 300) return { httpStatus: status, error: null }
    if (status >= 300 && status < 400)
      return { httpStatus: status, error: `redirect to ${res.headers.location ?? '?'} (not followed)` }
    return { httpStatus: status, error: `HTTP ${status}` }
  } catch (e) {
    if (e instanceof WebhookRefusedError) return { httpStatus: null, error: `refused: ${e.message}`, final: true }
    const err = e as NodeJS.ErrnoException & { cause?: { code?: string; message?: string } }
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      return { httpStatus: null, error: `no answer within ${timeoutMs} ms` }
    // several addresses tried in turn (happy eyeballs) fail as one: their first reason tells
    const first = (err as unknown as { errors?: NodeJS.ErrnoException[] }).errors?.[0]
    return { httpStatus: null, error: (err.code ?? first?.code ?? err.message).slice(0, 300) }
  }
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done)
  })
}

export async function deliverWebhook(
  firstUrl: string,
  message: WebhookMessage,
  opts: DeliveryOptions = {},
): Promise<DeliveryOutcome> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const attempts = Math.max(1, Math.min(10, opts.attempts ?? 4))
  const base = opts.baseDelayMs ?? 1000
  let url = firstUrl
  const body = JSON.stringify(message)
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'fm-agent-webhook/1',
    'x-fm-agent-event': message.type,
    'x-fm-agent-delivery': message.id,
  }
  const policy = opts.policy ?? policyFromEnv()
  const resolve = opts.resolve ?? systemResolver
  let last: Attempt = { httpStatus: null, error: 'not sent' }
  let secret = opts.secret
  for (let n = 1; n <= attempts; n++) {
    if (n > 1) await wait(base * 4 ** (n - 2), opts.signal)
    if (opts.signal?.aborted)
      return {
        ok: false,
        attempts: n - 1,
        httpStatus: last.httpStatus,
        error: 'the server stopped before the message was delivered',
      }
    if (n > 1 && opts.beforeRetry) {
      const now = await opts.beforeRetry()
      if ('cancel' in now)
        return { ok: false, attempts: n - 1, httpStatus: last.httpStatus, error: `cancelled: ${now.cancel}` }
      url = now.url
      secret = now.secret
    }
    const signed = secret ? { ...headers, [SIGNATURE_HEADER]: signatureHeader(secret, body) } : headers
    last = await attemptOnce(url, body, signed, timeoutMs, policy, resolve)
    const ok = last.error === null
    const retry =
      !ok &&
      !last.final &&
      n < attempts &&
      (last.httpStatus === null || (last.httpStatus >= 400 ? retryable(last.httpStatus) : false))
    await opts.onAttempt?.({ attempt: n, ok, httpStatus: last.httpStatus, error: last.error, retry })
    if (ok) return { ok: true, attempts: n, httpStatus: last.httpStatus, error: null }
    if (!retry) return { ok: false, attempts: n, httpStatus: last.httpStatus, error: last.error }
  }
  return { ok: false, attempts, httpStatus: last.httpStatus, error: last.error }
}
