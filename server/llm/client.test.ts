import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { LlmClient } from './client.ts'
import { LlmError } from './errors.ts'

const KEY = 'sk-test-SECRET123'
const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10, totalTimeoutMs: 10_000 }

let server: OpenAiTestServer
beforeAll(async () => {
  server = await startOpenAiTestServer({ apiKey: KEY })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  server.reset()
  vi.unstubAllEnvs()
})

function client(extra: Record<string, unknown> = {}, retry: Record<string, unknown> = FAST_RETRY) {
  return new LlmClient(
    { provider: 'openai', model: 'gpt-4.1-mini', baseURL: server.url, ...extra },
    { env: { OPENAI_API_KEY: KEY }, retry },
  )
}

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(LlmError)
    return e as LlmError
  }
  throw new Error('expected the call to fail')
}

describe('LlmClient over the OpenAI protocol', () => {
  it('returns text, provider usage and cost, and sends the prompt as system + user messages', async () => {
    server.enqueue({ content: 'Here is my edit.', usage: { prompt_tokens: 1000, completion_tokens: 500 } })
    const c = client({ pricePer1kIn: 0.5, pricePer1kOut: 1.5, temperature: 0.7, maxTokens: 256 })
    const r = await c.complete({ system: 'You are a code optimizer.', user: 'Improve this program.' })
    expect(r).toMatchObject({
      text: 'Here is my edit.',
      tokensIn: 1000,
      tokensOut: 500,
      costUsd: 1.25,
      model: 'gpt-4.1-mini',
      provider: 'openai',
      modelId: 'openai:gpt-4.1-mini',
      attempts: 1,
      usageEstimated: false,
      finishReason: 'stop',
    })
    expect(r.latencyMs).toBeGreaterThanOrEqual(0)
    const [req] = server.chatRequests()
    expect(req!.path).toBe('/v1/chat/completions')
    expect(req!.auth).toEqual({ present: true, ok: true })
    expect(req!.headers.authorization).toBeUndefined()
    expect(req!.body).toMatchObject({
      model: 'gpt-4.1-mini',
      temperature: 0.7,
      max_tokens: 256,
      messages: [
        { role: 'system', content: 'You are a code optimizer.' },
        { role: 'user', content: 'Improve this program.' },
      ],
    })
  })

  it('a reasoning model that takes only its default temperature is sent none, or the configured one', async () => {
    const reasoning = (temperature?: number) =>
      new LlmClient(
        {
          provider: 'openai',
          model: 'o4-mini',
          baseURL: server.url,
          ...(temperature !== undefined ? { temperature } : {}),
        },
        { env: { OPENAI_API_KEY: KEY }, retry: FAST_RETRY },
      )
    server.enqueue({ content: 'a' }, { content: 'b' }, { content: 'c' })
    await reasoning().complete({ user: 'x' }, { temperature: 0.3 })
    await reasoning(1).complete({ user: 'x' }, { temperature: 0 })
    await new LlmClient(
      { provider: 'openai', model: 'gpt-5-mini', baseURL: server.url },
      { env: { OPENAI_API_KEY: KEY }, retry: FAST_RETRY },
    ).complete({ user: 'x' }, { temperature: 0.7 })
    const sent = server
      .chatRequests()
      .slice(-3)
      .map((r) => (r.body as { temperature?: number }).temperature)
    expect(sent).toEqual([undefined, 1, undefined])
  })

  it('per-call temperature overrides the config', async () => {
    server.enqueue({ content: 'ok' })
    await client({ temperature: 0.2 }).complete({ user: 'x' }, { temperature: 1.1 })
    expect(server.chatRequests()[0]!.body).toMatchObject({ temperature: 1.1 })
  })

  it('streams (SSE) with usage and reports deltas', async () => {
    const content = 'A streamed answer that arrives in several chunks of text.'
    server.enqueue({ content, chunkSize: 7 })
    const deltas: string[] = []
    const r = await client().complete({ user: 'stream please' }, { stream: true, onToken: (d) => deltas.push(d) })
    expect(r.text).toBe(content)
    expect(deltas.join('')).toBe(content)
    expect(deltas.length).toBeGreaterThan(3)
    const req = server.chatRequests()[0]!
    expect(req.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(r.tokensIn).toBe(req.response!.usage!.prompt_tokens)
    expect(r.tokensOut).toBe(req.response!.usage!.completion_tokens)
    expect(r.usageEstimated).toBe(false)
  })

  it('estimates tokens when the provider sends no usage', async () => {
    server.enqueue({ content: '12345678', usage: null })
    const r = await client().complete({ system: 'abcd', user: 'efgh' })
    expect(r).toMatchObject({ tokensIn: 2, tokensOut: 2, usageEstimated: true })
  })

  it('estimates tokens where the provider reports an absurd count (past any context window)', async () => {
    server.enqueue({ content: '12345678', usage: { prompt_tokens: 2_500_000_000, completion_tokens: 1e12 } })
    const r = await client().complete({ system: 'abcd', user: 'efgh' })
    expect(r).toMatchObject({ tokensIn: 2, tokensOut: 2, usageEstimated: true })
  })

  it('retries a 429 and waits as long as retry-after says', async () => {
    server.enqueue(
      { type: 'error', status: 429, retryAfter: '0.3', message: 'Rate limit reached' },
      { content: 'after the wait' },
    )
    const retries: number[] = []
    const c = new LlmClient(
      { provider: 'openai', model: 'gpt-4.1-mini', baseURL: server.url },
      {
        env: { OPENAI_API_KEY: KEY },
        retry: { ...FAST_RETRY, baseDelayMs: 1 },
        onRetry: (i) => retries.push(i.delayMs),
      },
    )
    const t0 = Date.now()
    const r = await c.complete({ user: 'hello' })
    const elapsed = Date.now() - t0
    expect(r.text).toBe('after the wait')
    expect(r.attempts).toBe(2)
    expect(retries).toEqual([300])
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(server.chatRequests()).toHaveLength(2)
  })

  it('honours retry-after-ms too', async () => {
    server.enqueue({ type: 'error', status: 503, retryAfterMs: 120 }, { content: 'ok' })
    const t0 = Date.now()
    const r = await client().complete({ user: 'x' })
    expect(r.attempts).toBe(2)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110)
  })

  it('gives up on a retry-after longer than the policy allows', async () => {
    server.enqueue({ type: 'error', status: 429, retryAfter: 3600 })
    const e = await failure(client({}, { ...FAST_RETRY, maxRetryAfterMs: 1000 }).complete({ user: 'x' }))
    expect(e).toMatchObject({ kind: 'rate-limit', status: 429, attempts: 1, retryAfterMs: 3_600_000 })
  })

  it('500s exhausting the attempts end in a typed server error', async () => {
    server.enqueue(
      { type: 'error', status: 500 },
      { type: 'error', status: 502 },
      { type: 'error', status: 500, message: 'still broken' },
      { content: 'never reached' },
    )
    const e = await failure(client().complete({ user: 'x' }))
    expect(e.kind).toBe('server')
    expect(e.status).toBe(500)
    expect(e.attempts).toBe(3)
    expect(e.retryable).toBe(true)
    expect(e.message).toContain('still broken')
    expect(e.toJSON()).toMatchObject({
      kind: 'server',
      status: 500,
      attempts: 3,
      provider: 'openai',
      model: 'gpt-4.1-mini',
    })
    expect(server.chatRequests()).toHaveLength(3)
    expect(server.pending()).toBe(1)
  })

  it('a 400 is not retried', async () => {
    server.enqueue({ type: 'error', status: 400, message: 'model does not exist' })
    const e = await failure(client().complete({ user: 'x' }))
    expect(e).toMatchObject({ kind: 'bad-request', status: 400, attempts: 1, retryable: false })
  })

  it('times out a hanging server per attempt and retries within the total bound', async () => {
    server.enqueue({ type: 'hang' }, { type: 'hang' }, { type: 'hang' })
    const t0 = Date.now()
    const e = await failure(client({ timeoutS: 0.2 }, { ...FAST_RETRY, maxAttempts: 2 }).complete({ user: 'x' }))
    const elapsed = Date.now() - t0
    expect(e.kind).toBe('timeout')
    expect(e.attempts).toBe(2)
    expect(elapsed).toBeGreaterThanOrEqual(380)
    expect(elapsed).toBeLessThan(3000)
  })

  it('bounds the total time of a call', async () => {
    server.enqueue({ type: 'hang' }, { type: 'hang' }, { type: 'hang' })
    const t0 = Date.now()
    const e = await failure(
      client({ timeoutS: 10 }, { maxAttempts: 5, baseDelayMs: 1, totalTimeoutMs: 300 }).complete({ user: 'x' }),
    )
    expect(e.kind).toBe('timeout')
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('a late answer after a delay still arrives within the timeout', async () => {
    // biome-ignore lint/suspicious/noThenProperty: the test server's own script format names the next step "then"
    server.enqueue({ type: 'delay', delayMs: 100, then: { content: 'slow but fine' } })
    const r = await client({ timeoutS: 5 }).complete({ user: 'x' })
    expect(r.text).toBe('slow but fine')
    expect(r.latencyMs).toBeGreaterThanOrEqual(90)
  })

  it('reports a malformed body as a typed, non-retried error', async () => {
    server.enqueue({ type: 'malformed' }, { content: 'unused' })
    const e = await failure(client().complete({ user: 'x' }))
    expect(e).toMatchObject({ kind: 'malformed', attempts: 1, retryable: false })
    server.reset()
    server.enqueue({ type: 'malformed', body: '{"id":"x","object":"chat.completion"}' })
    expect((await failure(client().complete({ user: 'x' }))).kind).toBe('malformed')
  })

  it('reports an empty answer as a typed error that still carries the tokens billed', async () => {
    server.enqueue({ content: '', usage: { prompt_tokens: 40, completion_tokens: 0 }, finishReason: 'length' })
    const e = await failure(client({ pricePer1kIn: 1 }).complete({ user: 'x' }))
    expect(e).toMatchObject({ kind: 'empty', tokensIn: 40, costUsd: 0.04, attempts: 1 })
    expect(e.message).toContain('length')
  })

  it('retries a dropped connection (network error)', async () => {
    server.enqueue({ type: 'drop' }, { content: 'second time lucky' })
    const r = await client().complete({ user: 'x' })
    expect(r).toMatchObject({ text: 'second time lucky', attempts: 2 })
  })

  it('a refused connection ends in a network error', async () => {
    const other = await startOpenAiTestServer()
    const url = other.url
    await other.close()
    const c = new LlmClient(
      { provider: 'openai', model: 'm', baseURL: url },
      { env: { OPENAI_API_KEY: KEY }, retry: FAST_RETRY },
    )
    const e = await failure(c.complete({ user: 'x' }))
    expect(e.kind).toBe('network')
    expect(e.attempts).toBe(3)
    // which server could not be reached: a base URL typo is the usual cause
    expect(e.message).toContain(url)
  })

  it('aborts promptly when the caller aborts, without retrying', async () => {
    server.enqueue({ type: 'hang' }, { type: 'hang' })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    const t0 = Date.now()
    const r = await client({ timeoutS: 30 }).tryComplete({ user: 'x' }, { signal: ac.signal })
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'aborted', attempts: 1 })
  })

  it('aborts during a backoff wait', async () => {
    server.enqueue({ type: 'error', status: 429, retryAfter: 5 })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 150)
    const t0 = Date.now()
    const e = await failure(client().complete({ user: 'x' }, { signal: ac.signal }))
    expect(e.kind).toBe('aborted')
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('a web page where the API was expected (a base URL without /v1) fails at once and says to check the base URL', async () => {
    const site = createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>'),
    )
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    try {
      const c = client({ baseURL: `http://127.0.0.1:${(site.address() as AddressInfo).port}` })
      const e = await failure(c.complete({ user: 'x' }))
      expect(e.kind).toBe('bad-request')
      expect(e.attempts).toBe(1)
      expect(e.message).toContain('web page (HTML: “Welcome to nginx!”)')
      expect(e.message).toContain('check the base URL')
    } finally {
      site.close()
    }
  })

  it('tryComplete never rejects', async () => {
    server.enqueue({ type: 'malformed', body: 'not json at all' })
    const r = await client().tryComplete({ user: 'x' })
    expect(r.ok).toBe(false)
  })
})

/** an OpenAI-protocol server that answers every chat request as `answer` says (what the stand-in never sends) */
async function rawServer(answer: (body: { stream?: boolean }, res: import('node:http').ServerResponse) => void) {
  const site = createServer(async (req, res) => {
    let raw = ''
    for await (const c of req) raw += c
    answer(JSON.parse(raw) as { stream?: boolean }, res)
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(site.address() as AddressInfo).port}/v1`,
    close: () => {
      site.closeAllConnections()
      site.close()
    },
  }
}

const chatJson = (content: string, usage: Record<string, number>) => ({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage,
})

/** SSE chunks whose first delta has no role (some OpenAI-compatible servers), then a usage chunk */
function roleless(res: import('node:http').ServerResponse, content: string, usage: Record<string, number>) {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  const write = (o: object) =>
    res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', ...o })}\n\n`)
  for (let i = 0; i < content.length; i += 4)
    write({ choices: [{ index: 0, delta: { content: content.slice(i, i + 4) }, finish_reason: null }] })
  write({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
  write({ choices: [], usage })
  res.end('data: [DONE]\n\n')
}

describe('answers off the usual shape', () => {
  const rawClient = (url: string) =>
    new LlmClient(
      { provider: 'openai', model: 'gpt-4.1-mini', baseURL: url, pricePer1kIn: 0.01, pricePer1kOut: 0.03 },
      { env: { OPENAI_API_KEY: KEY }, retry: FAST_RETRY },
    )

  it('an answer over 32 MB fails at once, saying so and naming the base URL (not a retried "Connection error")', async () => {
    let requests = 0
    const block = Buffer.alloc(1024 * 1024, 'x')
    const site = await rawServer((_body, res) => {
      requests++
      res.writeHead(200, { 'content-type': 'application/json' })
      let sent = 0
      const more = () => {
        while (sent <= 33) {
          sent++
          if (!res.write(block)) return void res.once('drain', more)
        }
        res.end()
      }
      res.on('error', () => {})
      more()
    })
    try {
      const e = await failure(rawClient(site.url).complete({ user: 'x' }))
      expect(e.kind).toBe('bad-request')
      expect(e.retryable).toBe(false)
      expect(e.attempts).toBe(1)
      expect(requests).toBe(1)
      expect(e.message).toMatch(/answer is over 32 MB/)
      expect(e.message).toContain(site.url)
      expect(e.message).not.toMatch(/Connection error/)
    } finally {
      site.close()
    }
  })

  it('a stream whose first delta has no role keeps the usage its last chunk reports', async () => {
    const site = await rawServer((_body, res) =>
      roleless(res, 'a streamed answer', { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 }),
    )
    try {
      const deltas: string[] = []
      const r = await rawClient(site.url).complete({ user: 'x' }, { stream: true, onToken: (d) => deltas.push(d) })
      expect(r).toMatchObject({ text: 'a streamed answer', tokensIn: 1000, tokensOut: 500, usageEstimated: false })
      expect(r.costUsd).toBeCloseTo(0.025, 10)
      expect(deltas.join('')).toBe('a streamed answer')
    } finally {
      site.close()
    }
  })

  it('usage with the input count only: the output is estimated (and flagged), not counted as free', async () => {
    const content = 'x'.repeat(400)
    const site = await rawServer((body, res) => {
      if (body.stream) return roleless(res, content, { prompt_tokens: 1000 })
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(chatJson(content, { prompt_tokens: 1000 })))
    })
    try {
      for (const stream of [false, true]) {
        const r = await rawClient(site.url).complete({ user: 'x' }, { stream })
        expect(r, `stream: ${stream}`).toMatchObject({ tokensIn: 1000, tokensOut: 100, usageEstimated: true })
      }
    } finally {
      site.close()
    }
  })

  it('a 429 for an account out of quota (insufficient_quota) is a refusal, not retried, that says to check billing', async () => {
    server.enqueue({
      type: 'error',
      status: 429,
      code: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
    })
    const e = await failure(client().complete({ user: 'x' }))
    expect(e.kind).toBe('auth')
    expect(e.retryable).toBe(false)
    expect(e.attempts).toBe(1)
    expect(server.chatRequests()).toHaveLength(1)
    expect(e.message).toMatch(
      /^the provider refused the request: the account's quota is used up .*check its plan, billing and quota/,
    )
    expect(e.message).toMatch(/\(429 You exceeded your current quota, please check your plan and billing details\.\)$/)
  })
})

describe('environment and secrets', () => {
  it('honours OPENAI_BASE_URL and OPENAI_API_KEY from process.env at call time', async () => {
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1')
    vi.stubEnv('OPENAI_API_KEY', KEY)
    const c = new LlmClient({ provider: 'openai', model: 'gpt-4.1-mini' }, { retry: { ...FAST_RETRY, maxAttempts: 1 } })
    // the env at construction time points nowhere; it is read again at each call
    vi.stubEnv('OPENAI_BASE_URL', server.url)
    server.enqueue({ content: 'via env' })
    const r = await c.complete({ user: 'x' })
    expect(r.text).toBe('via env')
    expect(server.chatRequests()[0]!.auth.ok).toBe(true)
  })

  it('a config baseURL and apiKeyEnv override the defaults', async () => {
    const c = new LlmClient(
      { provider: 'openai', model: 'deepseek-chat', baseURL: server.url, apiKeyEnv: 'DEEPSEEK_API_KEY' },
      {
        env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-wrong-0000000000', DEEPSEEK_API_KEY: KEY },
        retry: FAST_RETRY,
      },
    )
    server.enqueue({ content: 'deepseek via override' })
    expect((await c.complete({ user: 'x' })).text).toBe('deepseek via override')
    expect(server.chatRequests()[0]!.auth.ok).toBe(true)
  })

  it('never leaks the key: not in errors, results, the client object, or recorded requests', async () => {
    const strict = await startOpenAiTestServer({ apiKey: 'sk-test-OTHER-KEY-9', echoKeyInErrors: true })
    try {
      const c = new LlmClient(
        { provider: 'openai', model: 'gpt-4.1-mini', baseURL: strict.url },
        { env: { OPENAI_API_KEY: KEY }, retry: FAST_RETRY },
      )
      const e = await failure(c.complete({ user: 'x' }))
      expect(e.kind).toBe('auth')
      expect(e.status).toBe(401)
      expect(e.attempts).toBe(1)
      expect(e.message).toContain('[REDACTED]')
      for (const text of [
        e.message,
        e.stack ?? '',
        JSON.stringify(e),
        inspect(e, { depth: 10 }),
        inspect(c, { depth: 10, showHidden: true }),
        JSON.stringify(c),
      ])
        expect(text).not.toContain('SECRET123')
      expect(JSON.stringify(strict.requests)).not.toContain('SECRET123')
    } finally {
      await strict.close()
    }
    server.enqueue({ content: 'fine' })
    const ok = await client().complete({ user: 'x' })
    expect(JSON.stringify(ok)).not.toContain('SECRET123')
    expect(inspect(ok, { depth: 10 })).not.toContain('SECRET123')
  })

  it('a missing key for the public API is a config error, sent nowhere', async () => {
    const c = new LlmClient({ provider: 'openai', model: 'gpt-4.1-mini' }, { env: {}, retry: FAST_RETRY })
    const e = await failure(c.complete({ user: 'x' }))
    expect(e.kind).toBe('config')
    expect(e.message).toContain('OPENAI_API_KEY')
    expect(e.attempts).toBe(1)
  })

  it('a self-hosted OpenAI-compatible server needs no key', async () => {
    const open = await startOpenAiTestServer({ script: [{ content: 'local model here' }] })
    try {
      const c = new LlmClient(
        { provider: 'openai', model: 'qwen2.5-coder', baseURL: open.url },
        { env: {}, retry: FAST_RETRY },
      )
      expect((await c.complete({ user: 'x' })).text).toBe('local model here')
    } finally {
      await open.close()
    }
  })
})
