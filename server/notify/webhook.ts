// Sending one JSON message to a webhook from the server process: a bounded timeout per attempt,
// bounded retries with exponential backoff (network errors, timeouts, 408, 429 and 5xx; a 4xx
// other than those is the receiver's answer and final), redirects not followed (a 3xx is a
// failure: the message goes where the user said, nowhere else), and an outcome to record.
import type { WebhookMessage } from '../../client-safe/notify-messages.ts'

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

const RETRY_STATUS = new Set([408, 425, 429])

function retryable(status: number): boolean {
  return status >= 500 || RETRY_STATUS.has(status)
}

async function attemptOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ httpStatus: number | null; error: string | null }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    // the body is not ours to keep: read a little so the connection is released
    await res.body?.cancel().catch(() => undefined)
    if (res.status >= 200 && res.status < 300) return { httpStatus: res.status, error: null }
    if (res.status >= 300 && res.status < 400)
      return { httpStatus: res.status, error: `redirect to ${res.headers.get('location') ?? '?'} (not followed)` }
    return { httpStatus: res.status, error: `HTTP ${res.status}` }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } }
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      return { httpStatus: null, error: `no answer within ${timeoutMs} ms` }
    return { httpStatus: null, error: (err.cause?.code ?? err.cause?.message ?? err.message).slice(0, 300) }
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
  url: string,
  message: WebhookMessage,
  opts: DeliveryOptions = {},
): Promise<DeliveryOutcome> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const attempts = Math.max(1, Math.min(10, opts.attempts ?? 4))
  const base = opts.baseDelayMs ?? 1000
  const body = JSON.stringify(message)
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'fm-agent-webhook/1',
    'x-fm-agent-event': message.type,
    'x-fm-agent-delivery': message.id,
  }
  let last: { httpStatus: number | null; error: string | null } = { httpStatus: null, error: 'not sent' }
  for (let n = 1; n <= attempts; n++) {
    if (n > 1) await wait(base * 4 ** (n - 2), opts.signal)
    if (opts.signal?.aborted)
      return {
        ok: false,
        attempts: n - 1,
        httpStatus: last.httpStatus,
        error: 'the server stopped before the message was delivered',
      }
    last = await attemptOnce(url, body, headers, timeoutMs)
    const ok = last.error === null
    const retry =
      !ok && n < attempts && (last.httpStatus === null || (last.httpStatus >= 400 ? retryable(last.httpStatus) : false))
    await opts.onAttempt?.({ attempt: n, ok, ...last, retry })
    if (ok) return { ok: true, attempts: n, httpStatus: last.httpStatus, error: null }
    if (!retry) return { ok: false, attempts: n, ...last }
  }
  return { ok: false, attempts, ...last }
}
