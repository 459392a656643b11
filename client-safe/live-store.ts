// What a dashboard holds of a run between messages: the snapshot it loaded, merged with the
// live batches that followed, bounded so that a long session on a fast run stays responsive.
// Pure (a reducer): the browser keeps it in React state; tests drive it directly.
import { ACTIVE_STATUSES } from './run-config.ts'
import { boundMetrics, boundPoints, mergeMetrics, mergePoints } from './series.ts'
import type { LiveMessage, MetricPoint, RunEventRow, RunHead, ScorePoint, SeriesSnapshot } from './types.ts'

export interface LiveLimits {
  /** distinct evaluation counts of metric rows kept */
  metricCounts: number
  /** evaluation points kept per island */
  pointsPerIsland: number
  /** events kept (the newest) */
  events: number
}

// what an SVG chart redraws comfortably several times a second on a modest laptop
export const DEFAULT_LIMITS: LiveLimits = { metricCounts: 800, pointsPerIsland: 600, events: 500 }

export interface LiveState {
  /** cursor of the last message applied (the snapshot's at first) */
  cursor: string | null
  metrics: MetricPoint[]
  points: ScorePoint[]
  events: RunEventRow[]
  head: RunHead | null
  /** the server asked for a fresh snapshot (the client was too far behind) */
  needsReload: boolean
  /** time of the last message of any kind (heartbeats included) */
  lastMessageAt: number | null
  /** evaluation points received live since the snapshot */
  received: number
}

export function initialLive(
  snapshot: SeriesSnapshot | null,
  events: RunEventRow[] = [],
  head: RunHead | null = null,
): LiveState {
  return {
    cursor: snapshot?.cursor ?? null,
    metrics: snapshot?.metrics ?? [],
    points: snapshot?.points ?? [],
    events: events.slice(-DEFAULT_LIMITS.events),
    head,
    needsReload: false,
    lastMessageAt: null,
    received: 0,
  }
}

export function applyLive(
  state: LiveState,
  msg: LiveMessage,
  now = Date.now(),
  limits: LiveLimits = DEFAULT_LIMITS,
): LiveState {
  if (msg.type === 'heartbeat') return { ...state, cursor: msg.cursor, lastMessageAt: now }
  if (msg.type === 'reset')
    return { ...state, cursor: msg.cursor, head: msg.run ?? state.head, needsReload: true, lastMessageAt: now }
  const head = msg.run ?? state.head
  const metrics = boundMetrics(mergeMetrics(state.metrics, msg.metrics), limits.metricCounts)
  const points = boundPoints(mergePoints(state.points, msg.points), limits.pointsPerIsland, head?.bestCandidateId)
  let events = state.events
  if (msg.events.length) {
    const last = events.length ? events[events.length - 1]!.id : 0
    events = events.concat(msg.events.filter((e) => e.id > last)).slice(-limits.events)
  }
  return {
    ...state,
    cursor: msg.cursor,
    metrics,
    points,
    events,
    head,
    lastMessageAt: now,
    received: state.received + msg.points.length,
  }
}

/** A zoomed range merges live points that fall inside it. */
export function inRange<T extends { evalIndex?: number; evalCount?: number }>(
  items: readonly T[],
  range: { lo: number; hi: number } | null,
): T[] {
  if (!range) return items as T[]
  return items.filter((i) => {
    const x = i.evalIndex ?? i.evalCount ?? 0
    return x >= range.lo && x <= range.hi
  })
}

/**
 * The engine that drives the run, for the header, said once: the live head's answer once one came
 * (null: none drives it, the run ended or its engine is gone), until then the loaded run's lease
 * while it holds. A lease left on a finished run is no engine driving it.
 */
export function drivenByNow(
  head: Pick<RunHead, 'drivenBy'> | null | undefined,
  lease: { owner: string; until: number | null } | null | undefined,
  now = Date.now(),
): string | null {
  if (head && head.drivenBy !== undefined) return head.drivenBy
  return lease && lease.until !== null && lease.until > now ? lease.owner : null
}

/** how long an active run may go without an engine before the console says so (a start takes a moment) */
export const ENGINE_GRACE_MS = 15_000

/**
 * An active run that no engine has driven for a while: in server mode no `fm-agent engine` runs
 * (a run made in the console waits, `created`, for one), or its engine stopped and no other took
 * the run over once its lease ran out.
 */
export function engineMissing(
  status: string,
  drivenBy: string | null,
  since: { createdAt: number; leaseUntil: number | null },
  now = Date.now(),
): boolean {
  if (!(ACTIVE_STATUSES as readonly string[]).includes(status) || drivenBy) return false
  return now - Math.max(since.createdAt, since.leaseUntil ?? 0) > ENGINE_GRACE_MS
}
