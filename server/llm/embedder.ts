// The Embedder interface shared by every embedding provider of the knowledge base (the offline
// hashing embedder and the transformers.js one live with the knowledge base), and the
// OpenAI-compatible embeddings client built on LangChain's OpenAIEmbeddings (imported at its first
// request, as the chat models are: chat-model.ts).
import { z } from 'zod'
import { ApiKeyEnvName, DEFAULT_TIMEOUT_S } from '../../client-safe/model-config.ts'
import { collectSecrets, isDefaultEndpoint, NO_KEY_PLACEHOLDER, resolveEndpoint, type Env } from './env.ts'
import { LlmError, toLlmError } from './errors.ts'
import { DEFAULT_RETRY_POLICY, RetryPolicy, withRetry, type RetryPolicyInput } from './retry.ts'

export interface EmbedOptions {
  signal?: AbortSignal
  /**
   * a person is waiting (a search): one attempt of at most ONCE_TIMEOUT_MS, no backoff. A failing
   * endpoint then costs them one refusal, not the retries' waits; the full-text half answers.
   */
  once?: boolean
  /**
   * a run waits (an island's retrieval, its cold start): at most `attempts` attempts within
   * `totalMs` in all, each attempt its share of it. Without it a failing endpoint held the run for
   * the chat model's retry budget (minutes) where full text answers at once.
   */
  within?: { attempts: number; totalMs: number }
}

const ONCE_TIMEOUT_MS = 10_000

/** Turns texts into vectors. Every vector an embedder returns has `dims` numbers. */
export interface Embedder {
  /** model id stored beside each vector, e.g. 'openai:text-embedding-3-small', 'hash:v1-384' */
  readonly id: string
  /** vector length; 0 only for a remote model of unknown size before its first call */
  readonly dims: number
  embed(texts: string[], options?: EmbedOptions): Promise<number[][]>
}

export const EmbedderConfig = z
  .object({
    provider: z.literal('openai'),
    model: z.string().min(1).max(200),
    baseURL: z.url().max(500).optional(),
    /** NAME of the variable holding the key (default OPENAI_API_KEY) */
    apiKeyEnv: ApiKeyEnvName.optional(),
    /** requested output size (text-embedding-3 models can shorten their vectors) */
    dimensions: z.number().int().positive().max(16_000).optional(),
    /** texts per request (default 128) */
    batchSize: z.number().int().positive().max(2048).optional(),
    /** per-request timeout in seconds (default 120) */
    timeoutS: z.number().positive().max(3600).optional(),
  })
  .strict()
export type EmbedderConfig = z.infer<typeof EmbedderConfig>
export type EmbedderConfigInput = z.input<typeof EmbedderConfig>

/** Native sizes of well-known OpenAI embedding models. */
export const KNOWN_EMBEDDING_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
}

export interface EmbedderOptions {
  retry?: RetryPolicyInput
  env?: Env
  random?: () => number
}

export interface RemoteEmbedder extends Embedder {
  /** requests and texts sent so far (for the console) */
  readonly stats: { requests: number; texts: number; failures: number }
}

function decodeBase64Float32(text: string): number[] {
  const buf = Buffer.from(text, 'base64')
  const f = new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 4))
  return Array.from(f)
}

/**
 * An embedder over an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama's /v1,
 * llama.cpp, text-embeddings-inference...). Requests `encoding_format: "float"`, batches
 * `batchSize` texts per request, retries like LlmClient, and checks every vector's size.
 * The id is `openai:<model>`, with `@<dimensions>` appended when a size is requested (vectors of
 * different sizes must not share an id: each id gets its own fixed-dimension index).
 */
export function createEmbedder(input: EmbedderConfigInput, options: EmbedderOptions = {}): RemoteEmbedder {
  const config = EmbedderConfig.parse(input)
  const policy = options.retry ? RetryPolicy.parse(options.retry) : DEFAULT_RETRY_POLICY
  const batchSize = config.batchSize ?? 128
  const id = `openai:${config.model}${config.dimensions ? `@${config.dimensions}` : ''}`
  let dims = config.dimensions ?? KNOWN_EMBEDDING_DIMS[config.model] ?? 0
  const stats = { requests: 0, texts: 0, failures: 0 }

  const embedBatch = async (
    batch: string[],
    signal: AbortSignal | undefined,
    opts: EmbedOptions,
  ): Promise<number[][]> => {
    const once = opts.once === true
    const within = opts.within
    const bounded = once
      ? { ...policy, maxAttempts: 1 }
      : within
        ? {
            ...policy,
            maxAttempts: Math.max(1, Math.min(policy.maxAttempts, within.attempts)),
            totalTimeoutMs: Math.min(policy.totalTimeoutMs, within.totalMs),
            // a backoff or a retry-after longer than the bound's share would only end in its deadline
            baseDelayMs: Math.min(policy.baseDelayMs, within.totalMs / 8),
            maxRetryAfterMs: Math.min(policy.maxRetryAfterMs, within.totalMs / 4),
          }
        : policy
    const attemptCapMs = once ? ONCE_TIMEOUT_MS : within ? within.totalMs / bounded.maxAttempts : Infinity
    const env = options.env ?? process.env
    const endpoint = resolveEndpoint({ provider: 'openai', baseURL: config.baseURL, apiKeyEnv: config.apiKeyEnv }, env)
    const secrets = collectSecrets(env, [endpoint.apiKey])
    const key = endpoint.apiKey ?? (isDefaultEndpoint(endpoint) ? undefined : NO_KEY_PLACEHOLDER)
    if (!key)
      throw new LlmError({
        kind: 'config',
        provider: 'openai',
        model: config.model,
        message: `no API key for embeddings model ${config.model}: set ${endpoint.keyEnvsTried.join(' or ')}`,
      })
    const { value } = await withRetry(
      async ({ signal: attemptSignal, timeoutMs }) => {
        stats.requests++
        const { OpenAIEmbeddings } = await import('@langchain/openai')
        const client = new OpenAIEmbeddings({
          model: config.model,
          apiKey: key,
          configuration: {
            baseURL: endpoint.baseURL,
            // the request itself ends with the attempt: a cancelled one kept its socket (and a process
            // with nothing else to do) open until the client's own timeout. Both signals live as long
            // as this one request, so composing them keeps nothing alive
            fetch: (url: string | URL | Request, init?: RequestInit) =>
              fetch(url, {
                ...init,
                signal: init?.signal ? AbortSignal.any([init.signal, attemptSignal]) : attemptSignal,
              }),
          },
          encodingFormat: 'float',
          batchSize: batch.length,
          stripNewLines: false,
          maxRetries: 0,
          timeout: timeoutMs,
          ...(config.dimensions ? { dimensions: config.dimensions } : {}),
        })
        // OpenAIEmbeddings takes no signal: race it, so abort and timeout return at once
        return await new Promise<unknown[]>((resolve, reject) => {
          if (attemptSignal.aborted) return reject(attemptSignal.reason)
          const onAbort = () => reject(attemptSignal.reason)
          attemptSignal.addEventListener('abort', onAbort, { once: true })
          client.embedDocuments(batch).then(
            (v) => {
              attemptSignal.removeEventListener('abort', onAbort)
              resolve(v as unknown[])
            },
            (e: unknown) => {
              attemptSignal.removeEventListener('abort', onAbort)
              reject(e)
            },
          )
        })
      },
      bounded,
      {
        ...(signal ? { signal } : {}),
        attemptTimeoutMs: Math.min(attemptCapMs, (config.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000),
        secrets,
        model: config.model,
        provider: 'openai',
        ...(options.random ? { random: options.random } : {}),
      },
    )
    if (!Array.isArray(value) || value.length !== batch.length)
      throw new LlmError({
        kind: 'malformed',
        provider: 'openai',
        model: config.model,
        message: `the embeddings endpoint returned ${Array.isArray(value) ? value.length : 'no'} vectors for ${batch.length} texts`,
      })
    const vectors = value.map((v) => (typeof v === 'string' ? decodeBase64Float32(v) : v))
    for (const v of vectors) {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new LlmError({
          kind: 'malformed',
          provider: 'openai',
          model: config.model,
          message: 'the embeddings endpoint returned a vector that is not an array of finite numbers',
        })
      if (dims === 0) dims = v.length
      if (v.length !== dims)
        throw new LlmError({
          kind: 'malformed',
          provider: 'openai',
          model: config.model,
          message: `expected ${dims}-dimensional vectors from ${config.model}, got ${v.length}`,
        })
    }
    return vectors as number[][]
  }

  return {
    id,
    get dims() {
      return dims
    },
    stats,
    async embed(texts: string[], embedOptions: EmbedOptions = {}): Promise<number[][]> {
      if (texts.length === 0) return []
      const out: number[][] = []
      try {
        for (let i = 0; i < texts.length; i += batchSize) {
          const batch = texts.slice(i, i + batchSize).map((t) => (t.length === 0 ? ' ' : t))
          out.push(...(await embedBatch(batch, embedOptions.signal, embedOptions)))
          stats.texts += batch.length
        }
      } catch (e) {
        stats.failures++
        throw e instanceof LlmError
          ? e
          : toLlmError(e, {
              secrets: collectSecrets(options.env ?? process.env),
              model: config.model,
              provider: 'openai',
            })
      }
      return out
    },
  }
}
