// Axis ticks for the console's charts: round values (1, 2 or 5 × 10^k apart) inside the visible
// range, labelled with just enough precision that no two labels read the same. A chart whose
// best moves in the third decimal gets 2.628, 2.629, 2.630 instead of 2.63, 2.63, 2.63. Pure.

export interface AxisTicks {
  ticks: number[]
  format: (v: number) => string
}

/** The round step (1, 2 or 5 × 10^k) that cuts `span` into about `count` intervals. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1
  const raw = span / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const f = raw / mag
  // a little tolerance: 2e-5 / 1e-5 is 2.0000000000000004 in floating point
  return (f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10) * mag
}

/**
 * Round values inside [lo, hi], about `count` of them (never more than 2 × count + 1).
 * `integer`: steps of at least 1 (evaluation counts). A degenerate range gets the one value.
 */
export function niceTicks(lo: number, hi: number, count = 5, opts: { integer?: boolean } = {}): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return []
  if (hi < lo) [lo, hi] = [hi, lo]
  if (hi === lo) return [lo]
  let step = niceStep(hi - lo, count)
  if (opts.integer) step = Math.max(1, Math.round(step))
  const first = Math.ceil(lo / step - 1e-9)
  const last = Math.floor(hi / step + 1e-9)
  const out: number[] = []
  for (let k = first, n = 0; k <= last && n <= 2 * count + 1; k++, n++) {
    // k × step, rounded to the step's own precision (0.1 × 3 is 0.30000000000000004)
    const v = roundTo(k * step, decimalsOf(step))
    // near the limits of double precision neighbouring ticks can round to one value
    if (out[out.length - 1] !== v) out.push(v)
  }
  return out
}

function decimalsOf(step: number): number {
  return Math.max(0, Math.min(20, -Math.floor(Math.log10(step) + 1e-9)))
}

function roundTo(v: number, decimals: number): number {
  const r = Number(v.toFixed(Math.min(20, decimals)))
  return Object.is(r, -0) ? 0 : r
}

/** Labels switch to exponent notation beyond these magnitudes (1e+6, 2.5e-4). */
const BIG = 1e6
const SMALL = 1e-3

/**
 * A formatter for these tick values: the fewest digits that keep every label distinct (fixed
 * notation, or exponent notation for very large or very small magnitudes).
 */
export function tickFormatter(ticks: readonly number[]): (v: number) => string {
  const finite = ticks.filter((t) => Number.isFinite(t))
  const maxAbs = finite.reduce((m, t) => Math.max(m, Math.abs(t)), 0)
  const exp = maxAbs >= BIG || (maxAbs > 0 && maxAbs < SMALL)
  const render = (digits: number) => (v: number) => {
    if (!Number.isFinite(v)) return ''
    if (v === 0) return '0'
    return exp ? v.toExponential(digits) : v.toFixed(digits)
  }
  for (let d = 0; d <= 15; d++) {
    const f = render(d)
    const labels = finite.map(f)
    if (new Set(labels).size === new Set(finite).size) return f
  }
  return render(15)
}

/** Ticks and their formatter for a numeric domain. */
export function axisTicks(domain: readonly [number, number], count = 5, opts: { integer?: boolean } = {}): AxisTicks {
  const ticks = niceTicks(domain[0], domain[1], count, opts)
  return { ticks, format: tickFormatter(ticks) }
}

/** Ticks for a time axis (ms since the epoch): round seconds, minutes or hours, labels that differ. */
export function timeTicks(domain: readonly [number, number], count = 5): AxisTicks {
  const [lo, hi] = domain[0] <= domain[1] ? domain : [domain[1], domain[0]]
  const span = hi - lo
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
    (s) => s * 1000,
  )
  const step = steps.find((s) => span / s <= count) ?? Math.ceil(span / count / 86_400_000) * 86_400_000
  const ticks: number[] = []
  // aligned to the local clock: round minutes and hours read as such
  const offset = new Date(lo).getTimezoneOffset() * 60_000
  for (let t = Math.ceil((lo - offset) / step) * step + offset; t <= hi && ticks.length <= 2 * count + 1; t += step)
    ticks.push(t)
  const withSeconds = step < 60_000
  const withDate = span >= 86_400_000
  const format = (v: number) => {
    const d = new Date(v)
    const hh = String(d.getHours()).padStart(2, '0')
    const mm = String(d.getMinutes()).padStart(2, '0')
    const time = withSeconds ? `${hh}:${mm}:${String(d.getSeconds()).padStart(2, '0')}` : `${hh}:${mm}`
    return withDate ? `${d.getMonth() + 1}/${d.getDate()} ${time}` : time
  }
  return { ticks, format }
}

/** Ticks for an axis that holds log10 of the values: whole decades, labelled as the values (1e-4, 0.01, 1). */
export function logTicks(domain: readonly [number, number], count = 6): AxisTicks {
  const lo = Math.ceil(domain[0] - 1e-9)
  const hi = Math.floor(domain[1] + 1e-9)
  const every = Math.max(1, Math.ceil((hi - lo + 1) / count))
  const ticks: number[] = []
  for (let k = lo; k <= hi; k += every) ticks.push(k)
  // less than a decade visible: add the 2 and 5 in between so the axis is not bare
  if (ticks.length < 2) {
    for (let k = Math.floor(domain[0]); k <= Math.ceil(domain[1]); k++) {
      for (const m of [1, 2, 5]) {
        const t = k + Math.log10(m)
        if (t >= domain[0] - 1e-9 && t <= domain[1] + 1e-9 && !ticks.some((x) => Math.abs(x - t) < 1e-9)) ticks.push(t)
      }
    }
    ticks.sort((a, b) => a - b)
  }
  const format = (v: number) => {
    const x = 10 ** v
    const r = Number(x.toPrecision(2))
    return Math.abs(v) >= 4 ? r.toExponential(0).replace('+', '') : String(r)
  }
  return { ticks, format }
}

/** A chart's own formatter (percent, dollars) when it keeps these ticks apart; the distinct one otherwise. */
export function distinctFormat(
  ticks: readonly number[],
  preferred: ((v: number) => string) | undefined,
  fallback: (v: number) => string,
): (v: number) => string {
  if (!preferred) return fallback
  return new Set(ticks.map(preferred)).size === new Set(ticks).size ? preferred : fallback
}

/** The extent of a chart's rows (every column but x), for axes whose domain the chart computes itself. */
export function rowsExtent(rows: ReadonlyArray<Record<string, number | null>>): {
  x: [number, number] | null
  y: [number, number] | null
} {
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue
      if (k === 'x') (x0 = Math.min(x0, v)), (x1 = Math.max(x1, v))
      else (y0 = Math.min(y0, v)), (y1 = Math.max(y1, v))
    }
  }
  return { x: Number.isFinite(x0) ? [x0, x1] : null, y: Number.isFinite(y0) ? [y0, y1] : null }
}

/** Ticks for a duration axis in seconds: round seconds, minutes or hours, labelled with the unit. */
export function durationTicks(domain: readonly [number, number], count = 5): AxisTicks {
  const top = Math.max(Math.abs(domain[0]), Math.abs(domain[1]))
  const [unit, div] = top >= 7200 ? ['h', 3600] : top >= 120 ? ['min', 60] : ['s', 1]
  const inner = axisTicks([domain[0] / div, domain[1] / div], count)
  return { ticks: inner.ticks.map((t) => t * div), format: (v: number) => `${inner.format(v / div)} ${unit}` }
}
