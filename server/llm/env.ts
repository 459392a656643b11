// Credentials and endpoints, resolved from the environment at call time (never stored), and the
// redaction of secrets from anything that leaves this module: error messages, logs, results.
import type { ModelConfig, Provider } from '../../client-safe/model-config.ts'

export type Env = Record<string, string | undefined>

export const DEFAULT_BASE_URLS: Record<Provider, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  google: 'https://generativelanguage.googleapis.com',
  ollama: 'http://127.0.0.1:11434',
}

/** Key variables consulted per provider when the config names none, in order. */
export const DEFAULT_KEY_ENVS: Record<Provider, readonly string[]> = {
  openai: ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  google: ['GOOGLE_API_KEY', 'GEMINI_API_KEY'],
  ollama: ['OLLAMA_API_KEY'],
}

/** Base-URL variables consulted per provider when the config sets none, in order. */
export const BASE_URL_ENVS: Record<Provider, readonly string[]> = {
  openai: ['OPENAI_BASE_URL', 'OPENAI_API_BASE'],
  anthropic: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_URL'],
  google: ['GOOGLE_GENAI_BASE_URL'],
  ollama: ['OLLAMA_HOST', 'OLLAMA_BASE_URL'],
}

/** Placeholder sent to self-hosted OpenAI-compatible servers that need no key (vLLM, llama.cpp). */
export const NO_KEY_PLACEHOLDER = 'no-key'

export interface ResolvedEndpoint {
  provider: Provider
  /** the URL the client will use */
  baseURL: string
  /** where baseURL came from: 'config', the env var name, or 'default' */
  baseURLSource: string
  /** the API key (undefined when none was found); never log or return this */
  apiKey: string | undefined
  /** the env var the key came from (for messages); undefined when none was found */
  apiKeyEnv: string | undefined
  /** the env var names that were consulted for the key */
  keyEnvsTried: readonly string[]
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * OLLAMA_HOST as users set it: `host`, `host:port`, `0.0.0.0:11434`, `http://host:port`,
 * possibly with the OpenAI-compatible `/v1` suffix that ChatOllama must not get.
 */
export function normalizeOllamaHost(value: string): string {
  let v = value.trim()
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `http://${v}`
  const u = new URL(v)
  if (u.hostname === '0.0.0.0' || u.hostname === '') u.hostname = '127.0.0.1'
  if (u.hostname === '[::]') u.hostname = '[::1]'
  if (!u.port && !/^[a-z]+:\/\/[^/]*:\d+/i.test(v)) u.port = u.protocol === 'https:' ? '443' : '11434'
  return trimSlash(u.toString()).replace(/\/v1$/, '')
}

/** Reads the endpoint and key a config will use, from `env` (process.env by default) right now. */
export function resolveEndpoint(
  config: Pick<ModelConfig, 'provider' | 'baseURL' | 'apiKeyEnv'>,
  env: Env = process.env,
): ResolvedEndpoint {
  const provider = config.provider
  let baseURL: string | undefined
  let baseURLSource = 'default'
  if (config.baseURL) {
    baseURL = config.baseURL
    baseURLSource = 'config'
  } else {
    for (const name of BASE_URL_ENVS[provider]) {
      const v = env[name]?.trim()
      if (v) {
        baseURL = v
        baseURLSource = name
        break
      }
    }
  }
  baseURL ??= DEFAULT_BASE_URLS[provider]
  if (provider === 'ollama') baseURL = normalizeOllamaHost(baseURL)
  else baseURL = trimSlash(baseURL)
  // the Anthropic SDK appends /v1/messages itself
  if (provider === 'anthropic') baseURL = baseURL.replace(/\/v1$/, '')

  const keyEnvsTried = config.apiKeyEnv ? [config.apiKeyEnv] : DEFAULT_KEY_ENVS[provider]
  let apiKey: string | undefined
  let apiKeyEnv: string | undefined
  for (const name of keyEnvsTried) {
    const v = env[name]?.trim()
    if (v) {
      apiKey = v
      apiKeyEnv = name
      break
    }
  }
  return { provider, baseURL, baseURLSource, apiKey, apiKeyEnv, keyEnvsTried }
}

/** True when the endpoint is the provider's public API (where a missing key is a config error). */
export function isDefaultEndpoint(endpoint: Pick<ResolvedEndpoint, 'provider' | 'baseURLSource'>): boolean {
  return endpoint.baseURLSource === 'default' && endpoint.provider !== 'ollama'
}

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i

/**
 * Secret values to scrub: the given ones plus every environment value whose variable name looks
 * like a credential (…_API_KEY, …_TOKEN, …SECRET…). Short values (< 8 chars) are ignored so that
 * redaction never mangles ordinary text.
 */
export function collectSecrets(env: Env = process.env, extra: readonly (string | undefined)[] = []): string[] {
  const out = new Set<string>()
  for (const v of extra) if (v && v.length >= 8) out.add(v)
  for (const [name, v] of Object.entries(env)) if (v && v.length >= 8 && SECRET_NAME.test(name)) out.add(v)
  return [...out].sort((a, b) => b.length - a.length)
}

const KEY_SHAPES = [
  /\bsk-ant-[A-Za-z0-9_-]{8,}/g,
  /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /\b(Bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi,
]

/** Replaces every secret (and anything shaped like an API key) in `text` with `[REDACTED]`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const s of secrets) if (s) out = out.split(s).join('[REDACTED]')
  for (const re of KEY_SHAPES)
    out = out.replace(re, (_m, bearer?: string) => (typeof bearer === 'string' ? `${bearer}[REDACTED]` : '[REDACTED]'))
  return out
}
