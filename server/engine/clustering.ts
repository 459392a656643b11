// Seeded k-means (k-means++ initialisation) and the balanced split of a cold-start population over K
// islands, so that each island starts in its own niche and none starts empty.
import type { Rng } from './rng.ts'

export type Vector = ArrayLike<number>

export function dist2(a: Vector, b: Vector): number {
  let s = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    s += d * d
  }
  return s
}

export function nearestCentroid(p: Vector, centroids: readonly Vector[]): { index: number; dist2: number } {
  let best = 0
  let bd = Infinity
  for (let c = 0; c < centroids.length; c++) {
    const d = dist2(p, centroids[c] as Vector)
    if (d < bd) {
      bd = d
      best = c
    }
  }
  return { index: best, dist2: bd }
}

export interface KMeansOptions {
  maxIter?: number
  /** stop when no centroid moves more than this (squared distance) */
  tol?: number
  /** start from these centroids instead of k-means++ (keeps cluster ids stable across refreshes) */
  init?: readonly Vector[]
}

export interface KMeansResult {
  centroids: number[][]
  /** cluster of each point */
  assignment: Int32Array
  /** sum of squared distances to the assigned centroids */
  inertia: number
  iterations: number
}

/** k-means++ seeding: each next centre drawn with probability ∝ squared distance to the nearest chosen one */
export function kmeansPlusPlus(points: readonly Vector[], k: number, rng: Rng): number[][] {
  const n = points.length
  const centres: number[][] = [Array.from(points[rng.int(n)] as Vector)]
  const d = new Float64Array(n)
  for (let i = 0; i < n; i++) d[i] = dist2(points[i] as Vector, centres[0] as number[])
  while (centres.length < k) {
    const idx = rng.weightedIndex(d)
    const c = Array.from(points[idx] as Vector)
    centres.push(c)
    for (let i = 0; i < n; i++) {
      const x = dist2(points[i] as Vector, c)
      if (x < (d[i] as number)) d[i] = x
    }
  }
  return centres
}

/**
 * Lloyd's k-means, deterministic for a given rng state. k is capped at the number of points; an empty
 * cluster is re-seeded with the point farthest from its centre, so every cluster keeps ≥ 1 point when
 * there are at least k distinct points.
 */
export function kmeans(points: readonly Vector[], k: number, rng: Rng, opts: KMeansOptions = {}): KMeansResult {
  const n = points.length
  if (n === 0) return { centroids: [], assignment: new Int32Array(0), inertia: 0, iterations: 0 }
  k = Math.max(1, Math.min(k, n))
  const dim = (points[0] as Vector).length
  const maxIter = opts.maxIter ?? 25
  const tol = opts.tol ?? 1e-9
  let centroids =
    opts.init && opts.init.length === k ? opts.init.map((c) => Array.from(c)) : kmeansPlusPlus(points, k, rng)
  const assign = new Int32Array(n)
  const pd = new Float64Array(n)
  let iter = 0
  for (; iter < maxIter; iter++) {
    for (let i = 0; i < n; i++) {
      const r = nearestCentroid(points[i] as Vector, centroids)
      assign[i] = r.index
      pd[i] = r.dist2
    }
    const sums = Array.from({ length: k }, () => new Float64Array(dim))
    const counts = new Int32Array(k)
    for (let i = 0; i < n; i++) {
      const c = assign[i] as number
      counts[c]!++
      const s = sums[c] as Float64Array
      const p = points[i] as Vector
      for (let j = 0; j < dim; j++) s[j]! += p[j] as number
    }
    let moved = 0
    const next: number[][] = []
    const taken = new Set<number>()
    for (let c = 0; c < k; c++) {
      if ((counts[c] as number) === 0) {
        // re-seed with the worst-served point not already used for another empty cluster
        let far = -1
        for (let i = 0; i < n; i++) if (!taken.has(i) && (far < 0 || (pd[i] as number) > (pd[far] as number))) far = i
        taken.add(far)
        pd[far] = 0
        next.push(Array.from(points[far] as Vector))
        moved = Infinity
        continue
      }
      const s = sums[c] as Float64Array
      const cnt = counts[c] as number
      const m = Array.from(s, (v) => v / cnt)
      moved = Math.max(moved, dist2(m, centroids[c] as number[]))
      next.push(m)
    }
    centroids = next
    if (moved <= tol) {
      iter++
      break
    }
  }
  let inertia = 0
  for (let i = 0; i < n; i++) {
    const r = nearestCentroid(points[i] as Vector, centroids)
    assign[i] = r.index
    inertia += r.dist2
  }
  return { centroids, assignment: assign, inertia, iterations: iter }
}

export interface BalancedAssignment {
  /** point indices per island; with fewer points than islands some points appear on several islands */
  islands: number[][]
  /** the (first) island of each point */
  islandOf: number[]
  centroids: number[][]
}

/**
 * Split points over K islands by niche: k-means with K clusters, then (1) each island takes the point
 * nearest its centroid, (2) the rest go to their nearest island with room (at most ⌈n/K⌉ each, nearest
 * pairs first). Every island gets ≥ 1 point; with n < K the points are replicated in `priority` order
 * (e.g. best score first; default index order) to fill the empty islands.
 */
export function assignToIslands(
  points: readonly Vector[],
  K: number,
  rng: Rng,
  priority?: readonly number[],
): BalancedAssignment {
  const n = points.length
  const islands: number[][] = Array.from({ length: K }, () => [])
  const islandOf = new Array<number>(n).fill(-1)
  if (n === 0 || K <= 0) return { islands, islandOf, centroids: [] }
  if (n <= K) {
    for (let i = 0; i < n; i++) {
      islands[i]!.push(i)
      islandOf[i] = i
    }
    const order = priority && priority.length > 0 ? priority : Array.from({ length: n }, (_, i) => i)
    for (let j = n; j < K; j++) islands[j]!.push(order[(j - n) % order.length] as number)
    return { islands, islandOf, centroids: points.map((p) => Array.from(p)) }
  }
  const km = kmeans(points, K, rng)
  const C = km.centroids
  const cap = Math.ceil(n / K)
  const pairs: Array<{ p: number; c: number; d: number }> = []
  for (let i = 0; i < n; i++)
    for (let c = 0; c < C.length; c++) pairs.push({ p: i, c, d: dist2(points[i] as Vector, C[c] as number[]) })
  // ties broken by index so the result does not depend on sort stability details
  pairs.sort((a, b) => a.d - b.d || a.p - b.p || a.c - b.c)
  for (const { p, c } of pairs) {
    if (islandOf[p] !== -1 || islands[c]!.length > 0) continue
    islands[c]!.push(p)
    islandOf[p] = c
  }
  for (const { p, c } of pairs) {
    if (islandOf[p] !== -1 || islands[c]!.length >= cap) continue
    islands[c]!.push(p)
    islandOf[p] = c
  }
  return { islands, islandOf, centroids: C }
}

/** concatenate weighted vector parts (e.g. normalized features ⊕ 0.5 × code vector) into one clustering vector */
export function combineVectors(parts: ReadonlyArray<{ vector: Vector | null | undefined; weight?: number }>): number[] {
  const out: number[] = []
  for (const { vector, weight = 1 } of parts) {
    if (!vector) continue
    for (let i = 0; i < vector.length; i++) out.push((vector[i] as number) * weight)
  }
  return out
}
