// Server mode, worker side: `fm-agent worker [--concurrency N] [--gpu]` on any machine that can reach
// Postgres. It holds one secret, its connection string (a role limited to the queue and
// problem_bundles: server/queue/roles.ts), registers itself in fm_queue.workers, heartbeats, takes
// `fm_evaluate_cpu_v<JOB_PROTOCOL>` jobs (and `fm_evaluate_gpu_v…` ones with --gpu) that need only languages it has,
// runs each in the sandbox and posts the result as an `fm_eval_result` job.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
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
}

export interface ServerWorker {
  readonly id: string
  readonly isolation: IsolationReport
  /** running: evaluations in a sandbox slot now; taken: jobs held (running + prefetched) */
  stats(): { running: number; taken: number; completed: number }
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
  const handler = async (payload: unknown, helpers: { job: { attempts: number } }) => {
    const dequeuedAt = Date.now()
    const parsed = EvalJob.safeParse(payload)
    if (!parsed.success) {
      log(`[worker ${name}] dropped a malformed job: ${parsed.error.issues[0]?.message}`)
      return
    }
    const job = parsed.data
    running++
    try {
      await patiently(
        () =>
          pool.query(
            'UPDATE fm_queue.jobs SET started_at = now(), worker_id = $3, runs = runs + 1 WHERE job_id = $1 AND attempt = $2',
            [job.jobId, job.attempt, id],
          ),
        away,
      )
      // graphile counts each time a job is taken; more than once means the workers before us died with it
      const deaths = helpers.job.attempts - 1
      const result =
        deaths > maxDeathRetries
          ? infraResult(job, `the workers running this evaluation died ${deaths} times; not retried again`, dequeuedAt)
          : await runner.run(job, { dequeuedAt })
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
    } finally {
      running--
      completed++
    }
  }

  // capability routing: jobs flagged with a language this machine lacks are never taken here
  const forbiddenFlags = LANGUAGES.filter((l) => !runner.languages.includes(l)).map((l) => `lang:${l}`)
  const graphileIds: string[] = []
  const events = new EventEmitter()
  events.on('worker:create', ({ worker }: { worker: { workerId: string } }) => graphileIds.push(worker.workerId))
  const { run } = await graphileWorker()
  const graphile = await run({
    pgPool: pool,
    // one job more than the sandbox slots: the next job is already fetched when a slot frees, so a
    // slot never waits for a database round trip (the extra job waits for a slot inside runner.run)
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
    pool
      .query(
        `UPDATE fm_queue.workers SET last_heartbeat = now(), running = $2, completed = $3, status = 'online' WHERE id = $1`,
        [id, runner.stats().running, completed],
      )
      .then(
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
      await graphile.stop().catch((e) => log(`[worker ${name}] stopping the queue runner: ${(e as Error).message}`))
      await pool
        .query(
          `UPDATE fm_queue.workers SET status = 'offline', stopped_at = now(), running = 0, completed = $2 WHERE id = $1`,
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
    stats: () => ({ running: runner.stats().running, taken: running, completed }),
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
