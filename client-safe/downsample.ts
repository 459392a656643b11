// Downsampling for the console's charts. Pure functions (no I/O), shared by the server (which
// shapes long series before they leave it) and the browser (which keeps its live tail bounded).
// A chart of 100,000 evaluations draws a few hundred points per series either way.

export interface XY {
  x: number
  y: number
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps the first and last point and, per
 * bucket, the point that spans the largest triangle with its neighbours. Preserves the visual
 * shape of a line far better than keeping every k-th point. Returns the kept indices, ascending.
 * Points must be sorted by x; non-finite y values are never chosen as bucket representatives
 * unless a bucket holds nothing else.
 */
export function lttbIndices(xs: ArrayLike<number>, ys: ArrayLike<number>, threshold: number): number[] {
  const n = xs.length
  if (threshold >= n || n <= 2) return Array.from({ length: n }, (_, i) => i)
  if (threshold < 3) return threshold <= 1 ? [n - 1] : [0, n - 1]
  const out: number[] = [0]
  const every = (n - 2) / (threshold - 2)
  let a = 0
  for (let i = 0; i < threshold - 2; i++) {
    // average of the next bucket: the third corner of the triangle
    const nextStart = Math.floor((i + 1) * every) + 1
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n)
    let avgX = 0
    let avgY = 0
    let m = 0
    for (let j = nextStart; j < nextEnd; j++) {
      if (!Number.isFinite(ys[j])) continue
      avgX += xs[j]
      avgY += ys[j]
      m++
    }
    if (m === 0) {
      avgX = xs[Math.min(nextStart, n - 1)]
      avgY = Number.isFinite(ys[a]) ? ys[a] : 0
    } else {
      avgX /= m
      avgY /= m
    }
    const start = Math.floor(i * every) + 1
    const end = Math.min(Math.floor((i + 1) * every) + 1, n - 1)
    const ax = xs[a]
    const ay = Number.isFinite(ys[a]) ? ys[a] : avgY
    let best = -1
    let bestArea = -1
    for (let j = start; j < end; j++) {
      if (!Number.isFinite(ys[j])) continue
      const area = Math.abs((ax - avgX) * (ys[j] - ay) - (ax - xs[j]) * (avgY - ay))
      if (area > bestArea) {
        bestArea = area
        best = j
      }
    }
    if (best < 0) best = start < end ? start : Math.min(start, n - 1)
    if (best !== out[out.length - 1]) out.push(best)
    a = best
  }
  if (out[out.length - 1] !== n - 1) out.push(n - 1)
  return out
}

export function lttb<T>(items: readonly T[], threshold: number, x: (t: T) => number, y: (t: T) => number): T[] {
  const xs = items.map(x)
  const ys = items.map(y)
  return lttbIndices(xs, ys, threshold).map((i) => items[i]!)
}

/**
 * Min/max buckets: splits [lo, hi] into `buckets` equal x ranges and keeps, per bucket, the items
 * with the lowest and the highest y (one item when they coincide). Extremes survive, which is
 * what a scatter of scores needs: the best candidate of a stretch is never dropped.
 * Items with a non-finite y are kept only as one representative per bucket when `keepInvalid`.
 */
export function minMaxBuckets<T>(
  items: readonly T[],
  buckets: number,
  x: (t: T) => number,
  y: (t: T) => number | null,
  opts: { lo?: number; hi?: number; keepInvalid?: boolean } = {},
): T[] {
  if (items.length <= buckets * 2) return [...items]
  let lo = opts.lo ?? Infinity
  let hi = opts.hi ?? -Infinity
  if (opts.lo === undefined || opts.hi === undefined) {
    for (const it of items) {
      const v = x(it)
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
  }
  const width = hi > lo ? (hi - lo) / buckets : 1
  const mins: Array<T | undefined> = new Array(buckets)
  const maxs: Array<T | undefined> = new Array(buckets)
  const invalid: Array<T | undefined> = new Array(buckets)
  for (const it of items) {
    const b = bucketIndex(x(it), lo, width, buckets)
    const v = y(it)
    if (v === null || !Number.isFinite(v)) {
      if (opts.keepInvalid && invalid[b] === undefined) invalid[b] = it
      continue
    }
    const mn = mins[b]
    if (mn === undefined || v < (y(mn) as number)) mins[b] = it
    const mx = maxs[b]
    if (mx === undefined || v > (y(mx) as number)) maxs[b] = it
  }
  const out: T[] = []
  for (let b = 0; b < buckets; b++) {
    const group = [mins[b], maxs[b], invalid[b]].filter((t): t is T => t !== undefined)
    const uniq = [...new Set(group)].sort((p, q) => x(p) - x(q))
    out.push(...uniq)
  }
  return out
}

export function bucketIndex(v: number, lo: number, width: number, buckets: number): number {
  if (!(width > 0)) return 0
  const b = Math.floor((v - lo) / width)
  return b < 0 ? 0 : b >= buckets ? buckets - 1 : b
}

/**
 * Bucket width for `n` buckets over [lo, hi] such that every integer x lands in one bucket: used to
 * build the SQL that groups evaluations (eval_index) into the same buckets the browser expects.
 */
export function bucketWidth(lo: number, hi: number, buckets: number): number {
  const span = Math.max(1, hi - lo + 1)
  return Math.max(1, Math.ceil(span / Math.max(1, buckets)))
}
