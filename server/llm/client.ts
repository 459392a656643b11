// LlmClient: one model, one `complete({system, user})` call with retries, timeouts, abort,
// token usage and cost. Keys are read from the environment on each call and never kept.
import type { AIMessageChunk, BaseMessage, UsageMetadata } from '@langchain/core/messages'
import {
  costUsd,
  DEFAULT_TIMEOUT_S,
  ModelConfig,
  modelId,
  type ModelConfigInput,
  type Provider,
} from '../../client-safe/model-config.ts'
import { createChatModel, preloadProvider } from './chat-model.ts'
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { collectSecrets, redact, resolveEndpoint, type Env } from './env.ts'
import { LlmError, toLlmError } from './errors.ts'
import { DEFAULT_RETRY_POLICY, RetryPolicy, withRetry, type RetryPolicyInput } from './retry.ts'

// LangChain's core (~250 modules with LangSmith) loads with the first model call, not with every
// command: `fm-agent --help`, `knowledge`, `status` and offline runs never need it
let langchainMessages: Promise<typeof import('@langchain/core/messages')> | undefined
const loadMessages = () => (langchainMessages ??= import('@langchain/core/messages'))

/** tokens one call may report reading or writing (2³¹ − 1: the counts' column type, far past any model's context) */
const MAX_CREDIBLE_TOKENS = 2 ** 31 - 1

export interface Prompt {
  system?: string
  user: string
}

export interface CompleteOptions {
  signal?: AbortSignal
  /** per-call overrides of the config */
  temperature?: number
  maxTokens?: number
  stream?: boolean
  /** with stream: called with each text delta as it arrives */
  onToken?: (delta: string) => void
}

export interface LlmCompletion {
  text: string
  tokensIn: number
  tokensOut: number
  costUsd: number
  /** the configured model name */
  model: string
  provider: Provider
  /** `provider:model` or the config's label */
  modelId: string
  /** wall time of the whole call, retries and waits included */
  latencyMs: number
  /** attempts made (1 when the first succeeded) */
  attempts: number
  /** true when the provider sent no usage, or none for one side, and a count is an estimate (4 chars per token) */
  usageEstimated: boolean
  finishReason?: string
}

export type LlmResult = ({ ok: true } & LlmCompletion) | { ok: false; error: LlmError }

export interface LlmClientOptions {
  retry?: RetryPolicyInput
  /** environment read at each call (default process.env) */
  env?: Env
  random?: () => number
  onRetry?: (info: { attempt: number; error: LlmError; delayMs: number }) => void
}

/** Rough token count used when a provider reports no usage. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4)
}

function finishReasonOf(message: BaseMessage): string | undefined {
  const meta = message.response_metadata as Record<string, unknown> | undefined
  const v = meta?.finish_reason ?? meta?.stop_reason ?? meta?.done_reason ?? meta?.finishReason
  return typeof v === 'string' ? v : undefined
}

export class LlmClient {
  readonly config: ModelConfig
  readonly id: string
  readonly retryPolicy: RetryPolicy
  readonly #env: Env | undefined
  readonly #random: (() => number) | undefined
  readonly #onRetry: LlmClientOptions['onRetry']

  constructor(config: ModelConfigInput | ModelConfig, options: LlmClientOptions = {}) {
    this.config = ModelConfig.parse(config)
    this.id = modelId(this.config)
    this.retryPolicy = options.retry ? RetryPolicy.parse(options.retry) : DEFAULT_RETRY_POLICY
    this.#env = options.env
    this.#random = options.random
    this.#onRetry = options.onRetry
    void preloadProvider(this.config.provider)
  }

  get provider(): Provider {
    return this.config.provider
  }

  get model(): string {
    return this.config.model
  }

  /** Same as complete(), but never rejects: failures come back as `{ ok: false, error }`. */
  async tryComplete(prompt: Prompt, options: CompleteOptions = {}): Promise<LlmResult> {
    try {
      return { ok: true, ...(await this.complete(prompt, options)) }
    } catch (e) {
      return {
        ok: false,
        error: e instanceof LlmError ? e : toLlmError(e, { secrets: collectSecrets(this.#env ?? process.env) }),
      }
    }
  }

  /**
   * Sends the prompt and returns the answer's text with usage and cost. Rejects only with an
   * LlmError (kind: rate-limit, server, timeout, network, auth, bad-request, malformed, empty,
   * aborted, config, unknown), after retrying the retryable kinds under the retry policy.
   */
  async complete(prompt: Prompt, options: CompleteOptions = {}): Promise<LlmCompletion> {
    const started = Date.now()
    const env = this.#env ?? process.env
    const config = this.config
    const base = { model: config.model, provider: config.provider }
    // scanning the environment costs more than a local model call: only done to redact an error
    let apiKey: string | undefined
    let baseURL: string | undefined
    const secrets = () => collectSecrets(env, [apiKey])
    try {
      const endpoint = resolveEndpoint(config, env)
      baseURL = endpoint.baseURL
      apiKey = endpoint.apiKey
      const { HumanMessage, SystemMessage, mergeUsageMetadata } = await loadMessages()
      const messages: BaseMessage[] = []
      if (prompt.system) messages.push(new SystemMessage(prompt.system))
      messages.push(new HumanMessage(prompt.user))
      const stream = options.stream ?? config.stream ?? false

      const {
        value: { message, usage },
        attempts,
      } = await withRetry(
        async ({ signal }): Promise<{ message: BaseMessage; usage: UsageMetadata | undefined }> => {
          const model = await this.#model(endpoint, options)
          if (!stream) {
            const message = (await model.invoke(messages, { signal })) as AIMessageChunk
            return { message, usage: message.usage_metadata }
          }
          let acc: AIMessageChunk | undefined
          let usage: UsageMetadata | undefined
          for await (const chunk of await model.stream(messages, { signal })) {
            const c = chunk as AIMessageChunk
            acc = acc ? acc.concat(c) : c
            // a first delta without a role makes a generic chunk, whose concat drops the usage the last
            // chunk reports (some OpenAI-compatible servers stream so): summed apart
            if (c.usage_metadata) usage = usage ? mergeUsageMetadata(usage, c.usage_metadata) : c.usage_metadata
            if (options.onToken) {
              const delta = c.text
              if (delta) options.onToken(delta)
            }
          }
          if (!acc) throw new LlmError({ ...base, kind: 'empty', message: 'the stream ended without any chunk' })
          return { message: acc as BaseMessage, usage }
        },
        this.retryPolicy,
        {
          ...(options.signal ? { signal: options.signal } : {}),
          attemptTimeoutMs: (config.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000,
          secrets,
          model: config.model,
          provider: config.provider,
          ...(this.#random ? { random: this.#random } : {}),
          ...(this.#onRetry ? { onRetry: this.#onRetry } : {}),
        },
      )

      const text = typeof message.content === 'string' ? message.content : message.text
      // no call reads or writes billions of tokens: a count past any context window is a provider's
      // bug, not a bill, and estimated like a missing one (it would not fit the stored counts either)
      const count = (n: unknown) =>
        typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= MAX_CREDIBLE_TOKENS ? n : undefined
      const usedIn = count(usage?.input_tokens)
      const usedOut = count(usage?.output_tokens)
      // LangChain drops a zero count (e.g. completion_tokens: 0): a reported total tells it apart
      const usedTotal = count(usage?.total_tokens)
      const reported = (usedIn ?? 0) > 0 || (usedOut ?? 0) > 0
      // a side reported as nothing (absent, or the 0 a stream fills in) for a prompt or an answer that
      // has text was not counted, not free: estimated, or a spend cap would count only the other side
      const reportedIn = reported
        ? usedIn || Math.max(0, (usedTotal ?? 0) - (usedOut ?? 0)) || (prompt.system || prompt.user ? undefined : 0)
        : undefined
      const tokensIn = reportedIn ?? estimateTokens(`${prompt.system ?? ''}${prompt.user}`)
      const reportedOut = reported
        ? usedOut || Math.max(0, (usedTotal ?? 0) - tokensIn) || (text ? undefined : 0)
        : undefined
      const tokensOut = reportedOut ?? estimateTokens(text)
      const cost = costUsd(config, tokensIn, tokensOut)
      const latencyMs = Date.now() - started
      const finishReason = finishReasonOf(message)
      if (text.trim() === '') {
        throw new LlmError({
          ...base,
          kind: 'empty',
          message: `the model answered with no text${finishReason ? ` (finish reason: ${finishReason})` : ''}`,
          attempts,
          latencyMs,
          tokensIn,
          tokensOut,
          costUsd: cost,
        })
      }
      return {
        text,
        tokensIn,
        tokensOut,
        costUsd: cost,
        model: config.model,
        provider: config.provider,
        modelId: this.id,
        latencyMs,
        attempts,
        usageEstimated: reportedIn === undefined || reportedOut === undefined,
        ...(finishReason ? { finishReason } : {}),
      }
    } catch (e) {
      const error = e instanceof LlmError ? e : toLlmError(e, { secrets, ...base })
      // "fetch failed" alone does not say which server could not be reached (an OPENAI_BASE_URL typo)
      if ((error.kind === 'network' || error.kind === 'timeout') && baseURL && !error.message.includes(baseURL))
        error.message = `${error.message} (${redact(baseURL, secrets())})`
      error.model ??= config.model
      error.provider ??= config.provider
      if (!error.latencyMs) error.latencyMs = Date.now() - started
      throw error
    }
  }

  // Building a LangChain chat model (and its SDK client) costs more CPU than a call to a fast local
  // server; reuse it while the endpoint, key and sampling settings stay the same. The key it holds
  // is the one already in this process's environment; a changed key or base URL builds a new one.
  #models = new Map<string, Promise<BaseChatModel>>()
  #model(endpoint: ReturnType<typeof resolveEndpoint>, options: CompleteOptions): Promise<BaseChatModel> {
    const key = JSON.stringify([
      endpoint.baseURL ?? null,
      endpoint.apiKey ?? null,
      options.temperature ?? null,
      options.maxTokens ?? null,
    ])
    let model = this.#models.get(key)
    if (!model) {
      if (this.#models.size >= 8) this.#models.clear()
      model = createChatModel(this.config, {
        endpoint,
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      })
      this.#models.set(key, model)
      // a model that could not be built (no key) is not kept: the next call reads the environment again
      model.catch(() => this.#models.delete(key))
    }
    return model
  }

  /** JSON-safe description (no key, no env values). */
  toJSON(): { id: string; config: ModelConfig } {
    return { id: this.id, config: this.config }
  }
}
