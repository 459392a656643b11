// Runs side by side: the shapes of the compare page (best so far against evaluations, active time
// or spend; the final table; what differs in their configurations; CSV). Pure: the server sends
// each run's improvements and its downsampled metric series (server/queries/compare-data.ts), the
// browser shapes and draws.
import { csvCell } from './candidate-query.ts'
import { isBetter } from './score.ts'
import { FINAL_STATUSES, type RunStatus } from './run-config.ts'
import { runSeconds } from './series.ts'

const RUNNING = ['cold-start', 'evolving']

export const MAX_COMPARE = 8
export const MIN_COMPARE = 2

export interface CompareRun {
  id: string
  name: string | null
  problemId: string
  problemName: string
  direction: 'max' | 'min'
  primaryMetric: string
  reference: { value: number; source: string } | null
  status: string
  statusReason: string | null
  evaluations: number
  bestScore: number | null
  bestCandidateId: string | null
  seedScore: number | null
  /** what its priced model calls cost: the whole spend only when `unpriced` is empty */
  spendUsd: number
  /** some model sent no token counts: the spend is an estimate (run-config.ts spendText) */
  spendEstimated: boolean
  /** models it called that have no price (run-config.ts modelsWithoutPrice): their calls count $0, so its spend is unknown */
  unpriced: string[]
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  /** seconds run, every session (series.ts runSeconds) */
  activeS: number
  activeAt: number | null
  islands: number
  mutator: 'local' | 'llm'
  /** the models it used (labels), or none for offline operators */
  models: string[]
  /** the configuration snapshot, for the diff (seed programs summarized) */
  config: Record<string, unknown>
}

/**
 * One point of a run's best-so-far line from its metric rows (written at most once a second):
 * evaluations, seconds it had run (active time: not the time it sat stopped or paused, the clock
 * of `activeS`), spend, best.
 */
export interface ComparePoint {
  e: number
  t: number
  s: number
  b: number | null
}

/** A candidate that beat every earlier one: its eval_index and score (the line against evaluations). */
export interface CompareImprovement {
  e: number
  b: number
}

export interface CompareData {
  runs: CompareRun[]
  series: Record<string, ComparePoint[]>
  /**
   * each run's improvements in evaluation order: the line against evaluations is exact from them,
   * where the metric rows would draw an improvement up to a second's worth of evaluations late
   */
  improvements: Record<string, CompareImprovement[]>
  /** ids asked for that name no run (deleted since a link was shared): the others are compared */
  missing: string[]
}

export type CompareX = 'evals' | 'time' | 'spend'
export type CompareY = 'score' | 'progress'

/** The run ids of a compare URL (`?runs=a,b,c`): distinct, well-formed, at most MAX_COMPARE. */
export function parseRunIds(param: string | null | undefined): string[] {
  if (!param) return []
  const ids = param
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^[0-9A-Za-z-]{1,64}$/.test(s))
  return [...new Set(ids)].slice(0, MAX_COMPARE)
}

export function compareHref(ids: readonly string[]): string {
  return `/runs/compare?runs=${ids.map(encodeURIComponent).join(',')}`
}

/** A run's label in legends and tables: its name, else its problem and short id. */
export function runLabel(r: Pick<CompareRun, 'id' | 'name' | 'problemId'>): string {
  return r.name || `${r.problemId} ${r.id.slice(0, 8)}`
}

/**
 * Seconds a run has run, over all its sessions (null before it started): the time it sat stopped
 * or paused before a resume is not in it, so a resumed run is not drawn as taking hours.
 */
export function activeSeconds(
  r: Pick<CompareRun, 'status' | 'startedAt' | 'finishedAt' | 'activeS' | 'activeAt'>,
  now = Date.now(),
): number | null {
  return r.startedAt === null ? null : runSeconds({ ...r, running: RUNNING.includes(r.status) }, now)
}

/**
 * Progress from the seed (0) to the problem's reference (1), in the problem's direction: runs of
 * different problems become comparable. Null without a seed score or reference, or when they are equal.
 */
export function progress(value: number, seed: number | null, reference: number | null | undefined): number | null {
  if (seed === null || reference === null || reference === undefined || reference === seed) return null
  return (value - seed) / (reference - seed)
}

export function canShowProgress(runs: readonly CompareRun[]): boolean {
  return (
    runs.length > 0 &&
    runs.every((r) => r.seedScore !== null && r.reference !== null && r.reference.value !== r.seedScore)
  )
}

/** Raw scores when every run is of one problem; progress toward the reference otherwise (when possible). */
export function defaultYMode(runs: readonly CompareRun[]): CompareY {
  const one = new Set(runs.map((r) => r.problemId)).size <= 1
  return one || !canShowProgress(runs) ? 'score' : 'progress'
}

export interface CompareLine {
  runId: string
  label: string
  points: Array<{ x: number; y: number }>
}

/**
 * Each run's best so far as a line on the chosen axes. Every line ends at the run's final state
 * (the run row), so a run whose last metric tick is older still ends where it stands.
 */
export function compareLines(data: CompareData, x: CompareX, y: CompareY, now = Date.now()): CompareLine[] {
  return data.runs.map((r) => {
    // its calls to a model without a price counted $0: drawn against spend it would look free
    if (x === 'spend' && r.unpriced.length) return { runId: r.id, label: runLabel(r), points: [] }
    const improvements = data.improvements[r.id]
    // against evaluations, each improvement at its own evaluation; time and spend only the metric rows know
    const pts: Array<Pick<ComparePoint, 'e' | 'b'> & Partial<ComparePoint>> =
      x === 'evals' && improvements ? [...improvements] : [...(data.series[r.id] ?? [])]
    const ran = activeSeconds(r, now)
    if (
      r.bestScore !== null &&
      (!pts.length || pts[pts.length - 1]!.e < r.evaluations || pts[pts.length - 1]!.b !== r.bestScore)
    ) {
      pts.push({ e: r.evaluations, t: ran ?? pts[pts.length - 1]?.t ?? 0, s: r.spendUsd, b: r.bestScore })
    }
    const points: Array<{ x: number; y: number }> = []
    for (const p of pts) {
      if (p.b === null || !Number.isFinite(p.b)) continue
      const yv = y === 'score' ? p.b : progress(p.b, r.seedScore, r.reference?.value)
      if (yv === null || !Number.isFinite(yv)) continue
      // the last metric row of an ended run is written just after its clock was: the line ends on that clock
      const xv =
        x === 'evals' ? p.e : x === 'time' ? (ran === null || p.t === undefined ? p.t : Math.min(p.t, ran)) : p.s
      if (xv === undefined) continue
      points.push({ x: xv, y: yv })
    }
    points.sort((a, b) => a.x - b.x)
    return { runId: r.id, label: runLabel(r), points }
  })
}

/** The [lo, hi] of every line's x and y (null when nothing is drawn). */
export function linesExtent(lines: readonly CompareLine[]): { x: [number, number]; y: [number, number] } | null {
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity
  for (const l of lines)
    for (const p of l.points) {
      ;(x0 = Math.min(x0, p.x)), (x1 = Math.max(x1, p.x)), (y0 = Math.min(y0, p.y)), (y1 = Math.max(y1, p.y))
    }
  if (!Number.isFinite(x0)) return null
  const padY = (y1 - y0) * 0.05 || Math.abs(y0) * 0.05 || 1
  return { x: [x0, x1 === x0 ? x0 + 1 : x1], y: [y0 - padY, y1 + padY] }
}

// ------------------------------------------------------------------ final table and CSV

export interface FinalRow {
  runId: string
  label: string
  problemId: string
  status: string
  direction: 'max' | 'min'
  best: number | null
  /** best relative to the seed and reference, as on the progress chart */
  progress: number | null
  reference: number | null
  evaluations: number
  /** what its priced calls cost: the spend is unknown where `unpriced` is not empty (spendText) */
  spendUsd: number
  spendEstimated: boolean
  unpriced: string[]
  /** seconds it ran, over all its sessions (not the time it sat stopped or paused) */
  activeS: number | null
  islands: number
  models: string
}

export function finalTable(runs: readonly CompareRun[], now = Date.now()): FinalRow[] {
  return runs.map((r) => ({
    runId: r.id,
    label: runLabel(r),
    problemId: r.problemId,
    status: r.status,
    direction: r.direction,
    best: r.bestScore,
    progress: r.bestScore === null ? null : progress(r.bestScore, r.seedScore, r.reference?.value),
    reference: r.reference?.value ?? null,
    evaluations: r.evaluations,
    spendUsd: r.spendUsd,
    spendEstimated: r.spendEstimated,
    unpriced: r.unpriced,
    // the time it ran, not the hours it sat stopped between a stop and a resume
    activeS: activeSeconds(r, now),
    islands: r.islands,
    models: r.mutator === 'llm' ? r.models.join(' + ') : 'offline operators',
  }))
}

/** Of runs of one problem, the one with the best final score (ties: the earlier in the list). */
export function bestRunId(runs: readonly CompareRun[]): string | null {
  if (new Set(runs.map((r) => r.problemId)).size !== 1) return null
  // a run still going may yet pass the others: no winner until every one has ended
  if (runs.some((r) => !FINAL_STATUSES.includes(r.status as RunStatus))) return null
  let best: CompareRun | null = null
  for (const r of runs) {
    if (r.bestScore === null) continue
    if (!best || isBetter(r.bestScore, best.bestScore, r.direction)) best = r
  }
  return best?.id ?? null
}

const CSV_HEADER = [
  'run_id',
  'name',
  'problem',
  'status',
  'direction',
  'best',
  'progress_to_reference',
  'reference',
  'evaluations',
  'spend_usd',
  // seconds run over all sessions (runs.active_s): not clock time from start to end
  'active_s',
  'islands',
  'models',
  // last, so the columns before it keep their places: spend_usd rests on estimated token counts
  'spend_estimated',
]

/** The final table as CSV (RFC 4180, spreadsheet formulas defused), one run per line. */
export function compareCsv(runs: readonly CompareRun[], now = Date.now()): string {
  const lines = [CSV_HEADER.join(',')]
  const byId = new Map(runs.map((r) => [r.id, r]))
  for (const f of finalTable(runs, now)) {
    const r = byId.get(f.runId)!
    lines.push(
      [
        f.runId,
        r.name,
        f.problemId,
        f.status,
        f.direction,
        f.best,
        f.progress,
        f.reference,
        f.evaluations,
        // unknown, not 0: a spreadsheet would sum the priced part as the whole
        f.unpriced.length ? null : f.spendUsd,
        f.activeS === null ? null : Math.round(f.activeS),
        f.islands,
        f.models,
        f.spendEstimated,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  return lines.join('\r\n') + '\r\n'
}

// ------------------------------------------------------------------ configuration diff

/** A configuration as dotted paths to printable values (arrays of objects by index). */
export function flattenConfig(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>)
    if (!entries.length && prefix) out[prefix] = '{}'
    for (const [k, x] of entries) flattenConfig(x, prefix ? `${prefix}.${k}` : k, out)
    return out
  }
  if (Array.isArray(v)) {
    if (!v.length) out[prefix] = 'none'
    else if (v.every((x) => x === null || typeof x !== 'object')) out[prefix] = v.map((x) => String(x)).join(', ')
    else
      v.forEach((x, i) => {
        flattenConfig(x, `${prefix}[${i}]`, out)
      })
    return out
  }
  out[prefix] = v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)
  return out
}

export interface DiffRow {
  path: string
  /** one value per run, in the runs' order ('' where a run does not have the setting) */
  values: string[]
  differs: boolean
}

/** Every setting of the runs' configurations, the differing ones first (then by path). */
export function configDiff(configs: ReadonlyArray<Record<string, unknown>>): DiffRow[] {
  const flat = configs.map((c) => flattenConfig(c))
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))]
  const rows = paths.map((path) => {
    // a setting the run's kind of mutator never reads (the models of an offline run, the other
    // kind's operator weights) is shown as not applying, and does not make a difference
    const values = flat.map((f, i) => (unused(configs[i]!.mutator, path) ? NOT_USED : (f[path] ?? '')))
    return { path, values, differs: new Set(values.filter((v) => v !== NOT_USED)).size > 1 }
  })
  return rows.sort((a, b) => Number(b.differs) - Number(a.differs) || a.path.localeCompare(b.path))
}

const NOT_USED = 'not used'

function unused(mutator: unknown, path: string): boolean {
  if (mutator === 'local') return /^(llmOperators|models)\b/.test(path)
  if (mutator === 'llm') return /^localOperators\b/.test(path)
  return false
}

/** Which way is better: one sentence when the runs agree, each problem's way when they do not. */
export function directionNote(runs: Array<{ problemId: string; direction: 'max' | 'min' }>): string {
  const ways = new Map(runs.map((r) => [r.problemId, r.direction]))
  const directions = new Set(ways.values())
  if (directions.size === 1) return `${directions.has('max') ? 'Higher' : 'Lower'} is better. `
  const list = (d: 'max' | 'min') =>
    [...ways]
      .filter(([, w]) => w === d)
      .map(([p]) => p)
      .join(', ')
  return `Higher is better for ${list('max')}; lower for ${list('min')}. `
}

/**
 * A run's settings as the run page lists them: every value of its config by path, the seed
 * programs counted rather than printed (their code is on the candidates' pages).
 */
export function settingsRows(config: Record<string, unknown>): Array<{ path: string; value: string }> {
  const { seedPrograms, ...rest } = config
  const flat = flattenConfig(rest)
  if (Array.isArray(seedPrograms) && seedPrograms.length) flat.seedPrograms = `${seedPrograms.length} uploaded`
  return Object.entries(flat)
    .map(([path, value]) => ({ path, value }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

/**
 * Why runs are missing from the chart against spend: a run that called a model without a price has
 * an unknown spend. Null when every run's spend is known.
 */
export function spendAxisNote(runs: readonly CompareRun[]): string | null {
  const unknown = runs.filter((r) => r.unpriced.length)
  if (!unknown.length) return null
  const models = [...new Set(unknown.flatMap((r) => r.unpriced))].join(', ')
  const who = unknown.length === runs.length ? 'No run can be drawn' : `${unknown.map(runLabel).join(', ')} not drawn`
  return `${who} against spend: no price for ${models}, so ${unknown.length === 1 ? 'its' : 'their'} spend is unknown.`
}

/** What the table of final scores does not say: runs still going, budgets far apart, spends estimated. */
export function compareCaveat(runs: readonly CompareRun[]): string | null {
  const name = (r: CompareRun) => r.name ?? r.id.slice(0, 8)
  const going = runs.filter((r) => !FINAL_STATUSES.includes(r.status as RunStatus))
  const parts: string[] = []
  if (going.length)
    parts.push(
      `${going.map(name).join(', ')} ${going.length === 1 ? 'has' : 'have'} not ended: no run is called the best until every one has`,
    )
  const evals = runs.map((r) => r.evaluations)
  const [lo, hi] = [Math.min(...evals), Math.max(...evals)]
  if (lo > 0 && hi >= 1.5 * lo)
    parts.push(
      `they ran ${lo.toLocaleString('en-US')} to ${hi.toLocaleString('en-US')} evaluations: the chart compares them at equal evaluations`,
    )
  // an unknown spend (no price, nothing priced spent) shows no figure to call an estimate
  const estimated = runs.filter((r) => r.spendEstimated && (!r.unpriced.length || r.spendUsd > 0))
  if (estimated.length)
    parts.push(
      `the spend of ${estimated.map(name).join(', ')} (≈) is an estimate: ${estimated.length === 1 ? 'its model sends' : 'their models send'} no token counts, so they are counted at 4 characters per token`,
    )
  return parts.length ? `${parts.join('; ')}.` : null
}
