// A deliberately raw tRPC-over-HTTP client for the hardening tests: it sends exactly the bytes a
// test chooses (malformed JSON, wrong types, foreign Origin headers…) and reports status, headers
// and body as they came back, where @trpc/client would refuse or reshape them.
import { request } from 'node:http'
import superjson from 'superjson'

export type ProcedureType = 'query' | 'mutation' | 'subscription'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface CallResult extends RawResponse {
  /** tRPC error code (UNAUTHORIZED, BAD_REQUEST…) when the answer is an error */
  code: string | null
  message: string | null
  /** the deserialized result of a successful call (first event of a subscription) */
  data: unknown
  /** subscription: the SSE events read before the client stopped */
  events: SseEvent[]
}

export interface SseEvent {
  event: string
  id: string | null
  data: string
}

export interface CallOptions {
  token?: string
  cookie?: string
  headers?: Record<string, string>
  timeoutMs?: number
  /** subscriptions: stop reading after this long (the stream itself never ends) */
  readMs?: number
  /** send this body / query string verbatim instead of the superjson encoding of the input */
  rawBody?: string
  rawQuery?: string
}

/** One HTTP exchange on loopback; the body is read completely (or until readMs for streams). */
export function rawRequest(
  url: string,
  opts: {
    method?: string
    headers?: Record<string, string>
    body?: string | Buffer
    timeoutMs?: number
    readMs?: number
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let stopTimer: NodeJS.Timeout | null = null
      const finish = () => {
        if (stopTimer) clearTimeout(stopTimer)
        clearTimeout(overall)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
      }
      if (opts.readMs !== undefined && /event-stream/.test(String(res.headers['content-type']))) {
        stopTimer = setTimeout(() => {
          res.destroy()
          finish()
        }, opts.readMs)
      }
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', finish)
      res.on('error', () => finish())
    })
    const overall = setTimeout(() => {
      req.destroy(new Error(`no complete answer from ${url.slice(0, 120)} within ${opts.timeoutMs ?? 30_000} ms`))
    }, opts.timeoutMs ?? 30_000)
    req.on('error', (e) => {
      clearTimeout(overall)
      reject(e)
    })
    if (opts.body !== undefined) req.write(opts.body)
    req.end()
  })
}

/** One SSE event block (the lines between two blank lines). */
export function parseSseBlock(block: string): SseEvent {
  let event = 'message'
  let id: string | null = null
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('id:')) id = line.slice(3).trim()
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
  }
  return { event, id, data: data.join('\n') }
}

export function parseSse(body: string): SseEvent[] {
  return body
    .split(/\n\n/)
    .filter((block) => block.trim())
    .map(parseSseBlock)
}

export const encodeInput = (input: unknown) => JSON.stringify(superjson.serialize(input))

function errorOf(json: any): { code: string | null; message: string | null } {
  const e = json?.error?.json ?? json?.error ?? json?.json
  return { code: e?.data?.code ?? null, message: typeof e?.message === 'string' ? e.message : null }
}

/** Calls one procedure the way the console's links do (GET for queries and subscriptions, POST for mutations). */
export async function callProcedure(
  baseUrl: string,
  path: string,
  type: ProcedureType,
  input: unknown,
  opts: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.cookie) headers.cookie = opts.cookie
  let res: RawResponse
  if (type === 'mutation') {
    headers['content-type'] = 'application/json'
    res = await rawRequest(`${baseUrl}/api/trpc/${path}`, {
      method: 'POST',
      headers,
      body: opts.rawBody ?? encodeInput(input),
      timeoutMs: opts.timeoutMs,
    })
  } else {
    const qs = opts.rawQuery ?? (input === undefined ? '' : `input=${encodeURIComponent(encodeInput(input))}`)
    if (type === 'subscription') headers.accept = 'text/event-stream'
    res = await rawRequest(`${baseUrl}/api/trpc/${path}${qs ? `?${qs}` : ''}`, {
      headers,
      timeoutMs: opts.timeoutMs,
      readMs: type === 'subscription' ? (opts.readMs ?? 1500) : undefined,
    })
  }
  const result: CallResult = { ...res, code: null, message: null, data: undefined, events: [] }
  if (/event-stream/.test(String(res.headers['content-type']))) {
    result.events = parseSse(res.body)
    const err = result.events.find((e) => e.event === 'serialized-error')
    if (err) Object.assign(result, errorOf(safeJson(err.data)))
    const first = result.events.find((e) => e.event === 'message' && e.data)
    if (first) result.data = deserialize(safeJson(first.data))
    return result
  }
  const json = safeJson(res.body)
  if (res.status >= 400 || json?.error) Object.assign(result, errorOf(json))
  else result.data = deserialize(json?.result?.data)
  return result
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function deserialize(v: any): unknown {
  if (v && typeof v === 'object' && 'json' in v) {
    try {
      return superjson.deserialize(v)
    } catch {
      return v.json
    }
  }
  return v
}
