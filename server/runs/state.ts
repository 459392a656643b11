// The in-memory state of one run, and how it is rebuilt: the stored candidates that finished,
// replayed in the order they finished (with the migrations at the evaluation they happened) into
// the pure search state (server/engine/evolution.ts), then the small snapshot on top.
import type { EscalationOutcome } from './escalations.ts'
import type { Db } from '../db.ts'
import { CostAwareBandit } from '../engine/bandit.ts'
import { Evolution, type EvolutionSnapshot } from '../engine/evolution.ts'
import { JUDGE_METRIC } from '../engine/judge.ts'
import { StepAdapter } from '../engine/operators-local.ts'
import { hashSeed, Rng } from '../engine/rng.ts'
import { Ensemble } from '../llm/ensemble.ts'
import type { LlmClientOptions } from '../llm/client.ts'
import { RunConfig, type RunStatus } from '../../client-safe/run-config.ts'
import { localArmWeights } from './producer.ts'
import type { ProblemSnapshot } from './service.ts'
import type { ProblemSpec } from '../contracts/problem.ts'

export interface EngineSnapshot {
  evolution: EvolutionSnapshot
  bandit: ReturnType<CostAwareBandit['toJSON']>
  stepAdapter: ReturnType<StepAdapter['toJSON']>
  /**
   * Each island's members when it was saved, for readers without the engine (an ended run's
   * candidate page); a resume rebuilds the populations by replay and never reads this.
   */
  populations?: StoredPopulations
}

export interface StoredPopulations {
  /** when it was saved (ms since the epoch): every few seconds while the engine runs, and as it stops */
  savedAt: number
  /** member ids by island index */
  islands: string[][]
}

export interface ActiveGuidance {
  id: string
  island: number | null
  text: string
  startEval: number
  expiresAfterEvals: number | null
  expiresAt: Date | null
}

export interface KnowledgeChunk {
  id: string
  text: string
  title?: string
  source?: string
}

export interface Critique {
  fromId: string
  text: string
  rating: number
}

export class RunState {
  config!: RunConfig
  problem!: ProblemSnapshot
  evo!: Evolution
  rng!: Rng
  bandit!: CostAwareBandit
  adapter = new StepAdapter()
  ensemble: Ensemble | null = null
  status: RunStatus = 'created'
  nextSeq = 0
  startedAt = Date.now()
  /** seconds the run had run before this session */
  activeSAtLoad = 0
  bestScore: number | null = null
  bestCandidateId: string | null = null
  seedScore: number | null = null
  /** stored evaluations at load (the budget counts from here) */
  evaluationsAtLoad = 0
  spendAtLoad = 0
  engineState: Partial<EngineSnapshot> = {}
  /** code of the members of the populations and of what is in flight (the rest is read on demand) */
  readonly code = new Map<string, string>()
  readonly scores = new Map<string, number | null>()
  readonly artifacts = new Map<string, Record<string, unknown>>()
  /** every metric of evaluated candidates: the secondary ones go into prompts beside the primary score */
  readonly metrics = new Map<string, Record<string, number | null>>()
  /** normalized hashes of every candidate made so far: an exact duplicate is never evaluated twice */
  readonly hashes = new Set<string>()
  readonly evaluatedInColdStart = new Set<string>()
  /** candidates experts banned: never parents again, not even of requests already in flight */
  readonly banned = new Set<string>()
  guidance: ActiveGuidance[] = []
  readonly knowledge = new Map<number, { retrievalId: string; chunks: KnowledgeChunk[]; until: number }>()
  /** why the island's last answer to a parent did not (wholly) apply, for the next prompt on that parent */
  private readonly notes = new Map<number, { parentId: string; texts: string[] }>()
  lessons: string[] = []
  /** the judge's critique a candidate's prompts carry: its own, else its nearest judged ancestor's */
  readonly critiques = new Map<string, Critique>()

  constructor(
    private readonly db: Db,
    readonly runId: string,
  ) {}

  /** What the next prompt on `parentId` in the island is told of the last answer to it (a note about another program would mislead). */
  notesFor(island: number, parentId: string): string[] {
    const n = this.notes.get(island)
    return n && n.parentId === parentId ? n.texts : []
  }

  /** Records the island's note about an answer to `parentId`; an answer to it with none clears it. */
  setNote(island: number, parentId: string, text: string | undefined): void {
    if (island < 0) return
    if (text) this.notes.set(island, { parentId, texts: [text] })
    else if (this.notes.get(island)?.parentId === parentId) this.notes.delete(island)
  }

  get language() {
    return this.problem.spec.language
  }

  get direction() {
    return this.problem.spec.direction
  }

  async load(llm: LlmClientOptions) {
    const run = await this.db.prisma.run.findUnique({ where: { id: this.runId } })
    if (!run) throw new Error(`no run ${this.runId}`)
    // stored configs of older versions lack newer settings: their defaults apply
    const parsed = RunConfig.safeParse(run.config)
    this.config = parsed.success ? parsed.data : (run.config as unknown as RunConfig)
    this.problem = run.problemSnapshot as unknown as ProblemSnapshot
    this.status = run.status as RunStatus
    this.evaluationsAtLoad = run.evaluations
    this.spendAtLoad = run.spendUsd
    this.nextSeq = run.nextSeq
    this.bestScore = run.bestScore
    this.bestCandidateId = run.bestCandidateId
    this.seedScore = run.seedScore
    this.startedAt = (run.startedAt ?? new Date()).getTime()
    this.activeSAtLoad = run.activeS
    this.engineState = (run.engineState ?? {}) as Partial<EngineSnapshot>
    const spec = this.problem.spec
    this.evo = new Evolution({
      language: spec.language,
      direction: spec.direction,
      // the judge's rating as one more axis of the grid, when the run asks for it
      features: this.config.judge?.feature
        ? [...spec.features, { name: JUDGE_METRIC, min: 0, max: 1, bins: 5 }]
        : spec.features,
      islands: this.config.islands,
      islandCapacity: this.config.populationPerIsland,
      migrationInterval: this.config.migrationInterval,
      migrationRate: this.config.migrationRate,
      selection: this.config.selection,
      exploration: this.config.exploration,
      noveltyThreshold: this.config.noveltyThreshold,
      stagnation: { window: this.config.stagnationWindow, optimum: provenOptimum(spec) },
      ratingWeight: this.config.ratingWeight,
      seed: `${this.config.seed}`,
    })
    if (this.config.mutator === 'llm') this.ensemble = new Ensemble(this.config.models, llm)
    this.bandit = new CostAwareBandit(this.armsFor(this.config), this.banditOptions())
  }

  banditOptions() {
    return banditOptionsFor(this.config)
  }

  /** The bandit's arms: the ensemble's members (their ids disambiguate duplicates), or the offline operators. */
  armsFor(config: RunConfig) {
    if (config.mutator === 'llm' && this.ensemble)
      return this.ensemble.members.map((m, i) => ({ id: m.id, weight: config.models[i]?.weight ?? m.weight }))
    return localArmWeights(config)
  }

  /** arms an expert set to weight 0 are left out of the bandit's choice */
  allowedArms(exclude?: ReadonlySet<string>): string[] | undefined {
    const arms = this.armsFor(this.config)
    if (!exclude?.size && !arms.some((a) => a.weight <= 0)) return undefined
    return arms.filter((a) => a.weight > 0 && !exclude?.has(a.id)).map((a) => a.id)
  }

  /** Rebuilds the populations from what is stored, in the order evaluations finished. */
  async replay() {
    const rows = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, status: 'evaluated' },
      select: {
        id: true,
        island: true,
        code: true,
        codeHash: true,
        score: true,
        features: true,
        parentIds: true,
        origin: true,
        pinned: true,
        banned: true,
        rating: true,
        artifacts: true,
        metrics: true,
        operator: true,
        operatorParams: true,
        model: true,
        judge: true,
      },
      orderBy: [{ evalIndex: 'asc' }, { seq: 'asc' }],
    })
    const hashes = await this.db.prisma.candidate.findMany({ where: { runId: this.runId }, select: { codeHash: true } })
    for (const r of hashes) if (r.codeHash) this.hashes.add(r.codeHash)
    const migrations = await this.db.prisma.migration.findMany({ where: { runId: this.runId }, orderBy: { id: 'asc' } })
    // escalations that changed an island (runs/escalations.ts), applied after the migrations of their evaluation
    const escalations = (
      await this.db.prisma.runEvent.findMany({
        where: { runId: this.runId, type: 'escalation' },
        orderBy: { id: 'asc' },
        select: { payload: true },
      })
    )
      .map((e) => e.payload as unknown as Pick<EscalationOutcome, 'island' | 'atEval' | 'status' | 'removed' | 'moves'>)
      .filter((e) => e.status === 'done')
    let m = 0
    let x = 0
    // evolving once the cold start placed its programs on islands (the rule cold-start.ts finished()
    // keeps): not from the status, which a resume through the console sets back to `created`
    const evolving = rows.some((r) => (r.origin === 'seed' || r.origin === 'cold-start') && r.island >= 0)
    for (const r of rows) {
      this.scores.set(r.id, r.score)
      this.noteCritique(r.id, r.parentIds[0], r.judge as { rating?: number; critique?: string } | null)
      if (r.artifacts) this.artifacts.set(r.id, r.artifacts as Record<string, unknown>)
      if (r.metrics) this.metrics.set(r.id, r.metrics as Record<string, number | null>)
      if (!evolving || r.island < 0) {
        if (r.origin === 'seed' || r.origin === 'cold-start') this.evaluatedInColdStart.add(r.id)
        continue
      }
      this.code.set(r.id, r.code)
      const parentScore = r.parentIds[0] !== undefined ? (this.scores.get(r.parentIds[0]) ?? null) : undefined
      const outcome = this.evo.ingest({
        id: r.id,
        island: r.island,
        code: r.code,
        codeHash: r.codeHash,
        score: r.score,
        features: (r.features ?? {}) as Record<string, number>,
        parentScore,
        pinned: r.pinned,
      })
      if (r.banned) {
        this.evo.ban(r.id)
        this.banned.add(r.id)
      }
      const arm = armOf(r.operator, r)
      if (arm && outcome.gain !== null) this.bandit.update(arm, outcome.reward, 0)
      while (m < migrations.length && migrations[m].atEval <= this.evo.evaluations) {
        const at = migrations[m].atEval
        const group = []
        while (m < migrations.length && migrations[m].atEval === at) group.push(migrations[m++])
        this.evo.applyMigration(
          group.map((g) => ({ from: g.fromIsland, to: g.toIsland, id: g.candidateId, codeHash: '', score: 0 })),
        )
      }
      while (x < escalations.length && escalations[x]!.atEval <= this.evo.evaluations)
        this.evo.applyEscalation(escalations[x++]!)
    }
    // experts' ratings are not in the snapshot: applied from the rows, wherever the candidates live now
    for (const r of rows)
      if (r.rating && evolving && r.island >= 0) this.evo.setRating(r.id, Math.sign(r.rating) as -1 | 1)
    const snapshot = this.engineState
    if (evolving && snapshot.evolution && snapshot.evolution.evaluations === this.evo.evaluations)
      this.evo.restore(snapshot.evolution)
    // the experts' exploration as stored with the run: set while it was paused or stopped, or after
    // the last snapshot before a crash, it is not in the snapshot
    this.evo.setExploration(this.config.exploration)
    for (const [island, v] of Object.entries(this.config.islandExploration ?? {}))
      if (Number(island) < this.config.islands) this.evo.setExploration(v, Number(island))
    if (snapshot.bandit) {
      try {
        this.bandit = CostAwareBandit.fromJSON(
          this.bandit.stats().map((s) => ({ id: s.id })),
          snapshot.bandit,
          this.banditOptions(),
        )
      } catch {
        // a changed arm set: keep the replayed statistics
      }
    }
    if (snapshot.stepAdapter) this.adapter = StepAdapter.fromJSON(snapshot.stepAdapter)
    this.rng = new Rng(hashSeed(`${this.config.seed}:${this.nextSeq}`))
    this.prune([])
  }

  /**
   * Forgets what only candidates no population holds any more needed: their code, metrics,
   * artifacts and critique (code is read back on demand). Prompts draw on the islands and the
   * archive; `keep` names the others still needed (evaluations in flight, repairs owed).
   */
  prune(keep: Iterable<string>) {
    const k = new Set(keep)
    for (const isl of this.evo.islands) for (const mem of isl.members()) k.add(mem.id)
    for (const e of this.evo.archive.list()) k.add(e.id)
    for (const map of [this.code, this.metrics, this.artifacts, this.critiques])
      for (const id of map.keys()) if (!k.has(id)) map.delete(id)
  }

  /** A judged candidate's own critique, or the one its parent's prompts carried. */
  noteCritique(
    id: string,
    parentId: string | undefined,
    review: { rating?: number; critique?: string } | null | undefined,
  ) {
    if (review?.critique && review.rating !== undefined)
      this.critiques.set(id, { fromId: id, text: review.critique, rating: review.rating })
    else {
      const inherited = parentId ? this.critiques.get(parentId) : undefined
      if (inherited) this.critiques.set(id, inherited)
    }
  }

  async codeOf(id: string): Promise<string> {
    const c = this.code.get(id)
    if (c !== undefined) return c
    const [row] = await this.db.sql<{ code: string }>('SELECT code FROM candidates WHERE id = $1', [id])
    if (!row) throw new Error(`candidate ${id} vanished`)
    this.code.set(id, row.code)
    return row.code
  }

  /** a candidate's artifacts: in memory while a population holds it, else read */
  async artifactsOf(id: string): Promise<Record<string, unknown> | undefined> {
    const a = this.artifacts.get(id)
    if (a !== undefined) return a
    const [row] = await this.db.sql<{ artifacts: Record<string, unknown> | null }>(
      'SELECT artifacts FROM candidates WHERE id = $1',
      [id],
    )
    return row?.artifacts ?? undefined
  }

  async reloadGuidance() {
    this.guidance = await this.db.prisma.guidance.findMany({
      where: { runId: this.runId, withdrawnAt: null },
      select: { id: true, island: true, text: true, startEval: true, expiresAfterEvals: true, expiresAt: true },
      orderBy: { createdAt: 'asc' },
    })
  }

  activeGuidance(island: number | null, evaluations: number) {
    const now = Date.now()
    return this.guidance.filter(
      (g) =>
        (g.island === null || g.island === island) &&
        (g.expiresAfterEvals === null || evaluations < g.startEval + g.expiresAfterEvals) &&
        (g.expiresAt === null || g.expiresAt.getTime() > now),
    )
  }

  activeKnowledge(island: number, evaluations: number) {
    const kn = this.knowledge.get(island)
    return kn && kn.until > evaluations ? kn : null
  }

  snapshot(): EngineSnapshot {
    return {
      evolution: this.evo.snapshot(),
      bandit: this.bandit.toJSON(),
      stepAdapter: this.adapter.toJSON(),
      populations: {
        savedAt: Date.now(),
        islands: this.evo.islands.map((isl) => Array.from(isl.members(), (m) => m.id)),
      },
    }
  }

  takeSeq() {
    return this.nextSeq++
  }
}

/**
 * The problem's reference value when it is a proven optimum (the stagnation detector's `optimum`): a
 * best-known value only is no ceiling, and an island at it may still find better.
 */
export function provenOptimum(spec: Pick<ProblemSpec, 'reference'>): number | undefined {
  return spec.reference?.optimal === true ? spec.reference.value : undefined
}

/** Offline operators cost nothing: their bandit ranks by reward alone. */
export function banditOptionsFor(config: Pick<RunConfig, 'mutator'>) {
  return { costExponent: config.mutator === 'llm' ? 1 : 0 }
}

/**
 * The bandit's figures as the engine last stored them, for a process that does not drive the run.
 * Arms are stored in the order of the run's models (the ensemble's members) or by operator name.
 */
export function storedArmStats(config: RunConfig, snapshot: Partial<EngineSnapshot> | null) {
  const arms = snapshot?.bandit?.arms ?? []
  if (!arms.length) return []
  const bandit = CostAwareBandit.fromJSON(
    arms.map((a) => ({ id: a.id })),
    snapshot!.bandit!,
    banditOptionsFor(config),
  )
  const local = new Map(localArmWeights(config).map((a) => [a.id, a.weight]))
  return bandit.stats().map((a, i) => ({
    ...a,
    weight: (config.mutator === 'llm' ? config.models[i]?.weight : local.get(a.id)) ?? 1,
  }))
}

/** The bandit arm a stored candidate came from. */
export function armOf(
  operator: string | null,
  row: { operatorParams?: unknown; model?: string | null; origin?: string },
): string | null {
  // a repair fixes a failure: it says nothing about how well its model mutates
  if (!operator || row.origin === 'repair') return null
  const params = row.operatorParams as { arm?: string } | null | undefined
  if (params?.arm) return params.arm
  if (operator.startsWith('llm:')) return row.model ?? null
  return null
}
