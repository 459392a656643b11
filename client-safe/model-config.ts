// Model configuration for mutation providers: a zod schema (what a run config snapshot stores,
// never an API key: only the NAME of the environment variable that holds it) and the parser for
// `--model provider:model` strings.
import { z } from 'zod'

export const PROVIDERS = ['openai', 'anthropic', 'google', 'ollama'] as const
export const Provider = z.enum(PROVIDERS)
export type Provider = z.infer<typeof Provider>

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/**
 * The server's own credentials: a run or embedding config (written through the API) must not be
 * able to send them as an "API key" to an endpoint of its choosing.
 */
export const RESERVED_ENV_NAMES = [
  'DATABASE_URL',
  'FM_AUTH_SECRET',
  'FM_ADMIN_PASSWORD',
  'FM_TEST_PG_URL',
  'PGPASSWORD',
  'PGPASSFILE',
] as const

/**
 * Other services' credentials, which a provider key is not: whoever may write a run's config (a
 * console admin) could otherwise send them to an endpoint of their choosing.
 */
const OTHER_SERVICES = /^(AWS|AZURE|ARM|GCP|GCLOUD|GITHUB|GH|GITLAB|NPM|DOCKER|SSH|KUBE|VAULT|SLACK|STRIPE)_/i

/**
 * The NAME of the variable that holds a provider key: one named as keys are (…_KEY, …_TOKEN), not
 * one of the server's own credentials nor another service's. A tester's run config had the engine
 * send its HOME to an address of their choosing as a "key".
 */
export const ApiKeyEnvName = z
  .string()
  .regex(ENV_NAME, 'an environment variable name')
  .max(100)
  .refine(
    (n) => !(RESERVED_ENV_NAMES as readonly string[]).includes(n.toUpperCase()),
    'this variable holds one of the server’s own credentials, not a provider key',
  )
  .refine(
    (n) => /_(KEY|TOKEN)$/i.test(n) && !OTHER_SERVICES.test(n) && !/PASSWORD|SECRET_ACCESS/i.test(n),
    'name a variable that holds a model provider’s key: its name ends in _KEY or _TOKEN (OPENAI_API_KEY, MY_PROVIDER_KEY), and it is not another service’s credential (AWS_…, GITHUB_…)',
  )

/** cloud metadata services: no model is served there, and a request there can read the machine's credentials */
export function metadataAddress(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '')
  } catch {
    return false
  }
  return (
    /^169\.254\./.test(host) ||
    /^fe[89ab][0-9a-f]:/.test(host) ||
    host === 'metadata.google.internal' ||
    host === 'fd00:ec2::254'
  )
}

export const ModelConfig = z
  .object({
    provider: Provider,
    /** the provider's model name, e.g. gpt-4.1-mini, claude-sonnet-4-5, qwen2.5-coder:7b */
    model: z.string().min(1).max(200),
    /** endpoint override (OpenAI-compatible servers: DeepSeek, vLLM, llama.cpp, Ollama's /v1 ...) */
    baseURL: z.url().max(500).optional(),
    /** NAME of the environment variable that holds the API key (the key itself is never stored) */
    apiKeyEnv: ApiKeyEnvName.optional(),
    /** relative weight in an ensemble (prior for the engine's bandit) */
    weight: z.number().min(0).max(1e6).default(1),
    /** USD per 1,000 prompt tokens */
    pricePer1kIn: z.number().min(0).max(1e4).optional(),
    /** USD per 1,000 completion tokens */
    pricePer1kOut: z.number().min(0).max(1e4).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().max(1_000_000).optional(),
    /** requests to this model in flight at once (default: only the run's own limit applies) */
    maxInFlight: z.number().int().min(1).max(1024).optional(),
    /** per-attempt timeout in seconds (default 120) */
    timeoutS: z.number().positive().max(3600).optional(),
    /** stream the answer (SSE) instead of one JSON body */
    stream: z.boolean().optional(),
    /** a display name / stable id inside an ensemble (default `provider:model`) */
    label: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.baseURL && !/^https?:\/\//i.test(c.baseURL))
      ctx.addIssue({
        code: 'custom',
        path: ['baseURL'],
        message: 'the base URL must be an http:// or https:// address',
      })
    if (c.baseURL && metadataAddress(c.baseURL))
      ctx.addIssue({
        code: 'custom',
        path: ['baseURL'],
        message: 'the base URL is a link-local address (a cloud metadata service): no model is served there',
      })
    // a run's configuration is shown to every viewer: credentials in the address would be too
    const leak = c.baseURL ? credentialsIn(c.baseURL) : null
    if (leak)
      ctx.addIssue({
        code: 'custom',
        path: ['baseURL'],
        message: `the base URL must not hold credentials (${leak}): every viewer sees a run's configuration; put the key in the environment variable apiKeyEnv names`,
      })
    // guard against a key pasted where an env var name belongs
    if (c.apiKeyEnv && /^(sk|sk-ant|AIza)[-_A-Za-z0-9]{16,}$/.test(c.apiKeyEnv))
      ctx.addIssue({
        code: 'custom',
        path: ['apiKeyEnv'],
        message: 'apiKeyEnv names a variable; it must not hold the key itself',
      })
  })

/** query parameters that carry a secret by their name (api-version and the like do not) */
const SECRET_PARAM =
  /^(api[-_]?key|key|token|access[-_]?token|auth|authorization|secret|password|passwd|sig|signature)$/i

/** What in a URL is a credential (a user or password, a key-like query parameter), or null. */
export function credentialsIn(url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null // the URL check says so
  }
  if (u.username || u.password) return 'a user name or password before the host'
  const named = [...u.searchParams.keys()].find((k) => SECRET_PARAM.test(k))
  return named ? `the query parameter "${named}"` : null
}

export type ModelConfig = z.infer<typeof ModelConfig>
export type ModelConfigInput = z.input<typeof ModelConfig>

export const DEFAULT_TIMEOUT_S = 120

/** `provider:model` (or the label) identifying a config in logs, stats and the UI. */
export function modelId(config: Pick<ModelConfig, 'provider' | 'model' | 'label'>): string {
  return config.label ?? `${config.provider}:${config.model}`
}

/**
 * Aliases accepted in `--model` strings for OpenAI-compatible servers. They expand to provider
 * `openai` with a base URL and key variable; anything can still be overridden per run.
 */
export const OPENAI_COMPATIBLE_ALIASES: Record<string, { baseURL: string; apiKeyEnv?: string }> = {
  deepseek: { baseURL: 'https://api.deepseek.com/v1', apiKeyEnv: 'DEEPSEEK_API_KEY' },
  vllm: { baseURL: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'VLLM_API_KEY' },
  llamacpp: { baseURL: 'http://127.0.0.1:8080/v1', apiKeyEnv: 'LLAMACPP_API_KEY' },
  'llama.cpp': { baseURL: 'http://127.0.0.1:8080/v1', apiKeyEnv: 'LLAMACPP_API_KEY' },
}

const PROVIDER_ALIASES: Record<string, Provider> = {
  openai: 'openai',
  anthropic: 'anthropic',
  claude: 'anthropic',
  google: 'google',
  gemini: 'google',
  'google-genai': 'google',
  ollama: 'ollama',
}

export class ModelSpecError extends Error {
  override name = 'ModelSpecError'
}

/**
 * Parses `provider:model` (as given to `--model`). Only the first colon separates the provider, so
 * Ollama tags survive (`ollama:qwen2.5-coder:7b`). Without a provider prefix the provider is
 * inferred from well-known model families (gpt-/o1/o3/o4 → openai, claude → anthropic, gemini →
 * google). `deepseek:`, `vllm:` and `llamacpp:` expand to OpenAI-compatible configs.
 * `extra` fields (weight, prices, baseURL...) are merged in and the result is validated.
 */
export function parseModelSpec(spec: string, extra: Partial<ModelConfigInput> = {}): ModelConfig {
  const text = spec.trim()
  if (!text) throw new ModelSpecError('empty model spec; expected provider:model, e.g. openai:gpt-4.1-mini')
  const colon = text.indexOf(':')
  let provider: Provider | undefined
  let model = text
  let defaults: Partial<ModelConfigInput> = {}
  if (colon > 0) {
    const prefix = text.slice(0, colon).toLowerCase()
    const rest = text.slice(colon + 1)
    const alias = OPENAI_COMPATIBLE_ALIASES[prefix]
    if (alias) {
      provider = 'openai'
      model = rest
      defaults = { baseURL: alias.baseURL, ...(alias.apiKeyEnv ? { apiKeyEnv: alias.apiKeyEnv } : {}) }
    } else if (PROVIDER_ALIASES[prefix]) {
      provider = PROVIDER_ALIASES[prefix]
      model = rest
    }
  }
  if (!provider) {
    if (/^(gpt-|o\d|chatgpt|text-davinci|davinci|codex)/i.test(model)) provider = 'openai'
    else if (/^claude/i.test(model)) provider = 'anthropic'
    else if (/^gemini/i.test(model)) provider = 'google'
    else
      throw new ModelSpecError(
        `unknown provider in model spec "${text}"; expected one of ${PROVIDERS.join(', ')} (or deepseek, vllm, llamacpp) before a colon`,
      )
  }
  if (!model) throw new ModelSpecError(`model spec "${text}" has no model name after the provider`)
  const parsed = ModelConfig.safeParse({ ...defaults, ...extra, provider, model })
  if (!parsed.success) throw new ModelSpecError(`invalid model config for "${text}": ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/** Formats a config back to the `--model` form (`provider:model`). */
export function formatModelSpec(config: Pick<ModelConfig, 'provider' | 'model'>): string {
  return `${config.provider}:${config.model}`
}

/** Cost in USD of a call; 0 when the config has no prices (local models, unknown pricing). */
export function costUsd(
  config: Pick<ModelConfig, 'pricePer1kIn' | 'pricePer1kOut'>,
  tokensIn: number,
  tokensOut: number,
): number {
  const cost = (tokensIn / 1000) * (config.pricePer1kIn ?? 0) + (tokensOut / 1000) * (config.pricePer1kOut ?? 0)
  return Math.round(cost * 1e9) / 1e9
}
