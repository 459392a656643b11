// Processes of server mode may start in any order: a worker before PostgreSQL, an engine before the
// database exists, a worker before any engine installed the queue. Such failures mean "not yet",
// not "never": wait and retry with backoff, saying so once. (No heavy imports: workers use it.)

/** error codes that mean "not yet" rather than "never" */
export const NOT_READY_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P03',
  '3D000',
  '42P01',
  '3F000',
])

/** Retries `fn` while it fails for a reason in NOT_READY_CODES, with backoff up to 10 s; says so once. */
export async function whenReady<T>(fn: () => Promise<T>, wait: (reason: string, code: string) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      const code = (e as { code?: string }).code
      if (!code || !NOT_READY_CODES.has(code)) throw e
      if (attempt === 0) wait((e as Error).message, code)
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)))
    }
  }
}
