// A streaming client of a tRPC SSE subscription (what httpSubscriptionLink does in the browser):
// GET with the input in the query string, messages parsed as they arrive, the tracked event id
// kept so that a reconnect resumes after the last message seen (sent back as input.lastEventId).
import { request, type ClientRequest } from 'node:http'
import superjson from 'superjson'
import { encodeInput, parseSseBlock } from './http-client.ts'

export interface SseSubscription {
  /** the id of the last message received (the cursor to resume from) */
  lastEventId: string | null
  messages: number
  errors: string[]
  close(): void
  /** resolves when the stream ends (closed here or by the server) */
  ended: Promise<void>
}

export function subscribe(
  baseUrl: string,
  path: string,
  input: Record<string, unknown>,
  opts: { token?: string; cookie?: string; onData: (data: unknown, id: string | null) => void },
): SseSubscription {
  const url = `${baseUrl}/api/trpc/${path}?input=${encodeURIComponent(encodeInput(input))}`
  let req: ClientRequest | null = null
  let endedResolve!: () => void
  const sub: SseSubscription = {
    lastEventId: (input.lastEventId as string | undefined) ?? null,
    messages: 0,
    errors: [],
    close: () => req?.destroy(),
    ended: new Promise((r) => (endedResolve = r)),
  }
  req = request(
    url,
    {
      headers: {
        accept: 'text/event-stream',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
      },
      agent: false,
    },
    (res) => {
      if (res.statusCode !== 200) sub.errors.push(`HTTP ${res.statusCode}`)
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let cut: number
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const { event, id, data } = parseSseBlock(buf.slice(0, cut))
          buf = buf.slice(cut + 2)
          if (event === 'serialized-error') sub.errors.push(data)
          if (event !== 'message' || !data) continue
          let value: unknown
          try {
            const parsed = JSON.parse(data)
            value = parsed && typeof parsed === 'object' && 'json' in parsed ? superjson.deserialize(parsed) : parsed
          } catch (e) {
            sub.errors.push(`unparsable message: ${(e as Error).message}`)
            continue
          }
          sub.messages++
          if (id) sub.lastEventId = id
          opts.onData(value, id)
        }
      })
      res.on('end', () => endedResolve())
      res.on('close', () => endedResolve())
      res.on('error', () => endedResolve())
    },
  )
  req.on('error', (e) => {
    if (!/socket hang up|aborted/.test(e.message)) sub.errors.push(e.message)
    endedResolve()
  })
  req.end()
  return sub
}
