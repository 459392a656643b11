// The engine's in-memory run state as one object, composed from the modules beside it: K islands (each
// with its MAP-Elites grid, near-duplicate index and selector), the global elite archive, stagnation
// detection, migration bookkeeping and the run's RNG. No I/O: the orchestrator persists candidates and
// the small snapshot(), and rebuilds this object on resume by replaying what it stored, in order.
import type { FeatureSpec } from '../contracts/problem.ts'
import { assignToIslands, combineVectors } from './clustering.ts'
import type { Language } from './code.ts'
import { runDiversity, type IslandDiversity, type RunDiversity } from './diversity.ts'
import { improvement, isBetter, isValidScore, type Direction } from './fitness.ts'
import {
  EliteArchive,
  Island,
  migrationDue,
  planMigration,
  type AddOutcome,
  type IslandMember,
  type MigrationMove,
} from './islands.ts'
import { MapElitesGrid } from './map-elites.ts'
import { analyzeCode, sketchCode, type CodeSketch, type NoveltyVerdict } from './novelty.ts'
import { Rng, type RngState } from './rng.ts'
import type { Pressure, Rating, SelectionStrategy } from './selection.ts'
import { rewardFromImprovement } from './bandit.ts'
import {
  StagnationDetector,
  type StagnationEvent,
  type StagnationOptions,
  type StagnationSnapshot,
} from './stagnation.ts'

export interface EvolutionConfig {
  language: Language | string
  direction: Direction
  /** problem.json features */
  features?: readonly FeatureSpec[]
  islands?: number
  /** members per island (default 1000) */
  islandCapacity?: number
  /** global elite archive size (default 50) */
  archiveSize?: number
  /** run-wide evaluations between migrations (default 50; 0 disables) */
  migrationInterval?: number
  /** fraction of an island's valid members sent (default 0.1) */
  migrationRate?: number
  selection?: SelectionStrategy
  /** run-wide exploration knob in [0, 1] (default 0.3) */
  exploration?: number
  topK?: number
  noveltyThreshold?: number
  inspirations?: { elites?: number; diverse?: number }
  /** `optimum`: the problem's proven optimum, where an island is done rather than stalled */
  stagnation?: { window?: number; epsilon?: number; optimum?: number }
  /** scale of the relative gain worth a reward of ≈ 0.63 for the bandit (default 0.01) */
  rewardScale?: number
  /**
   * weight w in [0, 1] of expert ratings in parent (and mate) selection: a rated-up candidate is
   * drawn (1 + w) times as often as unrated, a rated-down one (1 + w) times less (default 0.5)
   */
  ratingWeight?: number
  seed?: string | number
}

export interface PreparedChild {
  codeHash: string
  sketch: CodeSketch
}

export interface IterationPlan {
  island: number
  parent: IslandMember
  inspirations: Array<IslandMember & { kind: 'elite' | 'diverse' }>
  /** a second parent for crossover (always proposed; use it or not) */
  mate: IslandMember | null
  pressure?: Pressure
  /** effective exploration (knob + stagnation boost) */
  exploration: number
}

export interface IngestInput {
  id: string
  island: number
  /** the code: used for hash/sketch when they are not given */
  code?: string
  codeHash?: string
  sketch?: CodeSketch | null
  score: number | null
  features?: Record<string, number | null | undefined>
  /** for the bandit reward */
  parentScore?: number | null
  pinned?: boolean
}

export interface IngestOutcome extends AddOutcome {
  /** the run's best so far changed */
  newGlobalBest: boolean
  /** relative gain over the parent (fitness.ts improvement) and the bandit reward derived from it */
  gain: number | null
  reward: number
  stagnation: StagnationEvent[]
  /** a migration is due now: call planMigration() and applyMigration() (and persist the moves) */
  migrationDue: boolean
}

export interface EvolutionSnapshot {
  rng: RngState
  evaluations: number
  lastMigrationAt: number
  exploration: number
  islandExploration: Record<string, number>
  roundRobin: number
  stagnation: StagnationSnapshot
}

export class Evolution {
  readonly config: Required<Omit<EvolutionConfig, 'features' | 'inspirations' | 'stagnation' | 'seed'>> & {
    features: readonly FeatureSpec[]
    inspirations: { elites: number; diverse: number }
  }
  readonly islands: Island[]
  readonly archive: EliteArchive
  readonly rng: Rng
  stagnation: StagnationDetector
  evaluations = 0
  lastMigrationAt = 0
  exploration: number
  private readonly islandExploration = new Map<number, number>()
  private roundRobin = 0
  private readonly stagnationOpts: StagnationOptions

  constructor(cfg: EvolutionConfig) {
    this.config = {
      language: cfg.language,
      direction: cfg.direction,
      features: cfg.features ?? [],
      islands: Math.max(1, cfg.islands ?? 4),
      islandCapacity: cfg.islandCapacity ?? 1000,
      archiveSize: cfg.archiveSize ?? 50,
      migrationInterval: cfg.migrationInterval ?? 50,
      migrationRate: cfg.migrationRate ?? 0.1,
      selection: cfg.selection ?? 'adaptive',
      exploration: cfg.exploration ?? 0.3,
      topK: cfg.topK ?? 5,
      noveltyThreshold: cfg.noveltyThreshold ?? 0.95,
      inspirations: { elites: cfg.inspirations?.elites ?? 2, diverse: cfg.inspirations?.diverse ?? 2 },
      rewardScale: cfg.rewardScale ?? 0.01,
      ratingWeight: Math.min(1, Math.max(0, cfg.ratingWeight ?? 0.5)),
    }
    this.exploration = this.config.exploration
    this.rng = new Rng(cfg.seed ?? 0)
    this.islands = Array.from(
      { length: this.config.islands },
      (_, i) =>
        new Island({
          index: i,
          direction: cfg.direction,
          features: this.config.features,
          capacity: this.config.islandCapacity,
          noveltyThreshold: this.config.noveltyThreshold,
        }),
    )
    this.archive = new EliteArchive(this.config.archiveSize, cfg.direction)
    this.stagnationOpts = { direction: cfg.direction, ...cfg.stagnation }
    this.stagnation = new StagnationDetector(this.stagnationOpts)
  }

  island(i: number): Island {
    const isl = this.islands[i]
    if (!isl) throw new RangeError(`no island ${i} (the run has ${this.islands.length})`)
    return isl
  }

  /** hash and sketch of a would-be child (do it once; pass the result to checkNovelty and ingest) */
  prepare(code: string): PreparedChild {
    return analyzeCode(code, this.config.language)
  }

  /** exact duplicate (normalized hash) or near-duplicate on the island → not novel */
  checkNovelty(island: number, child: PreparedChild, threshold?: number): NoveltyVerdict & { duplicate?: boolean } {
    return this.island(island).checkNovelty(child.codeHash, child.sketch, threshold)
  }

  /** set the exploration knob for the run, or for one island (expert action) */
  setExploration(value: number, island?: number): void {
    const v = Math.min(1, Math.max(0, value))
    if (island === undefined) this.exploration = v
    else this.islandExploration.set(island, v)
  }

  effectiveExploration(island: number): number {
    return Math.min(1, (this.islandExploration.get(island) ?? this.exploration) + this.stagnation.boost(island))
  }

  /** the next island with something selectable, round-robin (steady state: every island gets its turn) */
  nextIsland(): number | null {
    const K = this.islands.length
    for (let k = 0; k < K; k++) {
      const i = (this.roundRobin + k) % K
      if ((this.islands[i] as Island).selector.size > 0) {
        this.roundRobin = (i + 1) % K
        return i
      }
    }
    return null
  }

  /** parent, inspirations and a mate for one iteration on `island` (default: the next island) */
  plan(island?: number, opts: { strategy?: SelectionStrategy } = {}): IterationPlan | null {
    const i = island ?? this.nextIsland()
    if (i === null) return null
    const isl = this.island(i)
    const exploration = this.effectiveExploration(i)
    const sel = isl.selector.select(this.rng, {
      strategy: opts.strategy ?? this.config.selection,
      exploration,
      topK: this.config.topK,
      ratingWeight: this.config.ratingWeight,
    })
    if (!sel) return null
    const parent = isl.get(sel.id) as IslandMember
    const inspirations = isl.selector
      .inspirations(this.rng, parent.id, this.config.inspirations)
      .map((x) => ({ ...(isl.get(x.id) as IslandMember), kind: x.kind }))
    const mateId = isl.selector.mate(this.rng, parent.id, { ratingWeight: this.config.ratingWeight })
    return {
      island: i,
      parent,
      inspirations,
      mate: mateId ? (isl.get(mateId) ?? null) : null,
      pressure: sel.pressure,
      exploration,
    }
  }

  /**
   * Ingest a finished evaluation (valid or not) into its island, the MAP-Elites grid, the archive and the
   * stagnation detector. Call in the order evaluations finished; replaying the same calls rebuilds the state.
   */
  ingest(c: IngestInput): IngestOutcome {
    const isl = this.island(c.island)
    const analyzed =
      (!c.codeHash || c.sketch === undefined) && c.code !== undefined ? analyzeCode(c.code, this.config.language) : null
    const codeHash = c.codeHash ?? analyzed?.codeHash
    if (!codeHash) throw new TypeError('ingest needs codeHash or code')
    const sketch = c.sketch !== undefined ? c.sketch : (analyzed?.sketch ?? null)
    this.evaluations++
    const before = this.archive.best()
    const added = isl.add({ id: c.id, score: c.score, codeHash, features: c.features, sketch, pinned: c.pinned })
    if (added.added) this.archive.offer({ id: c.id, score: c.score, codeHash, island: c.island })
    const after = this.archive.best()
    const newGlobalBest =
      !!after && (!before || (after.id !== before.id && isBetter(after.score, before.score, this.config.direction)))
    const stagnation = this.stagnation.observe(c.island, c.score)
    const gain = c.parentScore === undefined ? null : improvement(c.score, c.parentScore, this.config.direction)
    return {
      ...added,
      newGlobalBest,
      gain,
      reward: gain === null ? 0 : rewardFromImprovement(gain, this.config.rewardScale),
      stagnation,
      migrationDue: migrationDue(this.evaluations, this.lastMigrationAt, this.config.migrationInterval),
    }
  }

  /** the ring migration due now (pure: nothing changes until applyMigration) */
  planMigration(): MigrationMove[] {
    return planMigration(this.islands, { rate: this.config.migrationRate, direction: this.config.direction })
  }

  /** copy the planned members into their target islands and reset the migration clock */
  applyMigration(moves: readonly MigrationMove[]): AddOutcome[] {
    this.lastMigrationAt = this.evaluations
    return moves.map((m) => {
      const src = this.island(m.from).get(m.id)
      if (!src) return { added: false, grid: null, evicted: [], newBest: false }
      return this.island(m.to).add({ ...src, pinned: false })
    })
  }

  /**
   * A stalled island's escalation (escalations.ts): the planned members out, then copies in from the
   * islands that hold them. The migration clock is left alone. Returns how many joined.
   */
  applyEscalation(plan: { island: number; removed: readonly string[]; moves: readonly MigrationMove[] }): number {
    const target = this.island(plan.island)
    for (const id of plan.removed) target.remove(id)
    let joined = 0
    for (const m of plan.moves) {
      const src = this.island(m.from).get(m.id)
      if (src && target.add({ ...src, pinned: false }).added) joined++
    }
    return joined
  }

  /** pin/unpin a candidate wherever it lives (expert action) */
  setPinned(id: string, pinned: boolean): void {
    for (const isl of this.islands) isl.setPinned(id, pinned)
  }

  /**
   * An expert's rating of a candidate (−1 dead end, 0 none, 1 promising), wherever it lives now or
   * later (migrants keep it): a bounded bonus or penalty in parent selection, weighted by
   * `ratingWeight`. Ratings are not in snapshot(): the orchestrator re-applies the stored ratings
   * after a restore, as it does pins.
   */
  setRating(id: string, rating: Rating): void {
    for (const isl of this.islands) isl.setRating(id, rating)
  }

  /** ban a candidate: removed from every island and the archive, never selected again */
  ban(id: string): void {
    for (const isl of this.islands) isl.remove(id)
    this.archive.remove(id)
  }

  best(): { id: string; score: number; island?: number } | null {
    const b = this.archive.best()
    return b ? { id: b.id, score: b.score, island: b.island } : null
  }

  islandDiversity(i: number): IslandDiversity {
    return this.island(i).diversity()
  }

  /** run-level diversity by measure name (sampled; O(islands × samples)) */
  diversity(): RunDiversity {
    return runDiversity(
      this.islands.map((isl) => {
        const sk: CodeSketch[] = []
        for (const m of isl.members()) if (m.sketch) sk.push(m.sketch)
        return { sketches: sk, grid: isl.grid.hasFeatures ? isl.grid : null }
      }),
    )
  }

  snapshot(): EvolutionSnapshot {
    return {
      rng: this.rng.getState(),
      evaluations: this.evaluations,
      lastMigrationAt: this.lastMigrationAt,
      exploration: this.exploration,
      islandExploration: Object.fromEntries([...this.islandExploration].map(([k, v]) => [String(k), v])),
      roundRobin: this.roundRobin,
      stagnation: this.stagnation.toJSON(),
    }
  }

  /** after replaying the stored candidates (ingest/applyMigration in their original order) */
  restore(s: EvolutionSnapshot): void {
    this.rng.setState(s.rng)
    this.evaluations = s.evaluations
    this.lastMigrationAt = s.lastMigrationAt
    this.exploration = s.exploration
    this.islandExploration.clear()
    for (const [k, v] of Object.entries(s.islandExploration)) this.islandExploration.set(Number(k), v)
    this.roundRobin = s.roundRobin
    this.stagnation = StagnationDetector.fromJSON(this.stagnationOpts, s.stagnation)
  }
}

export interface ColdStartCandidate {
  id: string
  score: number | null
  features?: Record<string, number | null | undefined>
  sketch?: CodeSketch | null
  code?: string
}

/**
 * Cold start: split evaluated initial candidates over K islands by niche (features where the problem has
 * them, code vectors otherwise), each island ≥ 1 member; invalid candidates are left out unless nothing
 * is valid. Returns candidate ids per island (with fewer candidates than islands, the best are replicated).
 */
export function assignColdStart(
  candidates: readonly ColdStartCandidate[],
  K: number,
  opts: {
    direction: Direction
    features?: readonly FeatureSpec[]
    language?: Language | string
    seed?: string | number
  },
): string[][] {
  const valid = candidates.filter((c) => isValidScore(c.score))
  const pool = valid.length > 0 ? valid : candidates.slice()
  if (pool.length === 0) return Array.from({ length: K }, () => [])
  const grid = new MapElitesGrid(opts.features ?? [], opts.direction)
  // range the features over the whole pool first, so normalization is the same for everyone
  for (const c of pool) grid.insert(c.id, isValidScore(c.score) ? c.score : 0, c.features ?? {})
  const dims = grid.dims().length
  const vectors = pool.map((c) => {
    const f = dims > 0 && c.features ? grid.normalized(c.features) : null
    const sk = c.sketch ?? (c.code !== undefined ? sketchCode(c.code, opts.language ?? 'python') : null)
    return combineVectors([
      { vector: f ?? (dims > 0 ? new Array<number>(dims).fill(0.5) : null), weight: 1 },
      { vector: sk?.vector ?? null, weight: dims > 0 ? 0.5 : 1 },
    ])
  })
  const order = pool
    .map((c, i) => ({ i, s: c.score }))
    .sort((a, b) => (isBetter(a.s, b.s, opts.direction) ? -1 : isBetter(b.s, a.s, opts.direction) ? 1 : a.i - b.i))
    .map((x) => x.i)
  const a = assignToIslands(vectors, K, new Rng(opts.seed ?? 'cold-start'), order)
  return a.islands.map((idx) => idx.map((i) => (pool[i] as ColdStartCandidate).id))
}
