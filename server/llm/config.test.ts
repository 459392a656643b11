import { describe, expect, it } from 'vitest'
import { costUsd, ModelConfig, modelId, parseModelSpec } from '../../client-safe/model-config.ts'
import { collectSecrets, redact, resolveEndpoint } from './env.ts'
import { parseRetryAfter, toLlmError } from './errors.ts'
import { backoffDelay, RetryPolicy } from './retry.ts'

describe('parseModelSpec', () => {
  it('parses provider:model and keeps colons in the model name', () => {
    expect(parseModelSpec('openai:gpt-4.1-mini')).toEqual({ provider: 'openai', model: 'gpt-4.1-mini', weight: 1 })
    expect(parseModelSpec('anthropic:claude-sonnet-4-5')).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
    })
    expect(parseModelSpec('ollama:qwen2.5-coder:7b')).toMatchObject({ provider: 'ollama', model: 'qwen2.5-coder:7b' })
    expect(parseModelSpec('google:gemini-2.5-flash')).toMatchObject({ provider: 'google', model: 'gemini-2.5-flash' })
    expect(parseModelSpec('gemini:gemini-2.5-flash')).toMatchObject({ provider: 'google' })
  })

  it('infers the provider of well-known families', () => {
    expect(parseModelSpec('gpt-4.1').provider).toBe('openai')
    expect(parseModelSpec('o3-mini').provider).toBe('openai')
    expect(parseModelSpec('claude-opus-4-1').provider).toBe('anthropic')
    expect(parseModelSpec('gemini-2.5-pro').provider).toBe('google')
    expect(() => parseModelSpec('mystery-model')).toThrow(/unknown provider/)
    expect(() => parseModelSpec('')).toThrow(/empty/)
    expect(() => parseModelSpec('openai:')).toThrow(/no model name/)
  })

  it('expands OpenAI-compatible aliases', () => {
    expect(parseModelSpec('deepseek:deepseek-chat')).toMatchObject({
      provider: 'openai',
      model: 'deepseek-chat',
      baseURL: 'https://api.deepseek.com/v1',
      apiKeyEnv: 'DEEPSEEK_API_KEY',
    })
    expect(parseModelSpec('llamacpp:local')).toMatchObject({ provider: 'openai', baseURL: 'http://127.0.0.1:8080/v1' })
  })

  it('merges extra fields and validates them', () => {
    const c = parseModelSpec('openai:gpt-4.1-mini', {
      weight: 3,
      pricePer1kIn: 0.0004,
      pricePer1kOut: 0.0016,
      baseURL: 'http://127.0.0.1:1234/v1',
    })
    expect(c).toMatchObject({ weight: 3, pricePer1kIn: 0.0004, baseURL: 'http://127.0.0.1:1234/v1' })
    expect(() => parseModelSpec('openai:x', { weight: -1 })).toThrow()
    expect(() => parseModelSpec('openai:x', { apiKeyEnv: 'sk-proj-abcdefghijklmnopqrstuvwxyz' })).toThrow()
  })

  it('names only a provider key as the key variable, and no cloud metadata address as the base URL', () => {
    const ok = (apiKeyEnv: string) => ModelConfig.safeParse({ provider: 'openai', model: 'm', apiKeyEnv }).success
    for (const n of ['OPENAI_API_KEY', 'MY_PROVIDER_KEY', 'HF_TOKEN', 'together_api_key']) expect(ok(n), n).toBe(true)
    // what a console admin could otherwise have the engine send to an address of their choosing
    for (const n of ['HOME', 'PATH', 'DATABASE_URL', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'ADMIN_PASSWORD_KEY'])
      expect(ok(n), n).toBe(false)
    const at = (baseURL: string) => ModelConfig.safeParse({ provider: 'openai', model: 'm', baseURL }).success
    expect(at('http://127.0.0.1:8000/v1')).toBe(true)
    expect(at('http://169.254.169.254/latest/meta-data')).toBe(false)
    expect(at('http://[fe80::1]/v1')).toBe(false)
    expect(at('http://metadata.google.internal/v1')).toBe(false)
  })

  it('rejects unknown fields and providers in a config', () => {
    expect(ModelConfig.safeParse({ provider: 'openai', model: 'm', apiKey: 'sk-123' }).success).toBe(false)
    expect(ModelConfig.safeParse({ provider: 'cohere', model: 'm' }).success).toBe(false)
  })

  it('ids and costs', () => {
    expect(modelId({ provider: 'openai', model: 'gpt-4.1' })).toBe('openai:gpt-4.1')
    expect(modelId({ provider: 'openai', model: 'gpt-4.1', label: 'fast' })).toBe('fast')
    expect(costUsd({ pricePer1kIn: 2, pricePer1kOut: 8 }, 1500, 250)).toBe(5)
    expect(costUsd({}, 1500, 250)).toBe(0)
  })
})

describe('environment resolution', () => {
  it('openai: config > OPENAI_BASE_URL > default; key from apiKeyEnv or OPENAI_API_KEY', () => {
    expect(resolveEndpoint({ provider: 'openai' }, {})).toMatchObject({
      baseURL: 'https://api.openai.com/v1',
      baseURLSource: 'default',
      apiKey: undefined,
    })
    expect(
      resolveEndpoint({ provider: 'openai' }, { OPENAI_BASE_URL: 'http://h:1/v1/', OPENAI_API_KEY: 'k1' }),
    ).toMatchObject({
      baseURL: 'http://h:1/v1',
      baseURLSource: 'OPENAI_BASE_URL',
      apiKey: 'k1',
      apiKeyEnv: 'OPENAI_API_KEY',
    })
    expect(
      resolveEndpoint(
        { provider: 'openai', baseURL: 'http://c:2/v1', apiKeyEnv: 'MY_KEY' },
        { OPENAI_BASE_URL: 'http://h:1/v1', OPENAI_API_KEY: 'k1', MY_KEY: 'k2' },
      ),
    ).toMatchObject({ baseURL: 'http://c:2/v1', baseURLSource: 'config', apiKey: 'k2', apiKeyEnv: 'MY_KEY' })
  })

  it('anthropic and ollama defaults', () => {
    expect(resolveEndpoint({ provider: 'anthropic' }, { ANTHROPIC_BASE_URL: 'http://a:3/v1' }).baseURL).toBe(
      'http://a:3',
    )
    expect(resolveEndpoint({ provider: 'ollama' }, {}).baseURL).toBe('http://127.0.0.1:11434')
    expect(resolveEndpoint({ provider: 'ollama' }, { OLLAMA_HOST: 'box:9999' }).baseURL).toBe('http://box:9999')
  })

  it('redacts known secrets and key-shaped strings', () => {
    const secrets = collectSecrets({ OPENAI_API_KEY: 'plainsecretvalue', HOME: '/home/someone-long-path' }, [
      'another-secret-1',
    ])
    expect(secrets).toContain('plainsecretvalue')
    expect(secrets).not.toContain('/home/someone-long-path')
    const text = redact(
      'key plainsecretvalue, another-secret-1, sk-abcdefghijkl, Bearer abc.def.ghi123, AIzaSyA1234567890abcdefghijk',
      secrets,
    )
    expect(text).not.toMatch(/plainsecretvalue|another-secret-1|sk-abcdefghijkl|abc\.def|AIzaSy/)
    expect(text).toContain('Bearer [REDACTED]')
  })
})

describe('retry helpers', () => {
  it('parses retry-after forms', () => {
    expect(parseRetryAfter({ 'retry-after': '2' })).toBe(2000)
    expect(parseRetryAfter({ 'retry-after': '0.25' })).toBe(250)
    expect(parseRetryAfter({ 'retry-after-ms': '40', 'retry-after': '9' })).toBe(40)
    expect(parseRetryAfter(new Headers({ 'Retry-After': '3' }))).toBe(3000)
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000)
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined()
    expect(parseRetryAfter(undefined)).toBeUndefined()
  })

  it('backs off exponentially with bounded jitter', () => {
    const p = RetryPolicy.parse({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 })
    expect(backoffDelay(p, 1, () => 1)).toBe(100)
    expect(backoffDelay(p, 1, () => 0)).toBe(50)
    expect(backoffDelay(p, 3, () => 1)).toBe(400)
    expect(backoffDelay(p, 10, () => 1)).toBe(1000)
    expect(backoffDelay(RetryPolicy.parse({ baseDelayMs: 100, jitter: 0 }), 2, () => 0.3)).toBe(200)
  })

  it('classifies SDK-like errors', () => {
    const s: string[] = []
    expect(toLlmError(Object.assign(new Error('429 slow'), { status: 429 }), { secrets: s }).kind).toBe('rate-limit')
    expect(toLlmError(Object.assign(new Error('boom'), { status: 503 }), { secrets: s }).kind).toBe('server')
    expect(toLlmError(Object.assign(new Error('nope'), { status: 403 }), { secrets: s }).kind).toBe('auth')
    expect(toLlmError(Object.assign(new Error('bad'), { status_code: 404 }), { secrets: s }).kind).toBe('bad-request')
    expect(toLlmError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }), { secrets: s }).kind).toBe(
      'network',
    )
    expect(toLlmError(new SyntaxError('Unexpected token < in JSON'), { secrets: s }).kind).toBe('malformed')
    expect(toLlmError(new Error('x'), { secrets: s, aborted: true }).kind).toBe('aborted')
    expect(toLlmError(new Error('x'), { secrets: s, timedOut: true, timeoutMs: 1500 }).message).toContain('1.5 s')
  })
})

describe('ModelConfig baseURL', () => {
  const withUrl = (baseURL: string) => ModelConfig.safeParse({ provider: 'openai', model: 'm', baseURL })
  it('refuses credentials in the address, which every viewer of the run would see', () => {
    for (const [url, what] of [
      ['http://proxyuser:pw@127.0.0.1:3790/v1', 'a user name or password'],
      ['https://proxy.example/v1?api-key=QUERY-SECRET', 'the query parameter "api-key"'],
      ['https://proxy.example/v1?token=t', 'the query parameter "token"'],
    ] as const) {
      const r = withUrl(url)
      expect(r.success, url).toBe(false)
      expect(r.error!.issues[0]).toMatchObject({ path: ['baseURL'], message: expect.stringContaining(what) })
      expect(r.error!.issues[0]!.message).toContain('apiKeyEnv')
    }
  })
  it('refuses an address that is not http(s): no model is served over ftp, file or javascript', () => {
    for (const url of ['ftp://127.0.0.1:4141/v1', 'file:///etc/passwd', 'javascript:alert(1)']) {
      const r = withUrl(url)
      expect(r.success, url).toBe(false)
      expect(r.error!.issues.map((i) => i.message)).toContain('the base URL must be an http:// or https:// address')
    }
  })
  it('takes an address without credentials, query parameters such as api-version included', () => {
    expect(withUrl('https://my-resource.openai.azure.com/openai/v1?api-version=2025-01-01').success).toBe(true)
    expect(withUrl('http://127.0.0.1:8000/v1').success).toBe(true)
  })
})
