// Numbers as people (and models) read them, the one implementation the console, the engine's
// prompts and the knowledge base share: a few significant digits without trailing zeros, and
// exponential notation where that would hide the value. Each caller keeps its own precision. Pure.

/** Where a number is written in exponential notation: below `below` or from `atOrAbove` on (0 never), with `digits` after the point. */
export interface ExponentRange {
  below: number
  atOrAbove: number
  digits: number
}

/** `v` to `digits` significant digits, trailing zeros dropped; in exponential notation inside `exp`'s range. */
export function formatNumber(v: number, digits: number, exp?: ExponentRange): string {
  const a = Math.abs(v)
  if (exp && a !== 0 && (a < exp.below || a >= exp.atOrAbove)) return v.toExponential(exp.digits)
  return String(Number(v.toPrecision(digits)))
}

const COMPACT: ExponentRange = { below: 1e-3, atOrAbove: 1e6, digits: 2 }

/** Compact number formatting for tiles, tables and tooltips; '–' for a missing or non-finite value. */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return formatNumber(v, digits, COMPACT)
}
