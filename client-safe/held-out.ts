// How the held-out check's verdicts read, the same in the console and the CLI (server/runs/held-out.ts
// computes them).
import { formatNumber } from './format.ts'

/** The rule in force: calibrated by the seed's held-out score when the seed has one. */
export function overfitRule(tolerance: number, calibrated: boolean): string {
  return calibrated
    ? `overfit when a candidate keeps less than ${percent(1 - tolerance)} of its gain over the seed`
    : `overfit when worse than its search score by more than ${percent(tolerance)}`
}

/** 0.05 → "5%", 0.001 → "0.1%": a tolerance under one percent is not shown as 0 */
const percent = (share: number) => `${formatNumber(share * 100, 3)}%`

/** A verdict's gap in words: the share of the gain kept, or the shortfall against the search score. */
/** what an overfit verdict's gap is a share of (server/runs/held-out.ts overfitVerdict) */
export type HeldOutBasis = 'improvement' | 'baseline' | 'score' | null

export function gapText(gap: number | null, basis: HeldOutBasis): string {
  if (gap === null || basis === null) return '–'
  if (basis === 'improvement') return `keeps ${Math.round((1 - gap) * 100)}% of its gain`
  const pct = Math.abs(Math.round(gap * 1000) / 10)
  if (basis === 'baseline')
    return pct === 0
      ? 'as the baseline (no gain on the search)'
      : `${pct}% ${gap > 0 ? 'worse' : 'better'} than the baseline (no gain on the search)`
  return gap > 0 ? `${pct}% worse` : `${pct}% better`
}

/** Whether a held-out record is a usable score (what the calibration needs of the seed). */
export function heldOutScored(h: { status: string; valid?: boolean; score?: number | null } | null): boolean {
  return h?.status === 'evaluated' && !!h.valid && typeof h.score === 'number'
}
