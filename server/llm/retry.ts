// Retry with exponential backoff and jitter, bounded in attempts and in total time, honouring
// retry-after, abortable. Shared by chat completions and embeddings.
import { z } from 'zod'
import { LlmError, toLlmError, type ClassifyContext, type Secrets } from './errors.ts'

export const RetryPolicy = z.object({
  /** attempts in all, the first included */
  maxAttempts: z.number().int().min(1).max(20).default(4),
  /** first backoff delay; doubles each retry */
  baseDelayMs: z.number().min(0).max(600_000).default(1000),
  maxDelayMs: z.number().min(0).max(600_000).default(30_000),
  /** wall-clock bound for the whole call, retries and waits included */
  totalTimeoutMs: z
    .number()
    .positive()
    .max(24 * 3600_000)
    .default(300_000),
  /** a retry-after longer than this ends the call instead of waiting */
  maxRetryAfterMs: z.number().min(0).max(3600_000).default(60_000),
  /** fraction of each backoff delay that is randomised (0: none, 1: full jitter) */
  jitter: z.number().min(0).max(1).default(0.5),
})
export type RetryPolicy = z.infer<typeof RetryPolicy>
export type RetryPolicyInput = z.input<typeof RetryPolicy>

export const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy.parse({})

export interface AttemptContext {
  attempt: number
  /** aborted by the caller, the per-attempt timeout or the total deadline */
  signal: AbortSignal
  /** ms this attempt may take */
  timeoutMs: number
}

export interface RetryHooks {
  signal?: AbortSignal
  /** per-attempt timeout (ms); bounded by what is left of totalTimeoutMs */
  attemptTimeoutMs: number
  secrets: Secrets
  model?: string
  provider?: string
  random?: () => number
  onRetry?: (info: { attempt: number; error: LlmError; delayMs: number }) => void
}

/** The backoff before retry number `retry` (1-based), without retry-after. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1))
  return Math.round(exp * (1 - policy.jitter + policy.jitter * random()))
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    if (ms <= 0) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface RetryOutcome<T> {
  value: T
  attempts: number
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs, attempts run out, or the total time
 * is spent. Always rejects with an LlmError carrying the number of attempts made.
 */
export async function withRetry<T>(
  fn: (ctx: AttemptContext) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks,
): Promise<RetryOutcome<T>> {
  const started = Date.now()
  const deadline = started + policy.totalTimeoutMs
  const random = hooks.random ?? Math.random
  const classify = (e: unknown, extra: Partial<ClassifyContext>) =>
    toLlmError(e, { secrets: hooks.secrets, model: hooks.model, provider: hooks.provider, ...extra })
  const finish = (error: LlmError, attempts: number) => {
    error.attempts = attempts
    error.latencyMs = Date.now() - started
    // "no answer within 57 s" alone named the last attempt's share of the call's time, not the setting
    if (error.kind === 'timeout' && attempts > 1 && !error.message.includes(' attempts, '))
      error.message += ` (${attempts} attempts, ${Math.round(error.latencyMs / 1000)} s in all; each attempt waits up to ${Math.round(hooks.attemptTimeoutMs / 1000)} s, a call up to ${Math.round(policy.totalTimeoutMs / 1000)} s)`
    return error
  }

  for (let attempt = 1; ; attempt++) {
    if (hooks.signal?.aborted) throw finish(classify(hooks.signal.reason, { aborted: true }), attempt - 1)
    const left = deadline - Date.now()
    if (left <= 0)
      throw finish(
        new LlmError({
          kind: 'timeout',
          message: `gave up after ${policy.totalTimeoutMs} ms in all`,
          model: hooks.model,
          provider: hooks.provider,
        }),
        attempt - 1,
      )
    const timeoutMs = Math.max(1, Math.min(hooks.attemptTimeoutMs, left))
    // one controller per attempt, aborted by its timer or by the caller's signal. Not
    // AbortSignal.any: Node keeps every signal composed with a long-lived one (a run's) for as long
    // as that one lives, ~2 KB per model call, and a run makes tens of thousands of calls.
    const attemptAbort = new AbortController()
    let timedOut = false
    const t = setTimeout(() => {
      timedOut = true
      attemptAbort.abort(new DOMException('attempt timed out', 'TimeoutError'))
    }, timeoutMs)
    const onAbort = () => attemptAbort.abort(hooks.signal!.reason)
    hooks.signal?.addEventListener('abort', onAbort, { once: true })
    let error: LlmError
    try {
      const value = await fn({ attempt, signal: attemptAbort.signal, timeoutMs })
      return { value, attempts: attempt }
    } catch (e) {
      error = classify(e, {
        aborted: hooks.signal?.aborted === true,
        timedOut: timedOut && !hooks.signal?.aborted,
        timeoutMs,
      })
    } finally {
      clearTimeout(t)
      hooks.signal?.removeEventListener('abort', onAbort)
    }
    if (!error.retryable || attempt >= policy.maxAttempts) throw finish(error, attempt)
    let delayMs = backoffDelay(policy, attempt, random)
    if (error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > policy.maxRetryAfterMs) throw finish(error, attempt)
      // the server said when to come back: do exactly that (no earlier, no later)
      delayMs = Math.ceil(error.retryAfterMs)
    }
    if (Date.now() + delayMs >= deadline) throw finish(error, attempt)
    hooks.onRetry?.({ attempt, error, delayMs })
    try {
      await abortableSleep(delayMs, hooks.signal)
    } catch (reason) {
      throw finish(classify(reason, { aborted: true }), attempt)
    }
  }
}
