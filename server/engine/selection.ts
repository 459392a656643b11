// Parent selection. `adaptive` is the FM Agent paper's cluster-based adaptive sampling: the island's
// members are clustered (by feature/code vectors), a cluster is drawn with a softmax over cluster quality,
// then a member by a tournament inside it. One "explore" level in [0, 1] sets both the softmax temperature
// and the tournament size; it comes from the expert's `exploration` knob, corrected by the island's current
// diversity (low diversity → explore more, high → exploit more).
//
// Expert ratings (up/down) are a bounded bonus or penalty on top of any strategy: with weight w in
// [0, 1], a member rated up is drawn (1 + w) times as often as it would be unrated, one rated down
// (1 + w) times less often, never more than that, whatever its score (a rejection step on the
// strategy's own draw: see select()). A rated-down program still gets drawn now and then; a rated-up
// one cannot crowd out the island. With no rating in play nothing changes, not even the RNG stream.
//
// Cost: clusters are maintained incrementally (new members go to the nearest centroid; centroids are refit
// on a bounded sample every so often and members re-assigned in bounded chunks), so a selection costs
// O(clusters + tournament), independent of the population size.
import { kmeans, nearestCentroid, type Vector } from './clustering.ts'
import { isBetter, isValidScore, type Direction } from './fitness.ts'
import { meanPairwiseDistance } from './diversity.ts'
import { topN } from './heap.ts'
import type { CodeSketch } from './novelty.ts'
import { Rng } from './rng.ts'

export type SelectionStrategy = 'adaptive' | 'top-k' | 'uniform'
export const SELECTION_STRATEGIES: readonly SelectionStrategy[] = ['adaptive', 'top-k', 'uniform']

export interface SelectionMember {
  id: string
  /** null = invalid: never selected unless pinned */
  score: number | null
  /** clustering vector (e.g. normalized features ⊕ code vector); falls back to sketch.vector */
  vector?: Vector | null
  sketch?: CodeSketch | null
  pinned?: boolean
  banned?: boolean
}

export interface AdaptiveParams {
  /** the island's mean pairwise code distance in [0, 1] */
  diversity: number
  /** expert knob in [0, 1]: 0 exploit, 1 explore (default 0.3) */
  exploration?: number
  /** the diversity regarded as healthy (default 0.3) */
  targetDiversity?: number
  /** how strongly a diversity gap moves exploration (default 1.5) */
  gain?: number
  /** softmax temperature at explore = 0 and 1 (defaults 0.05 and 2, on rank utilities in [0, 1]) */
  minTemperature?: number
  maxTemperature?: number
  /** tournament size at explore = 0 (default 8); 1 at explore = 1 */
  maxTournament?: number
}

export interface Pressure {
  /** effective exploration level in [0, 1] */
  explore: number
  temperature: number
  tournament: number
}

/**
 * The selection pressure for an island. The diversity correction is scaled by 4·e·(1−e) of the expert's
 * exploration e, so an explicit 0 or 1 from an expert is honoured exactly and mid values adapt most.
 */
export function adaptivePressure(p: AdaptiveParams): Pressure {
  const e = clamp01(p.exploration ?? 0.3)
  const target = p.targetDiversity ?? 0.3
  const gain = p.gain ?? 1.5
  const d = Number.isFinite(p.diversity) ? p.diversity : target
  const explore = clamp01(e + gain * (target - d) * 4 * e * (1 - e))
  const tMin = p.minTemperature ?? 0.05
  const tMax = p.maxTemperature ?? 2
  const maxT = Math.max(1, p.maxTournament ?? 8)
  return {
    explore,
    temperature: tMin * (tMax / tMin) ** explore,
    tournament: Math.max(1, Math.round(1 + (1 - explore) * (maxT - 1))),
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isFinite(x) ? x : 0
}

export interface SelectOptions extends Partial<Omit<AdaptiveParams, 'diversity'>> {
  strategy?: SelectionStrategy
  /** top-k: the k best eligible members (default 5), plus pinned ones */
  topK?: number
  /** override the island's diversity (default: the selector's own sampled estimate) */
  diversity?: number
  /** probability of drawing directly among pinned members when there are any (default 0.2) */
  pinnedShare?: number
  /** never return this id (e.g. the first parent when drawing a second) */
  exclude?: string
  /** adaptive: probability, scaled by (1 − explore)², of drawing among the island's 3 best (default 0.5) */
  eliteShare?: number
  /** weight w in [0, 1] of expert ratings: up ×(1 + w), down ÷(1 + w) the odds of being drawn (default 0: ignored) */
  ratingWeight?: number
}

export type Rating = -1 | 0 | 1

/** at most this many draws per selection when ratings reject (the effect can only be weaker, never stronger) */
const MAX_RATING_DRAWS = 8

export interface Selection {
  id: string
  strategy: SelectionStrategy
  /** why: 'pinned', 'top-k', 'uniform', 'cluster' */
  via: 'pinned' | 'top-k' | 'uniform' | 'cluster'
  cluster?: number
  pressure?: Pressure
}

export interface Inspiration {
  id: string
  kind: 'elite' | 'diverse'
}

export interface SelectorOptions {
  direction: Direction
  /** upper bound on clusters (default 8); the count grows as √(n/4) */
  maxClusters?: number
  /** k-means sample size at each refit (default 256) */
  sample?: number
  /** members re-assigned per add() after a refit (default 256) */
  reassignChunk?: number
  /** seed of the selector's own (refit) randomness; selection draws use the rng passed per call */
  seed?: string | number
}

interface Entry {
  m: SelectionMember
  /** addition order (ties in score go to the earlier member) */
  seq: number
  vec: Vector | null
  cluster: number
  /** position in the eligible array and in its cluster's array */
  pos: number
  cpos: number
}

/** eligible: not banned, and valid or pinned */
export function isEligible(m: SelectionMember): boolean {
  return !m.banned && (m.pinned === true || isValidScore(m.score))
}

/**
 * Selection state of one island. Feed it every member change (add/update/remove); select() and friends are
 * read-only apart from drawing from the rng you pass, so replaying the same adds rebuilds the same state.
 */
export class IslandSelector {
  readonly direction: Direction
  private readonly maxClusters: number
  private readonly sampleSize: number
  private readonly chunk: number
  private readonly seed: string | number
  private readonly byId = new Map<string, Entry>()
  private readonly eligible: Entry[] = []
  private readonly pinned = new Set<string>()
  /** expert ratings by id, kept apart from membership: a member re-added (re-evaluated, migrated in) keeps its rating */
  private readonly ratings = new Map<string, Rating>()
  private clusters: Entry[][] = [[]]
  private centroids: number[][] = []
  private clusterBest: Array<Entry | null> = [null]
  private bestDirty: boolean[] = [false]
  private refits = 0
  private addsSinceRefit = 0
  private sizeAtRefit = 0
  private reassignCursor = -1
  /** the exact top-m eligible members, best first, for m = its length (kept incrementally; rebuilt when too short) */
  private topCache: Entry[] | null = null
  /** whether topCache holds every eligible member (small islands) */
  private topCacheAll = false
  private diversityValue = 0
  private version = 0
  private seq = 0

  constructor(opts: SelectorOptions) {
    this.direction = opts.direction
    this.maxClusters = Math.max(1, opts.maxClusters ?? 8)
    this.sampleSize = opts.sample ?? 256
    this.chunk = opts.reassignChunk ?? 256
    this.seed = opts.seed ?? 'selector'
  }

  /** number of eligible members */
  get size(): number {
    return this.eligible.length
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  get clusterCount(): number {
    return this.clusters.length
  }

  clusterOf(id: string): number | undefined {
    return this.byId.get(id)?.cluster
  }

  /**
   * A strict total order: better score first, then the earlier addition. Ties never depend on array order or
   * on when a cache was built, so a state rebuilt by replaying the same adds selects exactly the same way.
   */
  private better = (a: Entry, b: Entry) =>
    isBetter(a.m.score, b.m.score, this.direction) || (!isBetter(b.m.score, a.m.score, this.direction) && a.seq < b.seq)

  /** add or replace a member; ineligible members (invalid and not pinned, or banned) are simply not kept */
  add(m: SelectionMember): void {
    if (this.byId.has(m.id)) this.remove(m.id)
    if (!isEligible(m)) return
    const vec = m.vector ?? m.sketch?.vector ?? null
    const e: Entry = { m, vec, seq: this.seq++, cluster: 0, pos: this.eligible.length, cpos: 0 }
    this.eligible.push(e)
    this.byId.set(m.id, e)
    if (m.pinned) this.pinned.add(m.id)
    e.cluster = this.centroids.length > 0 && vec ? nearestCentroid(vec, this.centroids).index : 0
    this.putInCluster(e)
    this.topInsert(e)
    this.version++
    this.addsSinceRefit++
    this.maintain()
    this.diversityChanged()
  }

  /** pin/unpin, ban, new score: re-add with the new fields */
  update(id: string, patch: Partial<Omit<SelectionMember, 'id'>>): boolean {
    // members that were ineligible are not stored here: their owner re-adds them in full
    const e = this.byId.get(id)
    if (!e) return false
    this.add({ ...e.m, ...patch, id })
    return true
  }

  remove(id: string): boolean {
    const e = this.byId.get(id)
    if (!e) return false
    this.byId.delete(id)
    this.pinned.delete(id)
    const last = this.eligible.pop() as Entry
    if (last !== e) {
      this.eligible[e.pos] = last
      last.pos = e.pos
    }
    this.takeFromCluster(e)
    if (this.topCache) {
      const i = this.topCache.indexOf(e)
      if (i >= 0) this.topCache.splice(i, 1)
    }
    this.version++
    this.diversityChanged()
    return true
  }

  /**
   * The diversity estimate follows the members after every quarter of the island has changed (every
   * change of a tiny island, every 20 of a large one): it steers the selection pressure, which one
   * member more or less does not move, and recomputing it on every change was ~3 % of a run's CPU.
   */
  private diversityChanged(): void {
    if (this.version % Math.min(20, Math.max(1, this.eligible.length >> 2)) === 0) this.refreshDiversity()
  }

  /** keep the top cache exact: a newcomer better than its last entry (or any newcomer while it holds everyone) enters */
  private topInsert(e: Entry): void {
    const c = this.topCache
    if (!c) return
    if (c.length === 0 && !this.topCacheAll) {
      this.topCache = null
      return
    }
    const last = c[c.length - 1]
    if (!this.topCacheAll && last && !this.better(e, last)) return
    // after every strictly better entry, so earlier members win ties (as topN orders them)
    let lo = 0
    let hi = c.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.better(e, c[mid] as Entry)) hi = mid
      else lo = mid + 1
    }
    c.splice(lo, 0, e)
    if (c.length > 64) {
      c.pop()
      this.topCacheAll = false
    }
  }

  private putInCluster(e: Entry): void {
    while (this.clusters.length <= e.cluster) {
      this.clusters.push([])
      this.clusterBest.push(null)
      this.bestDirty.push(false)
    }
    const arr = this.clusters[e.cluster] as Entry[]
    e.cpos = arr.length
    arr.push(e)
    const b = this.clusterBest[e.cluster]
    if (!this.bestDirty[e.cluster] && (!b || this.better(e, b))) this.clusterBest[e.cluster] = e
  }

  private takeFromCluster(e: Entry): void {
    const arr = this.clusters[e.cluster] as Entry[]
    const last = arr.pop() as Entry
    if (last !== e) {
      arr[e.cpos] = last
      last.cpos = e.cpos
    }
    if (this.clusterBest[e.cluster] === e) {
      this.clusterBest[e.cluster] = null
      this.bestDirty[e.cluster] = true
    }
  }

  private desiredClusters(): number {
    return Math.max(1, Math.min(this.maxClusters, Math.round(Math.sqrt(this.eligible.length / 4))))
  }

  /** refit centroids when the population grew by half or 500 adds passed; re-assign in bounded chunks */
  private maintain(): void {
    const n = this.eligible.length
    if (this.reassignCursor >= 0) this.reassignStep()
    const want = this.desiredClusters()
    const grew = n >= Math.max(8, this.sizeAtRefit * 1.5)
    if (
      !(grew || this.addsSinceRefit >= 500 || (want !== this.centroids.length && n >= 8 && this.addsSinceRefit >= 50))
    )
      return
    const withVec = this.eligible.filter((e) => e.vec !== null)
    if (withVec.length < 2) return
    this.refits++
    this.addsSinceRefit = 0
    this.sizeAtRefit = n
    const rng = new Rng(`${this.seed}:refit:${this.refits}`)
    const sample = withVec.length <= this.sampleSize ? withVec : rng.sample(withVec, this.sampleSize)
    const k = Math.min(want, sample.length)
    const init = this.centroids.length === k ? this.centroids : undefined
    const km = kmeans(
      sample.map((e) => e.vec as Vector),
      k,
      rng,
      { maxIter: 12, init },
    )
    this.centroids = km.centroids
    this.reassignCursor = 0
    this.reassignStep()
  }

  private reassignStep(): void {
    const end = Math.min(this.eligible.length, this.reassignCursor + this.chunk)
    for (let i = this.reassignCursor; i < end; i++) {
      const e = this.eligible[i] as Entry
      const c = e.vec ? nearestCentroid(e.vec, this.centroids).index : 0
      if (c !== e.cluster) {
        this.takeFromCluster(e)
        e.cluster = c
        this.putInCluster(e)
      }
    }
    this.reassignCursor = end >= this.eligible.length ? -1 : end
    // drop trailing clusters that no centroid owns any more once re-assignment is complete
    if (this.reassignCursor < 0) {
      while (
        this.clusters.length > Math.max(1, this.centroids.length) &&
        (this.clusters[this.clusters.length - 1] as Entry[]).length === 0
      ) {
        this.clusters.pop()
        this.clusterBest.pop()
        this.bestDirty.pop()
      }
    }
  }

  private bestOfCluster(c: number): Entry | null {
    if (this.bestDirty[c]) {
      let b: Entry | null = null
      for (const e of this.clusters[c] as Entry[]) if (!b || this.better(e, b)) b = e
      this.clusterBest[c] = b
      this.bestDirty[c] = false
    }
    return this.clusterBest[c] ?? null
  }

  /**
   * The island's mean pairwise code distance (sampled). Recomputed inside add/remove every 20 membership
   * changes, never lazily: its value then depends only on the sequence of changes, not on when it was read.
   */
  diversity(): number {
    return this.diversityValue
  }

  private refreshDiversity(): void {
    const sk: CodeSketch[] = []
    const n = this.eligible.length
    // a deterministic stride sample of at most 64 sketched members, then 200 sampled pairs
    const step = Math.max(1, Math.floor(n / 64))
    for (let i = 0; i < n && sk.length < 64; i += step) {
      const s = (this.eligible[i] as Entry).m.sketch
      if (s) sk.push(s)
    }
    this.diversityValue = sk.length >= 2 ? meanPairwiseDistance(sk, { maxPairs: 200, seed: 'selector-diversity' }) : 0
  }

  /** the k best eligible members, best first (cached: O(1) while the top does not change) */
  top(k: number): SelectionMember[] {
    if (!this.topCache || (this.topCache.length < Math.min(k, this.eligible.length) && !this.topCacheAll)) {
      this.topCache = topN(this.eligible, Math.max(32, k), this.better)
      this.topCacheAll = this.topCache.length === this.eligible.length
    }
    return this.topCache.slice(0, k).map((e) => e.m)
  }

  /** current pressure for this island under the given knobs */
  pressure(opts: SelectOptions = {}): Pressure {
    return adaptivePressure({ ...opts, diversity: opts.diversity ?? this.diversity() })
  }

  /** an expert's rating of a member (−1 down, 0 none, 1 up); may name an id not (yet) on the island */
  setRating(id: string, rating: Rating): void {
    if (rating === 0) this.ratings.delete(id)
    else this.ratings.set(id, rating > 0 ? 1 : -1)
  }

  rating(id: string): Rating {
    return this.ratings.get(id) ?? 0
  }

  /**
   * The acceptance of a drawn member under the ratings in play: (1 + w)^(rating − highest rating on
   * the island), so the best-rated members are always accepted and the odds between ratings differ
   * by exactly (1 + w) per step. Null when no rating is in play (every draw is accepted).
   */
  private ratingAcceptance(w: number, exclude?: string): ((id: string) => number) | null {
    if (!(w > 0) || this.ratings.size === 0) return null
    let top = -Infinity
    let lowest = Infinity
    let rated = 0
    for (const [id, r] of this.ratings) {
      if (id === exclude || !this.byId.has(id)) continue
      rated++
      top = Math.max(top, r)
      lowest = Math.min(lowest, r)
    }
    if (rated === 0) return null
    // members without a rating count as 0
    const pool = this.eligible.length - (exclude && this.byId.has(exclude) ? 1 : 0)
    if (pool > rated) (top = Math.max(top, 0)), (lowest = Math.min(lowest, 0))
    if (top === lowest) return null
    const base = 1 + Math.min(1, w)
    return (id) => base ** ((this.ratings.get(id) ?? 0) - top)
  }

  /** draw a parent; null when nothing is eligible. Ratings (opts.ratingWeight) reweight the strategy's draw. */
  select(rng: Rng, opts: SelectOptions = {}): Selection | null {
    const accept = this.ratingAcceptance(opts.ratingWeight ?? 0, opts.exclude)
    if (!accept) return this.selectOnce(rng, opts)
    let sel: Selection | null = null
    for (let i = 0; i < MAX_RATING_DRAWS; i++) {
      sel = this.selectOnce(rng, opts)
      if (!sel) return null
      const a = accept(sel.id)
      if (a >= 1 || rng.next() < a) return sel
    }
    return sel
  }

  private selectOnce(rng: Rng, opts: SelectOptions): Selection | null {
    const strategy = opts.strategy ?? 'adaptive'
    const pool = this.eligible.length - (opts.exclude && this.byId.has(opts.exclude) ? 1 : 0)
    if (pool <= 0) return null

    const pinnedIds = [...this.pinned].filter((id) => id !== opts.exclude)
    if (pinnedIds.length > 0 && rng.chance(opts.pinnedShare ?? 0.2)) {
      pinnedIds.sort()
      return { id: rng.pick(pinnedIds), strategy, via: 'pinned' }
    }

    if (strategy === 'uniform') {
      for (;;) {
        const e = this.eligible[rng.int(this.eligible.length)] as Entry
        if (e.m.id !== opts.exclude) return { id: e.m.id, strategy, via: 'uniform' }
      }
    }

    if (strategy === 'top-k') {
      const k = Math.max(1, opts.topK ?? 5)
      const cands = this.top(k + 1)
        .filter((m) => m.id !== opts.exclude)
        .slice(0, k)
        .map((m) => m.id)
      for (const id of [...this.pinned].sort()) if (id !== opts.exclude && !cands.includes(id)) cands.push(id)
      return { id: rng.pick(cands), strategy, via: 'top-k' }
    }

    const pressure = this.pressure(opts)
    // an elitist share that vanishes as exploration rises: exploitation of the island's very best, as in
    // OpenEvolve's exploitation ratio, without which cluster sampling refines the best programs too slowly
    if (rng.chance((opts.eliteShare ?? 0.5) * (1 - pressure.explore) ** 2)) {
      const cands = this.top(4)
        .filter((m) => m.id !== opts.exclude)
        .slice(0, 3)
      if (cands.length > 0) return { id: rng.pick(cands).id, strategy, via: 'top-k', pressure }
    }
    const c = this.drawCluster(rng, pressure.temperature, opts.exclude)
    const e = this.tournament(rng, c, pressure.tournament, opts.exclude)
    return { id: e.m.id, strategy, via: 'cluster', cluster: c, pressure }
  }

  /** softmax over clusters by rank of their best member (rank utilities: scale-free in the score) */
  private drawCluster(rng: Rng, temperature: number, exclude?: string): number {
    const live: Array<{ c: number; best: Entry }> = []
    for (let c = 0; c < this.clusters.length; c++) {
      const arr = this.clusters[c] as Entry[]
      if (arr.length === 0 || (arr.length === 1 && (arr[0] as Entry).m.id === exclude)) continue
      const b = this.bestOfCluster(c)
      if (b) live.push({ c, best: b })
    }
    if (live.length === 1) return (live[0] as { c: number }).c
    live.sort((a, b) => (this.better(a.best, b.best) ? -1 : this.better(b.best, a.best) ? 1 : a.c - b.c))
    const L = live.length
    const w = live.map((_, r) => Math.exp((1 - r / (L - 1)) / temperature - 1 / temperature))
    return (live[rng.weightedIndex(w)] as { c: number }).c
  }

  private tournament(rng: Rng, c: number, size: number, exclude?: string): Entry {
    const arr = this.clusters[c] as Entry[]
    let best: Entry | null = null
    for (let t = 0, guard = 0; t < size && guard < size * 4; guard++) {
      const e = arr[rng.int(arr.length)] as Entry
      if (e.m.id === exclude) continue
      t++
      if (!best || this.better(e, best)) best = e
    }
    return best ?? (arr.find((e) => e.m.id !== exclude) as Entry)
  }

  /**
   * Inspirations for a prompt: `elites` best members other than the parent, then `diverse` members from
   * other clusters than the parent's (a small tournament in each, so they are different and still good).
   */
  inspirations(rng: Rng, parentId: string, opts: { elites?: number; diverse?: number } = {}): Inspiration[] {
    const nElite = opts.elites ?? 2
    const nDiverse = opts.diverse ?? 2
    const out: Inspiration[] = []
    const seen = new Set<string>([parentId])
    for (const m of this.top(nElite + 1)) {
      if (out.length >= nElite) break
      if (seen.has(m.id)) continue
      seen.add(m.id)
      out.push({ id: m.id, kind: 'elite' })
    }
    const parentCluster = this.byId.get(parentId)?.cluster
    const others: number[] = []
    for (let c = 0; c < this.clusters.length; c++)
      if (c !== parentCluster && (this.clusters[c] as Entry[]).length > 0) others.push(c)
    rng.shuffle(others)
    let added = 0
    for (const c of others) {
      if (added >= nDiverse) break
      const e = this.tournament(rng, c, 2)
      if (seen.has(e.m.id)) continue
      seen.add(e.m.id)
      out.push({ id: e.m.id, kind: 'diverse' })
      added++
    }
    // a single cluster (or small island): fall back to random members for the diverse slots
    for (let tries = 0; added < nDiverse && tries < nDiverse * 4 && this.eligible.length > seen.size; tries++) {
      const e = this.eligible[rng.int(this.eligible.length)] as Entry
      if (seen.has(e.m.id)) continue
      seen.add(e.m.id)
      out.push({ id: e.m.id, kind: 'diverse' })
      added++
    }
    return out
  }

  /** a second parent for crossover: preferably from another cluster (probability `otherCluster`, default 0.7); ratings reweight it as in select() */
  mate(
    rng: Rng,
    parentId: string,
    opts: { otherCluster?: number; tournament?: number; ratingWeight?: number } = {},
  ): string | null {
    const accept = this.ratingAcceptance(opts.ratingWeight ?? 0, parentId)
    if (!accept) return this.mateOnce(rng, parentId, opts)
    let id: string | null = null
    for (let i = 0; i < MAX_RATING_DRAWS; i++) {
      id = this.mateOnce(rng, parentId, opts)
      if (id === null) return null
      const a = accept(id)
      if (a >= 1 || rng.next() < a) return id
    }
    return id
  }

  private mateOnce(rng: Rng, parentId: string, opts: { otherCluster?: number; tournament?: number }): string | null {
    if (this.eligible.length < 2) return null
    const pc = this.byId.get(parentId)?.cluster
    const others: number[] = []
    for (let c = 0; c < this.clusters.length; c++)
      if (c !== pc && (this.clusters[c] as Entry[]).length > 0) others.push(c)
    const size = opts.tournament ?? 3
    if (others.length > 0 && rng.chance(opts.otherCluster ?? 0.7))
      return this.tournament(rng, rng.pick(others), size, parentId).m.id
    const c = pc !== undefined && (this.clusters[pc] as Entry[]).length > 1 ? pc : this.drawCluster(rng, 1, parentId)
    return this.tournament(rng, c, size, parentId).m.id
  }

  /** member ids per cluster (for the console and tests) */
  clusterMembers(): string[][] {
    return this.clusters.map((arr) => arr.map((e) => e.m.id))
  }
}

/**
 * Stateless selection over a plain member list (small islands, tests, tools). Builds a throwaway selector:
 * O(n) per call; the orchestrator should keep an IslandSelector per island instead.
 */
export function selectParent(
  members: readonly SelectionMember[],
  rng: Rng,
  opts: SelectOptions & { direction: Direction },
): Selection | null {
  const s = new IslandSelector({ direction: opts.direction })
  for (const m of members) s.add(m)
  return s.select(rng, opts)
}
