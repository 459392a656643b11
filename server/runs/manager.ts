// Hosts the run drivers of this process (an `fm-agent engine`, or a process with one inside): one
// driver per active run, one result stream from the workers routed to the driver that waits for it,
// and a lease per run so that only one process drives a run at a time (another takes over when the
// first dies).
import { HELD_OUT_JOB_PREFIX } from './held-out.ts'
import type { EvalResult } from '../contracts/evaluation.ts'
import { ACTIVE_STATUSES, type RunStatus } from '../../client-safe/run-config.ts'
import { type DriverDeps, RunDriver } from './driver.ts'
import { holdHeapPacing } from './heap-pacer.ts'
import { THIS_PROCESS } from './lease.ts'
import { maintainEmbedded } from '../db/maintenance.ts'

/** how long a run's lease lasts without renewal: a process that dies is replaced after this (FM_LEASE_S) */
const LEASE_S = Math.max(3, Number(process.env.FM_LEASE_S) || 30)
/** how long a shutdown waits for its runs to let go */
const STOP_GRACE_MS = 20_000

/** what a driver needs, but its owner: the manager is it */
export type ManagerDeps = Omit<DriverDeps, 'owner'> & {
  /**
   * the embedded database's upkeep after each run that ends here: the console's process. A headless
   * `fm-agent run` leaves it to the console's next start, so that its user does not wait for it
   */
  upkeep?: boolean
}

export class EngineManager {
  readonly owner = THIS_PROCESS
  private readonly drivers = new Map<
    string,
    { driver: RunDriver; done: Promise<{ status: RunStatus; reason: string | null }> }
  >()
  private leaseTimer: NodeJS.Timeout | null = null
  private readonly orphans: EvalResult[] = []
  private pollTimer: NodeJS.Timeout | null = null

  constructor(private readonly deps: ManagerDeps) {
    deps.backend.onResult((r) => this.route(r))
  }

  private async route(r: EvalResult) {
    for (const { driver } of this.drivers.values()) {
      if (driver.owns(r.jobId)) return driver.onResult(r)
    }
    // results for runs this process does not drive (yet): the driver that resumes them re-submits;
    // held-out results go to their own listener (held-out.ts)
    if (this.orphans.length < 1000 && !r.jobId.startsWith(HELD_OUT_JOB_PREFIX)) this.orphans.push(r)
  }

  get(runId: string) {
    return this.drivers.get(runId)?.driver
  }

  running() {
    return [...this.drivers.keys()]
  }

  /** Resolves once this process no longer drives the run and has let go of its lease; at once when it never did. */
  async released(runId: string): Promise<void> {
    await this.launching.get(runId)?.catch(() => undefined)
    await this.drivers.get(runId)?.done.catch(() => undefined)
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
  launch(runId: string, opts: { pickedUp?: boolean } = {}): Promise<{ status: RunStatus; reason: string | null }> {
    // registered before any await: a second launch of the same run (runs.create and the pick-up
    // poll racing) joins the first instead of starting a second driver on the same run
    const pending = this.launching.get(runId)
    if (pending) return pending
    const p = this.start(runId, opts).finally(() => {
      this.launching.delete(runId)
      this.stopsPending.delete(runId)
    })
    this.launching.set(runId, p)
    return p
  }

  private readonly launching = new Map<string, Promise<{ status: RunStatus; reason: string | null }>>()
  /** stops asked for while a run's driver was still being made (its lease claimed, its state loaded) */
  private readonly stopsPending = new Map<string, string>()

  /**
   * Stops a run this process drives, or one it is starting: a Ctrl-C in a run's first moments came
   * before its driver existed and was lost, and the run went on.
   */
  stop(runId: string, reason: string) {
    const driver = this.drivers.get(runId)?.driver
    if (driver) driver.stop(reason)
    else if (this.launching.has(runId)) this.stopsPending.set(runId, reason)
  }

  private async start(
    runId: string,
    opts: { pickedUp?: boolean },
  ): Promise<{ status: RunStatus; reason: string | null }> {
    const existing = this.drivers.get(runId)
    if (existing) return existing.done
    if (!(await this.claim(runId))) throw new Error(`run ${runId} is driven by another engine process`)
    this.renewLeases()
    const driver = new RunDriver({ ...this.deps, owner: this.owner, pickedUp: !!opts.pickedUp }, runId)
    const asked = this.stopsPending.get(runId)
    this.stopsPending.delete(runId)
    if (asked !== undefined) driver.stop(asked)
    const releaseHeap = holdHeapPacing()
    const done = driver.run().finally(async () => {
      releaseHeap()
      this.drivers.delete(runId)
      // only its own: a lease that lapsed and went to another engine stays that engine's
      await this.deps.db.prisma.run
        .updateMany({ where: { id: runId, leaseOwner: this.owner }, data: { leaseOwner: null, leaseUntil: null } })
        .catch(() => undefined)
    })
    const ended = done.then(async (r) => {
      await this.maintain(runId, r.reason)
      return r
    })
    this.drivers.set(runId, { driver, done: ended })
    return ended
  }

  /**
   * The embedded database's VACUUM (ANALYZE), once a run has ended (PGlite has no autovacuum). Not on
   * a shutdown's detach, so that a Ctrl-C still exits at once; not while another run is driven here,
   * since it holds PGlite's one connection: the next run's end catches up on what grew.
   */
  private async maintain(runId: string, reason: string | null) {
    if (!this.deps.upkeep || this.deps.db.mode !== 'embedded' || reason === 'detached') return
    if (this.drivers.size > 0 || [...this.launching.keys()].some((id) => id !== runId)) return
    try {
      const r = await maintainEmbedded(this.deps.db)
      if (r.tables.length)
        this.deps.log.debug(`database upkeep: VACUUM (ANALYZE) of ${r.tables.join(', ')} in ${Math.round(r.ms)} ms`)
    } catch (e) {
      this.deps.log.warn(
        `the database's upkeep after run ${runId.slice(0, 8)} failed (the console may read this run more slowly; the next run's end tries again): ${(e as Error).message}`,
      )
    }
  }

  /** At start-up: pick up the runs that were active when their driving process died. */
  async resumeActive(quiet = false): Promise<string[]> {
    const rows = await this.deps.db.prisma.run.findMany({
      where: {
        status: { in: ACTIVE_STATUSES },
        // embedded, another process's lease is one that ended holding it (lease.ts)
        ...(this.deps.db.mode === 'embedded'
          ? {}
          : { OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }, { leaseOwner: this.owner }] }),
      },
      select: { id: true, startedAt: true },
    })
    const started: string[] = []
    const fresh: string[] = []
    for (const r of rows) {
      if (this.drivers.has(r.id) || this.launching.has(r.id)) continue
      this.launch(r.id, { pickedUp: true }).catch((e) => this.deps.log.error(`run ${r.id}: ${(e as Error).message}`))
      started.push(r.id)
      // a run made while no engine ran (server mode) starts here; it resumes nothing
      if (!r.startedAt) fresh.push(r.id)
    }
    const ids = (xs: string[]) => xs.map((s) => s.slice(0, 8)).join(', ')
    const resumed = started.filter((id) => !fresh.includes(id))
    if (!quiet) {
      if (resumed.length) this.deps.log.info(`resuming ${resumed.length} run(s) that were active: ${ids(resumed)}`)
      if (fresh.length)
        this.deps.log.info(`starting ${fresh.length} run(s) that were waiting for an engine: ${ids(fresh)}`)
    }
    return started
  }

  /** Keep picking up runs that no live process drives (created by a web process, or orphaned). */
  watchForRuns(intervalMs = 3000) {
    const t = setInterval(
      () => void this.resumeActive(true).catch((e) => this.deps.log.warn(`run pick-up: ${(e as Error).message}`)),
      intervalMs,
    )
    t.unref()
    this.pollTimer = t
  }

  async stopAll() {
    // a shutdown detaches: the runs stay active and the next start resumes them where they were
    const all = [...this.drivers.values()]
    for (const { driver } of all) driver.detach()
    // at most 20 s for the drivers to let go; the timer must not outlive them (it held every
    // shutdown's process for the whole 20 s)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(all.map((e) => e.done.catch(() => undefined))),
      new Promise((r) => {
        timer = setTimeout(r, STOP_GRACE_MS)
      }),
    ])
    clearTimeout(timer)
    if (this.leaseTimer) clearInterval(this.leaseTimer)
    if (this.pollTimer) clearInterval(this.pollTimer)
  }
}
