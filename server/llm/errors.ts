// The one error type that leaves server/llm. Every failure of a provider call (HTTP status,
// timeout, network, malformed or empty answer, abort, bad config) becomes an LlmError with a
// kind the engine can record and act on; its message is redacted and it holds no reference to
// the underlying SDK error (whose fields may carry request options).
import { redact } from './env.ts'

export const LLM_ERROR_KINDS = [
  /** 429 */
  'rate-limit',
  /** 5xx, 408, 409 */
  'server',
  /** the per-attempt or total time limit */
  'timeout',
  /** connection refused/reset, DNS, TLS */
  'network',
  /** 401/403, a 429 for an account out of quota, or no key for a provider's public API */
  'auth',
  /** other 4xx (bad model name, context overflow, bad parameter) */
  'bad-request',
  /** the body could not be parsed or lacks the expected fields */
  'malformed',
  /** a well-formed answer with no text */
  'empty',
  /** the caller's signal aborted the call */
  'aborted',
  /** unusable configuration (unknown provider, missing key...) */
  'config',
  /** anything else */
  'unknown',
] as const
export type LlmErrorKind = (typeof LLM_ERROR_KINDS)[number]

export const RETRYABLE_KINDS: ReadonlySet<LlmErrorKind> = new Set(['rate-limit', 'server', 'timeout', 'network'])

export interface LlmErrorInit {
  kind: LlmErrorKind
  message: string
  status?: number
  /** parsed retry-after (ms), when the server sent one */
  retryAfterMs?: number
  retryable?: boolean
  model?: string
  provider?: string
  attempts?: number
  latencyMs?: number
  /** tokens billed despite the failure (e.g. an empty answer), for budget accounting */
  tokensIn?: number
  tokensOut?: number
  costUsd?: number
}

export class LlmError extends Error {
  override name = 'LlmError'
  readonly kind: LlmErrorKind
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined
  readonly retryable: boolean
  model: string | undefined
  provider: string | undefined
  attempts: number
  latencyMs: number
  tokensIn: number
  tokensOut: number
  costUsd: number

  constructor(init: LlmErrorInit) {
    super(init.message)
    this.kind = init.kind
    this.status = init.status
    this.retryAfterMs = init.retryAfterMs
    this.retryable = init.retryable ?? RETRYABLE_KINDS.has(init.kind)
    this.model = init.model
    this.provider = init.provider
    this.attempts = init.attempts ?? 0
    this.latencyMs = init.latencyMs ?? 0
    this.tokensIn = init.tokensIn ?? 0
    this.tokensOut = init.tokensOut ?? 0
    this.costUsd = init.costUsd ?? 0
  }

  /** A plain, JSON-safe record for the candidate row / run events. */
  toJSON(): {
    kind: LlmErrorKind
    message: string
    status?: number
    model?: string
    provider?: string
    attempts: number
    latencyMs: number
    tokensIn: number
    tokensOut: number
    costUsd: number
  } {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.status !== undefined ? { status: this.status } : {}),
      ...(this.model !== undefined ? { model: this.model } : {}),
      ...(this.provider !== undefined ? { provider: this.provider } : {}),
      attempts: this.attempts,
      latencyMs: this.latencyMs,
      tokensIn: this.tokensIn,
      tokensOut: this.tokensOut,
      costUsd: this.costUsd,
    }
  }
}

export function isLlmError(e: unknown): e is LlmError {
  return e instanceof LlmError
}

type Headerish = { get?: (name: string) => string | null } | Record<string, unknown> | undefined | null

function header(headers: Headerish, name: string): string | undefined {
  if (!headers) return undefined
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get: (n: string) => string | null }).get(name)
    return v ?? undefined
  }
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v == null ? undefined : String(v)
  return undefined
}

/** Parses `retry-after-ms`, or `retry-after` as (fractional) seconds or an HTTP date, into ms. */
export function parseRetryAfter(headers: Headerish, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms')
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms))
  const ra = header(headers, 'retry-after')
  if (ra === undefined || ra.trim() === '') return undefined
  const secs = Number(ra)
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000)
  const date = Date.parse(ra)
  if (Number.isFinite(date)) return Math.max(0, date - now)
  return undefined
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
])

function errorCode(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 4) return undefined
  const code = (e as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code
  return errorCode((e as { cause?: unknown }).cause, depth + 1)
}

function statusOf(e: object): number | undefined {
  for (const key of ['status', 'status_code', 'statusCode'] as const) {
    const v = (e as Record<string, unknown>)[key]
    if (typeof v === 'number' && v >= 100 && v < 600) return v
  }
  return undefined
}

/**
 * OpenAI's 429 for an account out of credit (`insufficient_quota`, LangChain's InsufficientQuotaError):
 * no wait and no fewer requests in flight bring it back, so it is a refusal, not a rate limit.
 */
function quotaExhausted(e: object): boolean {
  const { name, code, type, error } = e as { name?: unknown; code?: unknown; type?: unknown; error?: unknown }
  const inner = error && typeof error === 'object' ? (error as { code?: unknown; type?: unknown }) : {}
  return (
    name === 'InsufficientQuotaError' || [code, type, inner.code, inner.type].some((v) => v === 'insufficient_quota')
  )
}

function rawMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  if (typeof e === 'string') return e
  try {
    return JSON.stringify(e)
  } catch {
    return String(e)
  }
}

/** Secret values to redact, or how to find them (only worked out when an error needs redacting). */
export type Secrets = readonly string[] | (() => readonly string[])

export interface ClassifyContext {
  secrets: Secrets
  /** the caller's signal fired */
  aborted?: boolean
  /** our per-attempt timer fired */
  timedOut?: boolean
  timeoutMs?: number
  model?: string
  provider?: string
}

/** Turns anything a provider SDK threw into an LlmError (redacted, no SDK object kept). */
export function toLlmError(e: unknown, ctx: ClassifyContext): LlmError {
  if (e instanceof LlmError) return e
  const base = { model: ctx.model, provider: ctx.provider }
  const secrets = typeof ctx.secrets === 'function' ? ctx.secrets() : ctx.secrets
  const msg = (m: string) => {
    const cleaned = redact(m, secrets)
      .replace(/\n*Troubleshooting URL: \S+\s*$/i, '')
      .trim()
    return cleaned.length > 2000 ? `${cleaned.slice(0, 2000)}…` : cleaned
  }
  if (ctx.aborted) return new LlmError({ ...base, kind: 'aborted', message: 'the call was aborted by the caller' })
  if (ctx.timedOut)
    return new LlmError({
      ...base,
      kind: 'timeout',
      message: `no answer within ${Math.round((ctx.timeoutMs ?? 0) / 100) / 10} s`,
    })
  const text = rawMessage(e)
  if (e && typeof e === 'object') {
    const name = (e as { name?: unknown }).name
    const ctor = (e as { constructor?: { name?: unknown } }).constructor?.name
    if (name === 'TimeoutError' || ctor === 'APIConnectionTimeoutError')
      return new LlmError({ ...base, kind: 'timeout', message: msg(text || 'request timed out') })
    if (name === 'AbortError' || ctor === 'APIUserAbortError')
      // an abort we did not ask for: a lower layer gave up on the connection
      return new LlmError({ ...base, kind: 'network', message: msg(text || 'request aborted') })
    // LangChain rethrows a provider's context overflow (OpenAI's context_length_exceeded, Anthropic's
    // "prompt is too long") as its own error, without the HTTP status: the same request fails every time
    if (
      ctor === 'ContextOverflowError' ||
      name === 'ContextOverflowError' ||
      /context_length_exceeded|maximum context length|prompt is too long|context window/i.test(text)
    )
      return new LlmError({
        ...base,
        kind: 'bad-request',
        status: statusOf(e),
        message: msg(`the prompt is longer than the model's context window (lower promptTokenBudget): ${text}`),
      })
    const status = statusOf(e)
    if (status !== undefined) {
      const retryAfterMs = parseRetryAfter((e as { headers?: Headerish }).headers)
      const m = msg(text || `HTTP ${status}`)
      if (status === 429 && quotaExhausted(e))
        return new LlmError({
          ...base,
          kind: 'auth',
          status,
          message: msg(
            `the provider refused the request: the account's quota is used up (insufficient_quota); check its plan, billing and quota with the provider (${msg(text)})`,
          ),
        })
      if (status === 429) return new LlmError({ ...base, kind: 'rate-limit', status, retryAfterMs, message: m })
      if (status >= 500 || status === 408 || status === 409 || status === 425)
        return new LlmError({ ...base, kind: 'server', status, retryAfterMs, message: m })
      if (status === 401 || status === 403) return new LlmError({ ...base, kind: 'auth', status, message: m })
      return new LlmError({ ...base, kind: 'bad-request', status, message: m })
    }
    if (
      ctor === 'APIConnectionError' ||
      errorCode(e) ||
      /fetch failed|socket hang up|connection error|network/i.test(text)
    )
      return new LlmError({ ...base, kind: 'network', message: msg(text || 'connection error') })
    if (e instanceof SyntaxError || /JSON|Unexpected token|Unterminated/i.test(text))
      return new LlmError({
        ...base,
        kind: 'malformed',
        message: msg(`the provider sent a body that is not valid JSON: ${text}`),
      })
    if (e instanceof TypeError && /Cannot read properties|undefined|null/i.test(text))
      return new LlmError({
        ...base,
        kind: 'malformed',
        message: msg(`the provider's answer lacks expected fields: ${text}`),
      })
    if (/API key|apiKey|api_key/i.test(text)) return new LlmError({ ...base, kind: 'config', message: msg(text) })
  }
  return new LlmError({ ...base, kind: 'unknown', message: msg(text || 'unknown error') })
}
