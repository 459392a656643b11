// A MAP-Elites grid over the problem's feature descriptors: the best candidate per cell. Dimensions either
// have a fixed range ({name, min, max, bins}) or are auto-ranged from observed values; auto ranges snap to
// "nice" boundaries and only ever grow, so cells stay put until a value lands outside the current range.
import type { FeatureSpec } from '../contracts/problem.ts'
import { isBetter, isValidScore, type Direction } from './fitness.ts'

export const DEFAULT_BINS = 10

export interface FeatureDim {
  name: string
  /** current range (NaN for an auto dimension that has seen no value yet) */
  min: number
  max: number
  bins: number
  /** auto-ranged from observed values */
  auto: boolean
}

export interface GridElite {
  id: string
  score: number
  /** raw feature values, in dims order */
  features: number[]
  /** linear cell index */
  cell: number
}

export interface CellView {
  /** linear index, and the per-dimension bin indices */
  cell: number
  index: number[]
  id: string
  score: number
  features: Record<string, number>
}

export type InsertStatus = 'new-cell' | 'improved' | 'not-better' | 'invalid' | 'no-features'

export interface InsertOutcome {
  status: InsertStatus
  cell: number | null
  /** the previous elite of the cell, replaced by this candidate */
  replaced?: string
  /** true when an auto range grew and the grid was re-binned */
  rebinned?: boolean
  /** elites that lost their cell in a re-binning (two old cells merged into one) */
  displaced?: string[]
}

export interface GridSnapshot {
  direction: Direction
  dims: FeatureDim[]
  elites: GridElite[]
}

/** normalize problem.json feature specs: names become auto dimensions, objects without min/max too */
export function featureDims(specs: readonly FeatureSpec[], defaultBins = DEFAULT_BINS): FeatureDim[] {
  return specs.map((s) => {
    if (typeof s === 'string') return { name: s, min: Number.NaN, max: Number.NaN, bins: defaultBins, auto: true }
    const bins = s.bins ?? defaultBins
    const fixed = typeof s.min === 'number' && typeof s.max === 'number' && s.max > s.min
    return fixed
      ? { name: s.name, min: s.min as number, max: s.max as number, bins, auto: false }
      : { name: s.name, min: Number.NaN, max: Number.NaN, bins, auto: true }
  })
}

/** 1, 2, 5 × 10^k at or above x */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1
  const e = Math.floor(Math.log10(x))
  const base = 10 ** e
  for (const m of [1, 2, 5, 10]) if (m * base >= x * (1 - 1e-12)) return m * base
  return 10 * base
}

function nextNice(step: number): number {
  return niceCeil(step * 1.0000001 * 1.5)
}

/**
 * A range [min, max] of `bins` equal steps, the step a 1-2-5 nice number and min a multiple of it, covering
 * [lo, hi]. A single value gets a range centred on it, as wide as its magnitude (1 around 0).
 */
export function niceRange(lo: number, hi: number, bins: number): { min: number; max: number } {
  if (!(hi > lo)) {
    const span = Math.abs(lo) > 0 ? Math.abs(lo) : 1
    let step = niceCeil(span / bins)
    let min = Math.floor((lo - (bins * step) / 2) / step) * step
    while (min + bins * step <= hi) {
      step = nextNice(step)
      min = Math.floor((lo - (bins * step) / 2) / step) * step
    }
    return { min, max: min + bins * step }
  }
  let step = niceCeil((hi - lo) / bins)
  for (let guard = 0; guard < 64; guard++) {
    const min = Math.floor(lo / step) * step
    // hi must fall inside the last bin, not on its upper edge (which belongs to no bin)
    if (min + bins * step > hi) return { min, max: min + bins * step }
    step = nextNice(step)
  }
  return { min: lo, max: hi + (hi - lo) / bins }
}

export class MapElitesGrid {
  readonly direction: Direction
  private readonly _dims: FeatureDim[]
  private readonly byCell = new Map<number, GridElite>()
  private readonly cellOfId = new Map<string, number>()

  constructor(specs: readonly FeatureSpec[] | readonly FeatureDim[], direction: Direction, defaultBins = DEFAULT_BINS) {
    this.direction = direction
    const looksNormalized = specs.length > 0 && typeof specs[0] === 'object' && 'auto' in (specs[0] as object)
    this._dims = looksNormalized
      ? (specs as FeatureDim[]).map((d) => ({ ...d }))
      : featureDims(specs as FeatureSpec[], defaultBins)
  }

  /** a problem with no features has a one-cell grid: its "coverage" measures nothing */
  get hasFeatures(): boolean {
    return this._dims.length > 0
  }

  dims(): FeatureDim[] {
    return this._dims.map((d) => ({ ...d }))
  }

  get totalCells(): number {
    let t = 1
    for (const d of this._dims) t *= d.bins
    return t
  }

  get filled(): number {
    return this.byCell.size
  }

  coverage(): number {
    return this.byCell.size / this.totalCells
  }

  isElite(id: string): boolean {
    return this.cellOfId.has(id)
  }

  eliteIds(): string[] {
    return [...this.byCell.values()].map((e) => e.id)
  }

  elites(): GridElite[] {
    return [...this.byCell.values()].map((e) => ({ ...e, features: e.features.slice() }))
  }

  /** per-dimension bin indices of a feature vector under the current ranges (null if a value is missing or unranged) */
  binIndex(values: readonly number[]): number[] | null {
    const out: number[] = []
    for (let k = 0; k < this._dims.length; k++) {
      const d = this._dims[k] as FeatureDim
      const v = values[k] as number
      if (!Number.isFinite(v) || !Number.isFinite(d.min)) return null
      const t = (v - d.min) / (d.max - d.min)
      out.push(Math.min(d.bins - 1, Math.max(0, Math.floor(t * d.bins))))
    }
    return out
  }

  private linear(idx: readonly number[]): number {
    let c = 0
    for (let k = 0; k < this._dims.length; k++) c = c * (this._dims[k] as FeatureDim).bins + (idx[k] as number)
    return c
  }

  unlinear(cell: number): number[] {
    const out = new Array<number>(this._dims.length)
    for (let k = this._dims.length - 1; k >= 0; k--) {
      const b = (this._dims[k] as FeatureDim).bins
      out[k] = cell % b
      cell = Math.floor(cell / b)
    }
    return out
  }

  /** feature values in dims order, or null when one is missing / not finite */
  vectorOf(features: Record<string, number | null | undefined>): number[] | null {
    const v: number[] = []
    for (const d of this._dims) {
      const x = features[d.name]
      if (typeof x !== 'number' || !Number.isFinite(x)) return null
      v.push(x)
    }
    return v
  }

  /** the cell a feature record falls in under the current ranges (null when it cannot be placed yet) */
  cellOf(features: Record<string, number | null | undefined>): number | null {
    const v = this.vectorOf(features)
    if (!v) return null
    const idx = this.binIndex(v)
    return idx ? this.linear(idx) : null
  }

  /** features normalized to [0, 1] per dimension under the current ranges (for clustering); null if unplaceable */
  normalized(features: Record<string, number | null | undefined>): number[] | null {
    const v = this.vectorOf(features)
    if (!v) return null
    const out: number[] = []
    for (let k = 0; k < this._dims.length; k++) {
      const d = this._dims[k] as FeatureDim
      if (!Number.isFinite(d.min)) return null
      out.push(Math.min(1, Math.max(0, ((v[k] as number) - d.min) / (d.max - d.min))))
    }
    return out
  }

  /** grow auto ranges to include v; true when a range changed */
  private growRanges(v: readonly number[]): boolean {
    let changed = false
    for (let k = 0; k < this._dims.length; k++) {
      const d = this._dims[k] as FeatureDim
      if (!d.auto) continue
      const x = v[k] as number
      if (Number.isFinite(d.min) && x >= d.min && x < d.max) continue
      const lo = Number.isFinite(d.min) ? Math.min(d.min, x) : x
      const hi = Number.isFinite(d.max) ? Math.max(d.max, x) : x
      const r = niceRange(lo, hi, d.bins)
      d.min = r.min
      d.max = r.max
      changed = true
    }
    return changed
  }

  /** re-place every elite under the new ranges; merged cells keep their best (ties: the older elite) */
  private rebin(): string[] {
    const old = [...this.byCell.values()]
    this.byCell.clear()
    this.cellOfId.clear()
    const displaced: string[] = []
    for (const e of old) {
      const idx = this.binIndex(e.features)
      if (!idx) {
        displaced.push(e.id)
        continue
      }
      const cell = this.linear(idx)
      const cur = this.byCell.get(cell)
      if (!cur || isBetter(e.score, cur.score, this.direction)) {
        if (cur) {
          this.cellOfId.delete(cur.id)
          displaced.push(cur.id)
        }
        this.byCell.set(cell, { ...e, cell })
        this.cellOfId.set(e.id, cell)
      } else displaced.push(e.id)
    }
    return displaced
  }

  /**
   * Offer a candidate. It becomes its cell's elite when the cell is empty or it is strictly better than the
   * current elite. Invalid scores and missing features are not placed. Re-offering an id already in the grid
   * moves it (its features or score may have been re-evaluated).
   */
  insert(
    id: string,
    score: number | null | undefined,
    features: Record<string, number | null | undefined>,
  ): InsertOutcome {
    if (!isValidScore(score)) return { status: 'invalid', cell: null }
    const v = this.vectorOf(features)
    if (!v) return { status: 'no-features', cell: null }
    if (this.cellOfId.has(id)) this.remove(id)
    let rebinned = false
    let displaced: string[] | undefined
    if (this.growRanges(v)) {
      rebinned = true
      const d = this.rebin()
      if (d.length > 0) displaced = d
    }
    const idx = this.binIndex(v) as number[]
    const cell = this.linear(idx)
    const cur = this.byCell.get(cell)
    const base = rebinned ? { rebinned, ...(displaced ? { displaced } : {}) } : {}
    if (cur && !isBetter(score, cur.score, this.direction)) return { status: 'not-better', cell, ...base }
    if (cur) this.cellOfId.delete(cur.id)
    this.byCell.set(cell, { id, score, features: v, cell })
    this.cellOfId.set(id, cell)
    return cur ? { status: 'improved', cell, replaced: cur.id, ...base } : { status: 'new-cell', cell, ...base }
  }

  /** drop a candidate (banned, deleted); its cell becomes empty */
  remove(id: string): boolean {
    const cell = this.cellOfId.get(id)
    if (cell === undefined) return false
    this.cellOfId.delete(id)
    this.byCell.delete(cell)
    return true
  }

  eliteAt(cell: number): GridElite | undefined {
    return this.byCell.get(cell)
  }

  /** filled cells as heatmap data (cells sorted by linear index) */
  cells(): CellView[] {
    return [...this.byCell.values()]
      .sort((a, b) => a.cell - b.cell)
      .map((e) => ({
        cell: e.cell,
        index: this.unlinear(e.cell),
        id: e.id,
        score: e.score,
        features: Object.fromEntries(this._dims.map((d, k) => [d.name, e.features[k] as number])),
      }))
  }

  /** bin edges per dimension (bins + 1 values; empty for an auto dimension with no value yet) */
  edges(): Array<{ name: string; edges: number[] }> {
    return this._dims.map((d) => ({
      name: d.name,
      edges: Number.isFinite(d.min)
        ? Array.from({ length: d.bins + 1 }, (_, i) => d.min + ((d.max - d.min) * i) / d.bins)
        : [],
    }))
  }

  toJSON(): GridSnapshot {
    return { direction: this.direction, dims: this.dims(), elites: this.elites() }
  }

  static fromJSON(s: GridSnapshot): MapElitesGrid {
    const dims = s.dims.map((d) => ({ ...d, min: d.min ?? Number.NaN, max: d.max ?? Number.NaN }))
    const g = new MapElitesGrid(dims, s.direction)
    for (const e of s.elites) {
      g.byCell.set(e.cell, { ...e, features: e.features.slice() })
      g.cellOfId.set(e.id, e.cell)
    }
    return g
  }
}
