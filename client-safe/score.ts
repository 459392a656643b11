// Scores and their comparison in a problem's direction, the one implementation the engine, the
// server and the browser share. A score is the problem's primary metric in the problem's own
// direction; `null` (or a non-finite number) marks an invalid candidate and is worse than any valid
// score in either direction, so no caller has to special-case it. Pure.

export type Direction = 'max' | 'min'

export function isValidScore(s: number | null | undefined): s is number {
  return typeof s === 'number' && Number.isFinite(s)
}

/** `a − b` signed so that positive means `a` is better in this direction */
export function gain(a: number, b: number, direction: Direction): number {
  return direction === 'max' ? a - b : b - a
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
export function compareScores(
  direction: Direction,
): (a: number | null | undefined, b: number | null | undefined) => number {
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
  return gain(candidate, reference, direction) > Math.max(relEpsilon * Math.abs(reference), absFloor)
}

/** How a candidate stands against its parent, in words (the candidate page's tile). */
export function againstParent(
  child: { score: number | null; valid: boolean | null },
  parent: { score: number | null } | null,
  direction: 'max' | 'min',
): { delta: number | null; better: boolean | null; words: string } {
  if (!parent) return { delta: null, better: null, words: 'no parent (a seed)' }
  if (parent.score === null) return { delta: null, better: null, words: 'no scored parent' }
  if (child.score === null || !child.valid)
    return { delta: null, better: null, words: 'no score of its own to compare' }
  const delta = child.score - parent.score
  const better = isBetter(delta, 0, direction)
  return { delta, better, words: better ? 'better than the parent' : 'not better than the parent' }
}
