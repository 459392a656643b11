import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { observed } from '../../test-support/held.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { cosine } from '../../test-support/semantic-embedder.ts'
import { createEmbedder } from './embedder.ts'
import { LlmError } from './errors.ts'

const KEY = 'sk-test-SECRET123'
let server: OpenAiTestServer
beforeAll(async () => {
  server = await startOpenAiTestServer({ apiKey: KEY, embeddingDims: { 'test-embed-small': 64 } })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => server.reset())

const env = { OPENAI_API_KEY: KEY }
const RETRY = { maxAttempts: 3, baseDelayMs: 2, maxDelayMs: 10 }

describe('createEmbedder (OpenAI-compatible)', () => {
  it('returns the float vectors the server computed, asking for encoding_format float', async () => {
    const e = createEmbedder(
      { provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url },
      { env, retry: RETRY },
    )
    expect(e.id).toBe('openai:text-embedding-3-small')
    expect(e.dims).toBe(1536)
    const texts = ['simulated annealing for the travelling salesman', 'def solve(n):\n    return n * 2']
    const vectors = await e.embed(texts)
    expect(vectors).toHaveLength(2)
    expect(vectors[0]).toHaveLength(1536)
    expect(vectors[0]).toEqual(server.embed(texts[0]!, 'text-embedding-3-small'))
    expect(vectors[1]).toEqual(server.embed(texts[1]!, 'text-embedding-3-small'))
    const req = server.requests.find((r) => r.endpoint === 'embeddings')!
    expect(req.body).toMatchObject({ model: 'text-embedding-3-small', encoding_format: 'float', input: texts })
    expect(req.auth.ok).toBe(true)
  })

  it('batches, learns an unknown model size, and honours dimensions', async () => {
    const e = createEmbedder(
      { provider: 'openai', model: 'test-embed-small', baseURL: server.url, batchSize: 2 },
      { env, retry: RETRY },
    )
    expect(e.dims).toBe(0)
    const v = await e.embed(['a b', 'c d', 'e f', 'g h', 'i j'])
    expect(v).toHaveLength(5)
    expect(e.dims).toBe(64)
    expect(server.requests.filter((r) => r.endpoint === 'embeddings')).toHaveLength(3)
    expect(e.stats).toMatchObject({ requests: 3, texts: 5, failures: 0 })

    const d = createEmbedder(
      { provider: 'openai', model: 'text-embedding-3-large', baseURL: server.url, dimensions: 256 },
      { env },
    )
    expect(d.id).toBe('openai:text-embedding-3-large@256')
    const [w] = await d.embed(['hello'])
    expect(w).toHaveLength(256)
    expect(server.requests.at(-1)!.body).toMatchObject({ dimensions: 256 })
  })

  it('retries a 429 and a 503 with the shared policy', async () => {
    server.enqueue(
      { endpoint: 'embeddings', type: 'error', status: 429, retryAfter: '0.05' },
      { endpoint: 'embeddings', type: 'error', status: 503 },
    )
    const e = createEmbedder(
      { provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url },
      { env, retry: RETRY },
    )
    const [v] = await e.embed(['retry me'])
    expect(v).toEqual(server.embed('retry me'))
    expect(server.requests.filter((r) => r.endpoint === 'embeddings')).toHaveLength(3)
  })

  it('once (a person waits): one attempt, the failure at once, without the retries and their waits', async () => {
    server.enqueue(
      { endpoint: 'embeddings', type: 'error', status: 503 },
      { endpoint: 'embeddings', type: 'error', status: 503 },
    )
    // the default policy: four attempts, a second's backoff first
    const e = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url }, { env })
    await expect(e.embed(['a query'], { once: true })).rejects.toBeInstanceOf(LlmError)
    expect(server.requests.filter((r) => r.endpoint === 'embeddings')).toHaveLength(1)
    // a document's embedding still retries: the second 503, then an answer
    const [v] = await e.embed(['a document'])
    expect(v).toEqual(server.embed('a document'))
    expect(server.requests.filter((r) => r.endpoint === 'embeddings')).toHaveLength(3)
  })

  it('within (a run waits): one retry at most, each attempt its share of the bound, then the failure', async () => {
    server.enqueue(...[1, 2, 3].map(() => ({ endpoint: 'embeddings' as const, type: 'hang' as const })))
    // the default policy: four attempts of up to 120 s each, 300 s in all
    const e = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url }, { env })
    const err = await e.embed(['a query'], { within: { attempts: 2, totalMs: 400 } }).catch((x: unknown) => x)
    expect(err).toMatchObject({ kind: 'timeout', attempts: 2 })
    expect(server.requests.filter((r) => r.endpoint === 'embeddings')).toHaveLength(2)
  })

  it('typed errors: exhausted retries, wrong vector size, no key', async () => {
    server.enqueue(...[1, 2, 3].map(() => ({ endpoint: 'embeddings' as const, type: 'error' as const, status: 500 })))
    const e = createEmbedder(
      { provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url },
      { env, retry: RETRY },
    )
    await expect(e.embed(['x'])).rejects.toMatchObject({ kind: 'server', attempts: 3 })
    expect(e.stats.failures).toBe(1)

    server.enqueue({ endpoint: 'embeddings', type: 'embedding', vectors: [[1, 0, 0]] })
    const wrong = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url }, { env })
    await expect(wrong.embed(['x'])).rejects.toMatchObject({ kind: 'malformed' })

    const noKey = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small' }, { env: {} })
    const err = await noKey.embed(['x']).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(LlmError)
    expect(err).toMatchObject({ kind: 'config' })
  })

  it('a wrong key never shows in the error', async () => {
    const strict = await startOpenAiTestServer({ apiKey: 'sk-other-000000000', echoKeyInErrors: true })
    try {
      const e = createEmbedder(
        { provider: 'openai', model: 'text-embedding-3-small', baseURL: strict.url },
        { env, retry: RETRY },
      )
      const err = (await e.embed(['x']).catch((x: unknown) => x)) as LlmError
      expect(err.kind).toBe('auth')
      expect(`${err.message}${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET123')
    } finally {
      await strict.close()
    }
  })

  it('aborts', async () => {
    server.enqueue({ endpoint: 'embeddings', type: 'hang' })
    const e = createEmbedder(
      { provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url },
      { env, retry: RETRY },
    )
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    await expect(e.embed(['x'], { signal: ac.signal })).rejects.toMatchObject({ kind: 'aborted' })
  })

  it('an abort closes the request itself, not only the wait for it', async () => {
    // a server that never answers, and sees when the client lets go of the request
    let received = 0
    let closed = 0
    const silent = createServer((req) => {
      received++
      req.socket.on('close', () => closed++)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    try {
      const { port } = silent.address() as AddressInfo
      // its own timeout far beyond the test's: only the abort can end the request in time
      const e = createEmbedder(
        { provider: 'openai', model: 'text-embedding-3-small', baseURL: `http://127.0.0.1:${port}/v1`, timeoutS: 3600 },
        { env, retry: RETRY },
      )
      const ac = new AbortController()
      const asked = e.embed(['x'], { signal: ac.signal }).catch((x: unknown) => x)
      await observed(() => received > 0)
      ac.abort()
      expect(await asked).toMatchObject({ kind: 'aborted' })
      await observed(() => closed > 0)
      expect(received).toBe(1)
    } finally {
      silent.closeAllConnections()
      await new Promise<void>((r) => silent.close(() => r()))
    }
  })

  it('the semantic test embedder places synonyms closer than unrelated words, end to end', async () => {
    const e = createEmbedder({ provider: 'openai', model: 'test-embed-small', baseURL: server.url }, { env })
    const [fastCar, quickAutomobile, sadKitten, rapidVehicle] = await e.embed([
      'a fast car',
      'the quick automobile',
      'a sad kitten',
      'rapid vehicles',
    ])
    const near = cosine(fastCar!, quickAutomobile!)
    const far = cosine(fastCar!, sadKitten!)
    expect(near).toBeGreaterThan(0.95)
    expect(cosine(fastCar!, rapidVehicle!)).toBeGreaterThan(0.95)
    expect(Math.abs(far)).toBeLessThan(0.3)
    expect(near).toBeGreaterThan(far + 0.5)
  })
})
