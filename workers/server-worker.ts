// Server mode, worker side: `fm-agent worker [--concurrency N] [--gpu]` on any machine that can reach
// Postgres. It holds one secret, its connection string (a role limited to the queue and
// problem_bundles: server/queue/roles.ts), registers itself in fm_queue.workers, heartbeats, takes
// `fm_evaluate_cpu_v<JOB_PROTOCOL>` jobs (and `fm_evaluate_gpu_v…` ones with --gpu) that need only languages it has,
// runs each in the sandbox and posts the result as an `fm_eval_result` job.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Job as GraphileJob } from 'graphile-worker'
import { cpus, homedir, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { pg } from '../server/db/pg.ts'
import { detectGpuName } from './toolchains.ts'
import {
  EvalJob,
  LANGUAGES,
  QUEUE_TASKS,
  type EvalResult,
  type IsolationReport,
} from '../server/contracts/evaluation.ts'
import { databaseAway, NETWORK, watchConnection } from '../server/queue/connection.ts'
import { avoidFlag } from '../server/queue/backend.ts'
import { graphileWorker, quietLogger, resultJobKey } from '../server/queue/schema.ts'
import { whenReady } from '../server/db/ready.ts'
import { AUTH_CODES, describeUrl, explainPgError } from '../server/db/pg-errors.ts'
import { roleStanding } from '../server/queue/roles.ts'
import { createRunner, machineCapabilities, type Runner } from './runner.ts'
import { announceIsolation, detectIsolation, type DetectOptions, unsandboxedRefusal } from './sandbox.ts'

export interface ServerWorkerOptions {
  databaseUrl: string
  /** evaluations at once (default: the machine's cores) */
  concurrency?: number
  gpu?: boolean
  name?: string
  /** bundle cache and evaluation folders (default FM_WORKER_CACHE or ~/.cache/fm-agent/worker) */
  cacheDir?: string
  /** more folders/files candidates must not see */
  hide?: string[]
  isolation?: IsolationReport | DetectOptions
  heartbeatMs?: number
  /** a job whose workers died this many times is answered with an infra error instead of run again */
  maxDeathRetries?: number
  pollIntervalMs?: number
  /** jobs taken beyond the running ones (default 1) */
  prefetch?: number
  announce?: boolean
  log?: (line: string) => void
  /**
   * heartbeats in a row refused for the role's sake (authentication failed, role gone, rights
   * revoked) before the worker gives up and stops (default FM_WORKER_AUTH_FAILURES or 6: half a
   * minute at the default heartbeat). Network errors never count: a restarting server is waited for.
   */
  maxAuthFailures?: number
  /** when infra errors of its own make the worker stop taking jobs, and for how long (tests shorten it) */
  backoff?: Partial<BackoffPolicy>
}

export interface BackoffPolicy {
  /** evaluations in a row failed for infrastructure reasons on this machine before it backs off */
  afterFailures: number
  /** the first back-off; each one after it without a good evaluation between lasts twice as long */
  firstMs: number
  maxMs: number
}

export const BACKOFF: BackoffPolicy = { afterFailures: 3, firstMs: 5_000, maxMs: 300_000 }

/** How long the n-th back-off in a row (1-based) lasts: firstMs, doubled each time, at most maxMs. */
export function backoffDelayMs(n: number, policy: BackoffPolicy = BACKOFF): number {
  return Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(30, Math.max(0, n - 1)))
}

export interface ServerWorker {
  readonly id: string
  readonly isolation: IsolationReport
  /**
   * running: evaluations in a sandbox slot now; taken: jobs held (running + prefetched); givenBack:
   * jobs put back in the queue untouched because they were taken while backing off
   */
  stats(): { running: number; taken: number; completed: number; givenBack: number }
  /** the back-off in force (infra errors of its own), or null while it takes jobs */
  backingOff(): { until: number; reason: string } | null
  /** stops taking jobs, lets running ones finish, marks itself offline */
  stop(): Promise<void>
  /** resolves when the worker has stopped (stop(), or a fatal queue error) */
  readonly done: Promise<void>
  /** why the worker stopped by itself (it can no longer use the database), or null */
  failure(): string | null
}

export async function startServerWorker(opts: ServerWorkerOptions): Promise<ServerWorker> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'))
  const concurrency = Math.max(1, opts.concurrency ?? cpus().length)
  const gpu = !!opts.gpu
  const name = opts.name ?? hostname()
  const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const heartbeatMs = opts.heartbeatMs ?? (Number(process.env.FM_WORKER_HEARTBEAT_MS) || 5_000)
  const maxDeathRetries = opts.maxDeathRetries ?? 2
  const prefetch = Math.max(0, opts.prefetch ?? 1)
  const cacheDir = resolve(
    opts.cacheDir ?? process.env.FM_WORKER_CACHE ?? join(homedir(), '.cache', 'fm-agent', 'worker'),
  )
  const isolation: IsolationReport =
    opts.isolation && 'level' in opts.isolation
      ? opts.isolation
      : detectIsolation(opts.isolation as DetectOptions | undefined)
  if (opts.announce !== false) announceIsolation(isolation, `worker ${name}`)
  const refusal = unsandboxedRefusal(isolation)
  if (refusal) throw new Error(`worker ${name} will not start: ${refusal}`)
  const gpuName = gpu ? detectGpuName() : undefined
  if (gpu && !gpuName) log(`[worker ${name}] --gpu was given but nvidia-smi finds no GPU: GPU jobs will fail here`)

  const maxAuthFailures = Math.max(1, opts.maxAuthFailures ?? (Number(process.env.FM_WORKER_AUTH_FAILURES) || 6))
  const where = describeUrl(opts.databaseUrl)
  const pool = new (pg().Pool)({
    connectionString: opts.databaseUrl,
    max: concurrency + 3,
    // names its sessions, so that an admin (and worker-role drop) can tell which machine holds them
    application_name: `fm-agent worker ${name}`.slice(0, 63),
  })
  const connection = watchConnection(pool, log, `[worker ${name}]`)
  const fetchBundle = async (hash: string) => {
    const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM problem_bundles WHERE hash = $1', [hash])
    if (!rows[0]) throw new Error('no such bundle in the database')
    return rows[0].data
  }
  const runner: Runner = createRunner({
    cacheDir,
    workerId: id,
    slots: concurrency,
    hide: opts.hide,
    isolation,
    gpu,
    fetchBundle,
    log: (l) => log(`[worker ${name}] sandbox: ${l.trim()}`),
  })
  let running = 0
  let completed = 0
  let givenBack = 0

  // Candidates' code runs here: the credentials this machine holds are what an escape would get.
  // Not refused (a single-machine set-up may use one role for all), but said where it is seen.
  const standing = await roleStanding(pool).catch(() => null)
  const appRole = !!standing && (standing.readsAppTables || standing.superuser)
  if (appRole)
    log(
      `[worker ${name}] WARNING: this worker connects as ${standing.user}, a role that can read the application's ` +
        `tables (users, API tokens, runs)${standing.superuser ? ' as a superuser' : ''}. This machine runs untrusted ` +
        'candidate code while holding full database credentials. Give it a role of its own: on a machine with the ' +
        'admin DATABASE_URL run `fm-agent worker-role create NAME` and start the worker with the URL it prints.',
    )

  const tasks = [QUEUE_TASKS.evaluateCpu, ...(gpu ? [QUEUE_TASKS.evaluateGpu] : [])]
  const capabilities = {
    ...machineCapabilities(gpu, gpuName),
    tasks,
    appRole,
  }
  await pool.query(
    `INSERT INTO fm_queue.workers (id, name, host, capabilities, isolation, concurrency, status, pid)
     VALUES ($1, $2, $3, $4, $5, $6, 'starting', $7)`,
    [id, name, hostname(), JSON.stringify(capabilities), JSON.stringify(isolation), concurrency, process.pid],
  )
  await runner.start()
  // a queue installed by an older engine has no status_detail column: the status alone is written there
  const hasDetail = await pool.query('SELECT status_detail FROM fm_queue.workers LIMIT 0').then(
    () => true,
    () => false,
  )

  // A broken machine (its sandbox cannot start, its disk is full) answers every job with an infra
  // error within milliseconds: it would take jobs faster than the healthy workers and burn their
  // retries. After a few of its own in a row it stops fetching for a while (doubling each time),
  // then runs one evaluation at a time until one succeeds.
  const policy: BackoffPolicy = { ...BACKOFF, ...opts.backoff }
  let infraStreak = 0
  let backoffs = 0 // back-offs since the last good evaluation
  let backoff: { until: number; reason: string; timer: NodeJS.Timeout } | null = null
  let closing = false
  let resumeFetch: Array<() => void> = []
  let slotWaiters: Array<() => void> = []
  let inSlots = 0
  const wakeAll = (waiters: Array<() => void>) => {
    for (const w of waiters) w()
  }
  const statusNow = () => (backoff ? 'backing-off' : 'online')
  const beatSql = `UPDATE fm_queue.workers SET last_heartbeat = now(), running = $2, completed = $3, status = $4${
    hasDetail ? ', status_detail = $5' : ''
  } WHERE id = $1`
  const beat = () =>
    pool.query(beatSql, [
      id,
      runner.stats().running,
      completed,
      statusNow(),
      ...(hasDetail ? [backoff?.reason ?? null] : []),
    ])
  // at once rather than at the next heartbeat; a failed write is the heartbeat's to retry
  const publishStatus = () => void beat().catch(() => undefined)
  const endBackoff = () => {
    if (!backoff) return
    clearTimeout(backoff.timer)
    backoff = null
    if (!closing) publishStatus()
    const fetchers = resumeFetch
    resumeFetch = []
    wakeAll(fetchers)
  }
  /** an evaluation's outcome on this machine: null when it was no infra error */
  const noteOutcome = (infraError: string | null) => {
    if (infraError === null) {
      if (backoffs > 0) log(`[worker ${name}] an evaluation succeeded: taking jobs again`)
      infraStreak = 0
      backoffs = 0
      endBackoff()
      const waiting = slotWaiters
      slotWaiters = []
      wakeAll(waiting) // the probe's one-at-a-time limit is lifted
      return
    }
    infraStreak++
    if (backoff || closing || (infraStreak < policy.afterFailures && backoffs === 0)) return
    backoffs++
    const ms = backoffDelayMs(backoffs, policy)
    const until = Date.now() + ms
    const at = new Date(until).toISOString()
    const last = infraError.replace(/\s+/g, ' ').slice(0, 500)
    backoff = {
      until,
      reason: `${infraStreak} evaluations in a row failed for infrastructure reasons on this machine (last: ${last}); takes jobs again at ${at}`,
      timer: setTimeout(endBackoff, ms),
    }
    log(
      `[worker ${name}] backing off: ${infraStreak} evaluations in a row failed for infrastructure reasons on this machine ` +
        `(last: ${last}); no jobs taken until ${at} (${Math.round(ms / 1000)} s), when it tries one again. ` +
        'Other workers take its jobs meanwhile: check this machine (fm-agent doctor)',
    )
    publishStatus()
    // jobs waiting here for a slot go back to the queue now, not when a running evaluation ends
    const waiting = slotWaiters
    slotWaiters = []
    wakeAll(waiting)
  }
  /** a sandbox slot for the job, or false when the worker backs off (the job is to be given back) */
  const takeSlot = async (): Promise<boolean> => {
    for (;;) {
      if (backoff) return false
      // after a back-off, one evaluation at a time until one succeeds: a machine still broken fails one job, not a slot's worth
      if (inSlots < (backoffs > 0 ? 1 : concurrency)) {
        inSlots++
        return true
      }
      await new Promise<void>((r) => slotWaiters.push(r))
    }
  }
  const freeSlot = () => {
    inSlots--
    slotWaiters.shift()?.()
  }
  /**
   * A job taken while backing off goes back to the queue as it was: a new copy under its key
   * (graphile-worker takes the key off the locked one, which then completes here) with the deaths
   * it had, so that a back-off never counts as a worker that died with the job (maxDeathRetries).
   */
  const giveBack = async (g: GraphileJob) => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const { rows } = await client.query<{ id: string }>(
        'SELECT id FROM graphile_worker.add_job($1, $2::json, job_key => $3, max_attempts => $4, priority => $5, flags => $6::text[])',
        [g.task_identifier, JSON.stringify(g.payload), g.key, g.max_attempts, g.priority, Object.keys(g.flags ?? {})],
      )
      await client.query('UPDATE graphile_worker._private_jobs SET attempts = $2 WHERE id = $1', [
        rows[0]!.id,
        Math.max(0, g.attempts - 1),
      ])
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw e
    } finally {
      client.release()
    }
    givenBack++
  }

  const infraResult = (job: EvalJob, message: string, dequeuedAt: number): EvalResult => ({
    jobId: job.jobId,
    attempt: job.attempt,
    workerId: id,
    valid: false,
    metrics: {},
    features: {},
    artifacts: {},
    stage: 0,
    timing: {
      queuedMs: job.enqueuedAt ? Math.max(0, dequeuedAt - job.enqueuedAt) : 0,
      startedAt: dequeuedAt,
      sandboxMs: 0,
      evaluatorMs: 0,
    },
    error: { kind: 'infra', message },
  })

  const away = (why: string) =>
    log(`[worker ${name}] the database is away (${why}): waiting for it to come back before handing in results`)
  const handler = async (payload: unknown, helpers: { job: GraphileJob }) => {
    const dequeuedAt = Date.now()
    const parsed = EvalJob.safeParse(payload)
    if (!parsed.success) {
      log(`[worker ${name}] dropped a malformed job: ${parsed.error.issues[0]?.message}`)
      return
    }
    const job = parsed.data
    running++
    try {
      if (!(await takeSlot())) {
        await patiently(() => giveBack(helpers.job), away)
        return
      }
      try {
        await evaluate(job, helpers.job.attempts, dequeuedAt)
      } finally {
        freeSlot()
        completed++
      }
    } finally {
      running--
    }
  }
  const evaluate = async (job: EvalJob, attempts: number, dequeuedAt: number) => {
    await patiently(
      () =>
        pool.query(
          'UPDATE fm_queue.jobs SET started_at = now(), worker_id = $3, runs = runs + 1 WHERE job_id = $1 AND attempt = $2',
          [job.jobId, job.attempt, id],
        ),
      away,
    )
    // graphile counts each time a job is taken; more than once means the workers before us died with it
    const deaths = attempts - 1
    let result: EvalResult
    if (deaths > maxDeathRetries)
      result = infraResult(
        job,
        `the workers running this evaluation died ${deaths} times; not retried again`,
        dequeuedAt,
      )
    else {
      result = await runner.run(job, { dequeuedAt })
      noteOutcome(result.error?.kind === 'infra' ? result.error.message : null)
    }
    // to the engine waiting for it now (an engine taking a run over moves its jobs' results to
    // itself), read under the row's lock so that a takeover sees this result posted or posts it
    await patiently(
      () =>
        pool.query(
          `SELECT graphile_worker.add_job(
             coalesce((SELECT result_task FROM fm_queue.jobs WHERE job_id = $1 AND attempt = $2 FOR SHARE), $3),
             $4::json, job_key => $5, max_attempts => 25)`,
          [
            job.jobId,
            job.attempt,
            job.resultTask ?? QUEUE_TASKS.result,
            JSON.stringify(result),
            resultJobKey(job.jobId, job.attempt),
          ],
        ),
      away,
    )
  }

  // capability routing: jobs flagged with a language this machine lacks are never taken here, nor
  // retries of jobs that failed here for infrastructure reasons (the engine drops that flag when no
  // other worker can take the job)
  const forbidden = [...LANGUAGES.filter((l) => !runner.languages.includes(l)).map((l) => `lang:${l}`), avoidFlag(id)]
  // every evaluation job carries its language's flag: forbidding them all takes none
  const takeNone = LANGUAGES.map((l) => `lang:${l}`)
  // graphile-worker asks before each fetch: while backing off the fetch waits for the back-off's
  // end (or the worker's stop), so that no job is taken only to be given back
  const forbiddenFlags = (): string[] | Promise<string[]> => {
    if (closing) return takeNone
    if (!backoff) return forbidden
    return new Promise<string[]>((r) => resumeFetch.push(() => r(closing ? takeNone : forbidden)))
  }
  const graphileIds: string[] = []
  const events = new EventEmitter()
  events.on('worker:create', ({ worker }: { worker: { workerId: string } }) => graphileIds.push(worker.workerId))
  const { run } = await graphileWorker()
  const graphile = await run({
    pgPool: pool,
    // one job more than the sandbox slots: the next job is already fetched when a slot frees, so a
    // slot never waits for a database round trip (the extra job waits for a slot in takeSlot)
    concurrency: concurrency + prefetch,
    noHandleSignals: true,
    pollInterval: opts.pollIntervalMs ?? 2000,
    logger: await quietLogger(log, connection.keep),
    events,
    forbiddenFlags,
    taskList: Object.fromEntries(tasks.map((t) => [t, handler as never])),
  })
  await pool.query(
    `UPDATE fm_queue.workers SET graphile_worker_ids = $2, status = 'online', last_heartbeat = now() WHERE id = $1`,
    [id, graphileIds],
  )
  log(
    `[worker ${name}] ${id} online: concurrency ${concurrency}, languages ${runner.languages.join(', ')}${gpu ? `, GPU ${gpuName ?? '(none found)'}` : ''}`,
  )

  // the role can be dropped or its password changed while the worker runs: retrying forever would
  // only fill the log, so after a few refusals in a row the worker says why once and stops
  let authFailures = 0
  let failure: string | null = null
  const heartbeat = setInterval(() => {
    beat().then(
      () => {
        authFailures = 0
      },
      (e: Error & { code?: string }) => {
        const refused = roleRefused(e)
        authFailures = refused ? authFailures + 1 : 0
        if (!refused || authFailures < maxAuthFailures) {
          log(`[worker ${name}] heartbeat failed: ${e.message}`)
          return
        }
        if (failure) return
        const explained = explainPgError(e, where).message
        const raw = explained.endsWith(e.message) ? '' : `: ${e.message}`
        failure =
          `${explained} (${authFailures} heartbeats in a row refused${raw}). ` +
          'The worker role was probably dropped, its password changed or its rights revoked: make a new one with ' +
          '`fm-agent worker-role create NAME` (admin DATABASE_URL) and restart the worker with the URL it prints'
        log(`[worker ${name}] giving up: ${failure}`)
        void stop()
      },
    )
  }, heartbeatMs)

  let stopping: Promise<void> | null = null
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(heartbeat)
      // fetches waiting for a back-off's end take nothing now, so the runner can stop
      closing = true
      endBackoff()
      await graphile.stop().catch((e) => log(`[worker ${name}] stopping the queue runner: ${(e as Error).message}`))
      await pool
        .query(
          `UPDATE fm_queue.workers SET status = 'offline', stopped_at = now(), running = 0, completed = $2${hasDetail ? ', status_detail = NULL' : ''} WHERE id = $1`,
          [id, completed],
        )
        .catch(() => undefined)
      await runner.close()
      await pool.end().catch(() => undefined)
      log(`[worker ${name}] stopped after ${completed} evaluation(s)`)
    })())
  const done = graphile.promise.then(
    () => stop(),
    (e) => {
      log(`[worker ${name}] the queue runner failed: ${(e as Error).message}`)
      return stop()
    },
  )
  return {
    id,
    isolation,
    stats: () => ({ running: runner.stats().running, taken: running, completed, givenBack }),
    backingOff: () => (backoff ? { until: backoff.until, reason: backoff.reason } : null),
    stop,
    done,
    failure: () => failure,
  }
}

/** How long a job's own writes wait for a database that went away before the job gives up. */
const PATIENCE_MS = 10 * 60_000

/**
 * Runs a write of a job's, waiting out a database restart (backoff up to 5 s, up to 10 minutes) and
 * saying so once: an evaluation's result is worth waiting for, and graphile-worker cannot record a
 * job that failed while the database was away.
 */
export async function patiently<T>(fn: () => Promise<T>, away: (why: string) => void, patienceMs = PATIENCE_MS) {
  const until = Date.now() + patienceMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!databaseAway(e) || Date.now() > until) throw e
      if (attempt === 0) away((e as Error).message)
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)))
    }
  }
}

const USAGE = `usage: worker [--concurrency N] [--gpu] [--name NAME] [--cache-dir DIR] [--hide PATH[,PATH…]] [--database-url URL]
  Connects to DATABASE_URL (or --database-url), takes evaluation jobs and runs them in the sandbox.`

/** The database refused this worker's role: its password, its existence, or its rights (42501). */
function roleRefused(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code
  return !!code && (AUTH_CODES.has(code) || code === '42501')
}

/**
 * graphile-worker records a finished or failed job without awaiting it: one the database was away
 * for rejects unhandled, which would end the worker in a restart the docs say is waited out, and one
 * refused (its role dropped or its rights revoked while a job ran) would end it in a stack trace
 * where the heartbeat gives up with one line saying what to do. Either job stays locked and is taken
 * again when its lock expires. The line to log for such a rejection; null for any other, which still
 * ends the process.
 */
export function unrecordedOutcome(e: unknown): string | null {
  const refused = roleRefused(e)
  const message = (e as Error | null)?.message ?? String(e)
  if (refused)
    return `[worker] a job's outcome was not recorded: the database refused this worker's role (${message}); the job is retried elsewhere when its lock expires`
  if (databaseAway(e))
    return `[worker] a job's outcome was not recorded while the database was away (${message}); it is retried when its lock expires`
  return null
}

/** `fm-agent worker …` (argv without the node/script prefix; a leading "worker" is accepted). Resolves to the exit code. */
export async function runWorkerCli(argv: string[]): Promise<number> {
  const args = argv[0] === 'worker' ? argv.slice(1) : [...argv]
  const o: ServerWorkerOptions = { databaseUrl: process.env.DATABASE_URL ?? '' }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const value = () => {
      const v = args[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    try {
      if (a === '--concurrency' || a === '-c') {
        o.concurrency = Number(value())
        if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
          throw new Error('--concurrency must be a positive integer')
      } else if (a === '--gpu') o.gpu = true
      else if (a === '--name') o.name = value()
      else if (a === '--cache-dir') o.cacheDir = value()
      else if (a === '--hide') o.hide = value().split(',').filter(Boolean)
      else if (a === '--database-url') o.databaseUrl = value()
      else if (a === '--help' || a === '-h') {
        process.stdout.write(USAGE + '\n')
        return 0
      } else throw new Error(`unknown option ${a}`)
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n${USAGE}\n`)
      return 2
    }
  }
  if (!/^postgres(ql)?:\/\//.test(o.databaseUrl)) {
    process.stderr.write(
      `a worker needs DATABASE_URL=postgres://… (or --database-url): jobs travel through Postgres\n${USAGE}\n`,
    )
    return 2
  }
  let worker: ServerWorker
  try {
    // started before PostgreSQL or before any engine installed the queue: wait for both, saying so once
    await whenReady(
      async () => {
        const c = new (pg().Client)({ connectionString: o.databaseUrl, connectionTimeoutMillis: 5000 })
        c.on('error', () => undefined)
        try {
          await c.connect()
          await c.query('SELECT 1 FROM fm_queue.workers LIMIT 0')
        } finally {
          await c.end().catch(() => undefined)
        }
      },
      (why, code) =>
        process.stderr.write(
          `[worker] waiting for the job queue (${why}); ${
            code === '42P01' || code === '3F000'
              ? 'the first fm-agent engine installs it'
              : code === '3D000'
                ? 'no engine creates a database: check its name in DATABASE_URL, or create it'
                : 'PostgreSQL is not reachable yet: check the host and port in DATABASE_URL'
          }: retrying until it is there\n`,
        ),
    )
    worker = await startServerWorker(o)
  } catch (e) {
    const err = e as Error & { code?: string }
    const hint =
      err.code === '42P01' || err.code === '3F000'
        ? ' (the queue is not installed yet: start an engine, or run fm-agent worker-role create, first)'
        : err.code === '42501'
          ? ' (this role may not use the job queue: give the worker a role from fm-agent worker-role create)'
          : err.code && AUTH_CODES.has(err.code)
            ? ' (a worker connects with its worker role: fm-agent worker-role create NAME prints its URL)'
            : ''
    // the same words as web and engine: where, what, and what to change
    const fromDb = !!err.code && ((/^[0-9A-Z]{5}$/.test(err.code) && /\d/.test(err.code)) || NETWORK.has(err.code))
    const what = fromDb ? explainPgError(err, describeUrl(o.databaseUrl)).message : err.message
    process.stderr.write(`the worker could not start: ${what}${hint}\n`)
    return 1
  }
  // graphile-worker records a finished or failed job without awaiting it (unrecordedOutcome)
  process.on('unhandledRejection', (e) => {
    const said = unrecordedOutcome(e)
    if (said === null) throw e
    process.stderr.write(`${said}\n`)
  })
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`[worker] ${sig}: finishing running evaluations, then stopping\n`)
    void worker.stop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  await worker.done
  // stopped by itself (its role can no longer use the database): a process manager should see it
  return worker.failure() ? 1 : 0
}
