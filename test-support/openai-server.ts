// A scripted server that speaks the real OpenAI wire protocol over HTTP on 127.0.0.1, for tests,
// end-to-end runs and benchmarks (where it is an "instant model"). It is the project's only
// stand-in for an LLM provider: clients talk to it exactly as they talk to a real endpoint.
//
//   POST /v1/chat/completions   JSON, or SSE chunks ending with `data: [DONE]` when `stream: true`
//   POST /v1/embeddings         float arrays, or base64 float32 when `encoding_format: "base64"`
//   GET  /v1/models
// Secondary routes, same scripting, for the other providers' wire formats:
//   POST /v1/messages           Anthropic Messages API (non-streaming and SSE)
//   POST /api/chat              Ollama native chat (NDJSON stream or JSON)
// Control routes for a server run as a separate process (loopback only):
//   GET /__admin/requests, POST /__admin/enqueue, POST /__admin/reset
//
// Behaviour is scripted: a queue of responses consumed in order (per endpoint kind), then a
// fallback responder. Every request is recorded (path, headers minus credentials, parsed body).
//
// CLI: node --import tsx test-support/openai-server.ts [--port 0] [--host 127.0.0.1] [--script file.json]
// prints {"url": "http://127.0.0.1:PORT/v1", "port": PORT, "pid": PID} on one stdout line.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { setMaxListeners } from 'node:events'
import { pathToFileURL } from 'node:url'
import { createSemanticEmbedder, DEFAULT_LEXICON, type SemanticEmbedder } from './semantic-embedder.ts'
import { literalEditResponder, type LiteralEditOptions, type PromptMessage } from './literal-edit-responder.ts'
import { judgeAnswer } from './judge-responder.ts'

export type EndpointKind = 'chat' | 'embeddings'

export interface UsageOverride {
  prompt_tokens?: number
  completion_tokens?: number
}

interface ScriptBase {
  /** which requests the entry applies to (default 'chat': chat completions, Anthropic messages, Ollama chat) */
  endpoint?: EndpointKind
  /** wait this long before answering */
  delayMs?: number
}

export type ScriptedResponse =
  | (ScriptBase & {
      type?: 'text'
      content: string
      /** override the computed usage; null omits usage from the answer */
      usage?: UsageOverride | null
      finishReason?: string
      /** SSE/NDJSON chunk size in characters (default 16) */
      chunkSize?: number
    })
  | (ScriptBase & {
      type: 'error'
      status: number
      message?: string
      code?: string
      /** `retry-after` header value (seconds, or an HTTP date) */
      retryAfter?: number | string
      /** `retry-after-ms` header value */
      retryAfterMs?: number
      headers?: Record<string, string>
    })
  | (ScriptBase & {
      type: 'malformed'
      /** the raw body (default: truncated JSON) */
      body?: string
      status?: number
      contentType?: string
    })
  /** wait, then answer with `then` (or with the next queued entry / the responder) */
  | (ScriptBase & { type: 'delay'; delayMs: number; then?: ScriptedResponse })
  /** never answer (until the client gives up or the server closes) */
  | (ScriptBase & { type: 'hang' })
  /** destroy the connection without an answer (a network error for the client) */
  | (ScriptBase & { type: 'drop' })
  /** embeddings only: answer with these vectors */
  | (ScriptBase & { type: 'embedding'; vectors: number[][] })

export interface ChatRequestInfo {
  /** which wire format the request came in */
  protocol: 'openai' | 'anthropic' | 'ollama'
  model: string
  messages: PromptMessage[]
  stream: boolean
  body: Record<string, unknown>
  /** 0-based index of this chat request since start (or reset) */
  index: number
}

export type Responder = (request: ChatRequestInfo) => ScriptedResponse | Promise<ScriptedResponse>

export interface RecordedRequest {
  id: number
  method: string
  path: string
  endpoint: EndpointKind | 'models' | 'admin' | 'other'
  /** lower-cased header names; credentials removed */
  headers: Record<string, string>
  /** whether a credential header was present, and whether it matched `apiKey` when one is required */
  auth: { present: boolean; ok: boolean | null }
  body: unknown
  receivedAt: number
  /** what was sent back (filled in when answered) */
  response?: {
    status: number
    kind: string
    content?: string
    usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
  }
}

export interface OpenAiTestServerOptions {
  port?: number
  host?: string
  /** responses consumed in order before the responder is asked */
  script?: ScriptedResponse[]
  /** fallback when the queue holds nothing for a chat request (default: withJudge(literalEditResponder())) */
  responder?: Responder
  /** options for the default literal-edit responder */
  literalEdit?: LiteralEditOptions
  /** require this API key (Bearer, x-api-key or api-key header); a mismatch answers 401 */
  apiKey?: string
  /** when `apiKey` is set: echo the offered key in the 401 message (to test that clients redact it) */
  echoKeyInErrors?: boolean
  /** synonym groups for the semantic test embedder */
  lexicon?: readonly (readonly string[])[]
  /** embedding dimension per model name; `default` for the rest (built-ins: OpenAI model sizes, else 256) */
  embeddingDims?: Record<string, number>
  /** model ids listed by GET /v1/models */
  models?: string[]
  /** keep at most this many recorded requests (default 10,000) */
  maxRecorded?: number
  /** every chat answer waits this long first, like a real model's latency (benchmarks) */
  latencyMs?: number
  /** spread of that latency: each wait is latencyMs × (1 ± jitter), uniform (0..1, default 0) */
  jitter?: number
}

export interface OpenAiTestServer {
  /** base URL ending in /v1, e.g. http://127.0.0.1:41234/v1 */
  url: string
  /** base URL without /v1 (what Anthropic and Ollama clients take) */
  rootUrl: string
  port: number
  requests: RecordedRequest[]
  /** chat requests only, in order */
  chatRequests(): RecordedRequest[]
  enqueue(...responses: ScriptedResponse[]): void
  /** how many scripted responses are still queued */
  pending(): number
  setResponder(fn: Responder): void
  /** clears the queue and the request log (and the chat index) */
  reset(): void
  embed(text: string, model?: string, dimensions?: number): number[]
  close(): Promise<void>
}

const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'proxy-authorization',
  'cookie',
])

const BUILTIN_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
  default: 256,
}

/** The server's deterministic token count: one token per 4 characters, rounded up. */
export function approxTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4)
}

function contentToText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content))
    return content
      .map((part) => {
        if (typeof part === 'string') return part
        if (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string') return part.text
        return ''
      })
      .join('')
  return content == null ? '' : JSON.stringify(content)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

function float32Base64(vector: number[]): string {
  const f = new Float32Array(vector)
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64')
}

export async function startOpenAiTestServer(options: OpenAiTestServerOptions = {}): Promise<OpenAiTestServer> {
  const host = options.host ?? '127.0.0.1'
  const queue: ScriptedResponse[] = [...(options.script ?? [])]
  let responder: Responder = options.responder ?? withJudge(literalEditResponder(options.literalEdit))
  const requests: RecordedRequest[] = []
  const maxRecorded = options.maxRecorded ?? 10_000
  const semantic: SemanticEmbedder = createSemanticEmbedder({ lexicon: options.lexicon ?? DEFAULT_LEXICON })
  const dimsTable = { ...BUILTIN_DIMS, ...(options.embeddingDims ?? {}) }
  const models = options.models ?? ['gpt-4.1-mini', 'gpt-4.1', 'text-embedding-3-small', 'text-embedding-3-large']
  let nextId = 1
  let chatIndex = 0
  const closing = new AbortController()
  // one listener per in-flight request: benchmarks keep many in flight
  setMaxListeners(0, closing.signal)
  const sockets = new Set<Socket>()

  const dimsFor = (model: string, requested?: unknown): number => {
    if (typeof requested === 'number' && Number.isInteger(requested) && requested > 0) return requested
    return dimsTable[model] ?? dimsTable.default ?? 256
  }
  const embed = (text: string, model = 'text-embedding-3-small', dimensions?: number) =>
    semantic.embed(text, dimsFor(model, dimensions))

  const takeScripted = (kind: EndpointKind): ScriptedResponse | undefined => {
    const i = queue.findIndex((r) => (r.endpoint ?? 'chat') === kind)
    return i < 0 ? undefined : queue.splice(i, 1)[0]
  }

  const record = (req: IncomingMessage, path: string, endpoint: RecordedRequest['endpoint'], body: unknown) => {
    const headers: Record<string, string> = {}
    let presented: string | undefined
    for (const [name, value] of Object.entries(req.headers)) {
      const v = Array.isArray(value) ? value.join(', ') : (value ?? '')
      if (CREDENTIAL_HEADERS.has(name)) {
        if (name === 'authorization') presented = v.replace(/^Bearer\s+/i, '')
        else if (name !== 'cookie' && name !== 'proxy-authorization') presented = v
        continue
      }
      headers[name] = v
    }
    const ok = options.apiKey === undefined ? null : presented === options.apiKey
    const entry: RecordedRequest = {
      id: nextId++,
      method: req.method ?? 'GET',
      path,
      endpoint,
      headers,
      auth: { present: presented !== undefined && presented !== '', ok },
      body,
      receivedAt: Date.now(),
    }
    requests.push(entry)
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded)
    return { entry, presented }
  }

  const sendJson = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(payload)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
    res.end(text)
  }

  const openAiError = (status: number, message: string, code?: string) => ({
    error: {
      message,
      type: status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: code ?? (status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null),
    },
  })

  /** Resolves delays and `delay` wrappers; returns the response to send (or null when the client left). */
  const resolveScript = async (
    kind: EndpointKind,
    info: ChatRequestInfo | null,
    signal: AbortSignal,
  ): Promise<ScriptedResponse | null> => {
    let r: ScriptedResponse | undefined = takeScripted(kind)
    for (let depth = 0; depth < 16; depth++) {
      if (!r) {
        if (kind === 'embeddings' || !info) return { type: 'embedding', vectors: [], endpoint: 'embeddings' }
        r = await responder(info)
      }
      if (depth === 0 && kind === 'chat' && options.latencyMs) {
        const j = Math.min(1, Math.max(0, options.jitter ?? 0))
        await sleep(options.latencyMs * (1 + j * (2 * Math.random() - 1)), signal)
      }
      if (r.delayMs && r.type !== 'delay') await sleep(r.delayMs, signal)
      if (signal.aborted) return null
      if (r.type === 'delay') {
        await sleep(r.delayMs, signal)
        if (signal.aborted) return null
        r = r.then ?? takeScripted(kind)
        continue
      }
      return r
    }
    return r ?? null
  }

  /** Answers the non-text kinds (error, malformed, hang, drop). True when handled. */
  const answerSpecial = async (
    r: ScriptedResponse,
    res: ServerResponse,
    entry: RecordedRequest,
    signal: AbortSignal,
    protocol: ChatRequestInfo['protocol'],
  ): Promise<boolean> => {
    if (r.type === 'error') {
      const headers: Record<string, string> = { ...(r.headers ?? {}) }
      if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter)
      if (r.retryAfterMs !== undefined) headers['retry-after-ms'] = String(r.retryAfterMs)
      const message = r.message ?? `scripted error ${r.status}`
      const payload =
        protocol === 'anthropic'
          ? { type: 'error', error: { type: r.status === 429 ? 'rate_limit_error' : 'api_error', message } }
          : protocol === 'ollama'
            ? { error: message }
            : openAiError(r.status, message, r.code)
      entry.response = { status: r.status, kind: 'error' }
      sendJson(res, r.status, payload, headers)
      return true
    }
    if (r.type === 'malformed') {
      const body = r.body ?? '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess'
      entry.response = { status: r.status ?? 200, kind: 'malformed' }
      res.writeHead(r.status ?? 200, {
        'content-type': r.contentType ?? 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      res.end(body)
      return true
    }
    if (r.type === 'hang') {
      entry.response = { status: 0, kind: 'hang' }
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve()
        signal.addEventListener('abort', () => resolve(), { once: true })
      })
      if (!res.headersSent && !res.destroyed) res.destroy()
      return true
    }
    if (r.type === 'drop') {
      entry.response = { status: 0, kind: 'drop' }
      res.socket?.destroy()
      res.destroy()
      return true
    }
    return false
  }

  const usageFor = (info: ChatRequestInfo, content: string, override: UsageOverride | null | undefined) => {
    if (override === null) return undefined
    const promptTokens = override?.prompt_tokens ?? info.messages.reduce((n, m) => n + approxTokens(m.content), 0)
    const completionTokens = override?.completion_tokens ?? approxTokens(content)
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    }
  }

  const chunks = (text: string, size: number): string[] => {
    const out: string[] = []
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
    return out
  }

  /** The request as scripts see it; Anthropic's system prompt travels beside the messages. */
  const chatInfo = (
    protocol: ChatRequestInfo['protocol'],
    body: Record<string, unknown>,
    stream: boolean,
  ): ChatRequestInfo => {
    const messages: PromptMessage[] = []
    if (protocol === 'anthropic' && body.system !== undefined)
      messages.push({ role: 'system', content: contentToText(body.system) })
    for (const m of Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [])
      messages.push({ role: String(m.role ?? 'user'), content: contentToText(m.content) })
    const model = typeof body.model === 'string' ? body.model : 'unknown'
    return { protocol, model, messages, stream, body, index: chatIndex++ }
  }

  const handleOpenAiChat = async (
    _req: IncomingMessage,
    res: ServerResponse,
    entry: RecordedRequest,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    const info = chatInfo('openai', body, body.stream === true)
    const { model, stream } = info
    const r = await resolveScript('chat', info, signal)
    if (!r) return
    if (await answerSpecial(r, res, entry, signal, 'openai')) return
    if (r.type === 'embedding')
      return sendJson(res, 400, openAiError(400, 'embedding script entry used for a chat request'))
    const content = 'content' in r ? r.content : ''
    const finishReason = ('finishReason' in r && r.finishReason) || 'stop'
    const usage = usageFor(info, content, 'usage' in r ? r.usage : undefined)
    entry.response = { status: 200, kind: 'text', content, ...(usage ? { usage } : {}) }
    const id = `chatcmpl-test-${entry.id}`
    const created = Math.floor(Date.now() / 1000)
    if (!stream) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'fp_fm_agent_test',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        ...(usage ? { usage } : {}),
      })
    }
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fm_agent_test' }
    const write = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`)
    write({
      ...base,
      choices: [
        { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
      ],
    })
    for (const piece of chunks(content, ('chunkSize' in r && r.chunkSize) || 16)) {
      write({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] })
    }
    write({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }] })
    if (includeUsage && usage) write({ ...base, choices: [], usage })
    res.end('data: [DONE]\n\n')
  }

  const handleAnthropic = async (
    res: ServerResponse,
    entry: RecordedRequest,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    const info = chatInfo('anthropic', body, body.stream === true)
    const { model, stream } = info
    const r = await resolveScript('chat', info, signal)
    if (!r) return
    if (await answerSpecial(r, res, entry, signal, 'anthropic')) return
    const content = 'content' in r ? r.content : ''
    const usage = usageFor(info, content, 'usage' in r ? r.usage : undefined)
    entry.response = { status: 200, kind: 'text', content, ...(usage ? { usage } : {}) }
    const id = `msg_test_${entry.id}`
    const u = { input_tokens: usage?.prompt_tokens ?? 0, output_tokens: usage?.completion_tokens ?? 0 }
    if (!stream) {
      return sendJson(res, 200, {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: content }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: u,
      })
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
    const ev = (type: string, payload: unknown) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...(payload as object) })}\n\n`)
    ev('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: u.input_tokens, output_tokens: 0 },
      },
    })
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    for (const piece of chunks(content, ('chunkSize' in r && r.chunkSize) || 16))
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } })
    ev('content_block_stop', { index: 0 })
    ev('message_delta', {
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: u.output_tokens },
    })
    ev('message_stop', {})
    res.end()
  }

  const handleOllama = async (
    res: ServerResponse,
    entry: RecordedRequest,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    // Ollama streams unless told not to
    const info = chatInfo('ollama', body, body.stream !== false)
    const { model, stream } = info
    const r = await resolveScript('chat', info, signal)
    if (!r) return
    if (await answerSpecial(r, res, entry, signal, 'ollama')) return
    const content = 'content' in r ? r.content : ''
    const usage = usageFor(info, content, 'usage' in r ? r.usage : undefined)
    entry.response = { status: 200, kind: 'text', content, ...(usage ? { usage } : {}) }
    const created_at = new Date().toISOString()
    const final = {
      model,
      created_at,
      message: { role: 'assistant', content: stream ? '' : content },
      done: true,
      done_reason: 'stop',
      total_duration: 1000,
      load_duration: 0,
      ...(usage ? { prompt_eval_count: usage.prompt_tokens, eval_count: usage.completion_tokens } : {}),
      prompt_eval_duration: 0,
      eval_duration: 0,
    }
    if (!stream) return sendJson(res, 200, final)
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    for (const piece of chunks(content, ('chunkSize' in r && r.chunkSize) || 16))
      res.write(
        `${JSON.stringify({ model, created_at, message: { role: 'assistant', content: piece }, done: false })}\n`,
      )
    res.end(`${JSON.stringify(final)}\n`)
  }

  const handleEmbeddings = async (
    res: ServerResponse,
    entry: RecordedRequest,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    const model = typeof body.model === 'string' ? body.model : 'text-embedding-3-small'
    const raw = body.input
    const inputs: string[] = Array.isArray(raw)
      ? raw.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.join(' ') : String(x)))
      : typeof raw === 'string'
        ? [raw]
        : []
    if (inputs.length === 0) return sendJson(res, 400, openAiError(400, "'input' must be a non-empty string or array"))
    const r = await resolveScript('embeddings', null, signal)
    if (!r) return
    if (await answerSpecial(r, res, entry, signal, 'openai')) return
    const dims = dimsFor(model, body.dimensions)
    const vectors =
      r.type === 'embedding' && r.vectors.length > 0 ? r.vectors : inputs.map((t) => semantic.embed(t, dims))
    const base64 = body.encoding_format === 'base64'
    const promptTokens = inputs.reduce((n, t) => n + approxTokens(t), 0)
    const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens }
    entry.response = { status: 200, kind: 'embedding', usage: { ...usage, completion_tokens: 0 } }
    sendJson(res, 200, {
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(v) : v })),
      model,
      usage,
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    const ac = new AbortController()
    const abort = () => ac.abort()
    res.on('close', abort)
    closing.signal.addEventListener('abort', abort, { once: true })
    res.on('close', () => closing.signal.removeEventListener('abort', abort))
    const signal = ac.signal

    let raw = ''
    if (method === 'POST' || method === 'PUT') raw = await readBody(req)
    let body: unknown = raw
    if (raw && (req.headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(raw)
      } catch {
        const { entry } = record(req, path, 'other', raw)
        entry.response = { status: 400, kind: 'bad-json' }
        return sendJson(res, 400, openAiError(400, 'We could not parse the JSON body of your request.'))
      }
    }

    if (path.startsWith('/__admin/')) {
      if (path === '/__admin/requests' && method === 'GET') return sendJson(res, 200, requests)
      if (path === '/__admin/enqueue' && method === 'POST') {
        const list = Array.isArray(body) ? body : [body]
        queue.push(...(list as ScriptedResponse[]))
        return sendJson(res, 200, { queued: queue.length })
      }
      if (path === '/__admin/reset' && method === 'POST') {
        server_.reset()
        return sendJson(res, 200, { ok: true })
      }
      return sendJson(res, 404, { error: 'unknown admin route' })
    }

    const endpoint: RecordedRequest['endpoint'] =
      path === '/v1/chat/completions' || path === '/chat/completions' || path === '/v1/messages' || path === '/api/chat'
        ? 'chat'
        : path === '/v1/embeddings' || path === '/embeddings'
          ? 'embeddings'
          : path === '/v1/models' || path === '/models' || path === '/api/tags'
            ? 'models'
            : 'other'
    const { entry, presented } = record(req, path, endpoint, body)

    if (options.apiKey !== undefined && endpoint !== 'other' && entry.auth.ok === false) {
      const shown = options.echoKeyInErrors ? (presented ?? '') : `${(presented ?? '').slice(0, 3)}***`
      entry.response = { status: 401, kind: 'auth' }
      return sendJson(res, 401, openAiError(401, `Incorrect API key provided: ${shown}.`, 'invalid_api_key'))
    }
    const json = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>

    if (method === 'GET' && (path === '/v1/models' || path === '/models')) {
      entry.response = { status: 200, kind: 'models' }
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fm-agent-test' })),
      })
    }
    if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions'))
      return handleOpenAiChat(req, res, entry, json, signal)
    if (method === 'POST' && (path === '/v1/embeddings' || path === '/embeddings'))
      return handleEmbeddings(res, entry, json, signal)
    if (method === 'POST' && path === '/v1/messages') return handleAnthropic(res, entry, json, signal)
    if (method === 'POST' && path === '/api/chat') return handleOllama(res, entry, json, signal)
    entry.response = { status: 404, kind: 'not-found' }
    sendJson(res, 404, openAiError(404, `Unknown request URL: ${method} ${path}.`, 'unknown_url'))
  }

  const server: Server = createServer({ noDelay: true, keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed)
        sendJson(res, 500, openAiError(500, `test server failure: ${String(err)}`))
      else res.destroy()
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('test server has no TCP address')
  const port = address.port
  const rootUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  const server_: OpenAiTestServer = {
    url: `${rootUrl}/v1`,
    rootUrl,
    port,
    requests,
    chatRequests: () => requests.filter((r) => r.endpoint === 'chat'),
    enqueue: (...responses) => {
      queue.push(...responses)
    },
    pending: () => queue.length,
    setResponder: (fn) => {
      responder = fn
    },
    reset: () => {
      queue.length = 0
      requests.length = 0
      chatIndex = 0
    },
    embed,
    close: async () => {
      closing.abort()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
    },
  }
  return server_
}

// ---------------------------------------------------------------------------------------------
// CLI

export interface ScriptFile {
  queue?: ScriptedResponse[]
  /** 'literal-edit' (default), 'echo' (repeats the last user message) or a fixed response */
  responder?: 'literal-edit' | 'echo' | ScriptedResponse
  literalEdit?: LiteralEditOptions
  apiKey?: string
  lexicon?: string[][]
  embeddingDims?: Record<string, number>
  models?: string[]
}

/** Answers judge requests (test-support/judge-responder.ts) with a review, everything else with `inner`. */
export function withJudge(inner: Responder): Responder {
  return (request) => {
    const review = judgeAnswer(request.messages)
    return review === null ? inner(request) : { content: review }
  }
}

export function responderFromScript(spec: ScriptFile['responder'], literalEdit?: LiteralEditOptions): Responder {
  if (spec === undefined || spec === 'literal-edit') return withJudge(literalEditResponder(literalEdit))
  if (spec === 'echo')
    return (req) => ({ content: [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '' })
  const fixed = spec
  return () => fixed
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) continue
    const eq = a.indexOf('=')
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1)
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out[a.slice(2)] = argv[++i]!
    else out[a.slice(2)] = 'true'
  }
  return out
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  if (args.help) {
    process.stdout.write(
      'usage: node --import tsx test-support/openai-server.ts [--port 0] [--host 127.0.0.1] [--script file.json] [--seed N] [--precision D]\n' +
        '       [--latency-ms MS] [--jitter 0..1] [--max-recorded 1000]\n',
    )
    return
  }
  const script: ScriptFile = args.script ? (JSON.parse(readFileSync(args.script, 'utf8')) as ScriptFile) : {}
  const literalEdit = {
    ...(script.literalEdit ?? {}),
    ...(args.seed ? { seed: Number(args.seed) } : {}),
    ...(args.precision ? { precision: Number(args.precision) } : {}),
  }
  const server = await startOpenAiTestServer({
    port: args.port ? Number(args.port) : 0,
    host: args.host ?? '127.0.0.1',
    script: script.queue ?? [],
    responder: responderFromScript(script.responder, literalEdit),
    ...(script.apiKey !== undefined ? { apiKey: script.apiKey } : {}),
    ...(script.lexicon ? { lexicon: script.lexicon } : {}),
    ...(script.embeddingDims ? { embeddingDims: script.embeddingDims } : {}),
    ...(script.models ? { models: script.models } : {}),
    maxRecorded: args['max-recorded'] ? Number(args['max-recorded']) : 1000,
    latencyMs: args['latency-ms'] ? Number(args['latency-ms']) : 0,
    jitter: args.jitter ? Number(args.jitter) : 0,
  })
  process.stdout.write(
    `${JSON.stringify({ url: server.url, rootUrl: server.rootUrl, port: server.port, pid: process.pid })}\n`,
  )
  const stop = () => {
    void server.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

const entry = process.argv[1]
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
