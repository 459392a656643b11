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

/**
 * Compact number formatting for tiles, tables and tooltips; '–' for a missing or non-finite value.
 * In exponential notation a caller asking for more than four digits gets them too: two scores of
 * 2999939570634 and 2999940000000 must not both read "3.00e+12" where the caller wanted to tell them apart.
 */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return formatNumber(v, digits, digits > 4 ? { ...COMPACT, digits: digits - 1 } : COMPACT)
}

/**
 * A score or a reference value written out in full, where a person compares it with another: at
 * least `digits` significant digits and never fewer than its integer digits (2999939570634, not a
 * rounded 2999940000000 or 3.00e+12), no trailing zeros; '–' for a missing or non-finite value.
 */
export function fullNumber(v: number | null | undefined, digits = 7): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const whole = Math.abs(v) >= 1 ? Math.floor(Math.log10(Math.abs(v))) + 1 : 1
  return String(Number(v.toPrecision(Math.min(21, Math.max(digits, whole)))))
}

/**
 * The fewest significant digits, from `min` to `max`, at which each pair of different numbers
 * reads differently in `fmt`: a lineage's labels, where a child differs from its parent in the sixth digit.
 */
export function distinctDigits(pairs: Iterable<readonly [number, number]>, min = 3, max = 8): number {
  const differing = [...pairs].filter(([a, b]) => a !== b && Number.isFinite(a) && Number.isFinite(b))
  for (let d = min; d < max; d++) if (differing.every(([a, b]) => fmt(a, d) !== fmt(b, d))) return d
  return max
}

/** A length of time in seconds, to the two largest units ("3 min 12 s", "2 h 5 min"). */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–'
  // rounded to the smaller unit first, so 119.6 s is "2 min 0 s", never "1 min 60 s"
  if (Math.round(s) < 60) return `${Math.round(s)} s`
  if (Math.round(s) < 3600) {
    const t = Math.round(s)
    return `${Math.floor(t / 60)} min ${t % 60} s`
  }
  if (Math.round(s / 60) < 1440) {
    const t = Math.round(s / 60)
    return `${Math.floor(t / 60)} h ${t % 60} min`
  }
  const t = Math.round(s / 3600)
  return `${Math.floor(t / 24)} d ${t % 24} h`
}

/**
 * How long ago, from seconds elapsed. A moment a little newer than the clock that reads it (a
 * heartbeat after the console's last tick, another machine's clock) is "just now", not "– ago".
 */
export function ago(s: number): string {
  if (!Number.isFinite(s)) return '–'
  return s < 5 ? 'just now' : `${duration(s)} ago`
}
