// The non-OpenAI providers, each over its own real wire format (the test server's secondary
// routes), and the model factory for every provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatOpenAI } from '@langchain/openai'
import { ChatAnthropic } from '@langchain/anthropic'
import { ChatGoogleGenerativeAI } from '@langchain/google-genai'
import { ChatOllama } from '@langchain/ollama'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { createChatModel } from './chat-model.ts'
import { LlmClient } from './client.ts'
import { parseModelSpec } from '../../client-safe/model-config.ts'
import { LlmError } from './errors.ts'
import { normalizeOllamaHost, resolveEndpoint } from './env.ts'

const RETRY = { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 }
let server: OpenAiTestServer
beforeAll(async () => {
  server = await startOpenAiTestServer()
})
afterAll(async () => {
  await server.close()
})

describe('anthropic', () => {
  it('honours ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, with usage from the provider', async () => {
    server.reset()
    server.enqueue({ content: 'claude says hi', usage: { prompt_tokens: 12, completion_tokens: 4 } })
    const c = new LlmClient(parseModelSpec('anthropic:claude-sonnet-4-5', { pricePer1kIn: 3, pricePer1kOut: 15 }), {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test-SECRET456', ANTHROPIC_BASE_URL: server.rootUrl },
      retry: RETRY,
    })
    const r = await c.complete({ system: 'be brief', user: 'hello' })
    expect(r).toMatchObject({
      text: 'claude says hi',
      tokensIn: 12,
      tokensOut: 4,
      provider: 'anthropic',
      usageEstimated: false,
    })
    expect(r.costUsd).toBeCloseTo(0.036 + 0.06, 9)
    const req = server.chatRequests()[0]!
    expect(req.path).toBe('/v1/messages')
    expect(req.auth.present).toBe(true)
    expect(req.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'be brief' })
  })

  it('retries a 529-style overload and streams', async () => {
    server.reset()
    server.enqueue(
      { type: 'error', status: 529, message: 'Overloaded' },
      { content: 'streamed from claude', chunkSize: 5 },
    )
    const c = new LlmClient(
      { provider: 'anthropic', model: 'claude-haiku-4-5' },
      { env: { ANTHROPIC_API_KEY: 'sk-ant-test-SECRET456', ANTHROPIC_BASE_URL: `${server.rootUrl}/v1` }, retry: RETRY },
    )
    const r = await c.complete({ user: 'hi' }, { stream: true })
    expect(r.text).toBe('streamed from claude')
    expect(r.attempts).toBe(2)
    expect(r.tokensOut).toBeGreaterThan(0)
  })

  it('without a key for the public API: a config error', async () => {
    const c = new LlmClient({ provider: 'anthropic', model: 'claude-x' }, { env: {}, retry: RETRY })
    await expect(c.complete({ user: 'x' })).rejects.toMatchObject({ kind: 'config' })
  })
})

describe('ollama', () => {
  it('honours OLLAMA_HOST in the host:port form users set', async () => {
    server.reset()
    server.enqueue({ content: 'local answer', usage: { prompt_tokens: 9, completion_tokens: 3 } })
    const c = new LlmClient(parseModelSpec('ollama:qwen2.5-coder:7b'), {
      env: { OLLAMA_HOST: `127.0.0.1:${server.port}` },
      retry: RETRY,
    })
    const r = await c.complete({ user: 'hi' })
    expect(r).toMatchObject({
      text: 'local answer',
      tokensIn: 9,
      tokensOut: 3,
      costUsd: 0,
      provider: 'ollama',
      model: 'qwen2.5-coder:7b',
    })
    expect(server.chatRequests()[0]!.path).toBe('/api/chat')
    expect(server.chatRequests()[0]!.body).toMatchObject({ model: 'qwen2.5-coder:7b' })
  })

  it('normalises OLLAMA_HOST values', () => {
    expect(normalizeOllamaHost('0.0.0.0')).toBe('http://127.0.0.1:11434')
    expect(normalizeOllamaHost('0.0.0.0:11434')).toBe('http://127.0.0.1:11434')
    expect(normalizeOllamaHost('gpu-box:8080')).toBe('http://gpu-box:8080')
    expect(normalizeOllamaHost('http://gpu-box/v1')).toBe('http://gpu-box:11434')
    expect(normalizeOllamaHost('https://ollama.example.org')).toBe('https://ollama.example.org')
    expect(normalizeOllamaHost('http://h:80')).toBe('http://h')
  })

  it('a server error from Ollama is typed and retried', async () => {
    server.reset()
    server.enqueue({ type: 'error', status: 500, message: 'model runner crashed' }, { content: 'recovered' })
    const c = new LlmClient(
      { provider: 'ollama', model: 'llama3' },
      { env: { OLLAMA_HOST: server.rootUrl }, retry: RETRY },
    )
    const r = await c.complete({ user: 'x' })
    expect(r).toMatchObject({ text: 'recovered', attempts: 2 })
  })
})

describe('createChatModel', () => {
  it('builds the LangChain class of each provider', async () => {
    expect(
      await createChatModel(parseModelSpec('openai:gpt-4.1-mini'), { env: { OPENAI_API_KEY: 'sk-x-000000000' } }),
    ).toBeInstanceOf(ChatOpenAI)
    expect(
      await createChatModel(parseModelSpec('anthropic:claude-x'), { env: { ANTHROPIC_API_KEY: 'k' } }),
    ).toBeInstanceOf(ChatAnthropic)
    expect(
      await createChatModel(parseModelSpec('google:gemini-2.5-flash'), { env: { GEMINI_API_KEY: 'k' } }),
    ).toBeInstanceOf(ChatGoogleGenerativeAI)
    expect(await createChatModel(parseModelSpec('ollama:llama3'), { env: {} })).toBeInstanceOf(ChatOllama)
  })

  it('google reads GOOGLE_API_KEY, then GEMINI_API_KEY; none is a config error', async () => {
    expect(resolveEndpoint({ provider: 'google' }, { GEMINI_API_KEY: 'g2' }).apiKeyEnv).toBe('GEMINI_API_KEY')
    expect(resolveEndpoint({ provider: 'google' }, { GOOGLE_API_KEY: 'g1', GEMINI_API_KEY: 'g2' }).apiKeyEnv).toBe(
      'GOOGLE_API_KEY',
    )
    await expect(createChatModel(parseModelSpec('gemini-2.5-pro'), { env: {} })).rejects.toThrow(LlmError)
  })

  it('an OpenAI-compatible alias (vLLM) targets its server', async () => {
    const cfg = parseModelSpec('vllm:Qwen/Qwen2.5-Coder-7B-Instruct')
    expect(cfg).toMatchObject({ provider: 'openai', baseURL: 'http://127.0.0.1:8000/v1' })
    const m = (await createChatModel(cfg, { env: {} })) as ChatOpenAI
    expect(m.model).toBe('Qwen/Qwen2.5-Coder-7B-Instruct')
  })
})
