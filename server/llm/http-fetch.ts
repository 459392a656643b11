// The fetch the OpenAI-protocol client calls, over node:http(s) with keep-alive connections. The
// model call is the engine's hottest path after the database: through Node's own fetch (undici, its
// web streams and request objects) a call to a local endpoint cost ~0.48 ms of CPU in this process,
// ~0.32 ms through this one (bench/README.md), and that code was also most of what V8's compiler
// threads kept optimizing. What it does not handle the same way is handed to the global fetch: a
// body other than text or bytes, a scheme other than http(s), a redirect (followed there).
import http from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
}
/** an answer longer than this is refused (a model's answer is text: far less) */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024
/** the code of the error (the cause of "fetch failed") for an answer over MAX_ANSWER_BYTES */
export const ANSWER_TOO_LARGE = 'FM_ANSWER_TOO_LARGE'
/** statuses whose response has no body (the Response constructor refuses one) */
const NO_BODY = new Set([101, 103, 204, 205, 304])

type FetchInput = string | URL | Request

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  new Headers(init?.headers).forEach((v, k) => {
    out[k] = v
  })
  // as undici's fetch asks: remote endpoints answer compressed
  out['accept-encoding'] ??= 'gzip, deflate, br'
  return out
}

function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | null {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    default:
      return null
  }
}

const utf8 = new TextDecoder() // strips a byte order mark, as fetch's text() and json() do

/**
 * A whole answer as a Response. Given its bytes, the Response constructor wraps them in a web
 * ReadableStream, and text()/json() read them back through it: ~6 % of the engine's main thread
 * per model call, and code V8's compiler kept optimizing. This one starts bodiless and reads the
 * bytes directly; `body`, blob(), formData() or a clone made after use go to a real Response of
 * the same bytes, so it behaves as one.
 */
class BufferedResponse extends Response {
  #bytes: Buffer<ArrayBuffer>
  #init: ResponseInit
  #used = false
  #real: Response | null = null

  constructor(bytes: Buffer<ArrayBuffer>, init: ResponseInit) {
    super(null, init)
    this.#bytes = bytes
    this.#init = init
  }

  #realResponse(): Response {
    if (!this.#real) {
      this.#real = new Response(this.#bytes, this.#init)
      // read already: its stream is there, and disturbed, as fetch's is
      if (this.#used) void this.#real.arrayBuffer()
    }
    return this.#real
  }

  #take(): Buffer<ArrayBuffer> {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
    this.#used = true
    return this.#bytes
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#realResponse().body
  }
  override get bodyUsed(): boolean {
    return this.#used || (this.#real?.bodyUsed ?? false)
  }
  // once its stream was handed out, the real Response answers (it knows whether it was read)
  override async text(): Promise<string> {
    return this.#real ? this.#real.text() : utf8.decode(this.#take())
  }
  override async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#real) return this.#real.arrayBuffer()
    const b = this.#take()
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }
  override blob(): Promise<Blob> {
    return this.#realResponse().blob()
  }
  override formData(): Promise<FormData> {
    return this.#realResponse().formData()
  }
  override clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.')
    return this.#real ? this.#real.clone() : new BufferedResponse(this.#bytes, this.#init)
  }
}

/** What fetch rejects with when the connection fails: undici's shape, the socket's error as the cause. */
const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause })

export function httpFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  const body = init?.body
  const url = input instanceof Request ? null : new URL(String(input))
  const agent = url ? agents[url.protocol as keyof typeof agents] : undefined
  if (!url || !agent || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)))
    return fetch(input, init)
  const signal = init?.signal ?? undefined
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise<Response>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const req = client.request(url, { method: init?.method ?? 'GET', headers: headersOf(init), agent })
    const onAbort = () => {
      req.destroy()
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => signal?.removeEventListener('abort', onAbort)
    req.on('error', (e) => {
      done()
      reject(signal?.aborted ? signal.reason : fetchFailed(e))
    })
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume()
        done()
        resolve(fetch(input, init))
        return
      }
      const headers = new Headers()
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
      const answer = { status, statusText: res.statusMessage ?? '', headers }
      if (NO_BODY.has(status)) {
        res.resume()
        done()
        resolve(new Response(null, answer))
        return
      }
      const decoded = decoder(res.headers['content-encoding'])
      const stream: Readable = decoded ? (res.pipe(decoded) as unknown as Readable) : res
      if (decoded) res.on('error', (e) => decoded.emit('error', e))
      if (/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
        // a streamed answer goes on arriving after this resolves
        stream.on('close', done)
        resolve(new Response(Readable.toWeb(stream) as ReadableStream, answer))
        return
      }
      const chunks: Buffer[] = []
      let received = false
      res.on('end', () => {
        received = true
      })
      const fail = (e: unknown) => {
        done()
        reject(signal?.aborted ? signal.reason : fetchFailed(e))
      }
      let size = 0
      stream.on('data', (c: Buffer) => {
        if (size > MAX_ANSWER_BYTES) return
        size += c.length
        if (size <= MAX_ANSWER_BYTES) chunks.push(c)
        else {
          chunks.length = 0
          req.destroy()
          fail(
            Object.assign(new Error(`the answer is over ${MAX_ANSWER_BYTES / 1024 / 1024} MB`), {
              code: ANSWER_TOO_LARGE,
            }),
          )
        }
      })
      stream.on('error', fail)
      stream.on('end', () => {
        done()
        resolve(new BufferedResponse(Buffer.concat(chunks), answer))
      })
      // a connection lost mid-answer may close without an error
      res.on('close', () => {
        if (!received) fail(Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' }))
      })
    })
    req.end(body ?? undefined)
  })
}

const refusal = (message: string) =>
  new Response(JSON.stringify({ error: { message, type: 'invalid_request_error' } }), {
    status: 400,
    headers: { 'content-type': 'application/json' },
  })

/**
 * httpFetch for a model API: a successful answer that is a web page (a base URL missing its API
 * path reaches the server's home page, or a proxy's sign-in page) is turned into a 400 that says
 * so. The SDK would take the page as the answer's text and fail on a missing field, and a
 * retry cannot help: the same request gets the same page. An answer over MAX_ANSWER_BYTES
 * becomes one too: the SDK would report it as "Connection error.", retried (and billed) in vain.
 */
export async function modelApiFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  const where = () => (input instanceof Request ? input.url : String(input))
  let res: Response
  try {
    res = await httpFetch(input, init)
  } catch (e) {
    if ((e as { cause?: { code?: unknown } } | null)?.cause?.code !== ANSWER_TOO_LARGE) throw e
    return refusal(
      `the model API's answer is over ${MAX_ANSWER_BYTES / 1024 / 1024} MB, more than any model's answer, at ${where()}: check the base URL and the model's maxTokens`,
    )
  }
  if (!res.ok || !/^\s*text\/html/i.test(res.headers.get('content-type') ?? '')) return res
  const page = await res.text()
  const title = /<title[^>]*>([^<]{0,120})/i.exec(page)?.[1]?.trim()
  return refusal(
    `the model API answered with a web page (HTML${title ? `: “${title}”` : ''}), not JSON, at ${where()}: check the base URL (an OpenAI-compatible API's usually ends in /v1)`,
  )
}
