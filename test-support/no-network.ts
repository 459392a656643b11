// For tests that run handlers in this process: any name lookup that is not loopback is refused
// and recorded, so a handler that would reach the network fails loudly instead of leaving the
// machine (every HTTP client resolves host names through dns.lookup first).
import dns from 'node:dns'

const LOOPBACK_NAMES = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/

export function blockNetwork(): { attempts: string[]; restore(): void } {
  const attempts: string[] = []
  const original = dns.lookup
  ;(dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
    if (!LOOPBACK_NAMES.test(host)) {
      attempts.push(host)
      const cb = rest.find((x) => typeof x === 'function') as (e: Error) => void
      return cb(Object.assign(new Error(`test: no network (${host})`), { code: 'ENOTFOUND' }))
    }
    return (original as (...a: unknown[]) => unknown)(host, ...rest)
  }
  return { attempts, restore: () => void ((dns as { lookup: unknown }).lookup = original) }
}
