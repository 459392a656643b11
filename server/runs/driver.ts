// The driver of one run (the pure search it drives is server/engine/; the `fm-agent engine` process
// hosts drivers, manager.ts): cold start, then the asynchronous evolve stage, as a pipeline. Model
// requests (the generation pool) run decoupled from evaluations (the dispatcher): requests are
// planned from the population as it is when they start, answers are screened and stored and go to
// the evaluation queue, results are stored and then applied to the search state in the order they
// finished. Every step is written before it is acted on; a killed process resumes by replaying what
// is stored (state.ts) and re-submitting what was in flight. This file is the loop and its end; the
// parts: load.ts (the run loaded, its parts built, what was in flight re-submitted), cold-start.ts,
// requester.ts (one request: asked, screened, stored), knobs.ts (knobs and interventions),
// budget.ts (slots and spend), planner.ts (what to ask), generation.ts (requests in flight),
// store.ts (group-committed writes), dispatcher.ts (evaluations in flight), ingest.ts (results into
// the search), metrics.ts, repair.ts (failed children back to a model, ahead of new requests).
import { setMaxListeners } from 'node:events'
import type { Db } from '../db.ts'
import type { EvaluationBackend, EvalResult } from '../contracts/evaluation.ts'
import type { EventBus } from '../events.ts'
import { type Logger, logError } from '../log.ts'
import { GaugeMean, waitingLimit } from './concurrency.ts'
import { clipReason } from '../engine/fitness.ts'
import { fullNumber } from '../../client-safe/format.ts'
import { FINAL_STATUSES, type RunStatus } from '../../client-safe/run-config.ts'
import { ColdStart } from './cold-start.ts'
import { RunKnobs } from './knobs.ts'
import { evaluateHeldOut } from './held-out.ts'
import { refusePending } from './commands.ts'
import { CommandInbox } from './inbox.ts'
import { loadRun, resubmitInFlight, type RunParts } from './load.ts'
import { Requester } from './requester.ts'
import type { DriverHooks } from './hooks.ts'
import { RunState } from './state.ts'

/** A resumed run re-evaluates the files it started with, which the failure would otherwise hide. */
const FIXED_FILES =
  'a run keeps the problem files it started with, so resuming it evaluates them again: after fixing the problem, start a new run'

export type { EngineSnapshot } from './state.ts'

export interface DriverDeps {
  db: Db
  backend: EvaluationBackend
  events: EventBus
  log: Logger
  hooks?: DriverHooks
  /** environment the model clients read keys from (default process.env) */
  llmEnv?: NodeJS.ProcessEnv
  /** who drives the run (host:pid), recorded with every command this driver acknowledges */
  owner?: string
  /**
   * picked up by an engine after the process driving it died (or at start-up), not resumed by a
   * user: a pause or stop that process had applied and not finished is finished here
   */
  pickedUp?: boolean
}

export type Mode = 'idle' | 'cold-start' | 'evolve'

export class RunDriver {
  readonly runId: string
  private readonly deps: DriverDeps
  private readonly state: RunState
  private readonly knobs: RunKnobs
  private parts: RunParts | null = null
  private cold!: ColdStart
  private requester!: Requester
  private mode: Mode = 'idle'
  private stopping: { status: RunStatus; reason: string | null } | null = null
  /** stopped or failed now: the evaluations in flight are withdrawn instead of waited for */
  private abandoning = false
  /** why the run pauses (who asked), once asked */
  private pauseRequested: string | null = null
  private detaching = false
  /** the lease went to another engine: nothing more of the run's state is written from here */
  private fenced = false
  /** nothing could be planned while nothing was in flight: the evolve stage has nothing to select */
  private starved = false
  private pumping = false
  private readonly abort = new AbortController()
  /**
   * the knowledge retrievals beside the run (a stalled island's, an expert's): cancelled when the
   * run stops driving, however it ends, since a slow embedding model held its end (and the exit
   * of `fm-agent run`) for its whole bounded wait and then wrote to a run that was over
   */
  private readonly retrievals = new AbortController()
  private readonly waiters = new Set<() => void>()
  private readonly waitingGauge = new GaugeMean()
  private readonly busyGauge = new GaugeMean()
  private inbox: CommandInbox | null = null
  private stopWatching: () => Promise<void> = async () => undefined

  constructor(deps: DriverDeps, runId: string) {
    this.deps = deps
    this.runId = runId
    // each request in flight (up to generation.maxInFlight's bound, 1024) listens to the run's
    // signal and stops when its attempt ends (llm/retry.ts, whose test bounds the heap): not a leak
    setMaxListeners(2 * 1024 + 32, this.abort.signal)
    this.state = new RunState(deps.db, runId)
    this.knobs = new RunKnobs({
      ...deps,
      runId,
      state: this.state,
      parts: () => this.parts,
      pause: (reason) => this.pause(reason),
      stop: (reason) => this.stop(reason),
      progress: (msg) => this.progress(msg),
      retrievals: this.retrievals.signal,
    })
  }

  get db() {
    return this.deps.db
  }

  /** the parts, once loaded */
  private get p(): RunParts {
    return this.parts!
  }

  // ------------------------------------------------------------------ control

  pause(reason = 'paused by a user') {
    this.pauseRequested ??= reason
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
    this.endNow('failed', reason)
  }

  private endNow(status: 'failed' | 'completed', reason: string) {
    if (this.stopping) return
    this.stopping = { status, reason }
    // a failed run's evaluations in flight are not waited for; a completed one's are still worth their results
    this.abandoning = status === 'failed'
    this.abort.abort()
    this.notify()
  }

  stop(reason = 'stopped by a user') {
    this.stopping = { status: 'stopped', reason }
    this.abandoning = true
    this.abort.abort()
    this.notify()
  }

  /** What the console shows of the run's knobs and pipeline. */
  controlState() {
    return this.knobs.controlState()
  }

  /** The islands whose population holds this candidate now (empty when evicted, banned or not yet evaluated). */
  populationOf(id: string): number[] {
    return this.knobs.populationOf(id)
  }

  /** The manager routes every evaluation result here; true when this run was waiting for it. */
  owns(jobId: string) {
    return this.parts?.dispatcher.owns(jobId) ?? false
  }

  async onResult(r: EvalResult) {
    await this.p.dispatcher.onResult(r)
  }

  // ------------------------------------------------------------------ lifecycle

  /** The run deleted meanwhile: nothing to drive (interventions come through the inbox). */
  private async watch() {
    const [row] = await this.db.sql<{ lease_owner: string | null }>('SELECT lease_owner FROM runs WHERE id = $1', [
      this.runId,
    ])
    if (!row) this.stop('the run was deleted')
    else if (this.deps.owner && row.lease_owner !== null && row.lease_owner !== this.deps.owner) this.leaseLost()
  }

  /**
   * Another engine took the run over: this process's lease lapsed while it was frozen or cut off (a
   * long pause, a suspended machine, a partition). It lets go at once and writes nothing more of the
   * run's state: the run is the other engine's now.
   */
  leaseLost() {
    if (this.fenced) return
    this.fenced = true
    this.deps.log.warn(
      `run ${this.runId}: another engine drives this run now (this process's lease lapsed); letting go of it`,
    )
    this.detaching = true
    this.abandoning = true
    this.abort.abort()
    this.notify()
  }

  /**
   * A pause or stop acknowledged by the process that drove the run before it died: it had applied
   * it (the console showed it applied) and was waiting for the evaluations in flight when it died,
   * so the run is still active in the database. Applied since the run last (re)started evolving.
   */
  private async finishHalt() {
    const [halt] = await this.db.sql<{ kind: string; reason: string | null }>(
      `SELECT kind, payload->>'reason' AS reason FROM run_commands
        WHERE run_id = $1 AND kind IN ('run.pause', 'run.stop') AND status = 'applied'
          AND applied_at > coalesce((SELECT max(created_at) FROM run_events WHERE run_id = $1 AND type = 'status'
                                       AND payload->>'status' IN ('cold-start', 'evolving')), '-infinity'::timestamptz)
        ORDER BY applied_at DESC, id DESC LIMIT 1`,
      [this.runId],
    )
    if (!halt) return
    const stop = halt.kind === 'run.stop'
    const reason = halt.reason ?? (stop ? 'stopped by a user' : 'paused by a user')
    this.progress(`finishing the ${stop ? 'stop' : 'pause'} the previous engine had applied (${reason})`)
    if (stop) this.stop(reason)
    else this.pause(reason)
  }

  /** Runs until the run completes, fails, is stopped, or is paused. Resolves with the final status. */
  async run(): Promise<{ status: RunStatus; reason: string | null }> {
    try {
      await this.load()
    } catch (e) {
      logError(this.deps.log, `run ${this.runId}: `, e)
      throw e
    }
    const watcher = setInterval(() => void this.watch().catch(() => undefined), 2000)
    watcher.unref()
    // the pipeline's figures keep coming while nothing finishes (no worker, a slow model)
    const beat = setInterval(() => this.mode !== 'idle' && void this.p.metrics.write().catch(() => undefined), 1000)
    beat.unref()
    this.inbox = new CommandInbox(this.deps, this.runId, this.deps.owner ?? 'this process', (c) => this.knobs.apply(c))
    this.stopWatching = async () => {
      clearInterval(watcher)
      clearInterval(beat)
      await this.inbox?.stop()
    }
    const s = this.state
    try {
      if (s.status !== 'cold-start' && s.status !== 'evolving') {
        const resumed = s.evaluationsAtLoad > 0
        await this.setStatus((await this.cold.finished()) ? 'evolving' : 'cold-start', null)
        if (resumed) this.progress(`run resumed at ${s.evaluationsAtLoad} evaluations (${s.status})`)
      }
      // interventions: given before this driver started (a failover, an edit queued on a paused
      // run) or while it runs; read once the stage is known, so a queued edit finds the run evolving
      await this.inbox.start()
      if (this.deps.pickedUp) await this.finishHalt()
      await resubmitInFlight(this.deps, this.runId, s, this.p)
      if (s.status === 'cold-start') await this.cold.run()
      if (s.status === 'evolving' && !this.halted()) await this.evolve()
      await this.drain()
      return await this.finish()
    } catch (e) {
      logError(this.deps.log, `run ${this.runId}: `, e)
      this.stopping ??= { status: 'failed', reason: `engine error: ${(e as Error).message}` }
      this.abort.abort()
      await this.drain().catch(() => undefined)
      await this.setStatus('failed', this.stopping.reason)
      // an error of a process that lost the run (its writes collide with the new driver's) is not the run's
      if (this.fenced) return { status: s.status, reason: 'detached' }
      return { status: 'failed', reason: this.stopping.reason }
    } finally {
      await this.stopWatching()
      if (FINAL_STATUSES.includes(this.state.status))
        await refusePending(
          this.db,
          this.deps.events,
          this.runId,
          `the run ${this.state.status} before this was applied`,
        ).catch(() => undefined)
      await this.p.store.drain().catch(() => undefined)
      if (!this.fenced) {
        await this.p.ingestor.saveSnapshot().catch(() => undefined)
        await this.p.metrics.write(true).catch(() => undefined)
      }
    }
  }

  private async load() {
    const parts = await loadRun(this.deps, this.runId, this.state, {
      signal: this.abort.signal,
      accepting: () => !this.stopping,
      notify: () => this.notify(),
      failNow: (reason) => this.failNow(reason),
      progress: (msg) => this.progress(msg),
      retrieve: (island, trigger) => this.knobs.retrieveFor(island, trigger),
      waiting: this.waitingGauge,
      busy: this.busyGauge,
    })
    this.parts = parts
    this.cold = new ColdStart({
      ...this.deps,
      ...parts,
      runId: this.runId,
      state: this.state,
      retrievals: this.retrievals.signal,
      loop: {
        halted: () => this.halted(),
        until: (cond) => this.until(cond),
        setMode: (mode) => this.setMode(mode),
        progress: (msg) => this.progress(msg),
        fail: (reason) => this.fail(reason),
      },
    })
    this.requester = new Requester({
      ...this.deps,
      ...parts,
      runId: this.runId,
      state: this.state,
      cold: this.cold,
      signal: this.abort.signal,
      halted: () => this.halted(),
      failNow: (reason) => this.failNow(reason),
      exhausted: (reason) => this.endNow('completed', reason),
    })
  }

  // ------------------------------------------------------------------ the pipeline

  halted() {
    return this.stopping !== null || this.pauseRequested !== null || this.detaching
  }

  /** Ends the run as failed once what is in flight is done (a stage found nothing to go on with). */
  private fail(reason: string) {
    this.stopping = { status: 'failed', reason }
  }

  private setMode(mode: Mode) {
    this.mode = mode
    this.pump()
  }

  /** candidates allowed to wait for a worker (concurrency.ts waitingLimit) */
  private queueLimit() {
    const { dispatcher, pool } = this.p
    return waitingLimit({
      capacity: dispatcher.capacity(),
      maxRequests: pool.limit.max,
      latencyMs: pool.latency.value,
      serviceMs: dispatcher.service.value,
    })
  }

  /** Something changed: start what may start, then let waiters re-check. */
  private notify() {
    if (this.parts) {
      this.waitingGauge.set(this.parts.dispatcher.waiting())
      this.busyGauge.set(this.parts.dispatcher.busy())
    }
    this.pump()
    for (const w of [...this.waiters]) w()
  }

  private pump() {
    if (this.pumping || this.mode === 'idle' || this.halted()) return
    const { pool, dispatcher, budget, repairs, planner, ingestor } = this.p
    this.pumping = true
    try {
      while (pool.hasRoom() && dispatcher.waiting() < this.queueLimit() && budget.blocked() === null) {
        // repairs owed go first: a failure's context is freshest now
        const repair = repairs.next(pool.saturated())
        const req = repair ?? (this.mode === 'cold-start' ? this.cold.next() : planner.evolve(pool.saturated()))
        if (!req) {
          this.starved = this.mode === 'evolve' && pool.size === 0 && dispatcher.size === 0 && ingestor.backlog === 0
          break
        }
        if (!budget.reserve(req.expectedCostUsd)) {
          if (repair) repairs.putBack(repair.pending)
          break
        }
        this.starved = false
        pool.start({ modelId: req.modelId, run: () => this.requester.request(req) })
      }
    } finally {
      this.pumping = false
    }
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
      this.fail(
        !seed
          ? `no valid candidate after the cold start: ${await this.seedlessFailure()}`
          : `no valid candidate after the cold start: ${seeds.length > 1 ? 'the seed programs are invalid' : 'the seed program is invalid'} (${clipReason(String(why), 300)})${s.evaluationsAtLoad > 0 ? `; ${FIXED_FILES}` : ''}`,
      )
      return
    }
    const { pool, dispatcher, ingestor, budget } = this.p
    this.setMode('evolve')
    await this.until(
      () =>
        this.halted() ||
        (pool.size === 0 &&
          dispatcher.size === 0 &&
          ingestor.backlog === 0 &&
          (budget.blocked() !== null || this.starved)),
    )
    this.setMode('idle')
    if (this.starved && !this.halted() && budget.blocked() === null)
      this.fail('no candidate can be selected as a parent any more (every island is empty or banned)')
  }

  /**
   * Why a cold start from the description alone found nothing: programs were evaluated and all were
   * invalid, or none was evaluated at all (the answers held no program), with the commonest reason.
   */
  private async seedlessFailure() {
    const rows = await this.db.sql<{ evaluated: number; reason: string | null; n: number }>(
      `SELECT count(*) FILTER (WHERE status = 'evaluated')::int AS evaluated,
              mode() WITHIN GROUP (ORDER BY reject_reason) AS reason, count(*)::int AS n
         FROM candidates WHERE run_id = $1`,
      [this.runId],
    )
    const r = rows[0]
    if (r && r.evaluated === 0 && r.n > 0)
      return `none of the ${r.n} answers to the description held a program that could be evaluated${r.reason ? ` (most often: ${clipReason(r.reason, 200)})` : ''}`
    return 'no program written from the description was valid (see the cold-start candidates and their reasons)'
  }

  // ------------------------------------------------------------------ the end

  private async setStatus(status: RunStatus, reason: string | null) {
    const s = this.state
    if (this.fenced) return
    const final = status === 'completed' || status === 'stopped' || status === 'failed'
    // only while this process holds the lease: one that lapsed must not end another engine's run
    const { count } = await this.db.prisma.run.updateMany({
      where: { id: this.runId, ...(this.deps.owner ? { leaseOwner: this.deps.owner } : {}) },
      data: {
        status,
        statusReason: reason,
        finishedAt: final ? new Date() : null,
        activeS: this.p.budget.activeS(),
        activeAt: new Date(),
        ...(status === 'cold-start' || status === 'evolving' ? { startedAt: new Date(s.startedAt) } : {}),
      },
    })
    if (count === 0) return this.leaseLost()
    s.status = status
    const row = await this.db.prisma.runEvent.create({
      data: { runId: this.runId, type: 'status', payload: { status, reason } },
      select: { id: true },
    })
    this.deps.events.publish({ id: String(row.id), runId: this.runId, type: 'status', payload: { status, reason } })
  }

  /** Waits for requests, evaluations and ingestion to end (bounded when stopping or detaching). */
  private async drain() {
    // every end passes here as soon as it is decided (the budget, a stop, a pause, a failure)
    this.retrievals.abort()
    const bounded = this.stopping || this.detaching ? 20_000 : undefined
    const { pool, dispatcher, ingestor, store } = this.p
    await this.until(
      () => pool.size === 0 && (this.abandoning || dispatcher.size === 0) && ingestor.backlog === 0,
      bounded,
    )
    await ingestor.idle()
    await store.drain()
    await ingestor.lessonsDone()
    // cancelled above: nothing of theirs touches the database once the run's end is written
    await ingestor.retrievalsDone()
  }

  private async finish(): Promise<{ status: RunStatus; reason: string | null }> {
    const s = this.state
    const { budget, dispatcher } = this.p
    let status: RunStatus
    let reason: string | null
    // the run is another engine's now: what is in flight here is its business, not ours to end
    if (this.fenced) return { status: s.status, reason: 'detached' }
    if (this.detaching && !this.stopping) {
      // what is still in flight stays queued: re-submitted when the run is picked up again
      // server mode: another engine takes it up within seconds; embedded: this folder's next start does
      this.progress(
        `detached at ${budget.evaluations} evaluations; ${this.db.mode === 'server' ? 'another engine takes the run up (or this one, restarted)' : 'the run resumes at the next start'}`,
      )
      return { status: s.status, reason: 'detached' }
    }
    if (this.stopping) ({ status, reason } = this.stopping)
    else if (this.pauseRequested !== null) (status = 'paused'), (reason = this.pauseRequested)
    else {
      status = 'completed'
      reason = budget.exhausted() ?? 'evaluation budget reached'
    }
    if (status !== 'completed' && dispatcher.size) {
      // evaluations a stop or failure did not wait for are recorded as never finished; a seed program
      // stays queued, to be evaluated when the run resumes: the run's start and its seedScore
      const ids = dispatcher.abandon()
      await this.db.prisma.candidate.updateMany({
        where: { id: { in: ids }, status: { in: ['queued', 'running'] }, origin: { not: 'seed' } },
        data: { status: 'rejected', rejectReason: `run ${status} before the evaluation finished` },
      })
    }
    await this.setStatus(status, reason)
    if (this.fenced) return { status: s.status, reason: 'detached' }
    this.progress(`run ${status}: ${reason} (${budget.evaluations} evaluations, best ${fullNumber(s.bestScore)})`)
    if (status === 'completed' && s.problem.spec.heldOut) await this.heldOutCheck()
    return { status, reason }
  }

  /** The end of a completed run: its top candidates on the problem's held-out stage (held-out.ts). */
  private async heldOutCheck() {
    this.progress(
      'held-out stage: re-evaluating the top candidates, and the seed they are compared with, on instances the search never saw',
    )
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
    return this.parts?.metrics.runMeans() ?? null
  }

  private progress(msg: string) {
    this.deps.log.info(`[${this.runId.slice(0, 8)}] ${msg}`)
  }
}
