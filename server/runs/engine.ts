// The engine of one run: cold start, then the asynchronous evolve stage, as a pipeline. Model
// requests (the generation pool) run decoupled from evaluations (the dispatcher): requests are
// planned from the population as it is when they start, answers are screened and stored and go to
// the evaluation queue, results are stored and then applied to the search state in the order they
// finished. Every step is written before it is acted on; a killed process resumes by replaying what
// is stored (state.ts) and re-submitting what was in flight. The parts: budget.ts (slots and spend),
// planner.ts (what to ask), generation.ts (requests in flight), store.ts (group-committed writes),
// dispatcher.ts (evaluations in flight), ingest.ts (results into the search), metrics.ts, repair.ts
// (failed children back to a model, ahead of new requests).
import { randomUUID } from 'node:crypto'
import type { Db } from '../db.ts'
import type { EvaluationBackend, EvalResult } from '../contracts/evaluation.ts'
import { CostAwareBandit } from '../engine/bandit.ts'
import { assignColdStart } from '../engine/evolution.ts'
import { analyzeCode, exactJaccard, similarity, type CodeSketch } from '../engine/novelty.ts'
import { chooseStrategies } from '../engine/strategies.ts'
import type { EscalationAction } from '../engine/escalations.ts'
import type { EventBus } from '../events.ts'
import { PreconditionError } from '../errors.ts'
import type { LlmErrorKind } from '../llm/errors.ts'
import type { Logger } from '../log.ts'
import { Budget } from './budget.ts'
import { GaugeMean } from './concurrency.ts'
import { coldStartSize, type RunConfig, type RunStatus } from '../../client-safe/run-config.ts'
import { Dispatcher, type InFlight } from './dispatcher.ts'
import { GenerationPool, type RequestOutcome } from './generation.ts'
import { Ingestor } from './ingest.ts'
import { evaluateHeldOut } from './held-out.ts'
import { Judge } from './judge.ts'
import { CommandInbox, type Applied, type PendingCommand } from './inbox.ts'
import { MetricsWriter } from './metrics.ts'
import { Planner, type ColdStrategy, type PlannedRequest } from './planner.ts'
import type { ProduceResult, Produced } from './producer.ts'
import { Repairs } from './repair.ts'
import { escalate, type EscalationOutcome } from './escalations.ts'
import { startPrograms } from './seeds.ts'
import { armOf, RunState, type KnowledgeChunk } from './state.ts'
import { RunStore } from './store.ts'

export type { EngineSnapshot } from './state.ts'

/** Knowledge and lessons plug in here (server/knowledge); the engine works without them. */
export interface EngineHooks {
  /** an island stalled (or an expert asked): chunks to put in that island's next prompts */
  retrieve?(input: {
    runId: string
    island: number
    problemId: string
    queryText: string
    trigger: 'stagnation' | 'expert' | 'cold-start'
  }): Promise<{
    retrievalId: string
    chunks: KnowledgeChunk[]
  } | null>
  /** a candidate's prompt included these chunks */
  recordUses?(input: { retrievalId: string; chunkIds: string[]; candidateId: string; runId: string }): Promise<void>
  /** the candidate's fitness change against its parent is known (positive = better, -1 when invalid) */
  recordOutcome?(input: { candidateId: string; delta: number }): Promise<void>
  /** a candidate beat its island's best */
  onIslandBest?(input: {
    runId: string
    problemId: string
    candidateId: string
    parentCode: string
    childCode: string
    parentScore: number | null
    childScore: number
    explanation?: string
    operatorDescription?: string
  }): Promise<void>
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
  /** who drives the run (host:pid), recorded with every command this engine acknowledges */
  owner?: string
}

const MAX_CONSECUTIVE_REJECTIONS = 300
/** auth, config, bad request: the same answer every time */
const MAX_REFUSALS = 3
/** timeouts, network and server errors after the client's own retries, with no answer between */
const MAX_UNANSWERED = 8
/** requests still rate-limited after their retries: the limit slows the run down before it ends it */
const MAX_RATE_LIMITED = 40
const PUSH_BACK: ReadonlySet<LlmErrorKind> = new Set(['rate-limit', 'timeout', 'server'])

type Mode = 'idle' | 'cold-start' | 'evolve'

/** the cold start's pool: the seed, the generators' candidates and the repairs made before islands exist */
const COLD_POOL = [{ origin: { in: ['seed', 'cold-start'] } }, { origin: 'repair', island: -1 }]

interface ColdStartPool {
  target: number
  made: number
  attempts: number
  index: number
  members: Array<{ id: string; code: string }>
  sketches: CodeSketch[]
  /** the seed programs (the generators rewrite the valid ones in turn) */
  seeds: number
  /** no seed program at all: the generators write first programs from the description until one is valid */
  scratch: boolean
  strategies: ColdStrategy[]
  /** whose turn it is among the seed programs */
  turn: number
}

export class RunEngine {
  readonly runId: string
  private readonly deps: EngineDeps
  private readonly state: RunState
  private budget!: Budget
  private store!: RunStore
  private dispatcher!: Dispatcher
  private planner!: Planner
  private pool!: GenerationPool
  private metrics!: MetricsWriter
  private ingestor!: Ingestor
  private repairs!: Repairs
  private mode: Mode = 'idle'
  private cold: ColdStartPool | null = null
  private stopping: { status: RunStatus; reason: string | null } | null = null
  private pauseRequested = false
  private detaching = false
  private consecutiveRejections = 0
  private refusals = 0
  private unanswered = 0
  private rateLimited = 0
  /** nothing could be planned while nothing was in flight: the evolve stage has nothing to select */
  private starved = false
  private pumping = false
  private readonly abort = new AbortController()
  private readonly waiters = new Set<() => void>()
  private readonly waitingGauge = new GaugeMean()
  private readonly busyGauge = new GaugeMean()
  private inbox: CommandInbox | null = null
  private stopWatching: () => Promise<void> = async () => undefined

  constructor(deps: EngineDeps, runId: string) {
    this.deps = deps
    this.runId = runId
    this.state = new RunState(deps.db, runId)
  }

  get db() {
    return this.deps.db
  }

  // ------------------------------------------------------------------ control

  pause() {
    this.pauseRequested = true
    this.notify()
  }

  /** Stop driving the run without changing its status (server shutdown): the next start resumes it. */
  detach() {
    this.detaching = true
    this.abort.abort()
    this.notify()
  }

  /** Ends the run as failed at once, cancelling what is in flight (the first reason wins). */
  private failNow(reason: string) {
    if (this.stopping) return
    this.stopping = { status: 'failed', reason }
    this.abort.abort()
    this.notify()
  }

  stop(reason = 'stopped by a user') {
    this.stopping = { status: 'stopped', reason }
    this.abort.abort()
    this.notify()
  }

  setExploration(value: number, island?: number) {
    this.state.evo?.setExploration(value, island)
  }

  async reloadGuidance() {
    await this.state.reloadGuidance()
  }

  setPinned(id: string, pinned: boolean) {
    this.state.evo?.setPinned(id, pinned)
  }

  ban(id: string) {
    this.state.evo?.ban(id)
    this.state.banned.add(id)
  }

  /** An expert's rating (-1, 0, 1): a bounded bonus or penalty in parent selection (config.ratingWeight). */
  setRating(id: string, rating: -1 | 0 | 1) {
    this.state.evo?.setRating(id, rating)
  }

  /**
   * Mid-run change of the mutation weights (the models of an LLM run, the offline operators of a
   * local run). The bandit gets new priors and keeps what it observed; an arm at weight 0 is not
   * chosen any more. The caller persists the config (run.config) so a resume sees the same weights.
   */
  setMutationWeights(input: { models?: number[]; localOperators?: RunConfig['localOperators'] }) {
    const s = this.state
    if (!s.bandit) throw new Error('the run has not started yet')
    const config: RunConfig = {
      ...s.config,
      localOperators: input.localOperators ?? s.config.localOperators,
      models: s.config.models.map((m, i) => ({ ...m, weight: input.models?.[i] ?? m.weight })),
    }
    const arms = s.armsFor(config)
    if (!arms.some((a) => a.weight > 0)) throw new Error('at least one model or operator needs a weight above 0')
    const prior = new CostAwareBandit(arms, s.banditOptions()).toJSON()
    const seen = s.bandit.toJSON()
    // successes and failures observed so far are added onto the new prior (the bandit runs without decay)
    const merged = prior.arms.map((p) => {
      const o = seen.arms.find((a) => a.id === p.id)
      return o ? { ...o, alpha: p.alpha + o.rewardSum, beta: p.beta + o.pulls - o.rewardSum } : p
    })
    s.bandit = CostAwareBandit.fromJSON(arms, { arms: merged }, s.banditOptions())
    s.config = config
  }

  /** What the console shows of the engine's knobs and pipeline. */
  controlState() {
    const s = this.state
    const snap = s.evo?.snapshot()
    const weights = new Map(s.bandit ? s.armsFor(s.config).map((a) => [a.id, a.weight]) : [])
    return {
      exploration: snap?.exploration ?? s.config?.exploration ?? null,
      islandExploration: snap
        ? Object.fromEntries(Object.entries(snap.islandExploration).map(([k, v]) => [Number(k), v]))
        : {},
      effectiveExploration: s.evo ? s.evo.islands.map((_, i) => s.evo.effectiveExploration(i)) : [],
      arms: s.bandit ? s.bandit.stats().map((a) => ({ ...a, weight: weights.get(a.id) ?? 1 })) : [],
      pipeline: this.pool
        ? {
            requests: this.pool.size,
            limit: this.pool.limit.current,
            maxRequests: this.pool.limit.max,
            evaluating: this.dispatcher.size,
            waiting: this.dispatcher.waiting(),
            capacity: this.dispatcher.capacity(),
          }
        : null,
    }
  }

  /** The islands whose population holds this candidate now (empty when evicted, banned or not yet evaluated). */
  populationOf(id: string): number[] {
    const evo = this.state.evo
    if (!evo) return []
    return evo.islands.flatMap((isl, i) => (isl.has(id) ? [i] : []))
  }

  /** An expert's edit of a candidate: evaluated like any candidate, placed on the chosen island, within the budget. */
  async submitExpertEdit(input: {
    candidateId?: string
    parentId: string
    code: string
    island: number
    authorId: string | null
  }): Promise<string> {
    const s = this.state
    // applied again after a failover: the candidate exists already
    if (
      input.candidateId &&
      (await this.db.prisma.candidate.findUnique({ where: { id: input.candidateId }, select: { id: true } }))
    )
      return input.candidateId
    if (s.status !== 'evolving')
      throw new PreconditionError('the run is still in its cold start; edits join an island once it evolves')
    if (!this.budget?.reserve()) {
      throw new PreconditionError(
        `the run has no evaluation left in its budget (${this.budget?.blocked() ?? 'not started'}); resume it with a larger --max-evals to evaluate an edit`,
      )
    }
    const prepared = analyzeCode(input.code, s.language)
    const f: InFlight = {
      id: input.candidateId ?? randomUUID(),
      island: input.island,
      origin: 'expert-edit',
      parentIds: [input.parentId],
      parentScore: s.scores.get(input.parentId) ?? null,
      arm: null,
      cost: 0,
      attempt: 0,
      code: input.code,
      prepared,
      description: 'expert edit',
    }
    s.hashes.add(prepared.codeHash)
    try {
      await this.store.insertCandidate({
        id: f.id,
        seq: s.takeSeq(),
        island: f.island,
        parentIds: f.parentIds,
        origin: f.origin,
        operator: 'expert-edit',
        operatorParams: { description: 'edited by an expert' },
        code: f.code,
        codeHash: prepared.codeHash,
        tokensIn: 0,
        tokensOut: 0,
        costUsd: 0,
        createdById: input.authorId,
      })
    } catch (e) {
      this.budget.release()
      throw e
    }
    this.dispatcher.submit(f)
    return f.id
  }

  /** The manager routes every evaluation result here; true when this run was waiting for it. */
  owns(jobId: string) {
    return this.dispatcher?.owns(jobId) ?? false
  }

  async onResult(r: EvalResult) {
    await this.dispatcher.onResult(r)
  }

  // ------------------------------------------------------------------ lifecycle

  /** The run deleted meanwhile: nothing to drive (interventions come through the inbox). */
  private async watch() {
    const row = await this.db.prisma.run.findUnique({ where: { id: this.runId }, select: { id: true } })
    if (!row) this.stop('the run was deleted')
  }

  /** One intervention from the control channel. Idempotent: a failover may apply it again. */
  private async applyCommand(c: PendingCommand): Promise<Applied> {
    const p = c.payload
    const ok = (result: Record<string, unknown> = {}): Applied => ({ status: 'applied', result })
    switch (c.kind) {
      case 'guidance.reload':
        await this.state.reloadGuidance()
        return ok({ active: this.state.guidance.length })
      case 'candidate.pin':
        this.setPinned(String(p.candidateId), !!p.pinned)
        return ok({ islands: this.populationOf(String(p.candidateId)) })
      case 'candidate.ban':
        this.ban(String(p.candidateId))
        return ok()
      case 'candidate.rate':
        this.setRating(String(p.candidateId), Math.sign(Number(p.rating)) as -1 | 0 | 1)
        return ok()
      case 'run.weights':
        this.setMutationWeights({
          models: p.models as number[] | undefined,
          localOperators: p.localOperators as RunConfig['localOperators'] | undefined,
        })
        return ok({ arms: this.controlState().arms.map((a) => ({ id: a.id, weight: a.weight })) })
      case 'run.exploration':
        this.setExploration(Number(p.value), p.island === null || p.island === undefined ? undefined : Number(p.island))
        return ok({ effectiveExploration: this.controlState().effectiveExploration })
      case 'run.pause':
        this.pause()
        return ok()
      case 'run.stop':
        this.stop(String(p.reason ?? 'stopped by a user'))
        return ok()
      case 'run.retrieve':
        return ok({ chunks: await this.retrieveFor(Number(p.island), 'expert') })
      case 'knowledge.use':
        return ok({
          chunks: await this.useRetrieval(p as { retrievalId: string; island: number | null; chunkIds: string[] }),
        })
      case 'candidate.expert-edit':
        return ok({
          candidateId: await this.submitExpertEdit({
            candidateId: String(p.candidateId),
            parentId: String(p.parentId),
            code: String(p.code),
            island: Number(p.island),
            authorId: (p.authorId as string | null) ?? null,
          }),
        })
      case 'island.escalate': {
        if (this.state.status !== 'evolving')
          return {
            status: 'refused',
            result: { reason: `the run is in its ${this.state.status} stage: islands exist once it evolves` },
          }
        const island = Number(p.island)
        if (!Number.isInteger(island) || island < 0 || island >= this.state.evo.islands.length)
          return { status: 'refused', result: { reason: `no island ${String(p.island)}` } }
        // applied once: a failover that sees the command again finds its recorded outcome
        const [done] = await this.db.sql<{ payload: EscalationOutcome }>(
          `SELECT payload FROM run_events WHERE run_id = $1 AND type = 'escalation' AND payload->>'commandId' = $2`,
          [this.runId, String(c.id)],
        )
        const o = done
          ? done.payload
          : await escalate(
              { db: this.db, events: this.deps.events, state: this.state, progress: (m) => this.progress(m) },
              {
                island,
                action: p.action as EscalationAction,
                trigger: 'expert',
                actor: c.actorLabel,
                commandId: String(c.id),
              },
            )
        return o.status === 'done'
          ? ok({ joined: o.joined, removed: o.removedCount })
          : { status: 'refused', result: { reason: o.reason } }
      }
      default:
        return { status: 'refused', result: { reason: `this engine does not know the command "${c.kind}"` } }
    }
  }

  /** Runs until the run completes, fails, is stopped, or is paused. Resolves with the final status. */
  async run(): Promise<{ status: RunStatus; reason: string | null }> {
    try {
      await this.load()
    } catch (e) {
      this.deps.log.error(`run ${this.runId}: ${(e as Error).stack ?? e}`)
      throw e
    }
    const watcher = setInterval(() => void this.watch().catch(() => undefined), 2000)
    watcher.unref()
    // the pipeline's figures keep coming while nothing finishes (no worker, a slow model)
    const beat = setInterval(() => this.mode !== 'idle' && void this.metrics.write().catch(() => undefined), 1000)
    beat.unref()
    // interventions: given before this engine started (a failover) or while it runs
    this.inbox = new CommandInbox(this.deps, this.runId, this.deps.owner ?? 'this process', (c) => this.applyCommand(c))
    await this.inbox.start()
    this.stopWatching = async () => {
      clearInterval(watcher)
      clearInterval(beat)
      await this.inbox?.stop()
    }
    const s = this.state
    try {
      if (s.status !== 'cold-start' && s.status !== 'evolving') {
        await this.setStatus((await this.coldStartFinished()) ? 'evolving' : 'cold-start', null)
      }
      await this.resubmitInFlight()
      if (s.status === 'cold-start') await this.coldStart()
      if (s.status === 'evolving' && !this.halted()) await this.evolve()
      await this.drain()
      return await this.finish()
    } catch (e) {
      this.deps.log.error(`run ${this.runId}: ${(e as Error).stack ?? e}`)
      this.stopping ??= { status: 'failed', reason: `engine error: ${(e as Error).message}` }
      this.abort.abort()
      await this.drain().catch(() => undefined)
      await this.setStatus('failed', this.stopping.reason)
      return { status: 'failed', reason: this.stopping.reason }
    } finally {
      await this.stopWatching()
      await this.store.drain().catch(() => undefined)
      await this.ingestor.saveSnapshot().catch(() => undefined)
      await this.metrics.write(true).catch(() => undefined)
    }
  }

  private async load() {
    const s = this.state
    const gen = {
      onRetry: (info: { error: { kind: LlmErrorKind } }) => PUSH_BACK.has(info.error.kind) && this.pool?.pushBack(),
    }
    await s.load({ env: this.deps.llmEnv, onRetry: gen.onRetry })
    this.budget = new Budget(s.config.budget, {
      evaluations: s.evaluationsAtLoad,
      spendUsd: s.spendAtLoad,
      startedAt: s.startedAt,
    })
    const judge = s.config.judge
      ? await Judge.create(
          { db: this.db, state: s, budget: this.budget, log: this.deps.log, signal: this.abort.signal },
          s.config.judge,
          { env: this.deps.llmEnv },
        )
      : null
    this.store = new RunStore(this.db, this.runId)
    this.dispatcher = new Dispatcher(
      this.deps,
      this.runId,
      () => s.problem,
      (f, r) => this.ingestor.add(f, r),
      () => !this.stopping,
    )
    this.planner = new Planner(s, () => this.budget.evaluations)
    this.repairs = new Repairs(s, this.planner)
    const perModel = new Map<string, number>()
    s.ensemble?.members.forEach((m, i) => {
      s.config.models[i]?.maxInFlight && perModel.set(m.id, s.config.models[i].maxInFlight!)
    })
    this.pool = new GenerationPool({
      max: s.config.generation.maxInFlight,
      min: s.config.generation.minInFlight,
      perModelMax: perModel,
      onSettled: () => this.notify(),
      onError: (e) => this.failNow(`engine error in a request: ${(e as Error).message}`),
    })
    this.metrics = new MetricsWriter(
      this.db,
      this.deps.events,
      s,
      {
        requests: this.pool.gauge,
        waiting: this.waitingGauge,
        busy: this.busyGauge,
        capacity: () => this.dispatcher.capacity(),
        limit: () => this.pool.limit.current,
      },
      () => ({ evaluations: this.budget.evaluations, spendUsd: this.budget.spendUsd }),
    )
    this.ingestor = new Ingestor({
      db: this.db,
      events: this.deps.events,
      log: this.deps.log,
      hooks: this.deps.hooks,
      state: s,
      store: this.store,
      budget: this.budget,
      metrics: this.metrics,
      inFlight: () => this.dispatcher.ids(),
      failNow: (reason) => this.failNow(reason),
      progress: (msg) => this.progress(msg),
      notify: () => this.notify(),
      retrieve: (island, trigger) => this.retrieveFor(island, trigger),
      repairs: this.repairs,
      judge,
    })
    await s.replay()
    await this.repairs.load(this.db, this.runId)
    await s.reloadGuidance()
    s.lessons = (await this.deps.hooks?.lessons?.(s.problem.id).catch(() => [])) ?? []
  }

  private async resubmitInFlight() {
    const s = this.state
    const pending = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, status: { in: ['queued', 'running'] } },
      select: {
        id: true,
        island: true,
        origin: true,
        parentIds: true,
        code: true,
        codeHash: true,
        attempt: true,
        operator: true,
        operatorParams: true,
        model: true,
      },
      orderBy: { seq: 'asc' },
    })
    if (!pending.length) return
    // the previous process may have run them; no result was stored, so they ran to no effect
    await this.db.sql(
      "UPDATE candidates SET attempt = attempt + 1, status = 'queued' WHERE run_id = $1 AND status IN ('queued', 'running')",
      [this.runId],
    )
    for (const p of pending) {
      this.budget.hold()
      s.code.set(p.id, p.code)
      this.dispatcher.submit({
        id: p.id,
        island: p.island,
        origin: p.origin,
        parentIds: p.parentIds,
        parentScore: p.parentIds[0] ? (s.scores.get(p.parentIds[0]) ?? null) : null,
        arm: armOf(p.operator, p),
        cost: 0,
        attempt: p.attempt + 1,
        code: p.code,
        prepared: analyzeCode(p.code, s.language),
        operatorParams: (p.operatorParams ?? undefined) as Record<string, unknown> | undefined,
      })
    }
    this.deps.log.info(`run ${this.runId}: re-submitted ${pending.length} evaluation(s) that were in flight`)
  }

  // ------------------------------------------------------------------ the pipeline

  halted() {
    return this.stopping !== null || this.pauseRequested || this.detaching
  }

  /** candidates allowed to wait for a worker: enough that workers never idle, few enough that parents stay fresh */
  private queueLimit() {
    return Math.max(2, 2 * this.dispatcher.capacity())
  }

  /** Something changed: start what may start, then let waiters re-check. */
  private notify() {
    if (this.dispatcher) {
      this.waitingGauge.set(this.dispatcher.waiting())
      this.busyGauge.set(this.dispatcher.busy())
    }
    this.pump()
    for (const w of [...this.waiters]) w()
  }

  private pump() {
    if (this.pumping || this.mode === 'idle' || this.halted()) return
    this.pumping = true
    try {
      while (this.pool.hasRoom() && this.dispatcher.waiting() < this.queueLimit() && this.budget.blocked() === null) {
        // repairs owed go first: a failure's context is freshest now
        const repair = this.repairs.next(this.pool.saturated())
        const req =
          repair ?? (this.mode === 'cold-start' ? this.nextColdStart() : this.planner.evolve(this.pool.saturated()))
        if (!req) {
          this.starved =
            this.mode === 'evolve' && this.pool.size === 0 && this.dispatcher.size === 0 && this.ingestor.backlog === 0
          break
        }
        if (!this.budget.reserve(req.expectedCostUsd)) {
          if (repair) this.repairs.putBack(repair.pending)
          break
        }
        this.starved = false
        this.pool.start({ modelId: req.modelId, run: () => this.request(req) })
      }
    } finally {
      this.pumping = false
    }
  }

  /** One request: ask, screen the answer, store it, hand it to the evaluation queue. */
  private async request(req: PlannedRequest): Promise<RequestOutcome> {
    const s = this.state
    let r: ProduceResult
    try {
      r = await req.produce(this.abort.signal)
    } catch (e) {
      this.budget.settle(req.expectedCostUsd, 0)
      this.budget.release()
      this.deps.log.warn(`run ${this.runId}: a request failed before its answer: ${(e as Error).message}`)
      return 'failed'
    }
    this.budget.settle(req.expectedCostUsd, r.costUsd)
    if (req.modelId) this.planner.observeCost(req.modelId, r.costUsd)
    if ('rejected' in r) {
      if (req.kind === 'evolve') s.bandit.update(r.arm, 0, r.costUsd)
      if (r.feedback && req.island >= 0) s.notes.set(req.island, [r.feedback])
      this.countModelError(r.errorKind, r.reason)
      this.reject(req, r)
      return r.errorKind && PUSH_BACK.has(r.errorKind)
        ? 'push-back'
        : r.errorKind && r.errorKind !== 'aborted'
          ? 'failed'
          : 'ok'
    }
    this.unanswered = 0
    this.refusals = 0
    this.rateLimited = 0
    if (req.island >= 0) s.notes.delete(req.island)
    const bannedParent = r.parentIds.find((p) => s.banned.has(p))
    if (bannedParent) {
      // planned before the ban arrived: its child is not evaluated, so a banned candidate is never a parent afterwards
      this.reject(
        req,
        {
          ...r,
          rejected: true,
          reason: `not evaluated: its parent ${bannedParent} was banned while the request was in flight`,
        },
        '',
        r.code,
      )
      return 'ok'
    }
    const prepared = analyzeCode(r.code, s.language)
    const duplicate = await this.duplicateReason(req, r, prepared)
    if (duplicate) {
      if (req.kind === 'evolve') s.bandit.update(r.arm, 0, r.costUsd)
      this.reject(req, { ...r, rejected: true, reason: duplicate }, prepared.codeHash, r.code)
      return 'ok'
    }
    if (this.halted() || this.budget.timeUp()) {
      // made (and paid for) while the run stopped or ran out of time: kept, not evaluated
      this.reject(
        req,
        { ...r, rejected: true, reason: 'not evaluated: the run reached its budget or was halted' },
        prepared.codeHash,
        r.code,
      )
      return 'ok'
    }
    this.consecutiveRejections = 0
    s.hashes.add(prepared.codeHash)
    const inColdPool = this.cold !== null && (req.kind === 'cold-start' || req.island < 0)
    if (inColdPool) {
      this.cold!.sketches.push(prepared.sketch)
      if (req.kind === 'cold-start') this.cold!.made++
    }
    const operatorParams = req.operatorParams ? { ...r.operatorParams, ...req.operatorParams } : r.operatorParams
    const f: InFlight = {
      id: randomUUID(),
      island: req.island,
      origin: req.kind === 'cold-start' ? 'cold-start' : req.kind === 'repair' ? 'repair' : r.origin,
      parentIds: r.parentIds,
      parentScore: req.parentScore,
      // a repair teaches the bandit nothing about how well its model mutates
      arm: req.kind === 'repair' ? null : r.arm,
      cost: r.costUsd,
      attempt: 0,
      code: r.code,
      prepared,
      retrieval: req.retrieval,
      description: r.description,
      operatorParams,
    }
    try {
      await this.store.insertCandidate({
        id: f.id,
        seq: s.takeSeq(),
        island: f.island,
        parentIds: f.parentIds,
        origin: f.origin,
        operator: r.operator,
        operatorParams: { ...operatorParams, description: r.description },
        model: r.model,
        code: r.code,
        codeHash: prepared.codeHash,
        prompt: r.prompt,
        response: r.response,
        tokensIn: r.tokensIn,
        tokensOut: r.tokensOut,
        costUsd: r.costUsd,
        guidanceIds: req.guidanceIds,
        controlGuidanceIds: req.controlGuidanceIds,
        controlRetrievalId: req.controlRetrievalId,
      })
    } catch (e) {
      this.budget.release()
      throw e
    }
    if (inColdPool) this.cold!.members.push({ id: f.id, code: f.code })
    if (req.retrieval && this.deps.hooks?.recordUses) {
      await this.deps.hooks
        .recordUses({ ...req.retrieval, candidateId: f.id, runId: this.runId })
        .catch((e) => this.deps.log.warn(`knowledge use not recorded: ${e.message}`))
    }
    this.dispatcher.submit(f)
    return 'ok'
  }

  /** Why an answer is not worth evaluating (an exact or near duplicate), or null. */
  private async duplicateReason(
    req: PlannedRequest,
    r: Produced,
    prepared: { codeHash: string; sketch: CodeSketch },
  ): Promise<string | null> {
    const s = this.state
    if (s.hashes.has(prepared.codeHash)) return 'duplicate of an existing candidate (same normalized code)'
    const threshold = s.config.noveltyThreshold
    if ((req.kind === 'cold-start' || req.island < 0) && this.cold) {
      const near = this.cold.sketches.findIndex((sk) => similarity(sk, prepared.sketch) >= threshold)
      if (near >= 0 && exactJaccard(r.code, this.cold.members[near]?.code ?? '', s.language) >= threshold)
        return 'near-duplicate of an earlier cold-start candidate'
      return null
    }
    if (req.island < 0) return null
    const verdict = s.evo.checkNovelty(req.island, prepared, threshold)
    if (verdict.novel) return null
    // MinHash cannot tell a one-literal change (exact similarity ≈ 0.99) from a copy; confirm on the code
    const near = verdict.nearest
    if (near && exactJaccard(r.code, await s.codeOf(near.id).catch(() => ''), s.language) < threshold) return null
    return `near-duplicate of ${near?.id ?? 'a member'} (similarity ${near ? near.similarity.toFixed(3) : '≥ threshold'})`
  }

  private countModelError(kind: LlmErrorKind | undefined, reason: string) {
    if (!kind || kind === 'aborted') return
    if (kind === 'auth' || kind === 'config' || kind === 'bad-request') {
      if (++this.refusals >= MAX_REFUSALS)
        this.failNow(
          `the model provider refused ${MAX_REFUSALS} requests in a row (${reason.slice(0, 300)}); check the model name, its base URL and its API key variable`,
        )
    } else if (kind === 'rate-limit') {
      if (++this.rateLimited >= MAX_RATE_LIMITED)
        this.failNow(
          `the provider rate-limited ${MAX_RATE_LIMITED} requests in a row, after retries (${reason.slice(0, 300)}); raise its limit or lower generation.maxInFlight`,
        )
    } else if (kind === 'timeout' || kind === 'network' || kind === 'server') {
      if (++this.unanswered >= MAX_UNANSWERED)
        this.failNow(
          `the model did not answer ${MAX_UNANSWERED} requests in a row, after retries (${reason.slice(0, 300)}); check that it is reachable and its timeout (timeoutS)`,
        )
    }
  }

  /** A rejected answer is a record (with its spend); its budget slot goes back. */
  private reject(
    req: PlannedRequest,
    r: Extract<ProduceResult, { rejected: true }> | (Produced & { rejected: true; reason: string }),
    codeHash = '',
    code = '',
  ) {
    const s = this.state
    const id = randomUUID()
    this.budget.release()
    if (codeHash) s.hashes.add(codeHash)
    void this.store
      .insertRejection({
        id,
        seq: s.takeSeq(),
        island: req.island,
        parentIds: r.parentIds,
        origin:
          req.kind === 'repair'
            ? 'repair'
            : r.parentIds.length > 1
              ? 'crossover'
              : req.kind === 'cold-start'
                ? 'cold-start'
                : 'mutation',
        operator: r.operator,
        model: r.model,
        code,
        codeHash,
        prompt: r.prompt,
        response: r.response,
        tokensIn: r.tokensIn,
        tokensOut: r.tokensOut,
        costUsd: r.costUsd,
        reason: r.reason,
      })
      .catch((e) => this.failNow(`engine error while storing a rejection: ${(e as Error).message}`))
    this.deps.events.publish({
      runId: this.runId,
      type: 'rejected',
      payload: { id, island: req.island, reason: r.reason },
    })
    if (req.kind === 'evolve' && ++this.consecutiveRejections >= MAX_CONSECUTIVE_REJECTIONS) {
      this.failNow(
        `${MAX_CONSECUTIVE_REJECTIONS} candidates in a row were rejected before evaluation (duplicates or unusable edits); see the rejected candidates`,
      )
    }
  }

  // ------------------------------------------------------------------ stages

  private async coldStartFinished() {
    const n = await this.db.prisma.candidate.count({
      where: { runId: this.runId, OR: COLD_POOL, status: { in: ['queued', 'running'] } },
    })
    const assigned = await this.db.prisma.candidate.count({
      where: { runId: this.runId, origin: { in: ['seed', 'cold-start'] }, island: { gte: 0 } },
    })
    return n === 0 && assigned > 0
  }

  /** whether the cold start wants another generator request now */
  private coldWanted(): boolean {
    const c = this.cold!
    if (c.attempts >= Math.max(c.target, 1) * 20) return false
    if (c.made + this.pool.size < c.target) return true
    // a problem with no program yet: one more first program at a time, until one is valid
    return (
      c.scratch &&
      !this.coldValid() &&
      this.pool.size === 0 &&
      this.dispatcher.size === 0 &&
      this.ingestor.backlog === 0 &&
      this.repairs.size === 0
    )
  }

  private coldValid() {
    return this.cold!.members.some((m) => (this.state.scores.get(m.id) ?? null) !== null)
  }

  private nextColdStart(): PlannedRequest | null {
    const c = this.cold!
    if (!this.coldWanted()) return null
    const s = this.state
    let from: { id: string; code: string } | null
    const valid = c.members.filter((m) => (s.scores.get(m.id) ?? null) !== null)
    if (c.scratch && !valid.length) from = null
    else if (c.attempts % 3 === 0 && c.members.length > 1)
      from = (valid.length ? valid : c.members)[s.rng.int(valid.length || c.members.length)]!
    else {
      // the seed programs in turn (the valid ones), or, with none, the first valid program written
      const bases = c.members.slice(0, c.seeds).filter((m) => (s.scores.get(m.id) ?? null) !== null)
      const pool = bases.length ? bases : valid.length ? valid.slice(0, 1) : c.members.slice(0, Math.max(1, c.seeds))
      from = pool[c.turn++ % pool.length]!
    }
    const req = this.planner.coldStart(c.index, from, this.pool.saturated(), c.strategies)
    if (!req) return null
    c.attempts++
    c.index++
    return req
  }

  private async coldStart() {
    const s = this.state
    const language = s.language
    // 1. the seed programs: the problem's own and the run's (a fork's candidate, uploads, knowledge
    // documents tagged `seed`), each evaluated once (a resumed run skips those it stored already)
    const starts = startPrograms(
      s.problem,
      s.config,
      language,
      Math.max(1, s.config.budget.maxEvals - this.budget.evaluations - 1),
    )
    const todo = starts.filter((p) => !s.hashes.has(p.prepared.codeHash))
    for (const p of todo) {
      const id = randomUUID()
      this.budget.hold()
      s.hashes.add(p.prepared.codeHash)
      await this.store.insertCandidate({
        id,
        seq: s.takeSeq(),
        island: -1,
        parentIds: [],
        origin: 'seed',
        operator: 'seed',
        operatorParams: { description: p.description, seedIndex: p.index },
        code: p.code,
        codeHash: p.prepared.codeHash,
        tokensIn: 0,
        tokensOut: 0,
        costUsd: 0,
      })
      this.dispatcher.submit({
        id,
        island: -1,
        origin: 'seed',
        parentIds: [],
        parentScore: null,
        arm: null,
        cost: 0,
        attempt: 0,
        code: p.code,
        prepared: p.prepared,
      })
    }
    if (todo.length)
      this.progress(`cold start: evaluating ${todo.length === 1 ? 'the seed program' : `${todo.length} seed programs`}`)
    await this.until(() => this.halted() || (this.dispatcher.size === 0 && this.ingestor.backlog === 0))
    if (this.halted()) return
    const seeds = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, origin: 'seed' },
      select: { id: true, code: true },
      orderBy: { seq: 'asc' },
    })
    const scratch = seeds.length === 0
    if (scratch && s.config.mutator !== 'llm') {
      this.stopping = {
        status: 'failed',
        reason:
          'the problem has no seed program and the run has no model to write one (use an LLM run, or give seed programs)',
      }
      return
    }
    const target = Math.max(scratch ? 1 : 0, Math.min(coldStartSize(s.config), s.config.budget.maxEvals - seeds.length))
    // 2. differently configured generators, from the seeds and from each other, all at once (with
    // no seed, first programs written from the description)
    const existing = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, origin: 'cold-start', status: { not: 'rejected' } },
      select: { id: true, code: true },
      orderBy: { seq: 'asc' },
    })
    const members = [...seeds, ...existing]
    const strategies = s.config.mutator === 'llm' ? await this.coldStrategies() : []
    this.cold = {
      target,
      made: existing.length,
      attempts: 0,
      index: existing.length,
      members,
      sketches: members.map((m) => analyzeCode(m.code, language).sketch),
      seeds: seeds.length,
      scratch,
      strategies,
      turn: 0,
    }
    if (this.cold.made < target) {
      const how = s.config.mutator === 'llm' ? `${strategies.length} strategies × models` : 'operator variants'
      this.progress(
        `cold start: ${target} candidates from ${how}${scratch ? ', written from the description (the problem has no seed program)' : seeds.length > 1 ? ` over ${seeds.length} seed programs` : ''}`,
      )
    }
    this.mode = 'cold-start'
    this.pump()
    await this.until(
      () =>
        this.halted() ||
        (this.pool.size === 0 &&
          this.dispatcher.size === 0 &&
          this.ingestor.backlog === 0 &&
          this.nextColdStartBlocked() &&
          (this.repairs.size === 0 || this.budget.blocked() !== null)),
    )
    this.mode = 'idle'
    await this.store.drain()
    if (this.halted()) return
    if (scratch) await this.reportFirstValid()
    // 3. cluster the evaluated pool into islands, each in its own niche
    const evaluated = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, OR: COLD_POOL, status: 'evaluated' },
      select: { id: true, code: true, score: true, features: true, evalIndex: true },
      orderBy: { evalIndex: 'asc' },
    })
    const K = s.config.islands
    const groups = assignColdStart(
      evaluated.map((c) => ({
        id: c.id,
        score: c.score,
        features: (c.features ?? {}) as Record<string, number>,
        code: c.code,
      })),
      K,
      { direction: s.direction, features: s.problem.spec.features, language, seed: `${s.config.seed}` },
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
    evaluated.forEach((c, i) => {
      !primary.has(c.id) && primary.set(c.id, i % K)
    })
    await this.db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(
        `UPDATE candidates c SET island = a.island FROM jsonb_to_recordset($1::jsonb) AS a(id text, island int) WHERE c.id = a.id`,
        JSON.stringify([...primary].map(([id, island]) => ({ id, island }))),
      )
      if (replicas.length) {
        await tx.migration.createMany({
          data: replicas.map((r) => ({
            runId: this.runId,
            fromIsland: r.from,
            toIsland: r.to,
            candidateId: r.id,
            atEval: evaluated.length,
          })),
          skipDuplicates: true,
        })
      }
      await tx.run.update({ where: { id: this.runId }, data: { status: 'evolving', statusReason: null } })
    })
    s.status = 'evolving'
    for (const c of evaluated) {
      await this.ingestor.intoEvolution(
        {
          id: c.id,
          island: primary.get(c.id)!,
          code: c.code,
          parentIds: [],
          parentScore: null,
          arm: null,
          cost: 0,
          origin: 'cold-start',
        },
        c.score,
        (c.features ?? {}) as Record<string, number>,
      )
    }
    if (replicas.length) s.evo.applyMigration(replicas.map((r) => ({ ...r, codeHash: '', score: 0 })))
    this.cold = null
    this.deps.events.publish({ runId: this.runId, type: 'status', payload: { status: 'evolving' } })
    this.progress(
      `cold start done: ${evaluated.length} evaluated, islands of ${s.evo.islands.map((i) => i.size).join('/')} members`,
    )
    await this.metrics.write(true)
  }

  private nextColdStartBlocked() {
    return !this.coldWanted() || this.budget.blocked() !== null
  }

  /** The cold start's strategies: drawn for this problem, with passages of its knowledge base. */
  private async coldStrategies(): Promise<ColdStrategy[]> {
    const s = this.state
    const text = [
      s.problem.name,
      s.problem.description,
      ...(s.problem.spec.tags ?? []),
      s.problem.spec.family ?? '',
    ].join('\n')
    let passages: Array<{ id: string; title?: string; text: string }> = []
    let retrievalId: string | null = null
    if (this.deps.hooks?.retrieve) {
      const r = await this.deps.hooks
        .retrieve({
          runId: this.runId,
          island: -1,
          problemId: s.problem.id,
          queryText: `${s.problem.name}\n${s.problem.description.slice(0, 3000)}`,
          trigger: 'cold-start',
        })
        .catch((e) => (this.deps.log.warn(`cold start: no knowledge passages (${(e as Error).message})`), null))
      if (r) (passages = r.chunks.slice(0, 3)), (retrievalId = r.retrievalId)
    }
    return chooseStrategies(text, passages, s.rng.fork('cold-start-strategies'), 8).map((st) => ({
      text: st.text,
      ...(retrievalId && st.id.startsWith('knowledge:')
        ? { retrieval: { retrievalId, chunkIds: [st.id.slice('knowledge:'.length)] } }
        : {}),
    }))
  }

  /** A problem without a seed program: how many first programs the cold start needed until one was valid. */
  private async reportFirstValid() {
    const rows = await this.db.prisma.candidate.findMany({
      where: { runId: this.runId, OR: COLD_POOL, status: 'evaluated' },
      select: { id: true, valid: true, score: true },
      orderBy: { evalIndex: 'asc' },
    })
    const first = rows.findIndex((r) => r.valid && r.score !== null)
    const payload = {
      seedless: true,
      evaluated: rows.length,
      firstValidAfter: first >= 0 ? first + 1 : null,
      firstValidId: first >= 0 ? rows[first]!.id : null,
    }
    const row = await this.db.prisma.runEvent.create({
      data: { runId: this.runId, type: 'cold-start', payload },
      select: { id: true },
    })
    this.deps.events.publish({ id: String(row.id), runId: this.runId, type: 'cold-start', payload })
    this.progress(
      first >= 0
        ? `cold start: the first valid program came after ${first + 1} written from the description`
        : `cold start: none of the ${rows.length} programs written from the description was valid`,
    )
  }

  private async evolve() {
    const s = this.state
    if (s.evo.islands.every((i) => i.selector.size === 0)) {
      const seeds = await this.db.prisma.candidate.findMany({
        where: { runId: this.runId, origin: 'seed' },
        select: { artifacts: true, error: true },
        orderBy: { seq: 'asc' },
        take: 2,
      })
      const seed = seeds[0]
      const why =
        (seed?.error as { message?: string } | null)?.message ??
        (seed?.artifacts as { feedback?: string } | null)?.feedback ??
        'see its artifacts'
      this.stopping = {
        status: 'failed',
        reason: !seed
          ? 'no valid candidate after the cold start: none of the programs written from the description was valid (see the cold-start candidates)'
          : `no valid candidate after the cold start: ${seeds.length > 1 ? 'the seed programs are invalid' : 'the seed program is invalid'} (${String(why).slice(0, 300)})`,
      }
      return
    }
    this.mode = 'evolve'
    this.pump()
    await this.until(
      () =>
        this.halted() ||
        (this.pool.size === 0 &&
          this.dispatcher.size === 0 &&
          this.ingestor.backlog === 0 &&
          (this.budget.blocked() !== null || this.starved)),
    )
    this.mode = 'idle'
    if (this.starved && !this.halted() && this.budget.blocked() === null) {
      this.stopping = {
        status: 'failed',
        reason: 'no candidate can be selected as a parent any more (every island is empty or banned)',
      }
    }
  }

  // ------------------------------------------------------------------ knowledge

  private async useRetrieval(p: { retrievalId: string; island: number | null; chunkIds: string[] }): Promise<number> {
    const s = this.state
    const rows = await this.db.prisma.knowledgeChunk.findMany({
      where: { id: { in: p.chunkIds } },
      select: { id: true, content: true, heading: true, doc: { select: { title: true, sourcePath: true } } },
    })
    const byId = new Map(rows.map((r) => [r.id, r]))
    const chunks = p.chunkIds.flatMap((id) => {
      const r = byId.get(id)
      return r
        ? [
            {
              id,
              text: r.content,
              title: r.heading ? `${r.doc.title} — ${r.heading}` : r.doc.title,
              source: r.doc.sourcePath ?? undefined,
            },
          ]
        : []
    })
    if (!chunks.length) return 0
    const islands = p.island === null || p.island === undefined ? s.evo.islands.map((_, i) => i) : [p.island]
    for (const i of islands)
      s.knowledge.set(i, {
        retrievalId: p.retrievalId,
        chunks,
        until: this.budget.evaluations + s.config.stagnationWindow,
      })
    return chunks.length
  }

  private async retrieveFor(island: number, trigger: 'stagnation' | 'expert'): Promise<number> {
    const s = this.state
    if (!this.deps.hooks?.retrieve) return 0
    const best = s.evo.island(island).best()
    const bestCode = best ? await s.codeOf(best.id).catch(() => '') : ''
    const queryText = `${s.problem.name}\n${s.problem.description.slice(0, 1500)}\n${bestCode.slice(0, 3000)}`
    try {
      const r = await this.deps.hooks.retrieve({
        runId: this.runId,
        island,
        problemId: s.problem.id,
        queryText,
        trigger,
      })
      if (r?.chunks.length) {
        s.knowledge.set(island, { ...r, until: this.budget.evaluations + s.config.stagnationWindow })
        this.deps.events.publish({
          runId: this.runId,
          type: 'retrieval',
          payload: { island, trigger, chunks: r.chunks.length },
        })
      }
      return r?.chunks.length ?? 0
    } catch (e) {
      this.deps.log.warn(`knowledge retrieval failed for island ${island}: ${(e as Error).message}`)
      return 0
    }
  }

  // ------------------------------------------------------------------ the end

  private async setStatus(status: RunStatus, reason: string | null) {
    const s = this.state
    s.status = status
    const final = status === 'completed' || status === 'stopped' || status === 'failed'
    await this.db.prisma.run.update({
      where: { id: this.runId },
      data: {
        status,
        statusReason: reason,
        finishedAt: final ? new Date() : null,
        ...(status === 'cold-start' || status === 'evolving' ? { startedAt: new Date(s.startedAt) } : {}),
      },
    })
    const row = await this.db.prisma.runEvent.create({
      data: { runId: this.runId, type: 'status', payload: { status, reason } },
      select: { id: true },
    })
    this.deps.events.publish({ id: String(row.id), runId: this.runId, type: 'status', payload: { status, reason } })
  }

  /** Waits for requests, evaluations and ingestion to end (bounded when stopping or detaching). */
  private async drain() {
    const bounded = this.stopping || this.detaching ? 20_000 : undefined
    await this.until(() => this.pool.size === 0 && this.dispatcher.size === 0 && this.ingestor.backlog === 0, bounded)
    await this.ingestor.idle()
    await this.store.drain()
    await this.ingestor.lessonsDone()
  }

  private async finish(): Promise<{ status: RunStatus; reason: string | null }> {
    const s = this.state
    let status: RunStatus
    let reason: string | null
    if (this.detaching && !this.stopping) {
      // what is still in flight stays queued: re-submitted when the run is picked up again
      this.progress(`detached at ${this.budget.evaluations} evaluations; the run resumes at the next start`)
      return { status: s.status, reason: 'detached' }
    }
    if (this.stopping) ({ status, reason } = this.stopping)
    else if (this.pauseRequested) (status = 'paused'), (reason = 'paused by a user')
    else {
      status = 'completed'
      reason = this.budget.exhausted() ?? 'evaluation budget reached'
    }
    if (status === 'stopped' && this.dispatcher.size) {
      // stopping does not wait forever for evaluations; they are recorded as never finished
      const ids = this.dispatcher.abandon()
      await this.db.prisma.candidate.updateMany({
        where: { id: { in: ids }, status: { in: ['queued', 'running'] } },
        data: { status: 'rejected', rejectReason: 'run stopped before the evaluation finished' },
      })
    }
    await this.setStatus(status, reason)
    this.progress(`run ${status}: ${reason} (${this.budget.evaluations} evaluations, best ${s.bestScore ?? '–'})`)
    if (status === 'completed' && s.problem.spec.heldOut) await this.heldOutCheck()
    return { status, reason }
  }

  /** The end of a completed run: its top candidates on the problem's held-out stage (held-out.ts). */
  private async heldOutCheck() {
    this.progress('held-out stage: re-evaluating the top candidates on instances the search never saw')
    try {
      const rows = await evaluateHeldOut(this.deps, this.runId, { signal: this.abort.signal })
      this.progress(
        `held-out stage: ${rows.filter((r) => r.heldOut.status === 'evaluated').length}/${rows.length} evaluated`,
      )
      this.deps.events.publish({ runId: this.runId, type: 'held-out', payload: { evaluated: rows.length } })
    } catch (e) {
      this.deps.log.warn(`run ${this.runId}: held-out stage failed: ${(e as Error).message}`)
    }
  }

  /** resolves when `cond` holds (re-checked at every change, and twice a second for the clock) */
  private until(cond: () => boolean, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now()
      const check = () => {
        if (!cond() && (timeoutMs === undefined || Date.now() - started <= timeoutMs)) return
        this.waiters.delete(check)
        clearInterval(timer)
        resolve()
      }
      const timer = setInterval(() => this.notify(), 500)
      this.waiters.add(check)
      check()
    })
  }

  /** pipeline means over the run so far (for the summary and the benchmarks) */
  pipelineMeans() {
    return this.metrics?.runMeans() ?? null
  }

  private progress(msg: string) {
    this.deps.log.info(`[${this.runId.slice(0, 8)}] ${msg}`)
  }
}
