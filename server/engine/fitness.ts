// Scores of evaluations: the primary metric read from metrics, the signed improvement of a child over its
// parent, statistics of a population. `null` marks an invalid candidate (failed evaluation, missing or
// non-finite metric). Comparing scores in a direction is in client-safe/score.ts, which the browser
// shares; it is re-exported here so the engine has one import for scores.
import { gain, isValidScore, type Direction } from '../../client-safe/score.ts'
import { describeValue, readDroppedNote } from '../contracts/evaluation.ts'

export {
  bestOf,
  compareScores,
  gain,
  improvesBy,
  isBetter,
  isValidScore,
  utility,
  type Direction,
} from '../../client-safe/score.ts'

export interface FitnessSpec {
  primaryMetric: string
  direction: Direction
}

/** OpenEvolve's convention: where `combined_score` is the primary metric and absent, use the mean of the numeric metrics */
export const OPENEVOLVE_PRIMARY = 'combined_score'

/**
 * The score of an evaluation: the primary metric when valid and finite, else null.
 * For OpenEvolve-format problems (primary `combined_score`) a missing metric falls back to the mean of the
 * finite numeric metrics, as OpenEvolve does.
 */
export function scoreFromMetrics(
  metrics: Record<string, number | null | undefined> | null | undefined,
  spec: FitnessSpec,
  valid = true,
): number | null {
  if (!valid || !metrics) return null
  const v = metrics[spec.primaryMetric]
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (spec.primaryMetric === OPENEVOLVE_PRIMARY && v === undefined) {
    let sum = 0
    let n = 0
    for (const x of Object.values(metrics)) {
      if (typeof x === 'number' && Number.isFinite(x)) {
        sum += x
        n++
      }
    }
    return n > 0 ? sum / n : null
  }
  return null
}

/**
 * Why a result the evaluator judged valid has no score (scoreFromMetrics gave null): the metric is
 * missing (with the names it did report: a typo is the usual cause), not a number, or not finite.
 * `artifacts` (the worker's, workers/result.ts) say what the metrics alone cannot: a metric that was
 * not a number (`metric:<name>`), NaN or an infinity (`metrics_not_finite`), metrics left out past the
 * bound (`metrics_dropped`).
 */
export function noScoreReason(
  metrics: Record<string, unknown> | null | undefined,
  primaryMetric: string,
  artifacts?: Record<string, unknown> | null,
): string {
  const m = metrics ?? {}
  const a = artifacts ?? {}
  const name = `"${primaryMetric}"`
  if (primaryMetric in m && m[primaryMetric] !== undefined) {
    const v = m[primaryMetric]
    const nonFinite = (a.metrics_not_finite as Record<string, unknown> | undefined)?.[primaryMetric]
    if (v === null && typeof nonFinite === 'string')
      return `the evaluator's ${name} is ${nonFinite}, not a finite number (metrics must be finite numbers)`
    if (v === null)
      return `the evaluator's ${name} is null, not a finite number (a NaN or an infinity written by JSON.stringify arrives as null too)`
    return `the evaluator's ${name} is ${String(v)}, not a finite number`
  }
  const other = a[`metric:${primaryMetric}`]
  if (other !== undefined)
    return `the evaluator's ${name} is ${describeValue(other)}, not a number: metrics must be numbers (true and false count as 1 and 0), anything else moves to the artifacts (here "metric:${primaryMetric}")`
  const names = Object.keys(m)
  const dropped = readDroppedNote(a.metrics_dropped)
  const reported = dropped ? dropped.reported : names.length
  const bound = dropped ? `; a result keeps at most ${dropped.limit}` : ''
  const shown = names.slice(0, 12).join(', ') + (reported > 12 || bound ? `, … (${reported} in all${bound})` : '')
  return `the evaluator reported no ${name} metric (${reported ? `it reported ${shown}` : 'it reported no metrics'})`
}

/**
 * A reason cut to about `max` characters for a one-line place (a run's status, a summary), at a line
 * boundary: a traceback keeps its last lines (the exception is at the end), other text its first;
 * a single line too long is cut at a word.
 */
export function clipReason(text: string, max = 300): string {
  const t = text.trim()
  if (t.length <= max) return t
  const lines = t.split('\n')
  const traceback = /Traceback \(most recent call last\)|^\s+File "|^\s+at \S/m.test(t)
  const kept: string[] = []
  let size = 2 // the "…" and the newline that say lines were left out
  for (let i = 0; i < lines.length; i++) {
    const line = lines[traceback ? lines.length - 1 - i : i]!
    if (size + line.length + 1 > max) break
    if (traceback) kept.unshift(line)
    else kept.push(line)
    size += line.length + 1
  }
  if (kept.length) return traceback ? `…\n${kept.join('\n')}` : `${kept.join('\n')}\n…`
  // one line longer than the room: a traceback's end, other text's start, cut at a word
  if (traceback)
    return `…${lines
      .at(-1)!
      .slice(-(max - 1))
      .replace(/^\S*\s/, '')}`
  const head = lines[0]!.slice(0, max - 1)
  const cut = head.lastIndexOf(' ')
  return `${cut > max / 2 ? head.slice(0, cut) : head}…`
}

/**
 * Signed relative improvement of `child` over `parent`, positive when the child is better, in either direction:
 * (child − parent) / max(|parent|, floor) for max problems, the mirror for min. An invalid child is −1 (a clear
 * loss), an invalid parent with a valid child is +1. `floor` keeps scores near 0 from exploding the ratio.
 */
export function improvement(
  child: number | null | undefined,
  parent: number | null | undefined,
  direction: Direction,
  floor = 1e-9,
): number {
  if (!isValidScore(child)) return isValidScore(parent) ? -1 : 0
  if (!isValidScore(parent)) return 1
  return gain(child, parent, direction) / Math.max(Math.abs(parent), floor)
}

export interface FitnessStats {
  count: number
  valid: number
  best: number | null
  worst: number | null
  mean: number | null
  median: number | null
  std: number | null
}

/** best/worst in the problem's direction; mean/median/std of the valid scores */
export function fitnessStats(scores: Iterable<number | null | undefined>, direction: Direction): FitnessStats {
  const buf: number[] = []
  let count = 0
  for (const s of scores) {
    count++
    if (isValidScore(s)) buf.push(s)
  }
  if (buf.length === 0) return { count, valid: 0, best: null, worst: null, mean: null, median: null, std: null }
  // a typed array sorts numerically without a comparator callback: several times faster at 10k+
  const vals = Float64Array.from(buf).sort()
  const n = vals.length
  let sum = 0
  for (const v of vals) sum += v
  const mean = sum / n
  let ss = 0
  for (const v of vals) ss += (v - mean) * (v - mean)
  const median =
    n % 2 === 1 ? (vals[(n - 1) / 2] as number) : ((vals[n / 2 - 1] as number) + (vals[n / 2] as number)) / 2
  const lo = vals[0] as number
  const hi = vals[n - 1] as number
  return {
    count,
    valid: n,
    best: direction === 'max' ? hi : lo,
    worst: direction === 'max' ? lo : hi,
    mean,
    median,
    std: Math.sqrt(ss / n),
  }
}
