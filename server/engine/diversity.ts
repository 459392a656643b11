// Diversity measures per island and per run. Pairwise measures are sampled with a fixed seed, so a value
// is deterministic for a given population and costs O(samples), not O(population²).
import { fitnessStats, type Direction, type FitnessStats } from './fitness.ts'
import { MapElitesGrid, niceRange, type FeatureDim, type GridElite } from './map-elites.ts'
import { codeDistance, type CodeSketch } from './novelty.ts'
import { Rng } from './rng.ts'

export interface PairwiseOptions {
  /** at most this many pairs are compared (default 300); all pairs when there are fewer */
  maxPairs?: number
  seed?: string | number
}

/**
 * Mean pairwise code distance (1 − estimated shingle Jaccard) in [0, 1]; 0 with fewer than two members.
 * Exact over all pairs when n(n−1)/2 ≤ maxPairs, otherwise a seeded sample of maxPairs distinct-member pairs.
 */
export function meanPairwiseDistance(sketches: readonly CodeSketch[], opts: PairwiseOptions = {}): number {
  const n = sketches.length
  if (n < 2) return 0
  const maxPairs = opts.maxPairs ?? 300
  const all = (n * (n - 1)) / 2
  let sum = 0
  if (all <= maxPairs) {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) sum += codeDistance(sketches[i] as CodeSketch, sketches[j] as CodeSketch)
    return sum / all
  }
  const rng = new Rng(opts.seed ?? 'diversity')
  for (let p = 0; p < maxPairs; p++) {
    const i = rng.int(n)
    let j = rng.int(n - 1)
    if (j >= i) j++
    sum += codeDistance(sketches[i] as CodeSketch, sketches[j] as CodeSketch)
  }
  return sum / maxPairs
}

/** mean code distance between members of different groups (islands), sampled like meanPairwiseDistance */
export function meanCrossDistance(groups: ReadonlyArray<readonly CodeSketch[]>, opts: PairwiseOptions = {}): number {
  const nonEmpty = groups.filter((g) => g.length > 0)
  if (nonEmpty.length < 2) return 0
  const maxPairs = opts.maxPairs ?? 300
  const rng = new Rng(opts.seed ?? 'cross-diversity')
  let sum = 0
  for (let p = 0; p < maxPairs; p++) {
    const a = rng.int(nonEmpty.length)
    let b = rng.int(nonEmpty.length - 1)
    if (b >= a) b++
    const ga = nonEmpty[a] as readonly CodeSketch[]
    const gb = nonEmpty[b] as readonly CodeSketch[]
    sum += codeDistance(ga[rng.int(ga.length)] as CodeSketch, gb[rng.int(gb.length)] as CodeSketch)
  }
  return sum / maxPairs
}

/** mean pairwise Euclidean distance of numeric vectors (e.g. normalized features), sampled the same way */
export function meanPairwiseVectorDistance(
  vectors: ReadonlyArray<ArrayLike<number>>,
  opts: PairwiseOptions = {},
): number {
  const n = vectors.length
  if (n < 2) return 0
  const d = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0
    for (let k = 0; k < a.length; k++) s += ((a[k] as number) - (b[k] as number)) ** 2
    return Math.sqrt(s)
  }
  const maxPairs = opts.maxPairs ?? 300
  const all = (n * (n - 1)) / 2
  let sum = 0
  if (all <= maxPairs) {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) sum += d(vectors[i] as ArrayLike<number>, vectors[j] as ArrayLike<number>)
    return sum / all
  }
  const rng = new Rng(opts.seed ?? 'vector-diversity')
  for (let p = 0; p < maxPairs; p++) {
    const i = rng.int(n)
    let j = rng.int(n - 1)
    if (j >= i) j++
    sum += d(vectors[i] as ArrayLike<number>, vectors[j] as ArrayLike<number>)
  }
  return sum / maxPairs
}

export interface IslandDiversity {
  size: number
  /** mean pairwise code distance in [0, 1] (sampled) */
  codeDistance: number
  /** MAP-Elites coverage in [0, 1] (filled cells / all cells), when a grid was given */
  coverage: number | null
  /** filled MAP-Elites cells */
  cells: number | null
  fitness: FitnessStats
}

export interface DiversityMember {
  score: number | null
  sketch?: CodeSketch | null
}

/** the measures the dashboard plots per island; `grid` is anything with coverage()/filled (a MapElitesGrid) */
export function islandDiversity(
  members: readonly DiversityMember[],
  direction: Direction,
  grid?: { coverage(): number; readonly filled: number },
  opts: PairwiseOptions = {},
): IslandDiversity {
  const sketches: CodeSketch[] = []
  for (const m of members) if (m.sketch) sketches.push(m.sketch)
  return {
    size: members.length,
    codeDistance: meanPairwiseDistance(sketches, opts),
    coverage: grid ? grid.coverage() : null,
    cells: grid ? grid.filled : null,
    fitness: fitnessStats(
      members.map((m) => m.score),
      direction,
    ),
  }
}

/** an island's MAP-Elites grid, as much of it as the run's coverage reads (a MapElitesGrid) */
export interface CoverageGrid {
  dims(): FeatureDim[]
  elites(): GridElite[]
}

/**
 * The share of the MAP-Elites grid's cells that the islands have filled between them: the union, which is
 * what the dashboard's grid of all islands counts. Not the islands' mean (it falls as islands specialize in
 * different cells) nor their sum (a cell two islands hold counts once). O(islands × filled cells), read when
 * metrics are written, so the engine does no extra work per evaluation. Islands range an auto feature
 * (one without min/max) each on its own values; where their ranges differ, the elites are re-binned under
 * one range spanning them all, since the same cell index would otherwise mean different feature values.
 */
export function unionCoverage(
  grids: readonly CoverageGrid[],
): { coverage: number; cells: number; total: number } | null {
  const all = grids.map((g) => ({ dims: g.dims(), elites: g.elites() }))
  const base = all[0]?.dims
  if (!base || base.length === 0) return null
  const placed = all.filter((g) => g.elites.length > 0)
  const dims: FeatureDim[] = base.map((d, k) => {
    if (!d.auto || placed.length === 0) return { ...d }
    const ref = placed[0]!.dims[k]!
    if (placed.every((g) => g.dims[k]!.min === ref.min && g.dims[k]!.max === ref.max)) return { ...ref }
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const g of placed)
      for (const e of g.elites) {
        const v = e.features[k] as number
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
    return { ...d, ...niceRange(lo, hi, d.bins) }
  })
  const grid = new MapElitesGrid(dims, 'max')
  const filled = new Set<number>()
  for (const g of placed)
    for (const e of g.elites) {
      const idx = grid.binIndex(e.features)
      if (!idx) continue
      let cell = 0
      for (let k = 0; k < dims.length; k++) cell = cell * (dims[k] as FeatureDim).bins + (idx[k] as number)
      filled.add(cell)
    }
  const total = grid.totalCells
  return { coverage: filled.size / total, cells: filled.size, total }
}

export interface RunDiversity {
  /** mean of the islands' code distances, weighted by island size */
  codeDistance: number
  /** mean code distance between members of different islands: how far apart the niches are */
  interIslandDistance: number
  /** share of the MAP-Elites grid's cells filled by any island, as unionCoverage() (null when no grid) */
  coverage: number | null
  [measure: string]: number | null
}

/** run-level values by measure name (what `fm-agent run --json` reports as `diversity`) */
export function runDiversity(
  islands: ReadonlyArray<{ sketches: readonly CodeSketch[]; grid?: CoverageGrid | null }>,
  opts: PairwiseOptions = {},
): RunDiversity {
  let w = 0
  let sum = 0
  const grids: CoverageGrid[] = []
  islands.forEach((isl, i) => {
    if (isl.sketches.length >= 2) {
      sum +=
        meanPairwiseDistance(isl.sketches, { ...opts, seed: `${opts.seed ?? 'diversity'}:${i}` }) * isl.sketches.length
      w += isl.sketches.length
    }
    if (isl.grid) grids.push(isl.grid)
  })
  return {
    codeDistance: w > 0 ? sum / w : 0,
    interIslandDistance: meanCrossDistance(
      islands.map((i) => i.sketches),
      opts,
    ),
    coverage: unionCoverage(grids)?.coverage ?? null,
  }
}
