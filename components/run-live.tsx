'use client'
// A run's live state for every tab of its pages: the overview, a downsampled snapshot of the
// series, then a subscription (SSE) that streams what happens after the snapshot's cursor. When
// the connection drops, tRPC's link reconnects with the last event id (our cursor) and the server
// sends exactly what was missed; zoom, filters and selection live here and in the pages, so they
// survive. Data shaping is in client-safe/live-store.ts.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSubscription } from '@trpc/tanstack-react-query'
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
  type ReactNode,
} from 'react'
import { applyLive, initialLive, type LiveState } from '../client-safe/live-store.ts'
import type { LiveMessage, SeriesSnapshot } from '../client-safe/types.ts'
import { useTRPC } from './trpc.tsx'

declare global {
  interface Window {
    __fmLive?: { received: Record<number, 1> }
  }
}

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'error' | 'idle'
export type Range = { lo: number; hi: number }

type Action =
  | { type: 'init'; snapshot: SeriesSnapshot; events: LiveState['events'] }
  | { type: 'msgs'; msgs: LiveMessage[] }

function reducer(state: LiveState, a: Action): LiveState {
  if (a.type === 'init') return { ...initialLive(a.snapshot, a.events, state.head), received: state.received }
  return a.msgs.reduce((s, m) => applyLive(s, m), state)
}

/** Messages are applied in groups, at most every FLUSH_MS: charts redraw a few times a second, not per message. */
const FLUSH_MS = 250

function useRunLiveState(runId: string) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const overview = useQuery(trpc.runs.overview.queryOptions({ runId }, { refetchInterval: 15_000 }))
  // the charts' snapshot is loaded when a page that draws them asks (the dashboard); other tabs
  // follow the run live from the overview's cursor without paying for it
  const [wantSeries, setWantSeries] = useState(false)
  const snapshot = useQuery(
    trpc.runs.series.queryOptions({ runId }, { staleTime: Infinity, refetchOnWindowFocus: false, enabled: wantSeries }),
  )
  const events = useQuery(
    trpc.runs.events.queryOptions({ runId, limit: 300 }, { staleTime: Infinity, refetchOnWindowFocus: false }),
  )
  const [live, dispatch] = useReducer(reducer, null, () => initialLive(null))
  const [zoom, setZoom] = useState<Range | null>(null)
  const [xAxis, setXAxis] = useState<'evals' | 'time'>('evals')

  // a (re)loaded snapshot replaces what the live feed had gathered
  useEffect(() => {
    if (snapshot.data && events.data) dispatch({ type: 'init', snapshot: snapshot.data, events: events.data })
  }, [snapshot.data, events.data])

  // the server asks for a fresh snapshot when the client was far behind (once per request, not on every render)
  // biome-ignore lint/correctness/useExhaustiveDependencies: reacts to the reload flag only
  useEffect(() => {
    if (live.needsReload) {
      if (wantSeries) void snapshot.refetch()
      else if (live.cursor) setSubCursor(live.cursor)
      void events.refetch()
    }
  }, [live.needsReload])

  // the cursor the subscription starts from: the snapshot's, then (after a failure) the last one seen
  const [subCursor, setSubCursor] = useState<string | null>(null)
  useEffect(() => {
    if (snapshot.data) setSubCursor(snapshot.data.cursor)
  }, [snapshot.data])
  const overviewCursor = overview.data?.cursor
  useEffect(() => {
    if (overviewCursor && !wantSeries) setSubCursor((c) => c ?? overviewCursor)
  }, [overviewCursor, wantSeries])
  const latestCursor = useRef<string | null>(null)
  latestCursor.current = live.cursor
  const lastRefresh = useRef(0)
  const queue = useRef<LiveMessage[]>([])
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const lastFlush = useRef(0)
  const enqueue = (msg: LiveMessage) => {
    // what the feed delivered, by evaluation index (tests check that a reconnect left no gap)
    if (msg.type === 'batch' && msg.points.length) {
      const rec = (window.__fmLive ??= { received: {} })
      for (const p of msg.points) rec.received[p.evalIndex] = 1
    }
    queue.current.push(msg)
    if (flushTimer.current) return
    const flush = () => {
      flushTimer.current = null
      lastFlush.current = Date.now()
      const msgs = queue.current.splice(0)
      if (msgs.length) dispatch({ type: 'msgs', msgs })
    }
    flushTimer.current = setTimeout(flush, Math.max(0, FLUSH_MS - (Date.now() - lastFlush.current)))
  }
  useEffect(() => () => void (flushTimer.current && clearTimeout(flushTimer.current)), [])
  const sub = useSubscription(
    trpc.runs.live.subscriptionOptions(
      { runId, lastEventId: subCursor },
      {
        enabled: !!subCursor && !!events.data,
        onData: (d) => {
          const msg = d.data as LiveMessage
          enqueue(msg)
          // the overview (islands, counts) follows events and status changes, at most every 2 s
          if (msg.type === 'batch' && (msg.events.length || msg.run) && Date.now() - lastRefresh.current > 2000) {
            lastRefresh.current = Date.now()
            void qc.invalidateQueries({ queryKey: trpc.runs.overview.queryKey({ runId }) })
            if (msg.events.some((e) => e.type === 'intervention')) {
              void qc.invalidateQueries({ queryKey: trpc.runs.controls.queryKey({ runId }) })
              void qc.invalidateQueries({ queryKey: trpc.guidance.list.queryKey({ runId }) })
            }
          }
        },
      },
    ),
  )
  // EventSource retries a dropped stream by itself (sending the last event id); when the stream
  // fails for good, or goes silent past two heartbeats, subscribe again from the last cursor seen
  const fatal = ['NOT_FOUND', 'UNAUTHORIZED', 'FORBIDDEN'].includes(
    (sub.error?.data as { code?: string } | undefined)?.code ?? '',
  )
  const resubscribe = useRef(() => {})
  resubscribe.current = () => {
    const latest = latestCursor.current
    if (latest && latest !== subCursor) setSubCursor(latest)
    else sub.reset()
  }
  useEffect(() => {
    if (sub.status !== 'error' || fatal) return
    const t = setTimeout(() => resubscribe.current(), 2000)
    return () => clearTimeout(t)
  }, [sub.status, fatal])
  const lastMessageAt = useRef<number | null>(null)
  lastMessageAt.current = live.lastMessageAt
  useEffect(() => {
    const t = setInterval(() => {
      if (lastMessageAt.current && Date.now() - lastMessageAt.current > 40_000) {
        lastMessageAt.current = Date.now()
        resubscribe.current()
      }
    }, 5000)
    return () => clearInterval(t)
  }, [])
  const everConnected = useRef(false)
  if (sub.status === 'pending') everConnected.current = true
  const connection: Connection =
    sub.status === 'pending'
      ? 'live'
      : fatal
        ? 'error'
        : sub.status === 'connecting' || sub.status === 'error'
          ? everConnected.current
            ? 'reconnecting'
            : 'connecting'
          : 'idle'

  const requestSeries = useCallback(() => setWantSeries(true), [])
  const zoomed = useQuery(
    trpc.runs.series.queryOptions({ runId, range: zoom, buckets: 1000 }, { enabled: !!zoom, staleTime: 10_000 }),
  )

  const head = live.head
  const status = head?.status ?? overview.data?.status ?? null
  return {
    runId,
    overview,
    snapshot,
    live,
    connection,
    subscriptionError: sub.error,
    status,
    zoom,
    setZoom,
    zoomed: zoom ? (zoomed.data ?? null) : null,
    zoomLoading: !!zoom && zoomed.isLoading,
    xAxis,
    setXAxis,
    /** a page that draws the charts asks for their snapshot */
    requestSeries,
  }
}

export type RunLive = ReturnType<typeof useRunLiveState>

const Ctx = createContext<RunLive | null>(null)

export function RunLiveProvider({ runId, children }: { runId: string; children: ReactNode }) {
  const value = useRunLiveState(runId)
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}

export function useRunLive(): RunLive {
  const v = useContext(Ctx)
  if (!v) throw new Error('useRunLive outside RunLiveProvider')
  return v
}

/** The connection state as a small badge (live, reconnecting…). */
export function ConnectionBadge() {
  const { connection, live, status } = useRunLive()
  // connected to a run that has ended: nothing more will come but notes, held-out results, hints
  const ended = status === 'completed' || status === 'stopped' || status === 'failed'
  const label = {
    live: ended ? 'connected (run ended)' : 'live',
    connecting: 'connecting…',
    reconnecting: 'reconnecting… (will catch up)',
    error: 'disconnected',
    idle: 'not live',
  }[connection]
  const title = live.lastMessageAt ? `last message ${new Date(live.lastMessageAt).toLocaleTimeString()}` : undefined
  return useMemo(
    () => (
      <span className={`conn ${connection}`} title={title} data-testid="connection" data-state={connection}>
        <span className="dot" /> {label}
      </span>
    ),
    [connection, label, title],
  )
}
