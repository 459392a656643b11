// Natural-language guidance, as the console shows it: whether a hint is active (the same rule the
// engine applies when it builds prompts), and the statistics of a group of candidates (a hint's
// effect against its control: intervention-effect.ts; rated parents' children: ratings.ts). Pure.

export interface GuidanceLike {
  island: number | null
  startEval: number
  expiresAfterEvals: number | null
  expiresAt: Date | number | null
  withdrawnAt: Date | number | null
}

export type GuidanceState = 'active' | 'expired' | 'withdrawn'

const ms = (d: Date | number | null) => (d === null ? null : typeof d === 'number' ? d : d.getTime())

/** Mirrors RunState.activeGuidance (server/runs/state.ts): active until withdrawn, N evaluations after it started, or a time. */
export function guidanceState(
  g: GuidanceLike,
  at: { evaluations: number; now?: number },
): { state: GuidanceState; evalsLeft: number | null; msLeft: number | null } {
  const now = at.now ?? Date.now()
  const evalsLeft = g.expiresAfterEvals === null ? null : g.startEval + g.expiresAfterEvals - at.evaluations
  const exp = ms(g.expiresAt)
  const msLeft = exp === null ? null : exp - now
  if (g.withdrawnAt !== null) return { state: 'withdrawn', evalsLeft, msLeft }
  if ((evalsLeft !== null && evalsLeft <= 0) || (msLeft !== null && msLeft <= 0))
    return { state: 'expired', evalsLeft, msLeft }
  return { state: 'active', evalsLeft, msLeft }
}

export interface ScoredRow {
  score: number | null
  valid: boolean | null
  /** the primary parent's score (null: no parent or an invalid one) */
  parentScore: number | null
}

export interface GroupStats {
  n: number
  valid: number
  validRate: number | null
  mean: number | null
  median: number | null
  best: number | null
  sd: number | null
  /** children better than their parent */
  improved: number
  improvedRate: number | null
}

export function groupStats(rows: readonly ScoredRow[], direction: 'max' | 'min'): GroupStats {
  const scores = rows
    .filter((r) => r.valid && r.score !== null && Number.isFinite(r.score))
    .map((r) => r.score as number)
  const n = rows.length
  const mean = scores.length ? scores.reduce((s, v) => s + v, 0) / scores.length : null
  const sorted = [...scores].sort((a, b) => a - b)
  const median = sorted.length
    ? sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
    : null
  const best = sorted.length ? (direction === 'max' ? sorted[sorted.length - 1]! : sorted[0]!) : null
  const sd =
    scores.length > 1 && mean !== null
      ? Math.sqrt(scores.reduce((s, v) => s + (v - mean) ** 2, 0) / (scores.length - 1))
      : null
  const withParent = rows.filter((r) => r.parentScore !== null)
  const improved = withParent.filter(
    (r) => r.valid && r.score !== null && (direction === 'max' ? r.score > r.parentScore! : r.score < r.parentScore!),
  ).length
  return {
    n,
    valid: scores.length,
    validRate: n ? scores.length / n : null,
    mean,
    median,
    best,
    sd,
    improved,
    improvedRate: withParent.length ? improved / withParent.length : null,
  }
}

export interface Comparison {
  under: GroupStats
  without: GroupStats
  /** mean score difference, signed so that positive means the hint's candidates did better */
  meanGain: number | null
  /** difference in the share of children that beat their parent (under − without) */
  improvedRateGain: number | null
  verdict: 'better' | 'worse' | 'no clear difference' | 'too few candidates'
}

/** Compares the two groups; "better"/"worse" only when the mean differs by at least two standard errors. */
export function compareGroups(
  under: readonly ScoredRow[],
  without: readonly ScoredRow[],
  direction: 'max' | 'min',
  minN = 5,
): Comparison {
  const a = groupStats(under, direction)
  const b = groupStats(without, direction)
  const sign = direction === 'max' ? 1 : -1
  const meanGain = a.mean !== null && b.mean !== null ? sign * (a.mean - b.mean) : null
  const improvedRateGain = a.improvedRate !== null && b.improvedRate !== null ? a.improvedRate - b.improvedRate : null
  let verdict: Comparison['verdict'] = 'too few candidates'
  if (a.valid >= minN && b.valid >= minN && meanGain !== null) {
    const se = Math.sqrt((a.sd ?? 0) ** 2 / a.valid + (b.sd ?? 0) ** 2 / b.valid)
    if (se === 0) verdict = meanGain > 0 ? 'better' : meanGain < 0 ? 'worse' : 'no clear difference'
    else verdict = meanGain / se >= 2 ? 'better' : meanGain / se <= -2 ? 'worse' : 'no clear difference'
  }
  return { under: a, without: b, meanGain, improvedRateGain, verdict }
}

/**
 * The two groups described by their scores, judged by their children's gain over their own parent.
 * For a group picked by its parents (an expert rates the best candidates up), raw scores differ
 * whether or not the choice did anything: children of top parents score high anyway. A child's gain
 * over its parent does not carry its parent's head start, so the verdict and `meanGain` are the
 * difference in mean gain; children without a valid parent score are left out of it.
 */
export function compareByParentGain(
  under: readonly ScoredRow[],
  without: readonly ScoredRow[],
  direction: 'max' | 'min',
  minN = 5,
): Comparison {
  const gains = (rows: readonly ScoredRow[]): ScoredRow[] =>
    rows.map((r) => {
      const known = !!r.valid && r.score !== null && r.parentScore !== null
      return { score: known ? r.score! - r.parentScore! : null, valid: known, parentScore: 0 }
    })
  const byGain = compareGroups(gains(under), gains(without), direction, minN)
  return { ...compareGroups(under, without, direction, minN), meanGain: byGain.meanGain, verdict: byGain.verdict }
}
