import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { LlmError } from './errors.ts'
import { RetryPolicy, withRetry, type AttemptContext } from './retry.ts'

const policy = RetryPolicy.parse({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, jitter: 0 })
const hooks = { attemptTimeoutMs: 10_000, secrets: [] }

/** What a fetch does with the attempt's signal: listens while the request is out. */
async function request(ctx: AttemptContext): Promise<number> {
  const onAbort = () => undefined
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  await Promise.resolve()
  ctx.signal.removeEventListener('abort', onAbort)
  return ctx.attempt
}

describe('withRetry', () => {
  it('an attempt stops when the caller aborts, and the call rejects as aborted without retrying', async () => {
    const caller = new AbortController()
    let attempts = 0
    const call = withRetry(
      (ctx) =>
        new Promise((_, reject) => {
          attempts++
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })
          caller.abort(new DOMException('run stopped', 'AbortError'))
        }),
      policy,
      { ...hooks, signal: caller.signal },
    )
    const e = await call.catch((x: unknown) => x)
    expect(e).toBeInstanceOf(LlmError)
    expect((e as LlmError).kind).toBe('aborted')
    expect(attempts).toBe(1)
  })

  it('an attempt over its time is aborted and retried', async () => {
    const r = await withRetry(
      (ctx) =>
        ctx.attempt === 1
          ? new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
          : Promise.resolve('answer'),
      policy,
      { ...hooks, attemptTimeoutMs: 20 },
    )
    expect(r).toEqual({ value: 'answer', attempts: 2 })
  })

  it("a call whose every attempt timed out says how many and the settings, not only the last attempt's share", async () => {
    const e = await withRetry(
      (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      policy,
      { ...hooks, attemptTimeoutMs: 15 },
    ).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(LlmError)
    expect((e as LlmError).kind).toBe('timeout')
    expect((e as LlmError).message).toMatch(
      /^no answer within 0 s \(3 attempts, \d+ s in all; each attempt waits up to 0 s, a call up to 300 s\)$/,
    )
  })

  it("keeps nothing per call on a long-lived caller's signal (a run makes tens of thousands)", async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const run = new AbortController()
    const calls = async (n: number) => {
      for (let i = 0; i < n; i++) await withRetry(request, policy, { ...hooks, signal: run.signal })
    }
    await calls(2_000) // warm: code, pools
    gc()
    const before = process.memoryUsage().heapUsed
    await calls(20_000)
    gc()
    const grown = process.memoryUsage().heapUsed - before
    // composing with AbortSignal.any kept ~2 KB per call (~40 MB here) for as long as the run's signal lived
    expect(grown).toBeLessThan(3 * 1024 * 1024)
  })
})
