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

/** A length of time in seconds, to the two largest units ("3 min 12 s", "2 h 5 min"). */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–'
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`
}

/**
 * How long ago, from seconds elapsed. A moment a little newer than the clock that reads it (a
 * heartbeat after the console's last tick, another machine's clock) is "just now", not "– ago".
 */
export function ago(s: number): string {
  if (!Number.isFinite(s)) return '–'
  return s < 5 ? 'just now' : `${duration(s)} ago`
}
