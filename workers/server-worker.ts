// Server mode, worker side: `fm-agent worker [--concurrency N] [--gpu]` on any machine that can reach
// Postgres. It holds one secret, its connection string (a role limited to the queue and
// problem_bundles: server/queue/roles.ts), registers itself in fm_queue.workers, heartbeats, takes
// `fm_evaluate_cpu` jobs (and `fm_evaluate_gpu` ones with --gpu) that need only languages it has,
// runs each in the sandbox and posts the result as an `fm_eval_result` job.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { cpus, homedir, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { Runner as GraphileRunner } from 'graphile-worker'
import { pg } from '../server/db/pg.ts'
import { detectGpuName } from './toolchains.ts'
import {
  EvalJob,
  LANGUAGES,
  QUEUE_TASKS,
  type EvalResult,
  type IsolationReport,
} from '../server/contracts/evaluation.ts'
import { graphileWorker, quietLogger, resultJobKey } from '../server/queue/schema.ts'
import { whenReady } from '../server/db/ready.ts'
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

  const pool = new (pg().Pool)({ connectionString: opts.databaseUrl, max: concurrency + 3 })
  pool.on('error', (e) => log(`[worker ${name}] idle connection error: ${e.message}`))
  pool.on('connect', (client) => client.on('error', (e) => log(`[worker ${name}] connection error: ${e.message}`)))
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
  const capabilities = machineCapabilities(gpu, gpuName)
  let running = 0
  let completed = 0

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

  const handler = async (
    payload: unknown,
    helpers: { job: { attempts: number }; addJob: GraphileRunner['addJob'] },
  ) => {
    const dequeuedAt = Date.now()
    const parsed = EvalJob.safeParse(payload)
    if (!parsed.success) {
      log(`[worker ${name}] dropped a malformed job: ${parsed.error.issues[0]?.message}`)
      return
    }
    const job = parsed.data
    running++
    try {
      await pool.query(
        'UPDATE fm_queue.jobs SET started_at = now(), worker_id = $3, runs = runs + 1 WHERE job_id = $1 AND attempt = $2',
        [job.jobId, job.attempt, id],
      )
      // graphile counts each time a job is taken; more than once means the workers before us died with it
      const deaths = helpers.job.attempts - 1
      const result =
        deaths > maxDeathRetries
          ? infraResult(job, `the workers running this evaluation died ${deaths} times; not retried again`, dequeuedAt)
          : await runner.run(job, { dequeuedAt })
      await helpers.addJob(job.resultTask ?? QUEUE_TASKS.result, result, {
        jobKey: resultJobKey(job.jobId, job.attempt),
        maxAttempts: 25,
      })
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
    logger: await quietLogger(log),
    events,
    forbiddenFlags,
    taskList: {
      [QUEUE_TASKS.evaluateCpu]: handler as never,
      ...(gpu ? { [QUEUE_TASKS.evaluateGpu]: handler as never } : {}),
    },
  })
  await pool.query(
    `UPDATE fm_queue.workers SET graphile_worker_ids = $2, status = 'online', last_heartbeat = now() WHERE id = $1`,
    [id, graphileIds],
  )
  log(
    `[worker ${name}] ${id} online: concurrency ${concurrency}, languages ${runner.languages.join(', ')}${gpu ? `, GPU ${gpuName ?? '(none found)'}` : ''}`,
  )

  const heartbeat = setInterval(() => {
    pool
      .query(
        `UPDATE fm_queue.workers SET last_heartbeat = now(), running = $2, completed = $3, status = 'online' WHERE id = $1`,
        [id, runner.stats().running, completed],
      )
      .catch((e) => log(`[worker ${name}] heartbeat failed: ${(e as Error).message}`))
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
  return { id, isolation, stats: () => ({ running: runner.stats().running, taken: running, completed }), stop, done }
}

const USAGE = `usage: worker [--concurrency N] [--gpu] [--name NAME] [--cache-dir DIR] [--hide PATH[,PATH…]] [--database-url URL]
  Connects to DATABASE_URL (or --database-url), takes evaluation jobs and runs them in the sandbox.`

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
      (why) =>
        process.stderr.write(
          `[worker] waiting for the job queue (${why}); the first fm-agent engine installs it: retrying until it is there\n`,
        ),
    )
    worker = await startServerWorker(o)
  } catch (e) {
    const err = e as Error & { code?: string }
    const hint =
      err.code === '42P01' || err.code === '3F000'
        ? ' (the queue is not installed yet: start an engine, or run fm-agent worker-role create, first)'
        : ''
    process.stderr.write(`the worker could not start: ${err.message}${hint}\n`)
    return 1
  }
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`[worker] ${sig}: finishing running evaluations, then stopping\n`)
    void worker.stop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  await worker.done
  return 0
}
