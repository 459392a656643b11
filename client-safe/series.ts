// Chart data for the run dashboard, shaped from metric rows and evaluation points. Pure: the
// server uses it to answer snapshot queries, the browser to merge live batches into what it
// already draws and to keep that bounded (a run can reach 100,000 evaluations).
import { lttbIndices, minMaxBuckets } from './downsample.ts'
import { duration } from './format.ts'
import { gain, improvesBy } from './score.ts'
import type { MetricPoint, RunEventRow, ScorePoint } from './types.ts'

export type MetricField =
  | 'best'
  | 'mean'
  | 'median'
  | 'code'
  | 'coverage'
  | 'interIsland'
  | 'population'
  | 'evalsPerSec'
  | 'failureRate'
  | 'spendUsd'
  | 'requests'
  | 'waiting'
  | 'busy'
export type XAxis = 'evals' | 'time'

/** The key of an island's series in pivoted rows: "run" for the whole run, "i0", "i1", … */
export function seriesKey(island: number): string {
  return island < 0 ? 'run' : `i${island}`
}

export interface PivotRow {
  x: number
  [series: string]: number | null
}

/**
 * Metric rows → one row per x (evaluation count or time) with one column per island, the shape a
 * multi-line chart wants. Rows written together (one createMany per tick) share their x.
 */
export function pivotMetrics(
  metrics: readonly MetricPoint[],
  field: MetricField,
  opts: { x?: XAxis; islands?: readonly number[]; range?: { lo: number; hi: number } | null } = {},
): PivotRow[] {
  const xAxis = opts.x ?? 'evals'
  const keep = opts.islands ? new Set(opts.islands) : null
  const byX = new Map<number, PivotRow>()
  // group by evaluation count (the engine writes all islands at one count together), then place on x
  const groups = new Map<number, { t: number; row: PivotRow }>()
  for (const m of metrics) {
    if (keep && !keep.has(m.island)) continue
    if (opts.range && (m.evalCount < opts.range.lo || m.evalCount > opts.range.hi)) continue
    let g = groups.get(m.evalCount)
    if (!g) {
      g = { t: m.t, row: { x: xAxis === 'evals' ? m.evalCount : m.t } }
      groups.set(m.evalCount, g)
    }
    const v = m[field]
    g.row[seriesKey(m.island)] = typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  for (const g of groups.values()) {
    const prev = byX.get(g.row.x)
    byX.set(g.row.x, prev ? { ...prev, ...g.row } : g.row)
  }
  return [...byX.values()].sort((a, b) => a.x - b.x)
}

/** Scatter points per island for the fitness chart (valid evaluations only; failures are counted apart). */
export function scatterByIsland(
  points: readonly ScorePoint[],
  range?: { lo: number; hi: number } | null,
): Map<number, Array<{ x: number; y: number; id: string }>> {
  const out = new Map<number, Array<{ x: number; y: number; id: string }>>()
  for (const p of points) {
    if (!p.valid || p.score === null || !Number.isFinite(p.score)) continue
    if (range && (p.evalIndex < range.lo || p.evalIndex > range.hi)) continue
    let arr = out.get(p.island)
    if (!arr) out.set(p.island, (arr = []))
    arr.push({ x: p.evalIndex, y: p.score, id: p.id })
  }
  for (const arr of out.values()) arr.sort((a, b) => a.x - b.x)
  return out
}

/**
 * Every island's dots in one list, in the order of their x (evaluation or time), each with its
 * island: painted in that order, the latest evaluations lie on top whatever their island. Painted
 * island by island, the last island's dots had covered the others'.
 */
export function paintOrder<T extends { x: number }>(
  byIsland: ReadonlyMap<number, readonly T[]>,
): Array<T & { island: number }> {
  const out: Array<T & { island: number }> = []
  for (const [island, arr] of byIsland) for (const q of arr) out.push({ ...q, island })
  return out.sort((a, b) => a.x - b.x || a.island - b.island)
}

/** Merge live metric rows into a sorted, de-duplicated list. */
export function mergeMetrics(existing: readonly MetricPoint[], incoming: readonly MetricPoint[]): MetricPoint[] {
  if (incoming.length === 0) return existing as MetricPoint[]
  const last = existing.length ? existing[existing.length - 1]!.id : -Infinity
  const fresh = incoming.filter((m) => m.id > last)
  if (fresh.length === incoming.length && isSortedById(fresh)) return existing.concat(fresh)
  const byId = new Map<number, MetricPoint>()
  for (const m of existing) byId.set(m.id, m)
  for (const m of incoming) byId.set(m.id, m)
  return [...byId.values()].sort((a, b) => a.evalCount - b.evalCount || a.id - b.id)
}

function isSortedById(ms: readonly MetricPoint[]) {
  for (let i = 1; i < ms.length; i++) if (ms[i]!.id <= ms[i - 1]!.id) return false
  return true
}

/** Merge live evaluation points, de-duplicated by evaluation index. */
export function mergePoints(existing: readonly ScorePoint[], incoming: readonly ScorePoint[]): ScorePoint[] {
  if (incoming.length === 0) return existing as ScorePoint[]
  const last = existing.length ? existing[existing.length - 1]!.evalIndex : -Infinity
  if (incoming.every((p, i) => p.evalIndex > last && (i === 0 || p.evalIndex > incoming[i - 1]!.evalIndex)))
    return existing.concat(incoming)
  const byIndex = new Map<number, ScorePoint>()
  for (const p of existing) byIndex.set(p.evalIndex, p)
  for (const p of incoming) byIndex.set(p.evalIndex, p)
  return [...byIndex.values()].sort((a, b) => a.evalIndex - b.evalIndex)
}

/**
 * Keeps metric rows bounded: LTTB on the run-level mean picks the evaluation counts worth
 * keeping; every island's row at those counts stays (so islands remain comparable at each x).
 * The newest rows are always kept: they are what a live chart grows at.
 */
export function boundMetrics(metrics: readonly MetricPoint[], maxCounts: number, keepTail = 50): MetricPoint[] {
  const counts = [...new Set(metrics.map((m) => m.evalCount))].sort((a, b) => a - b)
  if (counts.length <= maxCounts) return metrics as MetricPoint[]
  const run = new Map<number, number>()
  for (const m of metrics) if (m.island < 0) run.set(m.evalCount, m.mean ?? m.best ?? NaN)
  const head = counts.slice(0, Math.max(0, counts.length - keepTail))
  const idx = lttbIndices(
    head,
    head.map((c) => run.get(c) ?? NaN),
    Math.max(3, maxCounts - keepTail),
  )
  const keep = new Set(idx.map((i) => head[i]!))
  for (const c of counts.slice(-keepTail)) keep.add(c)
  return metrics.filter((m) => keep.has(m.evalCount))
}

/** Keeps evaluation points bounded per island (min and max score per bucket), the run's best always kept. */
export function boundPoints(
  points: readonly ScorePoint[],
  maxPerIsland: number,
  bestId?: string | null,
  keepTail = 100,
): ScorePoint[] {
  const byIsland = new Map<number, ScorePoint[]>()
  for (const p of points) {
    let arr = byIsland.get(p.island)
    if (!arr) byIsland.set(p.island, (arr = []))
    arr.push(p)
  }
  if ([...byIsland.values()].every((a) => a.length <= maxPerIsland)) return points as ScorePoint[]
  const out: ScorePoint[] = []
  for (const arr of byIsland.values()) {
    if (arr.length <= maxPerIsland) {
      out.push(...arr)
      continue
    }
    const head = arr.slice(0, arr.length - keepTail)
    const kept = minMaxBuckets(
      head,
      Math.max(1, Math.floor((maxPerIsland - keepTail) / 2)),
      (p) => p.evalIndex,
      (p) => (p.valid ? p.score : null),
      { keepInvalid: true },
    )
    out.push(...kept, ...arr.slice(-keepTail))
    if (bestId && !kept.some((p) => p.id === bestId)) {
      const best = head.find((p) => p.id === bestId)
      if (best) out.push(best)
    }
  }
  return out.sort((a, b) => a.evalIndex - b.evalIndex)
}

/** The latest row of one island (or the run), for the stat tiles. */
export function latestMetric(metrics: readonly MetricPoint[], island = -1): MetricPoint | null {
  for (let i = metrics.length - 1; i >= 0; i--) if (metrics[i]!.island === island) return metrics[i]!
  return null
}

/** y-axis domain covering the data and the reference line, padded a little. */
export function yDomain(
  values: Iterable<number | null | undefined>,
  reference?: number | null,
): [number, number] | null {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (typeof reference === 'number' && Number.isFinite(reference)) {
    lo = Math.min(lo, reference)
    hi = Math.max(hi, reference)
  }
  if (!Number.isFinite(lo)) return null
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 1
    return [lo - pad, hi + pad]
  }
  const pad = (hi - lo) * 0.05
  return [lo - pad, hi + pad]
}

/**
 * A y domain that shows progress rather than outliers: every best-so-far value and the reference,
 * plus the evaluation points up to the 75th percentile on the worse side (a few broken candidates
 * with huge errors would otherwise flatten every line). Points beyond it are drawn clipped.
 */
export function robustDomain(
  lines: Iterable<number | null | undefined>,
  points: readonly number[],
  reference: number | null | undefined,
  direction: 'max' | 'min',
  worseQuantile = 0.75,
): [number, number] | null {
  const vals: number[] = []
  for (const v of lines) if (typeof v === 'number' && Number.isFinite(v)) vals.push(v)
  const pts = points.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (pts.length) {
    const q = (f: number) => pts[Math.min(pts.length - 1, Math.max(0, Math.round(f * (pts.length - 1))))]!
    const lo = direction === 'min' ? pts[0]! : q(1 - worseQuantile)
    const hi = direction === 'min' ? q(worseQuantile) : pts[pts.length - 1]!
    for (const v of pts) if (v >= lo && v <= hi) vals.push(v)
  }
  // a reference far from the data (a seed far below a published value) would flatten every line
  // against one edge: it is left out of this view ("full y range" has it), and the chart says so
  return yDomain(vals, referenceNear(vals, reference) ? reference : null)
}

/** Whether a reference value lies within one span of the data's own range (no data: it is shown). */
export function referenceNear(values: readonly number[], reference: number | null | undefined): boolean {
  if (typeof reference !== 'number' || !Number.isFinite(reference)) return false
  if (!values.length) return true
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) (lo = Math.min(lo, v)), (hi = Math.max(hi, v))
  const span = Math.max(hi - lo, Math.abs(hi) * 0.05, 1e-12)
  return reference >= lo - span && reference <= hi + span
}

export interface StagnationAlert {
  island: number
  kind: 'stagnant' | 'escalated'
  message: string
  suggestions: string[]
  /** the newest event of the episode */
  eventId: number
  t: number
  /** escalation level now, and the first level seen in this episode (levels of one plateau fold into one alert) */
  level: number
  firstLevel: number
  /** when the episode's first event was recorded */
  since: number
  /** events folded into this alert */
  events: number
  /** the island's best when the newest event was raised */
  best: number | null
}

export interface AlertContext {
  /** the run's status now: a run that ended has no open alert */
  status?: string | null
  /** each island's best now: an island that improved past its alert's best is no longer stuck */
  islandBest?: ReadonlyMap<number, number | null>
  direction?: 'max' | 'min'
}

const FINAL = new Set(['completed', 'stopped', 'failed'])

/**
 * Open stagnation alerts, newest first: one per island whose plateau has not ended. The
 * escalations of one plateau fold into its alert (level 1 → 52 is one alert, not 52); a
 * recovery, the island's best improving, or the run ending closes it.
 */
export function openStagnationAlerts(events: readonly RunEventRow[], ctx: AlertContext = {}): StagnationAlert[] {
  if (ctx.status && FINAL.has(ctx.status)) return []
  const open = new Map<number, StagnationAlert>()
  const sorted = [...events].sort((a, b) => a.id - b.id)
  for (const e of sorted) {
    if (e.type === 'status') {
      if (FINAL.has(String(e.payload.status))) open.clear()
      continue
    }
    if (e.type !== 'stagnation') continue
    const island = Number(e.payload.island)
    const kind = e.payload.kind
    if (kind !== 'stagnant' && kind !== 'escalated') {
      open.delete(island)
      continue
    }
    const level = Number(e.payload.level) || 1
    const best = typeof e.payload.best === 'number' ? e.payload.best : null
    const prev = kind === 'escalated' ? open.get(island) : undefined
    open.set(island, {
      island,
      kind,
      message: String(e.payload.message ?? ''),
      suggestions: Array.isArray(e.payload.suggestions) ? e.payload.suggestions.map(String) : [],
      eventId: e.id,
      t: e.t,
      level,
      firstLevel: prev ? prev.firstLevel : level,
      since: prev ? prev.since : e.t,
      events: prev ? prev.events + 1 : 1,
      best,
    })
  }
  const out: StagnationAlert[] = []
  for (const a of open.values()) {
    const now = ctx.islandBest?.get(a.island)
    if (ctx.direction && a.best !== null && typeof now === 'number' && improvesBy(now, a.best, ctx.direction, 1e-12))
      continue
    out.push(a)
  }
  return out.sort((a, b) => b.eventId - a.eventId)
}

/** An activity row; escalations of one plateau are folded into their newest row. */
export type FeedRow = RunEventRow & { folded?: { fromLevel: number; toLevel: number; count: number } }

/**
 * The activity feed's rows in id order: each island's escalations of one plateau become one row
 * (the newest, with the levels it covers), so a long plateau does not bury everything else.
 */
export function foldStagnationEvents(events: readonly RunEventRow[]): FeedRow[] {
  const out: Array<FeedRow | null> = []
  const open = new Map<number, number>() // island → index in out of its escalation row
  for (const e of [...events].sort((a, b) => a.id - b.id)) {
    if (e.type === 'stagnation') {
      const island = Number(e.payload.island)
      const level = Number(e.payload.level) || 1
      if (e.payload.kind === 'escalated') {
        const at = open.get(island)
        const prev = at !== undefined ? out[at] : null
        if (prev && at !== undefined) out[at] = null
        const folded = prev?.folded
          ? { fromLevel: prev.folded.fromLevel, toLevel: level, count: prev.folded.count + 1 }
          : { fromLevel: level, toLevel: level, count: 1 }
        open.set(island, out.length)
        out.push({ ...e, folded })
        continue
      }
      open.delete(island)
    }
    out.push(e)
  }
  return out.filter((r): r is FeedRow => r !== null)
}

// ------------------------------------------------------------------ distance to the best

/** How far a score is from the best, in the problem's direction (≥ 0; 0 at the best). */
export function distanceToBest(score: number, best: number, direction: 'max' | 'min'): number {
  return Math.max(0, gain(best, score, direction))
}

/**
 * The floor of a log-scale "distance to the best" axis: a decade below the smallest positive
 * distance, so the last small gains stay apart from the best itself (which sits on the floor).
 */
export function logDistanceFloor(distances: Iterable<number>, best: number): number {
  let min = Infinity
  for (const d of distances) if (d > 0 && d < min) min = d
  if (Number.isFinite(min)) return Math.floor(Math.log10(min)) - 1
  // nothing but the best: a floor well below its magnitude
  return Math.floor(Math.log10(Math.abs(best) || 1)) - 6
}

/** log10 of the distance, never below the floor. */
export function logDistance(score: number, best: number, direction: 'max' | 'min', floor: number): number {
  const d = distanceToBest(score, best, direction)
  return d > 0 ? Math.max(floor, Math.log10(d)) : floor
}

/** Budget use in [0, 1] per dimension (null where the run has no such cap). */
export interface RunClock {
  /** seconds run by the last write of them (every session: not the time a run sat stopped or paused) */
  activeS: number
  /** when they were written */
  activeAt: number | null
  running: boolean
  /** when it ended, if that is known after the last write */
  finishedAt?: number | null
}

/** Seconds a run has run: as of the last write, plus the time since while it runs (or until it ended). */
export function runSeconds(r: RunClock, now = Date.now()): number {
  if (r.activeAt === null) return r.activeS
  const until = r.running ? now : r.finishedAt && r.finishedAt > r.activeAt ? r.finishedAt : r.activeAt
  return r.activeS + Math.max(0, until - r.activeAt) / 1000
}

/** The evaluations/s tile: the figure and the line under it that says what the figure is. */
export interface ThroughputTile {
  evalsPerSec: number | null
  sub: string
}

/**
 * A run that evaluates shows its rate over the last 30 s (the latest run-level metric row). One
 * that ended or is paused has no recent rate worth reading (0, or the tail of its last session),
 * so it shows its mean over the time it ran: the run's own clock, which stops while it is stopped
 * or paused, so hours it sat idle never dilute the figure.
 */
export function throughputTile(
  run: { status: string | null | undefined; evaluations: number } & RunClock,
  last: Pick<MetricPoint, 'evalsPerSec'> | null,
  now = Date.now(),
): ThroughputTile {
  if (!run.status || !(FINAL.has(run.status) || run.status === 'paused'))
    return { evalsPerSec: last?.evalsPerSec ?? null, sub: 'last 30 s' }
  const ranS = runSeconds(run, now)
  // runs from before the clock was kept read 0 s: a mean over nothing would be Infinity or NaN
  if (!(ranS > 0)) return { evalsPerSec: null, sub: 'no active time recorded' }
  return { evalsPerSec: run.evaluations / ranS, sub: `mean over ${duration(ranS)} active` }
}

export function budgetUse(
  run: { evaluations: number; spendUsd: number } & RunClock,
  budget: { maxEvals: number; maxSpendUsd?: number | null; maxWallS?: number | null },
  now = Date.now(),
) {
  const wall = runSeconds(run, now)
  return {
    evals: budget.maxEvals > 0 ? Math.min(1, run.evaluations / budget.maxEvals) : null,
    spend: budget.maxSpendUsd ? Math.min(1, run.spendUsd / budget.maxSpendUsd) : null,
    wall: budget.maxWallS ? Math.min(1, wall / budget.maxWallS) : null,
    wallS: wall,
  }
}

/** A distinct, readable colour per island on a dark background (the run-wide series is white). */
/** the reference line's colour: none of the islands' (island 7 had it) */
export const REFERENCE_COLOR = '#f5f5f5'

export function islandColor(island: number): string {
  if (island < 0) return '#e6e9ee'
  const palette = [
    '#4aa3ff',
    '#f0883e',
    '#3fb950',
    '#d2a8ff',
    '#f85149',
    '#e3b341',
    '#39c5cf',
    '#ff7eb6',
    '#a5d6ff',
    '#7ee787',
    '#ffa657',
    '#bc8cff',
  ]
  if (island < palette.length) return palette[island]!
  const hue = (island * 137.508) % 360
  return `hsl(${hue.toFixed(0)} 70% 62%)`
}

/** The gap to the reference, signed so that positive means "still worse than the reference". */
export function gapToReference(
  best: number | null,
  reference: number | null | undefined,
  direction: 'max' | 'min',
): number | null {
  if (best === null || reference === null || reference === undefined) return null
  return gain(reference, best, direction)
}

/**
 * The fitness chart in words, for a screen reader (the chart itself is a picture): the run's best
 * and each island's, as of the last row.
 */
export function fitnessSummary(rows: readonly PivotRow[], islands: number, metric: string, xAxis: XAxis): string {
  const last = rows[rows.length - 1]
  if (!last) return `Best ${metric} so far: no evaluation yet.`
  const at = xAxis === 'evals' ? `after ${Math.round(last.x)} evaluations` : `after ${Math.round(last.x)} s`
  const value = (k: string) => (typeof last[k] === 'number' ? String(Number((last[k] as number).toPrecision(6))) : '–')
  const per = Array.from({ length: islands }, (_, i) => `island ${i} ${value(seriesKey(i))}`).join(', ')
  return `Best ${metric} so far ${at}: run ${value('run')}; ${per}.`
}
