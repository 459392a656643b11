// The live feed of one run, for a browser's subscription. The database is the source of truth:
// every message is read after a cursor (evaluations by eval_index, metric rows and events by id),
// so a client that reconnects with its last cursor receives exactly what it missed, and a run
// driven by another process (fm-agent engine, a CLI run in server mode) streams like a local
// one. The in-process event bus only wakes the reader early; a slow poll covers the rest.
import type { Db } from '../db.ts'
import type { EventBus } from '../events.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { currentCursor, eventsAfter, metricsAfter, pointsAfter, runHead } from './run-data.ts'
import type { LiveCursor, LiveMessage, RunHead } from '../../client-safe/types.ts'

export interface LiveOptions {
  /** wait at most this long between reads when nothing wakes the reader (other processes' runs) */
  pollMs?: number
  /** at least this long between two reads (bounds the database load of a fast run) */
  minIntervalMs?: number
  /** at least this long between two reads of the run's head for new candidates alone (its counters) */
  headIntervalMs?: number
  /** a heartbeat when nothing happened for this long (the browser shows the feed is alive) */
  heartbeatMs?: number
  /** rows per message */
  batchLimit?: number
  /** a client further behind than this reloads its snapshot instead of replaying point by point */
  resetAfter?: number
}

const DEFAULTS: Required<LiveOptions> = {
  pollMs: 2000,
  // Each open dashboard reads in the process that drives the run and holds its embedded database: at
  // 100 ms, with the run's head re-read for every new candidate, one dashboard took ~1 ms of that
  // process's CPU per evaluation (a fast run went at half its rate, with three at a quarter).
  minIntervalMs: 250,
  headIntervalMs: 1000,
  heartbeatMs: 15_000,
  batchLimit: 2000,
  resetAfter: 20_000,
}

function sameHead(a: RunHead | null, b: RunHead | null) {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Yields messages for a run from `from` (a cursor string; null: from now). Ends when `signal`
 * aborts. Each batch carries the cursor after it: the SSE event id a reconnecting client sends back.
 */
export async function* liveRun(
  deps: { db: Db; events: EventBus },
  runId: string,
  from: string | null | undefined,
  signal: AbortSignal,
  options: LiveOptions = {},
): AsyncGenerator<LiveMessage> {
  const o = { ...DEFAULTS, ...options }
  let cursor: LiveCursor = decodeCursor(from) ?? (await currentCursor(deps.db, runId))
  let head: RunHead | null = null
  let wake: (() => void) | null = null
  let pending = true
  // what to read next: a bus event says which table changed; a poll (another process's run) reads all
  const want = { points: true, metrics: true, events: true, head: true }
  const all = () => Object.assign(want, { points: true, metrics: true, events: true, head: true })
  // a new candidate changes the head's counters (evaluations, best, spend): read at most every
  // headIntervalMs for those; a status change or another event reads it at once
  let headStale = false
  let headReadAt = 0
  const unsubscribe = deps.events.subscribe(runId, (e) => {
    if (e.type === 'candidate') (want.points = true), (headStale = true)
    else if (e.type === 'metrics') want.metrics = true
    else if (
      e.type === 'rejected' ||
      e.type === 'migration' ||
      e.type === 'retrieval' ||
      e.type === 'knowledge.retrieval'
    )
      return
    else (want.events = true), (want.head = true)
    pending = true
    wake?.()
  })
  const onAbort = () => wake?.()
  signal.addEventListener('abort', onAbort)
  let lastRead = 0
  let lastSent = Date.now()
  try {
    // a client far behind: cheaper to reload its snapshot than to replay every point
    const now = await currentCursor(deps.db, runId)
    if (now.c - cursor.c > o.resetAfter) {
      cursor = now
      head = await runHead(deps.db, runId)
      lastSent = Date.now()
      yield { type: 'reset', cursor: encodeCursor(cursor), run: head }
    }
    while (!signal.aborted) {
      const since = Date.now() - lastRead
      // not woken early: the bus only marks that there is something to read
      if (since < o.minIntervalMs) await sleep(o.minIntervalMs - since, signal, () => undefined)
      if (signal.aborted) break
      pending = false
      lastRead = Date.now()
      if (headStale && lastRead - headReadAt >= o.headIntervalMs) want.head = true
      const w = { ...want }
      want.points = want.metrics = want.events = want.head = false
      if (w.head) (headStale = false), (headReadAt = lastRead)
      const [points, metrics, events, h] = await Promise.all([
        w.points ? pointsAfter(deps.db, runId, cursor.c, o.batchLimit) : [],
        w.metrics ? metricsAfter(deps.db, runId, cursor.m, o.batchLimit) : [],
        w.events ? eventsAfter(deps.db, runId, cursor.e, o.batchLimit) : [],
        w.head ? runHead(deps.db, runId) : head,
      ])
      const headChanged = !sameHead(h, head)
      if (points.length || metrics.length || events.length || headChanged) {
        cursor = {
          c: points.length ? points[points.length - 1]!.evalIndex : cursor.c,
          m: metrics.length ? metrics[metrics.length - 1]!.id : cursor.m,
          e: events.length ? events[events.length - 1]!.id : cursor.e,
        }
        head = h
        const more = points.length === o.batchLimit || metrics.length === o.batchLimit || events.length === o.batchLimit
        lastSent = Date.now()
        yield {
          type: 'batch',
          cursor: encodeCursor(cursor),
          points,
          metrics,
          events,
          run: headChanged ? h : null,
          more,
        }
        if (more) {
          all()
          continue
        }
      } else if (Date.now() - lastSent >= o.heartbeatMs) {
        lastSent = Date.now()
        yield { type: 'heartbeat', cursor: encodeCursor(cursor), at: lastSent }
      }
      if (!pending) {
        // a head left stale by the last candidates is read when it is due, not at the next poll
        const headDue = headStale ? Math.max(0, o.headIntervalMs - (Date.now() - headReadAt)) : Number.POSITIVE_INFINITY
        await sleep(Math.min(o.pollMs, o.heartbeatMs, headDue), signal, (w) => (wake = w))
        if (headStale && !pending) {
          pending = true
          continue
        }
        // woken by nothing: a poll, for whatever another process wrote
        if (!pending) all()
      }
    }
  } finally {
    unsubscribe()
    signal.removeEventListener('abort', onAbort)
  }
}

/** Sleeps until the time passes, the bus wakes the reader, or the signal aborts (no listener left behind). */
function sleep(msToWait: number, signal: AbortSignal, setWake: (w: (() => void) | null) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(t)
      setWake(null)
      resolve()
    }
    const t = setTimeout(done, msToWait)
    setWake(done)
  })
}

/** what the candidate page waits for: after either, nothing about the candidate changes by itself */
const SETTLED = new Set(['evaluated', 'rejected'])

/**
 * Yields a candidate's status when it changes, and ends once it is evaluated or rejected: the
 * candidate page refetches on each message instead of polling. An evaluation is reported on the
 * bus event the engine publishes once the result is stored in full (the judge's review with it);
 * the row says `evaluated` a moment before that, so a read that finds it so without that event (a
 * poll) waits for the event or for a second read. A remote engine's events of one kind may be
 * coalesced, so any of its candidate events vouches for ours: it stores results in order. An event
 * that came before the watch (the candidate was evaluated as the page loaded) vouches too: the bus
 * keeps the last evaluation index its candidate events carried, and results are applied in that
 * order, so a row at or below it is complete while one above it still waits for its event. Yields
 * `null` (and ends) when the candidate is gone. The first read is the page's starting point, not a message.
 */
export async function* liveCandidate(
  deps: { db: Db; events: EventBus },
  runId: string,
  id: string,
  signal: AbortSignal,
  options: { pollMs?: number } = {},
): AsyncGenerator<{ status: string | null }> {
  const pollMs = options.pollMs ?? 10_000
  let wake: (() => void) | null = null
  let vouched = false
  let pending = true
  const unsubscribe = deps.events.subscribe(runId, (e) => {
    const ours = (e.payload as { id?: unknown } | null)?.id === id
    if ((e.type === 'candidate' && (ours || e.remote)) || (e.type === 'rejected' && ours)) vouched = true
    // a stop, pause or resume rejects or requeues what was in flight
    else if (e.type !== 'status') return
    pending = true
    wake?.()
  })
  const unsync = deps.events.onResync(() => ((pending = true), wake?.()))
  const onAbort = () => wake?.()
  signal.addEventListener('abort', onAbort)
  let last: string | null | undefined
  let sawEvaluated = false
  try {
    while (!signal.aborted) {
      pending = false
      const sure = vouched
      vouched = false
      const row = await deps.db.prisma.candidate.findFirst({
        where: { id, runId },
        select: { status: true, evalIndex: true },
      })
      const status = row?.status ?? null
      const applied = deps.events.lastEvalIndex(runId)
      const earlier = applied !== null && row?.evalIndex != null && row.evalIndex <= applied
      const done =
        status === null || status === 'rejected' || (status === 'evaluated' && (sure || sawEvaluated || earlier))
      sawEvaluated = status === 'evaluated'
      // the first read is what the page loaded already: only a change is news
      if (done || (last !== undefined && status !== last && !SETTLED.has(status!))) yield { status }
      last = status
      if (done) return
      if (!pending) await sleep(pollMs, signal, (w) => (wake = w))
    }
  } finally {
    unsubscribe()
    unsync()
    signal.removeEventListener('abort', onAbort)
  }
}
