// The effect of an intervention (an expert's hint, retrieved knowledge) measured against its
// concurrent control: the candidates whose prompts carried it against those made without it over
// the same period, in the same scope (the engine withholds it from a random share of prompts,
// server/engine/controls.ts). Runs improve over time, so only a concurrent control separates the
// intervention's effect from the run's own progress. Pure.
import { groupStats, type GroupStats, type ScoredRow } from './guidance-stats.ts'

export interface Interval {
  low: number
  high: number
}

export type EffectVerdict = 'better' | 'worse' | 'not yet clear'

export interface ConcurrentEffect {
  treated: GroupStats
  control: GroupStats
  /** mean score of valid candidates, treated − control, signed so that positive is better */
  meanGain: number | null
  /** 95 % Welch interval of meanGain */
  meanInterval: Interval | null
  /** best score, treated − control, signed so that positive is better (no interval: a maximum has none worth showing) */
  bestGain: number | null
  /** share of children that beat their parent (an invalid child does not), treated − control */
  improvedRateGain: number | null
  /** 95 % Newcombe (hybrid Wilson) interval of improvedRateGain */
  improvedInterval: Interval | null
  verdict: EffectVerdict
  /** why the verdict is what it is, in a few words */
  reason: string
}

const Z975 = 1.959963984540054

/** Student's t quantile at 0.975 for `df` degrees of freedom (exact for 1 and 2, Cornish–Fisher beyond). */
export function t975(df: number): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY
  if (df < 1.5) return 12.706204736174705
  if (df < 2.5) return 4.302652729749464
  const z = Z975
  const z3 = z ** 3,
    z5 = z ** 5,
    z7 = z ** 7,
    z9 = z ** 9
  const g1 = (z3 + z) / 4
  const g2 = (5 * z5 + 16 * z3 + 3 * z) / 96
  const g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384
  const g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4
}

/** 95 % Welch interval of mean(a) − mean(b); null with fewer than two values in either group. */
export function welchInterval(
  a: { n: number; mean: number; sd: number },
  b: { n: number; mean: number; sd: number },
): Interval | null {
  if (a.n < 2 || b.n < 2) return null
  const va = a.sd ** 2 / a.n
  const vb = b.sd ** 2 / b.n
  const d = a.mean - b.mean
  const se = Math.sqrt(va + vb)
  if (se === 0) return { low: d, high: d }
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
  const h = t975(df) * se
  return { low: d - h, high: d + h }
}

/** 95 % Wilson score interval of a proportion k/n. */
export function wilson(k: number, n: number): Interval {
  if (n === 0) return { low: 0, high: 1 }
  const p = k / n
  const z2 = Z975 ** 2
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (Z975 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n)
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}

/** 95 % Newcombe interval of k1/n1 − k2/n2 (method 10: hybrid Wilson); null when a group is empty. */
export function proportionDiffInterval(k1: number, n1: number, k2: number, n2: number): Interval | null {
  if (n1 === 0 || n2 === 0) return null
  const p1 = k1 / n1
  const p2 = k2 / n2
  const w1 = wilson(k1, n1)
  const w2 = wilson(k2, n2)
  const d = p1 - p2
  return {
    low: d - Math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2),
    high: d + Math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2),
  }
}

const sideOf = (i: Interval | null) => (i === null ? 0 : i.low > 0 ? 1 : i.high < 0 ? -1 : 0)

/**
 * The verdict from the two intervals: better when one excludes zero on the good side and the
 * other does not contradict it, worse in the mirror case, otherwise not yet clear.
 */
export function effectVerdict(meanInterval: Interval | null, improvedInterval: Interval | null): EffectVerdict {
  const a = sideOf(meanInterval)
  const b = sideOf(improvedInterval)
  if (a + b > 0 && a >= 0 && b >= 0) return 'better'
  if (a + b < 0 && a <= 0 && b <= 0) return 'worse'
  return 'not yet clear'
}

/** Treated against control, in the problem's direction. `minN`: valid candidates needed in each group. */
export function concurrentEffect(
  treated: readonly ScoredRow[],
  control: readonly ScoredRow[],
  direction: 'max' | 'min',
  minN = 3,
): ConcurrentEffect {
  const withParent = (rows: readonly ScoredRow[]) => rows.filter((r) => r.parentScore !== null).length
  return effectOfStats(
    { ...groupStats(treated, direction), withParent: withParent(treated) },
    { ...groupStats(control, direction), withParent: withParent(control) },
    direction,
    minN,
  )
}

/**
 * The same from each group's statistics, for groups summed up in SQL (the guidance list: a run's
 * hints times its candidates are too many rows to send). `withParent`: its rows with a parent score.
 */
export function effectOfStats(
  t: GroupStats & { withParent: number },
  c: GroupStats & { withParent: number },
  direction: 'max' | 'min',
  minN = 3,
): ConcurrentEffect {
  const sign = direction === 'max' ? 1 : -1
  const meanGain = t.mean !== null && c.mean !== null ? sign * (t.mean - c.mean) : null
  const bestGain = t.best !== null && c.best !== null ? sign * (t.best - c.best) : null
  const improvedRateGain = t.improvedRate !== null && c.improvedRate !== null ? t.improvedRate - c.improvedRate : null
  let meanInterval: Interval | null = null
  if (t.valid >= minN && c.valid >= minN && t.mean !== null && c.mean !== null) {
    const raw = welchInterval({ n: t.valid, mean: t.mean, sd: t.sd ?? 0 }, { n: c.valid, mean: c.mean, sd: c.sd ?? 0 })
    meanInterval = raw && (sign > 0 ? raw : { low: -raw.high, high: -raw.low })
  }
  const nt = t.withParent
  const nc = c.withParent
  const improvedInterval = nt >= minN && nc >= minN ? proportionDiffInterval(t.improved, nt, c.improved, nc) : null
  const verdict = effectVerdict(meanInterval, improvedInterval)
  let reason: string
  if (c.n === 0) reason = 'no candidate made without it yet (the control group is empty)'
  else if (!meanInterval && !improvedInterval) reason = `too few candidates: ${minN} valid in each group needed`
  else if (verdict === 'not yet clear') reason = 'the 95 % intervals include no difference'
  else
    reason = `the 95 % interval of the ${sideOf(meanInterval) !== 0 ? 'mean score' : 'share beating the parent'} excludes no difference`
  const { withParent: _t, ...treated } = t
  const { withParent: _c, ...control } = c
  return {
    treated,
    control,
    meanGain,
    meanInterval,
    bestGain,
    improvedRateGain,
    improvedInterval,
    verdict,
    reason,
  }
}
