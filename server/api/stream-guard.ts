// What keeps a live subscription honest after it opened: the caller's access is resolved once per
// request, but a stream lasts as long as a dashboard stays open. So an open stream re-checks its
// caller from the same credentials now and then (a disabled user, an ended session, a revoked token
// or a lowered role end it), and each caller holds a bounded number of streams at once (each costs
// database reads for as long as it is open, so one runaway client would slow everyone).
import { TRPCError } from '@trpc/server'

/** How often an open stream checks its caller again: one session or token lookup per stream, not per message. */
export const STREAM_RECHECK_MS = 5_000

/**
 * Open live streams one user (cookie and tokens together) may hold at once. A dashboard tab holds
 * one; 32 leaves room for many tabs and a few scripts, while 300 from one viewer measurably slowed
 * every other call of the console.
 */
export const MAX_STREAMS_PER_ACTOR = 32

export const TOO_MANY_STREAMS = `at most ${MAX_STREAMS_PER_ACTOR} live streams at once per user: close some console tabs (or stop scripts that follow runs) first`

const open = new Map<string, number>()

/** Takes a slot for `key`, or refuses with TOO_MANY_REQUESTS; the returned release is idempotent. */
export function takeStreamSlot(key: string, max = MAX_STREAMS_PER_ACTOR): () => void {
  const n = open.get(key) ?? 0
  if (n >= max) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: TOO_MANY_STREAMS })
  open.set(key, n + 1)
  let released = false
  return () => {
    if (released) return
    released = true
    const left = (open.get(key) ?? 1) - 1
    if (left > 0) open.set(key, left)
    else open.delete(key)
  }
}

/** Streams held now by `key` (for tests and diagnostics). */
export function openStreams(key: string): number {
  return open.get(key) ?? 0
}

export interface GuardOptions {
  /** null while the caller may go on; the error the stream ends with otherwise. Null function: never re-checked. */
  recheck: (() => Promise<TRPCError | null>) | null
  recheckMs?: number
  /** the request's signal: the client went away */
  signal?: AbortSignal
  /** called once when the stream ends, however it ends */
  onEnd: () => void
}

const TICK = Symbol('tick')

/**
 * The source's messages, re-checking the caller at most every `recheckMs` — also while the source
 * is quiet (an idle run sends a heartbeat only every 15 s), which is why the wait on the next message
 * races a timer. A hand-written iterator rather than a generator: a generator's `return()` waits
 * until its pending `await` settles, and the slot must be released as soon as the client leaves.
 */
export function guardStream<T>(source: AsyncIterable<T>, o: GuardOptions): AsyncIterableIterator<T> {
  const inner = source[Symbol.asyncIterator]()
  const every = o.recheckMs ?? STREAM_RECHECK_MS
  let pending: Promise<IteratorResult<T>> | null = null
  let lastCheck = Date.now()
  let ended = false
  let sourceDone = false
  // the source's own clean-up (listeners, timers) runs once its pending read settles
  const end = () => {
    if (ended) return
    ended = true
    o.signal?.removeEventListener('abort', end)
    if (!sourceDone) void Promise.resolve(inner.return?.()).catch(() => undefined)
    o.onEnd()
  }
  if (o.signal?.aborted) end()
  else o.signal?.addEventListener('abort', end, { once: true })
  const done = (): IteratorResult<T> => ({ done: true, value: undefined })

  const waitTick = (ms: number) => {
    let timer: NodeJS.Timeout | undefined
    const p = new Promise<typeof TICK>((resolve) => {
      timer = setTimeout(() => resolve(TICK), ms)
    })
    return { p, cancel: () => clearTimeout(timer) }
  }

  const check = async () => {
    lastCheck = Date.now()
    const refusal = await o.recheck!()
    if (refusal) throw refusal
  }

  const it: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() {
      return it
    },
    async next() {
      if (ended) return done()
      try {
        for (;;) {
          // due before the next message: a busy stream must not starve the check
          if (o.recheck && Date.now() - lastCheck >= every) await check()
          pending ??= inner.next()
          let r: IteratorResult<T> | typeof TICK
          if (o.recheck) {
            const tick = waitTick(Math.max(0, lastCheck + every - Date.now()))
            r = await Promise.race([pending, tick.p])
            tick.cancel()
          } else r = await pending
          if (ended) return done()
          if (r === TICK) continue
          pending = null
          if (r.done) (sourceDone = true), end()
          return r
        }
      } catch (e) {
        end()
        throw e
      }
    },
    async return() {
      end()
      return done()
    },
    async throw(e?: unknown) {
      end()
      throw e
    },
  }
  return it
}
