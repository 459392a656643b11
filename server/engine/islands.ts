// Island populations: members with a capacity (evicting the worst, never a MAP-Elites cell best or a pinned
// member), each island with its own MAP-Elites grid, near-duplicate index and parent selector; a global
// elite archive; ring migration as a pure plan of what to copy where.
import type { FeatureSpec } from '../contracts/problem.ts'
import { combineVectors, type Vector } from './clustering.ts'
import { islandDiversity, type IslandDiversity } from './diversity.ts'
import { isBetter, isValidScore, utility, type Direction } from './fitness.ts'
import { Heap, topN } from './heap.ts'
import { MapElitesGrid, type InsertOutcome } from './map-elites.ts'
import { NoveltyIndex, type CodeSketch, type NoveltyVerdict } from './novelty.ts'
import { IslandSelector, type Rating, type SelectorOptions } from './selection.ts'

export interface IslandMember {
  id: string
  /** primary-metric score; null = invalid */
  score: number | null
  /** normalized-code hash (code.ts codeHash) */
  codeHash: string
  /** evaluator features (and/or metrics used as features) */
  features?: Record<string, number | null | undefined>
  /** code sketch (novelty.ts sketchCode): needed for novelty checks, diversity and code-based clustering */
  sketch?: CodeSketch | null
  /** explicit clustering vector; default: normalized features ⊕ 0.5 × code vector */
  vector?: Vector | null
  pinned?: boolean
  banned?: boolean
}

export interface IslandOptions {
  index: number
  direction: Direction
  /** problem.json `features` */
  features?: readonly FeatureSpec[]
  /** members kept (default 1000); MAP-Elites cell bests and pinned members may exceed it */
  capacity?: number
  /** near-duplicate similarity threshold (default 0.95) */
  noveltyThreshold?: number
  /** weight of the code vector next to normalized features in the clustering vector (default 0.5) */
  codeWeight?: number
  selector?: Omit<SelectorOptions, 'direction'>
}

export interface AddOutcome {
  added: boolean
  /** why it was not added */
  reason?: 'duplicate' | 'banned'
  /** the member with the same normalized code, when reason is 'duplicate' */
  duplicateOf?: string
  grid: InsertOutcome | null
  /** members evicted to respect the capacity */
  evicted: string[]
  /** the member is the island's new best */
  newBest: boolean
}

interface Stored extends IslandMember {
  seq: number
}

interface EvictKey {
  id: string
  u: number
  seq: number
}

export class Island {
  readonly index: number
  readonly direction: Direction
  readonly capacity: number
  readonly grid: MapElitesGrid
  readonly novelty: NoveltyIndex
  readonly selector: IslandSelector
  private readonly codeWeight: number
  private readonly byId = new Map<string, Stored>()
  private readonly byHash = new Map<string, string>()
  private readonly evictable: Heap<EvictKey>
  private seq = 0
  private bestId: string | null = null

  constructor(opts: IslandOptions) {
    this.index = opts.index
    this.direction = opts.direction
    this.capacity = Math.max(1, opts.capacity ?? 1000)
    this.grid = new MapElitesGrid(opts.features ?? [], opts.direction)
    this.novelty = new NoveltyIndex({ threshold: opts.noveltyThreshold ?? 0.95 })
    this.selector = new IslandSelector({ direction: opts.direction, seed: `island-${opts.index}`, ...opts.selector })
    this.codeWeight = opts.codeWeight ?? 0.5
    // worst first; among equals the oldest first
    this.evictable = new Heap<EvictKey>((a, b) => a.u < b.u || (a.u === b.u && a.seq < b.seq))
  }

  get size(): number {
    return this.byId.size
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  get(id: string): IslandMember | undefined {
    return this.byId.get(id)
  }

  hasHash(codeHash: string): boolean {
    return this.byHash.has(codeHash)
  }

  idOfHash(codeHash: string): string | undefined {
    return this.byHash.get(codeHash)
  }

  members(): IterableIterator<IslandMember> {
    return this.byId.values()
  }

  best(): IslandMember | null {
    return this.bestId ? (this.byId.get(this.bestId) ?? null) : null
  }

  /** the n best valid members, best first (O(size · log n)) */
  top(n: number): IslandMember[] {
    const valid: Stored[] = []
    for (const m of this.byId.values()) if (isValidScore(m.score)) valid.push(m)
    return topN(valid, n, (a, b) => isBetter(a.score, b.score, this.direction))
  }

  /** protected from eviction: pinned, or the elite of a MAP-Elites cell */
  isProtected(id: string): boolean {
    const m = this.byId.get(id)
    return !!m && (m.pinned === true || this.grid.isElite(id))
  }

  /**
   * Novelty of a would-be child against this island: an exact duplicate (same normalized-code hash) or a
   * near-duplicate (sketch similarity ≥ threshold) is not novel.
   */
  checkNovelty(
    codeHash: string,
    sketch?: CodeSketch | null,
    threshold?: number,
  ): NoveltyVerdict & { duplicate?: boolean } {
    const dup = this.byHash.get(codeHash)
    if (dup) return { novel: false, duplicate: true, nearest: { id: dup, similarity: 1 } }
    if (!sketch) return { novel: true }
    const hits = this.novelty.query(sketch, { minSimilarity: threshold ?? this.novelty.threshold, stopAtFirst: true })
    return hits.length > 0 ? { novel: false, nearest: hits[0] } : { novel: true }
  }

  private clusterVector(m: IslandMember): Vector | null {
    if (m.vector) return m.vector
    const dims = this.grid.dims().length
    const feat =
      dims > 0 ? ((m.features ? this.grid.normalized(m.features) : null) ?? new Array<number>(dims).fill(0.5)) : null
    const code = m.sketch?.vector ?? null
    if (!feat && !code) return null
    return combineVectors([
      { vector: feat, weight: 1 },
      { vector: code, weight: this.codeWeight },
    ])
  }

  private pushEvictable(id: string): void {
    const m = this.byId.get(id)
    if (!m || this.isProtected(id)) return
    this.evictable.push({ id, u: utility(m.score, this.direction), seq: m.seq })
  }

  /**
   * Add a member (an evaluated candidate, a migrant, a cold-start seed). Rejected when banned or when the
   * island already holds the same normalized code. Re-adding an existing id replaces it (a re-evaluation).
   */
  add(member: IslandMember): AddOutcome {
    if (member.banned) return { added: false, reason: 'banned', grid: null, evicted: [], newBest: false }
    const dup = this.byHash.get(member.codeHash)
    if (dup !== undefined && dup !== member.id)
      return { added: false, reason: 'duplicate', duplicateOf: dup, grid: null, evicted: [], newBest: false }
    if (this.byId.has(member.id)) this.remove(member.id)

    const m: Stored = { ...member, seq: this.seq++ }
    this.byId.set(m.id, m)
    this.byHash.set(m.codeHash, m.id)
    if (m.sketch) this.novelty.add(m.id, m.sketch)
    const grid = this.grid.insert(m.id, m.score, m.features ?? {})
    if (grid.replaced) this.pushEvictable(grid.replaced)
    for (const d of grid.displaced ?? []) this.pushEvictable(d)
    this.pushEvictable(m.id)
    this.selector.add({ id: m.id, score: m.score, vector: this.clusterVector(m), sketch: m.sketch, pinned: m.pinned })

    let newBest = false
    const cur = this.best()
    if (isValidScore(m.score) && (!cur || isBetter(m.score, cur.score, this.direction))) {
      this.bestId = m.id
      newBest = true
    }
    const evicted = this.evictOverCapacity()
    return { added: true, grid, evicted, newBest }
  }

  private evictOverCapacity(): string[] {
    const out: string[] = []
    if (this.evictable.size > 4 * this.byId.size + 1000) {
      // too many stale entries: rebuild from the live members
      const live = this.evictable.toArray().filter((k) => this.byId.get(k.id)?.seq === k.seq && !this.isProtected(k.id))
      this.evictable.clear()
      for (const k of live) this.evictable.push(k)
    }
    while (this.byId.size > this.capacity) {
      const k = this.evictable.pop()
      if (!k) break // everyone left is protected: the capacity yields
      const m = this.byId.get(k.id)
      // stale heap entries: gone, re-added since (seq differs), or protected now
      if (!m || m.seq !== k.seq || this.isProtected(k.id)) continue
      this.removeInternal(k.id, false)
      out.push(k.id)
    }
    return out
  }

  private removeInternal(id: string, refillCell: boolean): boolean {
    const m = this.byId.get(id)
    if (!m) return false
    this.byId.delete(id)
    if (this.byHash.get(m.codeHash) === id) this.byHash.delete(m.codeHash)
    this.novelty.remove(id)
    this.selector.remove(id)
    const wasElite = this.grid.remove(id)
    if (wasElite && refillCell && m.features) {
      // give the emptied cell to the best remaining member that falls in it (rare: bans, explicit removals)
      const cell = this.grid.cellOf(m.features)
      let best: Stored | null = null
      for (const o of this.byId.values()) {
        if (!isValidScore(o.score) || !o.features || this.grid.cellOf(o.features) !== cell) continue
        if (!best || isBetter(o.score, best.score, this.direction)) best = o
      }
      if (best) this.grid.insert(best.id, best.score, best.features ?? {})
    }
    if (this.bestId === id) {
      this.bestId = null
      for (const o of this.byId.values()) {
        if (
          isValidScore(o.score) &&
          (this.bestId === null || isBetter(o.score, (this.byId.get(this.bestId) as Stored).score, this.direction))
        )
          this.bestId = o.id
      }
    }
    return true
  }

  /** remove a member (banned, deleted by an expert); its MAP-Elites cell goes to the next best member in it */
  remove(id: string): boolean {
    return this.removeInternal(id, true)
  }

  setPinned(id: string, pinned: boolean): boolean {
    const m = this.byId.get(id)
    if (!m) return false
    m.pinned = pinned
    this.selector.add({ id: m.id, score: m.score, vector: this.clusterVector(m), sketch: m.sketch, pinned })
    if (!pinned) this.pushEvictable(id)
    return true
  }

  /** an expert's rating (−1, 0, 1): a bounded weight in parent selection (selection.ts); kept for ids not here yet */
  setRating(id: string, rating: Rating): void {
    this.selector.setRating(id, rating)
  }

  /** the island's dashboard measures */
  diversity(opts: { maxPairs?: number; seed?: string | number } = {}): IslandDiversity {
    return islandDiversity([...this.byId.values()], this.direction, this.grid.hasFeatures ? this.grid : undefined, {
      seed: `island-${this.index}`,
      ...opts,
    })
  }
}

// ---------------------------------------------------------------------------------------------

export interface ArchiveEntry {
  id: string
  score: number
  codeHash: string
  island?: number
}

/** the run's global top-N, distinct by normalized code */
export class EliteArchive {
  private readonly entries: ArchiveEntry[] = []
  readonly capacity: number
  readonly direction: Direction
  constructor(capacity: number, direction: Direction) {
    this.capacity = capacity
    this.direction = direction
  }

  get size(): number {
    return this.entries.length
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id)
  }

  /** best first */
  list(): ArchiveEntry[] {
    return this.entries.slice()
  }

  best(): ArchiveEntry | null {
    return this.entries[0] ?? null
  }

  /** offer a member; returns whether it entered and which entry it pushed out */
  offer(e: { id: string; score: number | null; codeHash: string; island?: number }): {
    added: boolean
    evicted?: string
  } {
    if (!isValidScore(e.score)) return { added: false }
    const same = this.entries.findIndex((x) => x.codeHash === e.codeHash || x.id === e.id)
    if (same >= 0) {
      const old = this.entries[same] as ArchiveEntry
      if (!isBetter(e.score, old.score, this.direction)) return { added: false }
      this.entries.splice(same, 1)
    }
    // insertion point after all entries at least as good (earlier entries win ties)
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (isBetter(e.score, (this.entries[mid] as ArchiveEntry).score, this.direction)) hi = mid
      else lo = mid + 1
    }
    if (lo >= this.capacity) return { added: false }
    this.entries.splice(lo, 0, { id: e.id, score: e.score, codeHash: e.codeHash, island: e.island })
    const out = this.entries.length > this.capacity ? (this.entries.pop() as ArchiveEntry).id : undefined
    return out ? { added: true, evicted: out } : { added: true }
  }

  remove(id: string): boolean {
    const i = this.entries.findIndex((x) => x.id === id)
    if (i < 0) return false
    this.entries.splice(i, 1)
    return true
  }
}

// ---------------------------------------------------------------------------------------------

export interface MigrationSource {
  members(): Iterable<{ id: string; score: number | null; codeHash: string; banned?: boolean }>
  hasHash(codeHash: string): boolean
}

export interface MigrationMove {
  from: number
  to: number
  id: string
  codeHash: string
  score: number
}

export interface MigrationOptions {
  /** fraction of each island's valid members sent (at least 1 when the island has any) */
  rate: number
  direction: Direction
  /** cap per island (default 10) */
  maxPerIsland?: number
}

/** whether a migration is due: every `interval` evaluations (run-wide count) */
export function migrationDue(evaluations: number, lastMigrationAt: number, interval: number): boolean {
  return interval > 0 && evaluations - lastMigrationAt >= interval
}

/**
 * Ring migration plan, computed from the current state (nothing cascades around the ring in one round):
 * the top ⌈rate · valid⌉ members of island i go to island (i+1) mod K, skipping code the target already has
 * (by normalized hash) and repeats within the plan. Copies, not moves: the source keeps its members.
 */
export function planMigration(islands: readonly MigrationSource[], opts: MigrationOptions): MigrationMove[] {
  const K = islands.length
  if (K < 2 || !(opts.rate > 0)) return []
  const cap = opts.maxPerIsland ?? 10
  const moves: MigrationMove[] = []
  for (let i = 0; i < K; i++) {
    const src = islands[i] as MigrationSource
    const to = (i + 1) % K
    const target = islands[to] as MigrationSource
    const valid: Array<{ id: string; score: number; codeHash: string }> = []
    for (const m of src.members())
      if (!m.banned && isValidScore(m.score)) valid.push(m as { id: string; score: number; codeHash: string })
    if (valid.length === 0) continue
    const n = Math.min(cap, Math.max(1, Math.ceil(opts.rate * valid.length)))
    const best = topN(valid, n, (a, b) => isBetter(a.score, b.score, opts.direction))
    const sent = new Set<string>()
    for (const m of best) {
      if (target.hasHash(m.codeHash) || sent.has(m.codeHash)) continue
      sent.add(m.codeHash)
      moves.push({ from: i, to, id: m.id, codeHash: m.codeHash, score: m.score })
    }
  }
  return moves
}
