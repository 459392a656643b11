'use client'
// A run's live state for every tab of its pages: the overview, a downsampled snapshot of the
// series, then a subscription (SSE) that streams what happens after the snapshot's cursor. When
// the connection drops, tRPC's link reconnects with the last event id (our cursor) and the server
// sends exactly what was missed; zoom, filters and selection live here and in the pages, so they
// survive. Data shaping is in server/console/live-store.ts.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSubscription } from '@trpc/tanstack-react-query'
import { createContext, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react'
import { applyLive, initialLive, type LiveState } from '../server/console/live-store.ts'
import type { LiveMessage, SeriesSnapshot } from '../server/console/types.ts'
import { useTRPC } from './trpc.tsx'

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'error' | 'idle'
export type Range = { lo: number; hi: number }

type Action = { type: 'init'; snapshot: SeriesSnapshot; events: LiveState['events'] } | { type: 'msg'; msg: LiveMessage }

function reducer(state: LiveState, a: Action): LiveState {
  if (a.type === 'init') return { ...initialLive(a.snapshot, a.events, state.head), received: state.received }
  return applyLive(state, a.msg)
}

function useRunLiveState(runId: string) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const overview = useQuery(trpc.runs.overview.queryOptions({ runId }, { refetchInterval: 15_000 }))
  const snapshot = useQuery(trpc.runs.series.queryOptions({ runId }, { staleTime: Infinity, refetchOnWindowFocus: false }))
  const events = useQuery(trpc.runs.events.queryOptions({ runId, limit: 300 }, { staleTime: Infinity, refetchOnWindowFocus: false }))
  const [live, dispatch] = useReducer(reducer, null, () => initialLive(null))
  const [zoom, setZoom] = useState<Range | null>(null)
  const [xAxis, setXAxis] = useState<'evals' | 'time'>('evals')

  // a (re)loaded snapshot replaces what the live feed had gathered
  useEffect(() => {
    if (snapshot.data && events.data) dispatch({ type: 'init', snapshot: snapshot.data, events: events.data })
  }, [snapshot.data, events.data])

  // the server asks for a fresh snapshot when the client was far behind
  useEffect(() => {
    if (live.needsReload) {
      void snapshot.refetch()
      void events.refetch()
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live.needsReload])

  const startCursor = snapshot.data?.cursor ?? null
  const lastRefresh = useRef(0)
  const sub = useSubscription(
    trpc.runs.live.subscriptionOptions(
      { runId, lastEventId: startCursor },
      {
        enabled: !!startCursor && !!events.data,
        onData: (d) => {
          const msg = d.data as LiveMessage
          dispatch({ type: 'msg', msg })
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
  const everConnected = useRef(false)
  if (sub.status === 'pending') everConnected.current = true
  const connection: Connection =
    sub.status === 'pending' ? 'live' : sub.status === 'connecting' ? (everConnected.current ? 'reconnecting' : 'connecting') : sub.status === 'error' ? 'error' : 'idle'

  const zoomed = useQuery(trpc.runs.series.queryOptions({ runId, range: zoom, buckets: 1000 }, { enabled: !!zoom, staleTime: 10_000 }))

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
  const { connection, live } = useRunLive()
  const label = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting… (will catch up)', error: 'disconnected', idle: 'not live' }[connection]
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
