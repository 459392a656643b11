import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAiTestServer, type OpenAiTestServer, type RecordedRequest } from './openai-server.ts'
import { cosine, createSemanticEmbedder } from './semantic-embedder.ts'
import { extractParentProgram, findNumericLiterals, literalEditResponder } from './literal-edit-responder.ts'

let server: OpenAiTestServer
beforeAll(async () => {
  server = await startOpenAiTestServer()
})
afterAll(async () => {
  await server.close()
})

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-SECRET123', ...headers },
    body: JSON.stringify(body),
  })

describe('openai test server: wire protocol', () => {
  it('answers chat completions as JSON with usage, and records the request without credentials', async () => {
    server.reset()
    server.enqueue({ content: 'hello there' })
    const res = await post('/chat/completions', { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] })
    expect(res.status).toBe(200)
    const json = (await res.json()) as Record<string, unknown>
    expect(json).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-x',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
    })
    const rec = server.requests[0] as RecordedRequest
    expect(rec).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      endpoint: 'chat',
      auth: { present: true, ok: null },
    })
    expect(rec.body).toMatchObject({ model: 'gpt-x' })
    expect(JSON.stringify(rec)).not.toContain('SECRET123')
  })

  it('streams SSE chunks, a usage chunk when asked, and [DONE]', async () => {
    server.reset()
    server.enqueue({ content: 'abcdefghij', chunkSize: 4 })
    const res = await post('/chat/completions', {
      model: 'gpt-x',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream' }],
    })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const events = (await res.text()).split('\n\n').filter(Boolean)
    expect(events.at(-1)).toBe('data: [DONE]')
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.replace(/^data: /, '')) as {
          choices: { delta?: { content?: string }; finish_reason: string | null }[]
          usage?: unknown
        },
    )
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('abcdefghij')
    expect(chunks.find((c) => c.choices[0]?.finish_reason === 'stop')).toBeDefined()
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } })
  })

  it('answers scripted errors with OpenAI error bodies and retry-after', async () => {
    server.reset()
    server.enqueue({ type: 'error', status: 429, retryAfter: 2 })
    const res = await post('/chat/completions', { model: 'm', messages: [] })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('2')
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } })
  })

  it('embeddings: floats, and base64 float32 that decodes to the same numbers', async () => {
    const input = ['quick brown fox', 'lazy dog']
    const floats = (await (await post('/embeddings', { model: 'text-embedding-3-small', input })).json()) as {
      data: { embedding: number[]; index: number }[]
      usage: { prompt_tokens: number }
    }
    expect(floats.data).toHaveLength(2)
    expect(floats.data[0]!.embedding).toHaveLength(1536)
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0)
    const b64 = (await (
      await post('/embeddings', { model: 'text-embedding-3-small', input, encoding_format: 'base64' })
    ).json()) as {
      data: { embedding: string }[]
    }
    const buf = Buffer.from(b64.data[1]!.embedding, 'base64')
    const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4))
    expect(decoded).toEqual(floats.data[1]!.embedding)
    const small = (await (
      await post('/embeddings', { model: 'text-embedding-3-small', input: 'x', dimensions: 32 })
    ).json()) as {
      data: { embedding: number[] }[]
    }
    expect(small.data[0]!.embedding).toHaveLength(32)
  })

  it('lists models, requires the key when configured, 404s unknown routes', async () => {
    const models = (await (await fetch(`${server.url}/models`)).json()) as { data: { id: string }[] }
    expect(models.data.map((m) => m.id)).toContain('gpt-4.1-mini')
    expect((await post('/nope', {})).status).toBe(404)
    const locked = await startOpenAiTestServer({ apiKey: 'sk-right-key-0000' })
    try {
      const res = await fetch(`${locked.url}/models`, { headers: { authorization: 'Bearer wrong-key-123456' } })
      expect(res.status).toBe(401)
      expect(await res.text()).not.toContain('wrong-key-123456')
      expect(locked.requests[0]!.auth).toEqual({ present: true, ok: false })
    } finally {
      await locked.close()
    }
  })

  it('answers instantly (an "instant model" for benchmarks)', async () => {
    server.reset()
    const t0 = performance.now()
    for (let i = 0; i < 50; i++)
      await post('/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'no program' }] })
    expect((performance.now() - t0) / 50).toBeLessThan(20)
  })
})

describe('literal-edit responder', () => {
  const parent = [
    'import math',
    '',
    '# EVOLVE-BLOCK-START',
    'def score(x):',
    '    # weight 42 is a comment',
    '    return x * 3 + 0.5',
    '# EVOLVE-BLOCK-END',
    '',
    'N = 1000',
  ].join('\n')
  const prompt = `Improve the program.\n\n## Inspiration\n\`\`\`python\nprint(7)\n\`\`\`\n\n## Current program\n\`\`\`python\n${parent}\n\`\`\`\n\nAnswer with <<<<<<< SEARCH blocks.`

  it('finds the parent program and only literals inside EVOLVE-BLOCKs, outside comments', () => {
    expect(extractParentProgram(prompt)?.code).toBe(parent)
    expect(findNumericLiterals(parent, 'python').map((s) => s.text)).toEqual(['3', '0.5'])
  })

  it('answers with a SEARCH/REPLACE edit that applies to the parent and changes one literal', () => {
    const respond = literalEditResponder({ seed: 7 })
    for (let i = 0; i < 10; i++) {
      const { content } = respond({
        messages: [
          { role: 'system', content: 'You optimise code.' },
          { role: 'user', content: prompt },
        ],
      })
      const m = /<<<<<<< SEARCH\n([\s\S]*?)\n=======\n([\s\S]*?)\n>>>>>>> REPLACE/.exec(content)
      expect(m).not.toBeNull()
      const [, search, replace] = m!
      expect(parent.split(search!).length).toBe(2)
      const child = parent.replace(search!, replace!)
      expect(child).not.toBe(parent)
      expect(child.split('\n').length).toBe(parent.split('\n').length)
      expect(child).toContain('N = 1000')
    }
  })

  it('full-rewrite mode and <think> wrapping', () => {
    const respond = literalEditResponder({ seed: 3, mode: 'full', wrap: 'think' })
    const { content } = respond({ messages: [{ role: 'user', content: prompt.replace('<<<<<<< SEARCH', 'a full') }] })
    expect(content.startsWith('<think>')).toBe(true)
    const code = /```python\n([\s\S]*?)\n```/.exec(content)?.[1]
    expect(code).toBeDefined()
    expect(code).not.toBe(parent)
    expect(code!.split('\n')).toHaveLength(parent.split('\n').length)
  })

  it('is deterministic for a seed and says so when there is nothing to edit', () => {
    const a = literalEditResponder({ seed: 5 })({ messages: [{ role: 'user', content: prompt }] })
    const b = literalEditResponder({ seed: 5 })({ messages: [{ role: 'user', content: prompt }] })
    expect(a).toEqual(b)
    expect(literalEditResponder()({ messages: [{ role: 'user', content: 'no code here' }] }).content).not.toContain(
      'SEARCH',
    )
  })

  it('the server uses it as its default responder', async () => {
    server.reset()
    const res = await post('/chat/completions', { model: 'm', messages: [{ role: 'user', content: prompt }] })
    const json = (await res.json()) as { choices: { message: { content: string } }[] }
    expect(json.choices[0]!.message.content).toContain('>>>>>>> REPLACE')
  })
})

describe('semantic test embedder', () => {
  const sem = createSemanticEmbedder()
  const e = (t: string) => sem.embed(t, 128)

  it('synonyms are close, unrelated words are not', () => {
    expect(cosine(e('fast car'), e('quick automobile'))).toBeGreaterThan(0.99)
    expect(cosine(e('reduce the cost of the route'), e('minimise the price of the tour'))).toBeGreaterThan(0.99)
    expect(Math.abs(cosine(e('fast car'), e('sad kitten')))).toBeLessThan(0.3)
    expect(cosine(e('sorting speedy arrays'), e('fast sort of a list'))).toBeGreaterThan(0.8)
  })

  it('is unit-length, deterministic, splits identifiers, and takes a custom lexicon', () => {
    const v = e('maxIterations temperature_schedule')
    expect(Math.hypot(...v)).toBeCloseTo(1, 5)
    expect(e('maxIterations')).toEqual(e('max iterations'))
    expect(e('')).toEqual(new Array(128).fill(0))
    const custom = createSemanticEmbedder({ lexicon: [['tsp', 'salesman']] })
    expect(cosine(custom.embed('tsp', 16), custom.embed('salesman', 16))).toBeCloseTo(1, 6)
  })
})

describe('CLI', () => {
  it('runs as a separate process, prints its URL as JSON and serves the script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-openai-server-'))
    const scriptPath = join(dir, 'script.json')
    writeFileSync(
      scriptPath,
      JSON.stringify({ queue: [{ content: 'from the script' }], responder: { content: 'fallback' } }),
    )
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test-support/openai-server.ts', '--port', '0', '--script', scriptPath],
      {
        cwd: process.cwd(),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! })
        rl.once('line', resolve)
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
      })
      const info = JSON.parse(line) as { url: string; port: number }
      expect(info.url).toBe(`http://127.0.0.1:${info.port}/v1`)
      const ask = async () => {
        const r = await fetch(`${info.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'q' }] }),
        })
        return ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
      }
      expect(await ask()).toBe('from the script')
      expect(await ask()).toBe('fallback')
      await fetch(`${info.url.replace(/\/v1$/, '')}/__admin/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ content: 'enqueued over HTTP' }]),
      })
      expect(await ask()).toBe('enqueued over HTTP')
      const log = (await (await fetch(`${info.url.replace(/\/v1$/, '')}/__admin/requests`)).json()) as RecordedRequest[]
      expect(log.filter((r) => r.endpoint === 'chat')).toHaveLength(3)
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
