// Builds a LangChain chat model for a ModelConfig. The key is read from the environment when the
// model is built; callers build a model per call (LlmClient does) so that no long-lived object
// holds a key. LangChain's own retries are switched off: LlmClient owns the retry policy.
// Each provider's package is imported when a model of it is first built: together they took
// ~0.3 s and ~30 MB of every command's start, and a run uses one or two of them.
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { type ModelConfig, modelId } from '../../client-safe/model-config.ts'
import { LlmError } from './errors.ts'
import { modelApiFetch } from './http-fetch.ts'
import { isDefaultEndpoint, NO_KEY_PLACEHOLDER, resolveEndpoint, type Env, type ResolvedEndpoint } from './env.ts'

export interface ChatModelOptions {
  /** environment to read keys and URLs from (default: process.env, read now) */
  env?: Env
  /** per-call overrides */
  temperature?: number
  maxTokens?: number
  /** an endpoint already resolved by the caller (so the env is read once per call) */
  endpoint?: ResolvedEndpoint
}

const missingKeyText = (config: ModelConfig, endpoint: ResolvedEndpoint) =>
  `no API key for ${config.provider}:${config.model}: set ${endpoint.keyEnvsTried.join(' or ')}${
    config.apiKeyEnv ? '' : ' (or name another variable with apiKeyEnv)'
  }`

function missingKey(config: ModelConfig, endpoint: ResolvedEndpoint): LlmError {
  return new LlmError({
    kind: 'config',
    provider: config.provider,
    model: config.model,
    message: missingKeyText(config, endpoint),
  })
}

/**
 * What a call of this model would fail on for want of a key in `env` (the provider's public API
 * without one), else null: for a run whose engine has this environment, said before it starts.
 */
export function missingKeyProblem(config: ModelConfig, env: Env = process.env): string | null {
  const endpoint = resolveEndpoint(config, env)
  return isDefaultEndpoint(endpoint) && !endpoint.apiKey ? missingKeyText(config, endpoint) : null
}

/**
 * A model whose key variable is named but not set, at an endpoint that may do without one (a
 * self-hosted server): its requests go without a key. Said, since a server that wants one refuses
 * them all and the run fails on "incorrect API key" without naming the variable. Null otherwise.
 */
export function unsetKeyWarning(
  config: Pick<ModelConfig, 'provider' | 'model' | 'baseURL' | 'apiKeyEnv' | 'label'>,
  env: Env = process.env,
): string | null {
  if (!config.apiKeyEnv || env[config.apiKeyEnv]) return null
  const endpoint = resolveEndpoint(config, env)
  if (isDefaultEndpoint(endpoint)) return null // refused before the run starts (missingKeyProblem)
  return `model ${modelId(config)}: ${config.apiKeyEnv} is not set, so its requests to ${endpoint.baseURL} go without a key (set it if that server wants one)`
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 and their dated or sized names) refuse any
 * temperature but their default: 400 "Unsupported value: 'temperature'".
 */
export function onlyDefaultTemperature(config: Pick<ModelConfig, 'provider' | 'model'>): boolean {
  return config.provider === 'openai' && /^(o\d|gpt-5)(?!-chat)/i.test(config.model)
}

/** each provider's package, imported on first use (by preloadProvider or the first model built) */
const PACKAGES = {
  openai: () => import('@langchain/openai'),
  anthropic: () => import('@langchain/anthropic'),
  google: () => import('@langchain/google-genai'),
  ollama: () => import('@langchain/ollama'),
} satisfies Record<ModelConfig['provider'], () => Promise<unknown>>
const preloading = new Map<string, Promise<boolean>>()

/**
 * Starts importing a provider's package before its first call needs it. A run's first model call
 * came after its seed's evaluation and waited ~0.25 s for the package's modules to load; begun
 * while the run waits for its workers and its seed, the loading fills time the process would idle.
 * Resolves false where the package cannot load (the call says why); never rejects.
 */
export function preloadProvider(provider: ModelConfig['provider']): Promise<boolean> {
  let p = preloading.get(provider)
  if (!p) {
    const load = PACKAGES[provider] as (() => Promise<unknown>) | undefined
    p = load
      ? load().then(
          () => true,
          () => false,
        )
      : Promise.resolve(false)
    preloading.set(provider, p)
  }
  return p
}

/**
 * A LangChain chat model for `config`: ChatOpenAI (any OpenAI-compatible endpoint through
 * `configuration.baseURL`), ChatAnthropic, ChatGoogleGenerativeAI or ChatOllama.
 * Throws LlmError('config') when the provider's public API is targeted without a key.
 */
export async function createChatModel(config: ModelConfig, options: ChatModelOptions = {}): Promise<BaseChatModel> {
  const endpoint = options.endpoint ?? resolveEndpoint(config, options.env)
  // the engine varies the temperature per call (the cold start's variety, the judge's 0); a model
  // that takes only its default gets the configured one, or none
  const temperature = onlyDefaultTemperature(config) ? config.temperature : (options.temperature ?? config.temperature)
  const maxTokens = options.maxTokens ?? config.maxTokens
  const needKey = isDefaultEndpoint(endpoint)
  const key = endpoint.apiKey ?? (needKey ? undefined : NO_KEY_PLACEHOLDER)

  switch (config.provider) {
    case 'openai': {
      if (!key) throw missingKey(config, endpoint)
      const { ChatOpenAI } = await PACKAGES.openai()
      return new ChatOpenAI({
        model: config.model,
        apiKey: key,
        configuration: { baseURL: endpoint.baseURL, fetch: modelApiFetch },
        maxRetries: 0,
        streamUsage: true,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
      })
    }
    case 'anthropic': {
      if (!key) throw missingKey(config, endpoint)
      const { ChatAnthropic } = await PACKAGES.anthropic()
      return new ChatAnthropic({
        model: config.model,
        apiKey: key,
        anthropicApiUrl: endpoint.baseURL,
        maxRetries: 0,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
      })
    }
    case 'google': {
      if (!key) throw missingKey(config, endpoint)
      const { ChatGoogleGenerativeAI } = await PACKAGES.google()
      return new ChatGoogleGenerativeAI({
        model: config.model,
        apiKey: key,
        ...(endpoint.baseURLSource !== 'default' ? { baseUrl: endpoint.baseURL } : {}),
        maxRetries: 0,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { maxOutputTokens: maxTokens } : {}),
      })
    }
    case 'ollama': {
      const { ChatOllama } = await PACKAGES.ollama()
      return new ChatOllama({
        model: config.model,
        baseUrl: endpoint.baseURL,
        maxRetries: 0,
        // hosted Ollama endpoints take a bearer key; a local daemon needs none
        ...(endpoint.apiKey ? { headers: { Authorization: `Bearer ${endpoint.apiKey}` } } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { numPredict: maxTokens } : {}),
      })
    }
  }
}
