// The engine of one run: cold start, then the steady-state evolve stage, with every decision and
// result written before it is acted on. A killed process resumes by replaying what is stored
// (evaluated candidates in the order they finished, migrations at the evaluation they happened)
// into the pure in-memory state (server/engine/evolution.ts), then re-submitting what was in flight.
import { randomUUID } from 'node:crypto'
import type { Db } from '../db.ts'
import type { EvaluationBackend, EvalJob, EvalResult } from '../contracts/evaluation.ts'
import { isRetryable, MAX_INFRA_ATTEMPTS } from '../contracts/evaluation.ts'
import { CostAwareBandit } from '../engine/bandit.ts'
import { analyzeCode, exactJaccard, similarity, type CodeSketch } from '../engine/novelty.ts'
import { assignColdStart, Evolution, type EvolutionSnapshot, type IngestOutcome } from '../engine/evolution.ts'
import { fitnessStats, improvement, isBetter, scoreFromMetrics } from '../engine/fitness.ts'
import { StepAdapter } from '../engine/operators-local.ts'
import { hashSeed, Rng } from '../engine/rng.ts'
import type { StagnationEvent } from '../engine/stagnation.ts'
import type { EventBus } from '../events.ts'
import { Ensemble } from '../llm/ensemble.ts'
import type { Logger } from '../log.ts'
import { coldStartSize, type RunConfig, type RunStatus, LLM_OPERATORS } from './config.ts'
import { COLD_START_STRATEGIES, LOCAL_ARMS, localArmWeights, produceLocal, produceWithModel, type ProduceResult, type Produced } from './producer.ts'
import type { ProblemSnapshot } from './service.ts'

/** Knowledge and lessons plug in here (server/knowledge); the engine works without them. */
export interface EngineHooks {
  /** an island stalled (or an expert asked): chunks to put in that island's next prompts */
  retrieve?(input: { runId: string; island: number; problemId: string; queryText: string; trigger: 'stagnation' | 'expert' }): Promise<{
    retrievalId: string
    chunks: Array<{ id: string; text: string; title?: string; source?: string }>
  } | null>
  /** a candidate's prompt included these chunks */
  recordUses?(input: { retrievalId: string; chunkIds: string[]; candidateId: string; runId: string }): Promise<void>
  /** the candidate's fitness change against its parent is known (positive = better) */
  recordOutcome?(input: { candidateId: string; delta: number }): Promise<void>
  /** a candidate beat its island's best */
  onIslandBest?(input: { runId: string; problemId: string; candidateId: string; parentCode: string; childCode: string; parentScore: number | null; childScore: number; explanation?: string; operatorDescription?: string }): Promise<void>
  /** lessons approved for this problem, for the prompts */
  lessons?(problemId: string): Promise<string[]>
}

export interface EngineDeps {
  db: Db
  backend: EvaluationBackend
  events: EventBus
  log: Logger
  hooks?: EngineHooks
  /** environment the model clients read keys from (default process.env) */
  llmEnv?: NodeJS.ProcessEnv
}

interface InFlight {
  id: string
  island: number
  origin: string
  parentIds: string[]
  parentScore: number | null
  arm: string | null
  cost: number
  attempt: number
  code: string
  prepared: { codeHash: string; sketch: CodeSketch }
  retrieval?: { retrievalId: string; chunkIds: string[] }
  description?: string
  resolve: () => void
}

interface ActiveGuidance {
  id: string
  island: number | null
  text: string
  startEval: number
  expiresAfterEvals: number | null
  expiresAt: Date | null
}

const MAX_CONSECUTIVE_REJECTIONS = 300
const MAX_CONSECUTIVE_INFRA = 5
const METRIC_INTERVAL_MS = 1000
const SNAPSHOT_EVERY = 25

export class RunEngine {
  readonly runId: string
  private readonly deps: EngineDeps
  private config!: RunConfig
  private problem!: ProblemSnapshot
  private evo!: Evolution
  private rng!: Rng
  private status: RunStatus = 'created'
  private evaluations = 0
  private nextSeq = 0
  private spendUsd = 0
  private startedAt = Date.now()
  private bestScore: number | null = null
  private readonly inflight = new Map<string, InFlight>()
  /** budget slots taken by candidates between their budget check and their dispatch */
  private reserved = 0
  private readonly code = new Map<string, string>()
  private readonly scores = new Map<string, number | null>()
  private readonly artifacts = new Map<string, Record<string, unknown>>()
  private readonly hashes = new Set<string>()
  private bandit!: CostAwareBandit
  private adapter = new StepAdapter()
  private ensemble: Ensemble | null = null
  private guidance: ActiveGuidance[] = []
  private readonly knowledge = new Map<number, { retrievalId: string; chunks: Array<{ id: string; text: string; title?: string; source?: string }>; until: number }>()
  private readonly notes = new Map<number, string[]>()
  private lessons: string[] = []
  private stopping: { status: RunStatus; reason: string | null } | null = null
  private pauseRequested = false
  private detaching = false
  private consecutiveRejections = 0
  private consecutiveInfra = 0
  /** answers refused for good (bad key, unknown model): no point in asking a hundred more times */
  private fatalModelErrors = 0
  private lastMetricsAt = 0
  private readonly window: Array<{ t: number; valid: boolean }> = []
  private abort = new AbortController()
  private wake: (() => void) | null = null
  private readonly evaluatedInCold = new Set<string>()
  private guidanceSeen = { total: -1, withdrawn: -1 }
  private stopWatching: () => void = () => undefined

  constructor(deps: EngineDeps, runId: string) {
    this.deps = deps
    this.runId = runId
  }

  get db() {
    return this.deps.db
  }

  // ------------------------------------------------------------------ control

  /** Experts and admins act on a running engine through these. */
  pause() {
    this.pauseRequested = true
    this.wake?.()
  }

  /** Stop driving the run without changing its status (server shutdown): the next start resumes it. */
  detach() {
    this.detaching = true
    this.wake?.()
  }

  /** Ends the run as failed at once, cancelling what is in flight (the first reason wins). */
  private failNow(reason: string) {
    if (this.stopping) return
    this.stopping = { status: 'failed', reason }
    this.abort.abort()
  }

  stop(reason = 'stopped by a user') {
    this.stopping = { status: 'stopped', reason }
    this.abort.abort()
    this.wake?.()
  }

  setExploration(value: number, island?: number) {
    this.evo?.setExploration(value, island)
  }

  async reloadGuidance() {
    const rows = await this.db.prisma.guidance.findMany({
      where: { runId: this.runId, withdrawnAt: null },
      select: { id: true, island: true, text: true, startEval: true, expiresAfterEvals: true, expiresAt: true },
      orderBy: { createdAt: 'asc' },
    })
    this.guidance = rows
  }

  setPinned(id: string, pinned: boolean) {
    this.evo?.setPinned(id, pinned)
  }

  ban(id: string) {
    this.evo?.ban(id)
  }

  /**
   * Mid-run change of the mutation weights (the models of an LLM run, the offline operators of a
   * local run). The bandit gets new priors and keeps what it observed; an arm at weight 0 is not
   * chosen any more. The caller persists the config (run.config) so a resume sees the same weights.
   */
  setMutationWeights(input: { models?: number[]; localOperators?: RunConfig['localOperators'] }) {
    if (!this.bandit) throw new Error('the run has not started yet')
    const config: RunConfig = {
      ...this.config,
      localOperators: input.localOperators ?? this.config.localOperators,
      models: this.config.models.map((m, i) => ({ ...m, weight: input.models?.[i] ?? m.weight })),
    }
    const arms = this.armsFor(config)
    if (!arms.some((a) => a.weight > 0)) throw new Error('at least one model or operator needs a weight above 0')
    const opts = { costExponent: config.mutator === 'llm' ? 1 : 0 }
    const prior = new CostAwareBandit(arms, opts).toJSON()
    const seen = this.bandit.toJSON()
    // successes and failures observed so far are added onto the new prior (the bandit runs without decay)
    const merged = prior.arms.map((p) => {
      const o = seen.arms.find((a) => a.id === p.id)
      return o ? { ...o, alpha: p.alpha + o.rewardSum, beta: p.beta + o.pulls - o.rewardSum } : p
    })
    this.bandit = CostAwareBandit.fromJSON(arms, { arms: merged }, opts)
    this.config = config
  }

  /** What the console shows of the engine's knobs: exploration per island, bandit arms and their statistics. */
  controlState() {
    const snap = this.evo?.snapshot()
    const weights = new Map(this.bandit ? this.armsFor(this.config).map((a) => [a.id, a.weight]) : [])
    return {
      exploration: snap?.exploration ?? this.config?.exploration ?? null,
      islandExploration: snap ? Object.fromEntries(Object.entries(snap.islandExploration).map(([k, v]) => [Number(k), v])) : {},
      effectiveExploration: this.evo ? this.evo.islands.map((_, i) => this.evo.effectiveExploration(i)) : [],
      arms: this.bandit ? this.bandit.stats().map((s) => ({ ...s, weight: weights.get(s.id) ?? 1 })) : [],
    }
  }

  /** The islands whose population holds this candidate now (empty when evicted, banned or not yet evaluated). */
  populationOf(id: string): number[] {
    if (!this.evo) return []
    return this.evo.islands.flatMap((isl, i) => (isl.has(id) ? [i] : []))
  }

  private armsFor(config: RunConfig) {
    if (config.mutator === 'llm' && this.ensemble) return this.ensemble.members.map((m, i) => ({ id: m.id, weight: config.models[i]?.weight ?? m.weight }))
    return localArmWeights(config)
  }

  /** arms an expert set to weight 0 are left out of the bandit's choice */
  private allowedArms(): string[] | undefined {
    const arms = this.armsFor(this.config)
    return arms.some((a) => a.weight <= 0) ? arms.filter((a) => a.weight > 0).map((a) => a.id) : undefined
  }

  /** Knowledge retrieval on an expert's request: goes into the island's next prompts. */
  async retrieveNow(island: number) {
    await this.retrieveFor(island, 'expert')
  }

  /** An expert's edit of a candidate: evaluated like any candidate, placed on the chosen island. */
  async submitExpertEdit(input: { parentId: string; code: string; island: number; authorId: string | null }): Promise<string> {
    const parentScore = this.scores.get(input.parentId) ?? null
    const prepared = analyzeCode(input.code, this.problem.spec.language)
    const id = await this.persistCandidate({
      island: input.island,
      origin: 'expert-edit',
      operator: 'expert-edit',
      operatorParams: {},
      description: 'edited by an expert',
      parentIds: [input.parentId],
      code: input.code,
      codeHash: prepared.codeHash,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
      createdById: input.authorId,
    })
    void this.dispatch(id, { island: input.island, origin: 'expert-edit', parentIds: [input.parentId], parentScore, arm: null, cost: 0, code: input.code, prepared, description: 'expert edit' })
    return id
  }

  // ------------------------------------------------------------------ lifecycle

  /** Another process (the web server in server mode) may pause or stop the run, or change guidance. */
  private async watch() {
    const row = await this.db.prisma.run.findUnique({ where: { id: this.runId }, select: { status: true, statusReason: true } })
    if (!row) return this.stop('the run was deleted')
    if (row.status === 'paused' && !this.pauseRequested) this.pause()
    if (row.status === 'stopped' && !this.stopping) this.stop(row.statusReason ?? 'stopped')
    const n = await this.db.prisma.guidance.count({ where: { runId: this.runId } })
    const withdrawn = await this.db.prisma.guidance.count({ where: { runId: this.runId, withdrawnAt: { not: null } } })
    if (n !== this.guidanceSeen.total || withdrawn !== this.guidanceSeen.withdrawn) {
      this.guidanceSeen = { total: n, withdrawn }
      await this.reloadGuidance()
    }
  }

  /** Runs until the run completes, fails, is stopped, or is paused. Resolves with the final status. */
  async run(): Promise<{ status: RunStatus; reason: string | null }> {
    await this.load()
    const watcher = setInterval(() => void this.watch().catch(() => undefined), 2000)
    watcher.unref()
    // an expert's retrieval from the knowledge console goes into that island's next prompts
    const unsubscribe = this.deps.events.subscribe(this.runId, (e) => {
      if (e.type !== 'knowledge.retrieval') return
      const p = e.payload as { retrievalId: string; island: number | null; chunkIds: string[] }
      void this.useRetrieval(p).catch((err) => this.deps.log.warn(`expert retrieval not applied: ${(err as Error).message}`))
    })
    this.stopWatching = () => (clearInterval(watcher), unsubscribe())
    try {
      if (this.status === 'created' || this.status === 'paused' || this.status === 'completed' || this.status === 'stopped' || this.status === 'failed') {
        const coldDone = await this.db.prisma.candidate.count({ where: { runId: this.runId, origin: 'seed' } })
        await this.setStatus(coldDone && (await this.coldStartFinished()) ? 'evolving' : 'cold-start', null)
      }
      await this.resubmitInFlight()
      if (this.status === 'cold-start') await this.coldStart()
      if (this.status === 'evolving' && !this.halted()) await this.evolve()
      await this.drain()
      return await this.finish()
    } catch (e) {
      this.deps.log.error(`run ${this.runId}: ${(e as Error).stack ?? e}`)
      await this.setStatus('failed', `engine error: ${(e as Error).message}`)
      return { status: 'failed', reason: (e as Error).message }
    } finally {
      this.stopWatching()
      await this.saveSnapshot().catch(() => undefined)
      await this.writeMetrics(true).catch(() => undefined)
    }
  }

  private async load() {
    const run = await this.db.prisma.run.findUnique({ where: { id: this.runId } })
    if (!run) throw new Error(`no run ${this.runId}`)
    this.config = run.config as unknown as RunConfig
    this.problem = run.problemSnapshot as unknown as ProblemSnapshot
    this.status = run.status as RunStatus
    this.evaluations = run.evaluations
    this.nextSeq = run.nextSeq
    this.spendUsd = run.spendUsd
    this.bestScore = run.bestScore
    this.startedAt = (run.startedAt ?? new Date()).getTime()
    const spec = this.problem.spec
    this.evo = new Evolution({
      language: spec.language,
      direction: spec.direction,
      features: spec.features,
      islands: this.config.islands,
      islandCapacity: this.config.populationPerIsland,
      migrationInterval: this.config.migrationInterval,
      migrationRate: this.config.migrationRate,
      selection: this.config.selection,
      exploration: this.config.exploration,
      noveltyThreshold: this.config.noveltyThreshold,
      stagnation: { window: this.config.stagnationWindow },
      seed: `${this.config.seed}`,
    })
    const arms = this.config.mutator === 'llm' ? this.config.models.map((m) => ({ id: m.label ?? `${m.provider}:${m.model}`, weight: m.weight })) : localArmWeights(this.config)
    if (this.config.mutator === 'llm') {
      this.ensemble = new Ensemble(this.config.models, { env: this.deps.llmEnv })
      // the ensemble's ids are the bandit's arms (it disambiguates duplicates)
      arms.splice(0, arms.length, ...this.ensemble.members.map((m) => ({ id: m.id, weight: m.weight })))
    }
    this.bandit = new CostAwareBandit(arms, { costExponent: this.config.mutator === 'llm' ? 1 : 0 })
    await this.replay(run.engineState as unknown as Partial<EngineSnapshot>)
    await this.reloadGuidance()
    this.lessons = (await this.deps.hooks?.lessons?.(this.problem.id).catch(() => [])) ?? []
  }

  /** Rebuild the in-memory state from the stored candidates and migrations, in their original order. */
  private async replay(snapshot: Partial<EngineSnapshot>) {
    const rows = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, status: { in: ['evaluated', 'queued', 'running'] } },
      select: { id: true, island: true, code: true, codeHash: true, score: true, features: true, parentIds: true, status: true, evalIndex: true, origin: true, pinned: true, banned: true, artifacts: true, operator: true, operatorParams: true, model: true },
      orderBy: [{ evalIndex: 'asc' }, { seq: 'asc' }],
    })
    for (const r of rows) this.hashes.add(r.codeHash)
    const rejected = await this.db.prisma.candidate.findMany({ where: { runId: this.runId, status: 'rejected' }, select: { codeHash: true } })
    for (const r of rejected) this.hashes.add(r.codeHash)
    const migrations = await this.db.prisma.migration.findMany({ where: { runId: this.runId }, orderBy: { id: 'asc' } })
    let m = 0
    const evolving = this.status !== 'cold-start' && this.status !== 'created'
    for (const r of rows) {
      if (r.status !== 'evaluated') continue
      this.scores.set(r.id, r.score)
      if (r.artifacts) this.artifacts.set(r.id, r.artifacts as Record<string, unknown>)
      if (!evolving || r.island < 0) {
        if (r.origin === 'seed' || r.origin === 'cold-start') this.evaluatedInCold.add(r.id)
        continue
      }
      this.code.set(r.id, r.code)
      const parentScore = r.parentIds[0] !== undefined ? (this.scores.get(r.parentIds[0]) ?? null) : undefined
      const outcome = this.evo.ingest({ id: r.id, island: r.island, code: r.code, codeHash: r.codeHash, score: r.score, features: (r.features ?? {}) as Record<string, number>, parentScore, pinned: r.pinned })
      if (r.banned) this.evo.ban(r.id)
      const arm = armOf(r.operator, r)
      if (arm && outcome.gain !== null) this.bandit.update(arm, outcome.reward, 0)
      while (m < migrations.length && migrations[m].atEval <= this.evo.evaluations) {
        const at = migrations[m].atEval
        const group = []
        while (m < migrations.length && migrations[m].atEval === at) group.push(migrations[m++])
        this.evo.applyMigration(group.map((g) => ({ from: g.fromIsland, to: g.toIsland, id: g.candidateId, codeHash: '', score: 0 })))
      }
    }
    if (evolving && snapshot.evolution && snapshot.evolution.evaluations === this.evo.evaluations) {
      this.evo.restore(snapshot.evolution)
    }
    if (snapshot.bandit) {
      try {
        this.bandit = CostAwareBandit.fromJSON(this.bandit.stats().map((s) => ({ id: s.id })), snapshot.bandit, { costExponent: this.config.mutator === 'llm' ? 1 : 0 })
      } catch {
        // a changed arm set: keep the replayed statistics
      }
    }
    if (snapshot.stepAdapter) this.adapter = StepAdapter.fromJSON(snapshot.stepAdapter)
    this.rng = new Rng(hashSeed(`${this.config.seed}:${this.nextSeq}`))
    this.pruneCode()
  }

  private pruneCode() {
    const keep = new Set<string>()
    for (const isl of this.evo.islands) for (const mem of isl.members()) keep.add(mem.id)
    for (const id of this.code.keys()) if (!keep.has(id) && !this.inflight.has(id)) this.code.delete(id)
  }

  private async resubmitInFlight() {
    const pending = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, status: { in: ['queued', 'running'] } },
      select: { id: true, island: true, origin: true, parentIds: true, code: true, codeHash: true, attempt: true, operator: true, operatorParams: true, model: true },
      orderBy: { seq: 'asc' },
    })
    for (const p of pending) {
      // the previous process may have run it; no result was ingested, so it ran to no effect
      await this.db.prisma.candidate.update({ where: { id: p.id }, data: { attempt: p.attempt + 1, status: 'queued' } })
      const prepared = analyzeCode(p.code, this.problem.spec.language)
      void this.dispatch(
        p.id,
        { island: p.island, origin: p.origin, parentIds: p.parentIds, parentScore: p.parentIds[0] ? (this.scores.get(p.parentIds[0]) ?? null) : null, arm: armOf(p.operator, p), cost: 0, code: p.code, prepared },
        p.attempt + 1,
      )
    }
    if (pending.length) this.deps.log.info(`run ${this.runId}: re-submitted ${pending.length} evaluation(s) that were in flight`)
  }

  // ------------------------------------------------------------------ cold start

  private async coldStartFinished() {
    const n = await this.db.prisma.candidate.count({ where: { runId: this.runId, origin: { in: ['seed', 'cold-start'] }, status: { in: ['queued', 'running'] } } })
    const assigned = await this.db.prisma.candidate.count({ where: { runId: this.runId, origin: { in: ['seed', 'cold-start'] }, island: { gte: 0 } } })
    return n === 0 && assigned > 0
  }

  private async coldStart() {
    const maxEvals = this.config.budget.maxEvals
    const target = Math.max(0, Math.min(coldStartSize(this.config), maxEvals - 1))
    const language = this.problem.spec.language
    // 1. the seed program
    let seed = await this.db.prisma.candidate.findFirst({ where: { runId: this.runId, origin: 'seed' }, select: { id: true, status: true, code: true } })
    if (!seed) {
      const prepared = analyzeCode(this.problem.seedCode, language)
      const id = await this.persistCandidate({ island: -1, origin: 'seed', operator: 'seed', operatorParams: {}, description: 'the problem\'s entry program', parentIds: [], code: this.problem.seedCode, codeHash: prepared.codeHash, tokensIn: 0, tokensOut: 0, costUsd: 0 })
      seed = { id, status: 'queued', code: this.problem.seedCode }
      this.progress('cold start: evaluating the seed program')
      await this.dispatch(id, { island: -1, origin: 'seed', parentIds: [], parentScore: null, arm: null, cost: 0, code: seed.code, prepared })
    }
    await this.waitFor(() => this.inflight.size === 0 || this.halted())
    if (this.halted()) return
    // 2. differently configured generators, from the seed and from each other
    const existing = await this.db.prisma.candidate.findMany({ where: { runId: this.runId, origin: 'cold-start', status: { not: 'rejected' } }, select: { id: true, code: true } })
    const pool = [{ id: seed.id, code: seed.code }, ...existing]
    const sketches: CodeSketch[] = pool.map((p) => analyzeCode(p.code, language).sketch)
    let made = existing.length
    let attempts = 0
    const concurrency = this.concurrency()
    const inFlightCold: Promise<void>[] = []
    const seedScore = this.scores.get(seed.id) ?? null
    if (made < target) this.progress(`cold start: ${target} candidates from ${this.config.mutator === 'llm' ? 'strategy prompts × models' : 'operator variants'}`)
    while (made < target && attempts < target * 20 && !this.halted()) {
      attempts++
      const from = pool[attempts % 3 === 0 && pool.length > 1 ? 1 + this.rng.int(pool.length - 1) : 0]
      if (this.budgetReason()) break
      const r = await this.produceCold(from, made)
      if (r.costUsd) this.addSpend(r.costUsd)
      if ('rejected' in r) {
        await this.persistRejection(r, -1)
        continue
      }
      const prepared = analyzeCode(r.code, language)
      const near = sketches.findIndex((s) => similarity(s, prepared.sketch) >= this.config.noveltyThreshold)
      const dup = this.hashes.has(prepared.codeHash) || (near >= 0 && exactJaccard(r.code, pool[near].code, language) >= this.config.noveltyThreshold)
      if (dup) {
        await this.persistRejection({ ...r, rejected: true, reason: 'near-duplicate of an earlier cold-start candidate' }, -1, prepared.codeHash, r.code)
        continue
      }
      sketches.push(prepared.sketch)
      const id = await this.persistCandidate({ island: -1, origin: 'cold-start', operator: r.operator, operatorParams: r.operatorParams, description: r.description, parentIds: r.parentIds, code: r.code, codeHash: prepared.codeHash, model: r.model, prompt: r.prompt, response: r.response, tokensIn: r.tokensIn, tokensOut: r.tokensOut, costUsd: r.costUsd })
      pool.push({ id, code: r.code })
      made++
      inFlightCold.push(this.dispatch(id, { island: -1, origin: 'cold-start', parentIds: r.parentIds, parentScore: seedScore, arm: r.arm, cost: r.costUsd, code: r.code, prepared }))
      if (this.inflight.size >= concurrency) await this.waitFor(() => this.inflight.size < concurrency || this.halted())
    }
    await this.waitFor(() => this.inflight.size === 0 || this.halted())
    if (this.halted()) return
    // 3. cluster the evaluated pool into islands, each in its own niche
    const evaluated = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, origin: { in: ['seed', 'cold-start'] }, status: 'evaluated' },
      select: { id: true, code: true, score: true, features: true, evalIndex: true },
      orderBy: { evalIndex: 'asc' },
    })
    const K = this.config.islands
    const groups = assignColdStart(
      evaluated.map((c) => ({ id: c.id, score: c.score, features: (c.features ?? {}) as Record<string, number>, code: c.code })),
      K,
      { direction: this.problem.spec.direction, features: this.problem.spec.features, language, seed: `${this.config.seed}` },
    )
    const primary = new Map<string, number>()
    const replicas: Array<{ from: number; to: number; id: string }> = []
    groups.forEach((ids, island) => {
      for (const id of ids) {
        if (!primary.has(id)) primary.set(id, island)
        else replicas.push({ from: primary.get(id)!, to: island, id })
      }
    })
    // invalid cold-start candidates stay out of the populations but keep an island for the record
    evaluated.forEach((c, i) => !primary.has(c.id) && primary.set(c.id, i % K))
    await this.db.prisma.$transaction(async (tx) => {
      for (const [id, island] of primary) await tx.candidate.update({ where: { id }, data: { island } })
      if (replicas.length) {
        await tx.migration.createMany({ data: replicas.map((r) => ({ runId: this.runId, fromIsland: r.from, toIsland: r.to, candidateId: r.id, atEval: evaluated.length })), skipDuplicates: true })
      }
      await tx.run.update({ where: { id: this.runId }, data: { status: 'evolving', statusReason: null } })
    })
    this.status = 'evolving'
    for (const c of evaluated) {
      const island = primary.get(c.id)!
      this.code.set(c.id, c.code)
      await this.ingestIntoEvolution({ id: c.id, island, code: c.code, score: c.score, features: (c.features ?? {}) as Record<string, number>, parentScore: null, arm: null, cost: 0, origin: 'cold-start', parentIds: [] })
    }
    if (replicas.length) this.evo.applyMigration(replicas.map((r) => ({ ...r, codeHash: '', score: 0 })))
    this.deps.events.publish({ runId: this.runId, type: 'status', payload: { status: 'evolving' } })
    const sizes = this.evo.islands.map((i) => i.size)
    this.progress(`cold start done: ${evaluated.length} evaluated, islands of ${sizes.join('/')} members`)
    await this.writeMetrics(true)
  }

  private async produceCold(from: { id: string; code: string }, index: number): Promise<ProduceResult> {
    const language = this.problem.spec.language
    if (this.config.mutator === 'local') {
      // every offline variant in turn: different step sizes, different operators
      const arm = LOCAL_ARMS[index % LOCAL_ARMS.length].id
      return produceLocal(arm, from, null, language, this.rng, this.adapter)
    }
    const modelId = this.ensemble!.ids[index % this.ensemble!.ids.length]
    const strategy = COLD_START_STRATEGIES[index % COLD_START_STRATEGIES.length]
    const temps = [0.3, 0.7, 1.0]
    return produceWithModel(this.ensemble!, {
      mode: 'full',
      modelId,
      problem: this.problem,
      parent: { id: from.id, code: from.code, score: this.scores.get(from.id) ?? null },
      inspirations: [],
      guidance: this.activeGuidance(null).map((g) => ({ id: g.id, text: g.text })),
      knowledge: [],
      lessons: this.lessons,
      notes: [],
      strategy,
      temperature: temps[Math.floor(index / COLD_START_STRATEGIES.length) % temps.length],
      tokenBudget: this.config.promptTokenBudget,
      signal: this.abort.signal,
    })
  }

  // ------------------------------------------------------------------ evolve

  private concurrency() {
    return Math.max(1, this.config.concurrency || this.deps.backend.capacity() || 1)
  }

  private halted() {
    return this.stopping !== null || this.pauseRequested || this.detaching
  }

  private budgetReason(): string | null {
    const b = this.config.budget
    if (this.evaluations >= b.maxEvals) return `evaluation budget reached (${b.maxEvals})`
    if (b.maxSpendUsd !== undefined && this.spendUsd >= b.maxSpendUsd) return `spend budget reached ($${b.maxSpendUsd})`
    if (b.maxWallS !== undefined && (Date.now() - this.startedAt) / 1000 >= b.maxWallS) return `time budget reached (${b.maxWallS} s)`
    return null
  }

  private async evolve() {
    if (this.evo.islands.every((i) => i.selector.size === 0)) {
      const seed = await this.db.prisma.candidate.findFirst({ where: { runId: this.runId, origin: 'seed' }, select: { artifacts: true, error: true } })
      const why = (seed?.error as { message?: string } | null)?.message ?? (seed?.artifacts as { feedback?: string } | null)?.feedback ?? 'see its artifacts'
      this.stopping = { status: 'failed', reason: `no valid candidate after the cold start: the seed program is invalid (${String(why).slice(0, 300)})` }
      return
    }
    const slots = Array.from({ length: this.concurrency() }, (_, i) => this.slot(i))
    await Promise.all(slots)
  }

  private canProduce() {
    if (this.halted()) return false
    const b = this.config.budget
    // reserved: slots past their budget check that have not dispatched yet (they await the database)
    if (this.evaluations + this.inflight.size + this.reserved >= b.maxEvals) return false
    return this.budgetReason() === null
  }

  /** One evaluation slot: produce, persist, evaluate, ingest; again. No barrier between slots. */
  private async slot(_index: number) {
    while (this.canProduce()) {
      const produced = await this.produceEvolve()
      if (!produced) {
        if (++this.consecutiveRejections >= MAX_CONSECUTIVE_REJECTIONS) {
          this.stopping = { status: 'failed', reason: `${MAX_CONSECUTIVE_REJECTIONS} candidates in a row were rejected before evaluation (duplicates or unusable edits); see the rejected candidates` }
        }
        continue
      }
      this.consecutiveRejections = 0
      const { r, island, parentScore, prepared, retrieval, guidanceIds } = produced
      if (!this.canProduce()) {
        // made (and paid for) while another slot used up the budget: kept, not evaluated
        await this.persistRejection({ ...r, rejected: true, reason: 'not evaluated: the run reached its budget or was halted' }, island, prepared.codeHash, r.code)
        break
      }
      // hold this budget slot across the awaits below, or another slot passes the same check and the
      // run evaluates more than its budget
      this.reserved++
      let id: string
      try {
        id = await this.persistCandidate({
          island, origin: r.origin, operator: r.operator, operatorParams: r.operatorParams, description: r.description, parentIds: r.parentIds,
          code: r.code, codeHash: prepared.codeHash, model: r.model, prompt: r.prompt, response: r.response, tokensIn: r.tokensIn, tokensOut: r.tokensOut,
          costUsd: r.costUsd, guidanceIds,
        })
        if (retrieval && this.deps.hooks?.recordUses) {
          await this.deps.hooks.recordUses({ retrievalId: retrieval.retrievalId, chunkIds: retrieval.chunkIds, candidateId: id, runId: this.runId }).catch((e) => this.deps.log.warn(`knowledge use not recorded: ${e.message}`))
        }
      } finally {
        // released in the same turn as dispatch() adds the candidate to inflight
        this.reserved--
      }
      await this.dispatch(id, { island, origin: r.origin, parentIds: r.parentIds, parentScore, arm: r.arm, cost: r.costUsd, code: r.code, prepared, retrieval, description: r.description })
    }
  }

  private activeGuidance(island: number | null) {
    const now = Date.now()
    return this.guidance.filter(
      (g) =>
        (g.island === null || g.island === island) &&
        (g.expiresAfterEvals === null || this.evaluations < g.startEval + g.expiresAfterEvals) &&
        (g.expiresAt === null || g.expiresAt.getTime() > now),
    )
  }

  private async codeOf(id: string): Promise<string> {
    const c = this.code.get(id)
    if (c !== undefined) return c
    const row = await this.db.prisma.candidate.findUnique({ where: { id }, select: { code: true } })
    if (!row) throw new Error(`candidate ${id} vanished`)
    this.code.set(id, row.code)
    return row.code
  }

  private async produceEvolve(): Promise<{ r: Produced; island: number; parentScore: number | null; prepared: { codeHash: string; sketch: CodeSketch }; retrieval?: { retrievalId: string; chunkIds: string[] }; guidanceIds: string[] } | null> {
    const plan = this.evo.plan()
    if (!plan) return null
    const island = plan.island
    const parent = { id: plan.parent.id, code: await this.codeOf(plan.parent.id) }
    const mate = plan.mate ? { id: plan.mate.id, code: await this.codeOf(plan.mate.id) } : null
    const guidance = this.activeGuidance(island)
    const language = this.problem.spec.language
    let r: ProduceResult
    let retrieval: { retrievalId: string; chunkIds: string[] } | undefined
    if (this.config.mutator === 'local') {
      const arm = this.bandit.choose(this.rng, this.allowedArms())
      r = produceLocal(arm, parent, mate, language, this.rng, this.adapter)
    } else {
      const modelId = this.bandit.choose(this.rng, this.allowedArms())
      const weights = LLM_OPERATORS.map((o) => (o === 'crossover' && !mate ? 0 : (this.config.llmOperators[o] ?? 0)))
      const mode = weights.some((w) => w > 0) ? LLM_OPERATORS[this.rng.weightedIndex(weights)] : 'diff'
      const kn = this.knowledge.get(island)
      if (kn && kn.until > this.evaluations) retrieval = { retrievalId: kn.retrievalId, chunkIds: kn.chunks.map((c) => c.id) }
      const inspirations = await Promise.all(
        plan.inspirations.map(async (i) => ({ id: i.id, code: await this.codeOf(i.id), score: i.score, kind: i.kind })),
      )
      r = await produceWithModel(this.ensemble!, {
        mode: mode === 'rewrite' ? 'full' : mode,
        modelId,
        problem: this.problem,
        parent: { ...parent, score: plan.parent.score, artifacts: this.artifacts.get(parent.id) },
        mate: mate ? { ...mate, score: plan.mate?.score ?? null } : null,
        inspirations,
        guidance: guidance.map((g) => ({ id: g.id, text: g.text, scope: g.island === null ? 'run' : `island ${g.island}` })),
        knowledge: kn && kn.until > this.evaluations ? kn.chunks : [],
        lessons: this.lessons,
        notes: this.notes.get(island) ?? [],
        tokenBudget: this.config.promptTokenBudget,
        signal: this.abort.signal,
      })
      if (r.costUsd) this.addSpend(r.costUsd)
    }
    if ('rejected' in r) {
      this.bandit.update(r.arm, 0, r.costUsd)
      if (r.feedback) this.notes.set(island, [r.feedback])
      await this.persistRejection(r, island)
      return null
    }
    this.notes.delete(island)
    const prepared = analyzeCode(r.code, language)
    if (this.hashes.has(prepared.codeHash)) {
      await this.persistRejection({ ...r, rejected: true, reason: 'duplicate of an existing candidate (same normalized code)' }, island, prepared.codeHash, r.code)
      this.bandit.update(r.arm, 0, r.costUsd)
      return null
    }
    const verdict = this.evo.checkNovelty(island, prepared, this.config.noveltyThreshold)
    // MinHash cannot tell a one-literal change (exact similarity ≈ 0.99) from a copy; confirm on the code
    const near = verdict.nearest
    const confirmed = !verdict.novel && (!near || exactJaccard(r.code, await this.codeOf(near.id).catch(() => ''), language) >= this.config.noveltyThreshold)
    if (confirmed) {
      await this.persistRejection({ ...r, rejected: true, reason: `near-duplicate of ${near?.id ?? 'a member'} (similarity ${near ? near.similarity.toFixed(3) : '≥ threshold'})` }, island, prepared.codeHash, r.code)
      this.bandit.update(r.arm, 0, r.costUsd)
      return null
    }
    return { r, island, parentScore: plan.parent.score, prepared, retrieval, guidanceIds: guidance.map((g) => g.id) }
  }

  // ------------------------------------------------------------------ persistence

  private async persistCandidate(c: {
    island: number; origin: string; operator: string; operatorParams: Record<string, unknown>; description: string; parentIds: string[]; code: string; codeHash: string
    model?: string; prompt?: string; response?: string; tokensIn: number; tokensOut: number; costUsd: number; guidanceIds?: string[]; createdById?: string | null
  }): Promise<string> {
    const id = randomUUID()
    const seq = this.nextSeq++
    this.hashes.add(c.codeHash)
    this.fatalModelErrors = 0
    await this.db.sql(
      `WITH c AS (
        INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, prompt, response,
          tokens_in, tokens_out, cost_usd, status, guidance_ids, created_by_id)
        VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16, 'queued', $17::text[], $18)
        RETURNING id)
      UPDATE runs SET next_seq = GREATEST(next_seq, $3 + 1), spend_usd = spend_usd + $16, updated_at = now() WHERE id = $2`,
      [id, this.runId, seq, c.island, c.parentIds, c.origin, c.operator, JSON.stringify({ ...c.operatorParams, description: c.description }), c.model ?? null,
        c.code, c.codeHash, c.prompt ?? null, c.response ?? null, c.tokensIn, c.tokensOut, c.costUsd, c.guidanceIds ?? [], c.createdById ?? null],
    )
    return id
  }

  private async persistRejection(r: Extract<ProduceResult, { rejected: true }> | (Produced & { rejected: true; reason: string }), island: number, codeHash = '', code = '') {
    const seq = this.nextSeq++
    const id = randomUUID()
    if (/^model error \((auth|config|bad-request)\)/.test(r.reason)) {
      if (++this.fatalModelErrors >= 3) this.failNow(`the model provider refused 3 requests in a row (${r.reason.slice(0, 300)}); check the model name, its base URL and its API key variable`)
    }
    await this.db.sql(
      `WITH c AS (
        INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
          tokens_in, tokens_out, cost_usd, status, reject_reason, guidance_ids)
        VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'rejected', $16, '{}'::text[])
        RETURNING id)
      UPDATE runs SET next_seq = GREATEST(next_seq, $3 + 1), spend_usd = spend_usd + $15 WHERE id = $2`,
      [id, this.runId, seq, island, r.parentIds, r.parentIds.length > 1 ? 'crossover' : 'mutation', r.operator, r.model ?? null, code, codeHash,
        r.prompt ?? null, r.response ?? null, r.tokensIn, r.tokensOut, r.costUsd, r.reason],
    )
    this.deps.events.publish({ runId: this.runId, type: 'rejected', payload: { id, island, reason: r.reason } })
  }

  /** In memory at once, for the budget checks; the database's total grows with the row that records the call. */
  private addSpend(usd: number) {
    this.spendUsd += usd
  }

  private dispatch(id: string, f: Omit<InFlight, 'id' | 'resolve' | 'attempt'>, attempt = 0): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry: InFlight = { ...f, id, attempt, resolve }
      this.inflight.set(id, entry)
      const spec = this.problem.spec
      const job: EvalJob = {
        jobId: id,
        runId: this.runId,
        problem: { id: this.problem.id, bundleHash: this.problem.bundleHash },
        language: spec.language,
        code: f.code,
        stage: 0,
        limits: { timeoutS: spec.limits.timeoutS, memoryMb: spec.limits.memoryMb, cpuS: spec.limits.cpuS ?? spec.limits.timeoutS * 2 },
        needs: { gpu: !!spec.limits.gpu, languages: [spec.language] },
        attempt,
        enqueuedAt: Date.now(),
      }
      this.deps.backend.submit(job).catch(async (e) => {
        // the job could not even be queued: an infra error, retried like one
        await this.onResult({ jobId: id, attempt, workerId: 'engine', valid: false, metrics: {}, features: {}, artifacts: {}, stage: 0, timing: { queuedMs: 0, startedAt: Date.now(), sandboxMs: 0, evaluatorMs: 0 }, error: { kind: 'infra', message: `could not submit: ${(e as Error).message}` } })
      })
    })
  }

  /** The manager routes every evaluation result here; true when this run was waiting for it. */
  owns(jobId: string) {
    return this.inflight.has(jobId)
  }

  async onResult(r: EvalResult) {
    const f = this.inflight.get(r.jobId)
    if (!f || f.attempt !== r.attempt) return // not ours, or a stale attempt: ignored (idempotent)
    if (isRetryable(r) && r.attempt + 1 < MAX_INFRA_ATTEMPTS && !this.stopping) {
      this.deps.log.warn(`evaluation ${r.jobId} attempt ${r.attempt} hit an infrastructure error (${r.error?.message}); retrying`)
      await this.db.prisma.candidate.update({ where: { id: r.jobId }, data: { attempt: r.attempt + 1 } })
      this.inflight.delete(r.jobId)
      f.attempt = r.attempt + 1
      this.inflight.set(r.jobId, f)
      const resolve = f.resolve
      void this.dispatch(r.jobId, { ...f }, f.attempt).then(resolve)
      return
    }
    const spec = this.problem.spec
    const score = scoreFromMetrics(r.metrics as Record<string, number>, { primaryMetric: spec.primaryMetric, direction: spec.direction }, r.valid)
    const valid = r.valid && score !== null
    const artifacts = { ...r.artifacts, ...(r.valid && score === null ? { feedback: `the evaluator reported no "${spec.primaryMetric}" metric` } : {}) }
    // idempotent: only a queued/running candidate at this attempt becomes evaluated, once
    const updated = await this.db.sql<{ eval_index: number }>(
      `WITH c AS (
        UPDATE candidates SET status = 'evaluated', valid = $3, score = $4, metrics = $5::jsonb, features = $6::jsonb, artifacts = $7::jsonb,
          error = $8::jsonb, timing = $9::jsonb, worker_id = $10, eval_index = (SELECT evaluations FROM runs WHERE id = $2), evaluated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running') AND attempt = $11
        RETURNING eval_index)
      UPDATE runs SET evaluations = evaluations + 1, updated_at = now() FROM c WHERE runs.id = $2 RETURNING c.eval_index`,
      [r.jobId, this.runId, valid, score, JSON.stringify(r.metrics), JSON.stringify(r.features), JSON.stringify(artifacts), r.error ? JSON.stringify(r.error) : null,
        JSON.stringify(r.timing), r.workerId, r.attempt],
    )
    this.inflight.delete(r.jobId)
    if (updated.length === 0) return f.resolve()
    this.evaluations++
    this.scores.set(r.jobId, valid ? score : null)
    this.artifacts.set(r.jobId, artifacts)
    this.window.push({ t: Date.now(), valid })
    // the evaluation system itself keeps failing (no worker can start, the queue is gone): the run
    // cannot make progress, and saying why beats spending the budget on nothing
    this.consecutiveInfra = r.error?.kind === 'infra' ? this.consecutiveInfra + 1 : 0
    if (this.consecutiveInfra >= MAX_CONSECUTIVE_INFRA) this.failNow(`${MAX_CONSECUTIVE_INFRA} evaluations in a row failed for infrastructure reasons, after retries: ${r.error!.message.slice(0, 500)}`)
    if (f.origin === 'seed') {
      await this.db.prisma.run.update({ where: { id: this.runId }, data: { seedScore: valid ? score : null } })
    }
    this.deps.events.publish({
      runId: this.runId,
      type: 'candidate',
      payload: { id: r.jobId, evalIndex: updated[0].eval_index, island: f.island, origin: f.origin, valid, score, parentIds: f.parentIds },
    })
    if (this.status === 'evolving' && f.island >= 0) {
      this.code.set(r.jobId, f.code)
      await this.ingestIntoEvolution({ id: r.jobId, island: f.island, code: f.code, codeHash: f.prepared.codeHash, sketch: f.prepared.sketch, score: valid ? score : null, features: r.features as Record<string, number>, parentScore: f.parentScore, arm: f.arm, cost: f.cost, origin: f.origin, parentIds: f.parentIds, retrieval: f.retrieval, description: f.description })
    } else if (valid && score !== null) {
      await this.noteBest(r.jobId, score, null)
    }
    await this.writeMetrics(false)
    if (this.evaluations % SNAPSHOT_EVERY === 0) await this.saveSnapshot()
    f.resolve()
    this.wake?.()
  }

  private async noteBest(id: string, score: number, island: number | null) {
    const dir = this.problem.spec.direction
    if (this.bestScore === null || isBetter(score, this.bestScore, dir)) {
      this.bestScore = score
      await this.db.prisma.run.update({ where: { id: this.runId }, data: { bestScore: score, bestCandidateId: id } })
      this.deps.events.publish({ runId: this.runId, type: 'best', payload: { id, score, island } })
    }
  }

  private async ingestIntoEvolution(c: {
    id: string; island: number; code: string; codeHash?: string; sketch?: CodeSketch; score: number | null; features: Record<string, number>; parentScore: number | null
    arm: string | null; cost: number; origin: string; parentIds: string[]; retrieval?: { retrievalId: string; chunkIds: string[] }; description?: string
  }) {
    const outcome: IngestOutcome = this.evo.ingest({ id: c.id, island: c.island, code: c.code, codeHash: c.codeHash, sketch: c.sketch, score: c.score, features: c.features, parentScore: c.parentIds.length ? c.parentScore : undefined })
    for (const ev of outcome.evicted) if (!this.inflight.has(ev)) this.code.delete(ev)
    if (c.arm) this.bandit.update(c.arm, outcome.reward, c.cost)
    if (c.arm && c.origin !== 'cold-start' && this.config.mutator === 'local') {
      const params = await this.operatorParamsOf(c.id)
      if (params) this.adapter.record(params, outcome.gain !== null && outcome.gain > 0)
    }
    const delta = c.parentIds.length && c.score !== null ? improvement(c.score, c.parentScore, this.problem.spec.direction) : null
    if (delta !== null && c.retrieval && this.deps.hooks?.recordOutcome) {
      await this.deps.hooks.recordOutcome({ candidateId: c.id, delta }).catch((e) => this.deps.log.warn(`knowledge outcome not recorded: ${e.message}`))
    }
    if (c.score !== null) {
      if (outcome.newBest) {
        await this.db.prisma.island.update({ where: { runId_index: { runId: this.runId, index: c.island } }, data: { bestScore: c.score, bestCandidateId: c.id, stagnant: false } })
        if (c.parentIds.length && this.deps.hooks?.onIslandBest && this.status === 'evolving') {
          const parentCode = await this.codeOf(c.parentIds[0]).catch(() => '')
          await this.deps.hooks
            .onIslandBest({ runId: this.runId, problemId: this.problem.id, candidateId: c.id, parentCode, childCode: c.code, parentScore: c.parentScore, childScore: c.score, operatorDescription: c.description })
            .catch((e) => this.deps.log.warn(`lesson not proposed: ${e.message}`))
        }
      }
      await this.noteBest(c.id, c.score, c.island)
    }
    for (const ev of outcome.stagnation) await this.onStagnation(ev)
    if (outcome.migrationDue) await this.migrate()
  }

  private async operatorParamsOf(id: string) {
    const row = await this.db.prisma.candidate.findUnique({ where: { id }, select: { operatorParams: true } })
    return row?.operatorParams as Record<string, unknown> | null
  }

  private async migrate() {
    const moves = this.evo.planMigration()
    if (moves.length) {
      await this.db.prisma.migration.createMany({
        data: moves.map((m) => ({ runId: this.runId, fromIsland: m.from, toIsland: m.to, candidateId: m.id, atEval: this.evo.evaluations })),
        skipDuplicates: true,
      })
    }
    this.evo.applyMigration(moves)
    for (const m of moves) if (!this.code.has(m.id)) await this.codeOf(m.id)
    if (moves.length) this.deps.events.publish({ runId: this.runId, type: 'migration', payload: { at: this.evo.evaluations, moves: moves.length } })
  }

  private async onStagnation(ev: StagnationEvent) {
    await this.db.prisma.island.update({ where: { runId_index: { runId: this.runId, index: ev.island } }, data: { stagnant: ev.kind !== 'recovered' } })
    const row = await this.db.prisma.runEvent.create({ data: { runId: this.runId, type: 'stagnation', payload: JSON.parse(JSON.stringify(ev)) }, select: { id: true } })
    this.deps.events.publish({ id: String(row.id), runId: this.runId, type: 'stagnation', payload: ev })
    if (ev.kind !== 'recovered') {
      this.progress(`island ${ev.island} stalled: ${ev.message}`)
      if (ev.suggestions.includes('retrieve-knowledge')) await this.retrieveFor(ev.island, 'stagnation')
    }
  }

  private async useRetrieval(p: { retrievalId: string; island: number | null; chunkIds: string[] }) {
    const rows = await this.db.prisma.knowledgeChunk.findMany({
      where: { id: { in: p.chunkIds } },
      select: { id: true, content: true, heading: true, doc: { select: { title: true, sourcePath: true } } },
    })
    const byId = new Map(rows.map((r) => [r.id, r]))
    const chunks = p.chunkIds.flatMap((id) => {
      const r = byId.get(id)
      return r ? [{ id, text: r.content, title: r.heading ? `${r.doc.title} — ${r.heading}` : r.doc.title, source: r.doc.sourcePath ?? undefined }] : []
    })
    if (!chunks.length) return
    const islands = p.island === null || p.island === undefined ? this.evo.islands.map((_, i) => i) : [p.island]
    for (const i of islands) this.knowledge.set(i, { retrievalId: p.retrievalId, chunks, until: this.evaluations + this.config.stagnationWindow })
  }

  private async retrieveFor(island: number, trigger: 'stagnation' | 'expert') {
    if (!this.deps.hooks?.retrieve) return
    const best = this.evo.island(island).best()
    const bestCode = best ? await this.codeOf(best.id).catch(() => '') : ''
    const queryText = `${this.problem.name}\n${this.problem.description.slice(0, 1500)}\n${bestCode.slice(0, 3000)}`
    try {
      const r = await this.deps.hooks.retrieve({ runId: this.runId, island, problemId: this.problem.id, queryText, trigger })
      if (r && r.chunks.length) {
        this.knowledge.set(island, { ...r, until: this.evaluations + this.config.stagnationWindow })
        this.deps.events.publish({ runId: this.runId, type: 'retrieval', payload: { island, trigger, chunks: r.chunks.length } })
      }
    } catch (e) {
      this.deps.log.warn(`knowledge retrieval failed for island ${island}: ${(e as Error).message}`)
    }
  }

  // ------------------------------------------------------------------ metrics, snapshot, end

  private async writeMetrics(force: boolean) {
    const now = Date.now()
    if (!force && now - this.lastMetricsAt < METRIC_INTERVAL_MS) return
    if (!this.evo) return
    this.lastMetricsAt = now
    while (this.window.length && now - this.window[0].t > 30_000) this.window.shift()
    const span = this.window.length > 1 ? (now - this.window[0].t) / 1000 : 0
    const evalsPerSec = span > 0 ? this.window.length / span : 0
    const failureRate = this.window.length ? this.window.filter((w) => !w.valid).length / this.window.length : 0
    const dir = this.problem.spec.direction
    const rows = this.evo.islands.map((isl, i) => {
      const d = isl.diversity({ seed: this.evaluations })
      const diversity: Record<string, number> = { code: round(d.codeDistance), coverage: round(d.coverage ?? 0) }
      return { island: i, best: d.fitness.best, mean: d.fitness.mean, median: d.fitness.median, population: d.size, diversity }
    })
    const all = fitnessStats(this.evo.islands.flatMap((i) => [...i.members()].map((m) => m.score)), dir)
    const rd = this.evo.diversity()
    rows.push({ island: -1, best: this.bestScore, mean: all.mean, median: all.median, population: rows.reduce((n, r) => n + r.population, 0), diversity: { code: round(rd.codeDistance), coverage: round(rd.coverage ?? 0), interIsland: round(rd.interIslandDistance) } })
    const data = rows.map((r) => ({ runId: this.runId, evalCount: this.evaluations, evalsPerSec, failureRate, spendUsd: this.spendUsd, ...r }))
    await this.db.prisma.runMetric.createMany({ data })
    this.deps.events.publish({ runId: this.runId, type: 'metrics', payload: { evalCount: this.evaluations, rows: data.map(({ runId: _r, ...d }) => d) } })
  }

  private async saveSnapshot() {
    if (!this.evo || this.status === 'cold-start') return
    const snap: EngineSnapshot = { evolution: this.evo.snapshot(), bandit: this.bandit.toJSON(), stepAdapter: this.adapter.toJSON() }
    await this.db.prisma.run.update({ where: { id: this.runId }, data: { engineState: JSON.parse(JSON.stringify(snap)) } })
  }

  private async setStatus(status: RunStatus, reason: string | null) {
    this.status = status
    const final = status === 'completed' || status === 'stopped' || status === 'failed'
    await this.db.prisma.run.update({
      where: { id: this.runId },
      data: { status, statusReason: reason, finishedAt: final ? new Date() : null, ...(status === 'cold-start' || status === 'evolving' ? { startedAt: new Date(this.startedAt) } : {}) },
    })
    const row = await this.db.prisma.runEvent.create({ data: { runId: this.runId, type: 'status', payload: { status, reason } }, select: { id: true } })
    this.deps.events.publish({ id: String(row.id), runId: this.runId, type: 'status', payload: { status, reason } })
  }

  private async drain() {
    await this.waitFor(() => this.inflight.size === 0, this.stopping || this.detaching ? 20_000 : undefined)
  }

  private async finish(): Promise<{ status: RunStatus; reason: string | null }> {
    let status: RunStatus
    let reason: string | null
    if (this.detaching && !this.stopping) {
      // what is still in flight stays queued: re-submitted when the run is picked up again
      this.progress(`detached at ${this.evaluations} evaluations; the run resumes at the next start`)
      return { status: this.status, reason: 'detached' }
    }
    if (this.stopping) ({ status, reason } = this.stopping)
    else if (this.pauseRequested) (status = 'paused'), (reason = 'paused by a user')
    else {
      status = 'completed'
      reason = this.budgetReason() ?? 'evaluation budget reached'
    }
    if (status === 'stopped' && this.inflight.size) {
      // stopping does not wait forever for evaluations; they are recorded as never finished
      const ids = [...this.inflight.keys()]
      await this.db.prisma.candidate.updateMany({ where: { id: { in: ids }, status: { in: ['queued', 'running'] } }, data: { status: 'rejected', rejectReason: 'run stopped before the evaluation finished' } })
      this.inflight.clear()
    }
    await this.setStatus(status, reason)
    this.progress(`run ${status}: ${reason} (${this.evaluations} evaluations, best ${this.bestScore ?? '–'})`)
    return { status, reason }
  }

  private waitFor(cond: () => boolean, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now()
      const check = () => {
        if (cond() || (timeoutMs !== undefined && Date.now() - started > timeoutMs)) {
          this.wake = null
          clearInterval(timer)
          resolve()
        }
      }
      const timer = setInterval(check, 250)
      this.wake = check
      check()
    })
  }

  private progress(msg: string) {
    this.deps.log.info(`[${this.runId.slice(0, 8)}] ${msg}`)
  }
}

export interface EngineSnapshot {
  evolution: EvolutionSnapshot
  bandit: ReturnType<CostAwareBandit['toJSON']>
  stepAdapter: ReturnType<StepAdapter['toJSON']>
}

function round(x: number) {
  return Math.round(x * 1e4) / 1e4
}

/** The bandit arm a stored candidate came from. */
function armOf(operator: string | null, row: { operatorParams?: unknown; model?: string | null }): string | null {
  if (!operator) return null
  const params = row.operatorParams as { arm?: string } | null | undefined
  if (params?.arm) return params.arm
  if (operator.startsWith('llm:')) return row.model ?? null
  return null
}

export { hashSeed }
