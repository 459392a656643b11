// Scores and their comparison. A score is the problem's primary metric in the problem's own direction;
// `null` marks an invalid candidate (failed evaluation, missing or non-finite metric) and is worse than any
// number in either direction, so no caller has to special-case it.

export type Direction = 'max' | 'min'

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

export function isValidScore(s: number | null | undefined): s is number {
  return typeof s === 'number' && Number.isFinite(s)
}

/** the score mapped so that larger is always better (null → -Infinity) */
export function utility(s: number | null | undefined, direction: Direction): number {
  if (!isValidScore(s)) return -Infinity
  return direction === 'max' ? s : -s
}

/** strictly better; null is never better and everything valid beats null */
export function isBetter(a: number | null | undefined, b: number | null | undefined, direction: Direction): boolean {
  return utility(a, direction) > utility(b, direction)
}

/** sort comparator, best first (stable sort keeps earlier insertion first among ties) */
export function compareScores(direction: Direction): (a: number | null | undefined, b: number | null | undefined) => number {
  return (a, b) => {
    const ua = utility(a, direction)
    const ub = utility(b, direction)
    return ua === ub ? 0 : ua > ub ? -1 : 1
  }
}

export function bestOf(scores: Iterable<number | null | undefined>, direction: Direction): number | null {
  let best: number | null = null
  for (const s of scores) if (isValidScore(s) && (best === null || isBetter(s, best, direction))) best = s
  return best
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
  const d = direction === 'max' ? child - parent : parent - child
  return d / Math.max(Math.abs(parent), floor)
}

/** whether `candidate` improves on `reference` by more than a relative epsilon (with an absolute floor near 0) */
export function improvesBy(
  candidate: number | null | undefined,
  reference: number | null | undefined,
  direction: Direction,
  relEpsilon: number,
  absFloor = 1e-12,
): boolean {
  if (!isValidScore(candidate)) return false
  if (!isValidScore(reference)) return true
  const d = direction === 'max' ? candidate - reference : reference - candidate
  return d > Math.max(relEpsilon * Math.abs(reference), absFloor)
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
  const median = n % 2 === 1 ? (vals[(n - 1) / 2] as number) : ((vals[n / 2 - 1] as number) + (vals[n / 2] as number)) / 2
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
