// Drives the runs of this process: one engine per active run, one result stream from the
// workers routed to the engine that waits for it, and a lease per run so that only one
// process drives a run at a time (a second engine takes over when the first dies).
import { hostname } from 'node:os'
import { HELD_OUT_JOB_PREFIX } from './held-out.ts'
import type { Db } from '../db.ts'
import type { EvaluationBackend, EvalResult } from '../contracts/evaluation.ts'
import type { EventBus } from '../events.ts'
import type { Logger } from '../log.ts'
import { ACTIVE_STATUSES, type RunStatus } from '../../client-safe/run-config.ts'
import { RunEngine } from './engine.ts'
import type { EngineHooks } from './hooks.ts'

/** how long a run's lease lasts without renewal: an engine that dies is replaced after this (FM_LEASE_S) */
const LEASE_S = Math.max(3, Number(process.env.FM_LEASE_S) || 30)

export interface ManagerDeps {
  db: Db
  backend: EvaluationBackend
  events: EventBus
  log: Logger
  hooks?: EngineHooks
  llmEnv?: NodeJS.ProcessEnv
}

export class EngineManager {
  readonly owner = `${hostname()}:${process.pid}`
  private readonly engines = new Map<
    string,
    { engine: RunEngine; done: Promise<{ status: RunStatus; reason: string | null }> }
  >()
  private leaseTimer: NodeJS.Timeout | null = null
  private readonly orphans: EvalResult[] = []
  private pollTimer: NodeJS.Timeout | null = null

  constructor(private readonly deps: ManagerDeps) {
    deps.backend.onResult((r) => this.route(r))
  }

  private async route(r: EvalResult) {
    for (const { engine } of this.engines.values()) {
      if (engine.owns(r.jobId)) return engine.onResult(r)
    }
    // results for runs this process does not drive (yet): the engine that resumes them re-submits;
    // held-out results go to their own listener (held-out.ts)
    if (this.orphans.length < 1000 && !r.jobId.startsWith(HELD_OUT_JOB_PREFIX)) this.orphans.push(r)
  }

  get(runId: string) {
    return this.engines.get(runId)?.engine
  }

  running() {
    return [...this.engines.keys()]
  }

  private async claim(runId: string): Promise<boolean> {
    // embedded: the data-folder lock already makes this the only process that can drive runs
    if (this.deps.db.mode === 'embedded') {
      await this.deps.db.prisma.run.update({
        where: { id: runId },
        data: { leaseOwner: this.owner, leaseUntil: new Date(Date.now() + LEASE_S * 1000) },
      })
      return true
    }
    const n = await this.deps.db.prisma.$executeRaw`
      UPDATE runs SET lease_owner = ${this.owner}, lease_until = now() + make_interval(secs => ${LEASE_S})
      WHERE id = ${runId} AND (lease_owner IS NULL OR lease_owner = ${this.owner} OR lease_until < now())`
    return n === 1
  }

  private renewLeases() {
    if (this.leaseTimer) return
    this.leaseTimer = setInterval(
      () => {
        const ids = this.running()
        if (!ids.length) return
        void this.deps.db.prisma.$executeRaw`
        UPDATE runs SET lease_until = now() + make_interval(secs => ${LEASE_S}) WHERE lease_owner = ${this.owner} AND id = ANY(${ids}::text[])`.catch(
          () => undefined,
        )
      },
      (LEASE_S / 3) * 1000,
    )
    this.leaseTimer.unref()
  }

  /** Starts (or resumes) driving a run; resolves when it completes, fails, stops or pauses. */
  launch(runId: string): Promise<{ status: RunStatus; reason: string | null }> {
    // registered before any await: a second launch of the same run (runs.create and the pick-up
    // poll racing) joins the first instead of starting a second engine on the same run
    const pending = this.launching.get(runId)
    if (pending) return pending
    const p = this.start(runId).finally(() => this.launching.delete(runId))
    this.launching.set(runId, p)
    return p
  }

  private readonly launching = new Map<string, Promise<{ status: RunStatus; reason: string | null }>>()

  private async start(runId: string): Promise<{ status: RunStatus; reason: string | null }> {
    const existing = this.engines.get(runId)
    if (existing) return existing.done
    if (!(await this.claim(runId))) throw new Error(`run ${runId} is driven by another engine process`)
    this.renewLeases()
    const engine = new RunEngine({ ...this.deps, owner: this.owner }, runId)
    const done = engine.run().finally(async () => {
      this.engines.delete(runId)
      await this.deps.db.prisma.run
        .update({ where: { id: runId }, data: { leaseOwner: null, leaseUntil: null } })
        .catch(() => undefined)
    })
    this.engines.set(runId, { engine, done })
    return done
  }

  /** At start-up: pick up the runs that were active when their engine died. */
  async resumeActive(quiet = false): Promise<string[]> {
    const rows = await this.deps.db.prisma.run.findMany({
      where: {
        status: { in: ACTIVE_STATUSES },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }, { leaseOwner: this.owner }],
      },
      select: { id: true },
    })
    const started: string[] = []
    for (const r of rows) {
      if (this.engines.has(r.id) || this.launching.has(r.id)) continue
      this.launch(r.id).catch((e) => this.deps.log.error(`run ${r.id}: ${(e as Error).message}`))
      started.push(r.id)
    }
    if (started.length && !quiet)
      this.deps.log.info(
        `resuming ${started.length} run(s) that were active: ${started.map((s) => s.slice(0, 8)).join(', ')}`,
      )
    return started
  }

  /** Keep picking up runs that no live engine drives (created by a web process, or orphaned). */
  watchForRuns(intervalMs = 3000) {
    const t = setInterval(
      () => void this.resumeActive(true).catch((e) => this.deps.log.warn(`run pick-up: ${(e as Error).message}`)),
      intervalMs,
    )
    t.unref()
    this.pollTimer = t
  }

  async stopAll(reason = 'the server is shutting down') {
    // a shutdown detaches: the runs stay active and the next start resumes them where they were
    const all = [...this.engines.values()]
    for (const { engine } of all) engine.detach()
    await Promise.race([
      Promise.all(all.map((e) => e.done.catch(() => undefined))),
      new Promise((r) => setTimeout(r, 20_000)),
    ])
    if (this.leaseTimer) clearInterval(this.leaseTimer)
    if (this.pollTimer) clearInterval(this.pollTimer)
    void reason
  }
}
