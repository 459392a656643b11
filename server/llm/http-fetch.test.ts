// httpFetch against a real HTTP server: what the OpenAI client relies on from fetch, and what the
// global fetch is left to do. The model client's own tests (client.test.ts) run every call through it.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANSWER_TOO_LARGE, httpFetch, MAX_ANSWER_BYTES, modelApiFetch } from './http-fetch.ts'

let server: http.Server
let base = ''
const ports: number[] = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    ports.push(req.socket.remotePort!)
    const chunks: Buffer[] = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      switch (req.url) {
        case '/echo':
          res.setHeader('content-type', 'application/json')
          res.setHeader('x-request-id', 'req-1')
          res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null }))
          return
        case '/gzip':
          res.setHeader('content-type', 'application/json')
          res.setHeader('content-encoding', 'gzip')
          res.end(gzipSync(JSON.stringify({ answer: 'x'.repeat(5000) })))
          return
        case '/moved':
          res.writeHead(307, { location: '/echo' })
          res.end()
          return
        case '/bom':
          res.setHeader('content-type', 'application/json')
          res.end(Buffer.from('\uFEFF{"a":"é"}'))
          return
        case '/empty':
          res.writeHead(204)
          res.end()
          return
        case '/cut':
          // promises more than it sends, then drops the connection
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
          res.write('{"partial":')
          setImmediate(() => req.socket.destroy())
          return
        case '/huge': {
          res.writeHead(200, { 'content-type': 'text/plain' })
          const block = Buffer.alloc(1024 * 1024, 'a')
          let sent = 0
          const more = () => {
            while (sent <= MAX_ANSWER_BYTES) {
              sent += block.length
              if (!res.write(block)) return void res.once('drain', more)
            }
            res.end()
          }
          more()
          return
        }
        case '/hang':
          return // answers never
        default:
          res.writeHead(404)
          res.end('no')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

describe('httpFetch', () => {
  it('posts text and answers as fetch does: status, headers, JSON; one kept-alive connection', async () => {
    const post = () =>
      httpFetch(`${base}/echo`, {
        method: 'POST',
        headers: new Headers({ 'content-type': 'application/json' }),
        body: '{"q":1}',
      })
    ports.length = 0
    const r = await post()
    expect(r.status).toBe(200)
    expect(r.headers.get('x-request-id')).toBe('req-1')
    expect(await r.json()).toEqual({ method: 'POST', body: '{"q":1}', type: 'application/json' })
    await (await post()).json()
    expect(ports).toHaveLength(2)
    expect(ports[1]).toBe(ports[0])
  })

  it('decodes a compressed answer, follows a redirect, and gives a 204 no body', async () => {
    expect(((await (await httpFetch(`${base}/gzip`)).json()) as { answer: string }).answer).toHaveLength(5000)
    const moved = await httpFetch(`${base}/moved`, { method: 'POST', body: 'again' })
    expect(await moved.json()).toMatchObject({ method: 'POST', body: 'again' })
    const empty = await httpFetch(`${base}/empty`)
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  it('gives a body as fetch does: read once, by text, JSON, bytes or its stream; clones; a byte order mark dropped', async () => {
    const get = () => httpFetch(`${base}/bom`)
    const r = await get()
    expect(r).toBeInstanceOf(Response)
    expect(r.bodyUsed).toBe(false)
    expect(await r.json()).toEqual({ a: 'é' })
    expect(r.bodyUsed).toBe(true)
    await expect(r.text()).rejects.toThrow(TypeError)
    expect(() => r.clone()).toThrow(TypeError)
    expect(r.body?.locked).toBe(true)

    const twice = await get()
    const copy = twice.clone()
    expect(await twice.text()).toBe('{"a":"é"}')
    expect(new Uint8Array(await copy.arrayBuffer())).toEqual(new Uint8Array(Buffer.from('\uFEFF{"a":"é"}')))

    const looked = await get()
    expect(looked.body).not.toBeNull() // handed out, not read: still readable as a whole
    expect(await looked.json()).toEqual({ a: 'é' })

    const streamed = await get()
    const chunks: Uint8Array[] = []
    const reader = streamed.body!.getReader()
    for (let c = await reader.read(); !c.done; c = await reader.read()) chunks.push(c.value)
    expect(Buffer.concat(chunks).toString()).toBe('\uFEFF{"a":"é"}')
    expect(streamed.bodyUsed).toBe(true)
    await expect(streamed.json()).rejects.toThrow(TypeError)
    expect(await (await get()).blob().then((b) => b.size)).toBe(Buffer.byteLength('\uFEFF{"a":"é"}'))
  })

  it('leaves a body that is not text or bytes to the global fetch', async () => {
    const form = new FormData()
    form.set('field', 'value')
    const r = await httpFetch(`${base}/echo`, { method: 'POST', body: form })
    const got = (await r.json()) as { body: string; type: string }
    expect(got.type).toMatch(/^multipart\/form-data; boundary=/)
    expect(got.body).toContain('value')
  })

  it('fails as fetch fails: a refused or cut connection is "fetch failed" with the cause, an abort its reason', async () => {
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const refused = await httpFetch(`http://127.0.0.1:${port}/`).catch((e) => e)
    expect(refused).toBeInstanceOf(TypeError)
    expect(refused.message).toBe('fetch failed')
    expect(refused.cause.code).toBe('ECONNREFUSED')

    const cut = await httpFetch(`${base}/cut`).catch((e) => e)
    expect(cut).toBeInstanceOf(TypeError)
    expect(cut.message).toBe('fetch failed')

    const controller = new AbortController()
    const hanging = httpFetch(`${base}/hang`, { signal: controller.signal }).catch((e) => e)
    controller.abort()
    expect((await hanging).name).toBe('AbortError')
    const already = await httpFetch(`${base}/echo`, { signal: AbortSignal.abort() }).catch((e) => e)
    expect(already.name).toBe('AbortError')
  })

  it(`refuses an answer over ${MAX_ANSWER_BYTES / 1024 / 1024} MB`, async () => {
    const e = await httpFetch(`${base}/huge`).catch((err) => err)
    expect(e).toBeInstanceOf(TypeError)
    expect(String(e.cause?.message)).toMatch(/over 32 MB/)
    expect(e.cause?.code).toBe(ANSWER_TOO_LARGE)
  })

  it('for a model API, an answer over 32 MB is a 400 that says so and where (the SDK would retry "Connection error")', async () => {
    const res = await modelApiFetch(`${base}/huge`)
    expect(res.status).toBe(400)
    const { error } = (await res.json()) as { error: { message: string } }
    expect(error.message).toMatch(
      /^the model API's answer is over 32 MB.* at http:\/\/127\.0\.0\.1:\d+\/huge: check the base URL/,
    )
  })
})
