// Server mode's evaluation backend, engine side. Jobs and results travel through graphile-worker
// (LISTEN/NOTIFY pickup in ~10 ms; see workers/README.md for why not pg-boss):
//   submit  → fm_queue.jobs row (ON CONFLICT DO NOTHING) + graphile job `fm_evaluate_cpu|gpu_v<JOB_PROTOCOL>`, in one
//             statement, so a resubmit of the same (jobId, attempt) is a no-op; language needs become
//             job flags that workers lacking the language forbid (capability routing)
//   results ← graphile jobs on the engine's result task, added by workers; each (jobId, attempt) is
//             marked delivered once the callbacks have stored it (a copy handled meanwhile reaches
//             them twice: ingestion is idempotent); a callback that throws leaves the result job to
//             graphile's retry
//   deaths  → workers whose heartbeat is older than deadAfterMs are marked dead and their jobs
//             unlocked (force_unlock_workers), so another worker runs them (the worker side bounds
//             how often a job may be retried after deaths)
//   affinity → a retry after infra errors carries an `avoid:<worker>` flag per worker that failed it
//             (each worker forbids its own); the flags are dropped from a job no other online
//             worker can take (releaseStranded), so a job is never left untakeable
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Runner, WorkerUtils } from 'graphile-worker'
import type Pg from 'pg'
import { pg } from '../db/pg.ts'
import {
  EvalResult,
  QUEUE_TASKS,
  type EvalJob,
  type EvaluationBackend,
  type WorkerStatus,
} from '../contracts/evaluation.ts'
import { watchConnection } from './connection.ts'
import { evalJobKey, graphileWorker, installQueue, quietLogger, resultJobKey } from './schema.ts'

/** result jobs handled at once: enough that the engine's store writes them in batches (RESULT_BATCH) */
const RESULT_CONCURRENCY = 8

export interface QueueBackendOptions {
  /** the engine's connection (it installs the queue schemas, so it may create schemas) */
  databaseUrl: string
  /** result jobs handled at once (default 8: each waits for its result's row to be written) */
  resultConcurrency?: number
  /** how often worker heartbeats are checked (default 2 s) */
  checkMs?: number
  /** a worker silent this long is dead: its jobs go back to the queue (default 20 s) */
  deadAfterMs?: number
  /** graphile-worker's fallback poll interval (LISTEN/NOTIFY does the fast path) */
  pollIntervalMs?: number
  log?: (line: string) => void
}

export interface QueueBackend extends EvaluationBackend {
  /** unlock the jobs of workers that stopped sending heartbeats now (the monitor does it periodically) */
  reapDeadWorkers(): Promise<string[]>
  /** drops the avoid flags of waiting jobs no other online worker can take; returns how many (the monitor does it periodically) */
  releaseStranded(): Promise<number>
  readonly pool: Pg.Pool
}

/** Where a job runs: GPU jobs only on GPU workers. */
export function taskFor(job: Pick<EvalJob, 'needs' | 'language'>): string {
  return job.needs.gpu || job.language === 'cuda' ? QUEUE_TASKS.evaluateGpu : QUEUE_TASKS.evaluateCpu
}

/**
 * graphile-worker flags of a job: the languages it needs (a worker forbids the flags of the languages
 * it lacks) and the workers its earlier attempts failed on (each worker forbids its own avoid flag).
 */
export function flagsFor(job: Pick<EvalJob, 'needs' | 'language' | 'avoidWorkers'>): string[] {
  return [
    ...[...new Set([job.language, ...job.needs.languages])].map((l) => `lang:${l}`),
    ...(job.avoidWorkers ?? []).map(avoidFlag),
  ]
}

/** The flag a worker forbids, so that a job retried after its infra errors goes to another worker. */
export const avoidFlag = (workerId: string) => `avoid:${workerId}`

interface WorkerRow {
  id: string
  name: string
  host: string
  capabilities: WorkerStatus['capabilities']
  isolation: WorkerStatus['isolation']
  concurrency: number
  running: number
  completed: number
  status: WorkerStatus['status']
  status_detail: string | null
  pid: number | null
  last_heartbeat: Date
  fresh: boolean
}

export function createQueueBackend(opts: QueueBackendOptions): QueueBackend {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'))
  const deadAfterMs = opts.deadAfterMs ?? 20_000
  const checkMs = opts.checkMs ?? 2_000
  const pool = new (pg().Pool)({
    connectionString: opts.databaseUrl,
    max: 8 + (opts.resultConcurrency ?? RESULT_CONCURRENCY),
  })
  const connection = watchConnection(pool, log, '[queue]')
  const callbacks: ((r: EvalResult) => void | Promise<void>)[] = []
  let runner: Runner | null = null
  let utils: WorkerUtils | null = null
  let monitor: NodeJS.Timeout | null = null
  let cachedCapacity = 0
  // results come back on a task of this engine's own: with several engines on one queue, the
  // engine that submitted a job is the one waiting for its result
  const resultTask = `${QUEUE_TASKS.result}_${randomBytes(6).toString('hex')}`
  let closed = false

  async function deliver(r: EvalResult) {
    for (const cb of callbacks) await cb(r)
  }

  async function handleResult(payload: unknown) {
    const parsed = EvalResult.safeParse(payload)
    if (!parsed.success) {
      log(
        `[queue] dropped a malformed result: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      )
      return
    }
    const r = parsed.data
    const [job] = (
      await pool.query<{
        delivered_at: Date | null
        started_at: Date | null
        worker_id: string | null
        result_task: string | null
      }>(
        'SELECT delivered_at, started_at, worker_id, result_task FROM fm_queue.jobs WHERE job_id = $1 AND attempt = $2',
        [r.jobId, r.attempt],
      )
    ).rows
    if (job?.delivered_at) return // a second copy (a worker died after posting it, or a dead-declared worker finished late)
    if (job?.result_task && job.result_task !== resultTask && job.result_task !== QUEUE_TASKS.result) {
      // another engine took the run over from this one (adopt): the result is passed on to it
      await pool.query(`SELECT graphile_worker.add_job($1, $2::json, job_key => $3, max_attempts => 25)`, [
        job.result_task,
        JSON.stringify(payload),
        resultJobKey(r.jobId, r.attempt),
      ])
      return
    }
    // only the worker that took the job answers it: a result posted for a job no worker started,
    // or by another worker than the one holding it, is someone writing into the queue (what an
    // escape from a sandbox holds: the worker role's credentials), or a late answer of a worker
    // the job was taken from
    if (!job?.started_at || job.worker_id !== r.workerId) {
      log(
        `[queue] dropped a result for job ${r.jobId} (attempt ${r.attempt}) from worker ${JSON.stringify(r.workerId.slice(0, 80))}: ${
          !job ? 'no such job' : !job.started_at ? 'no worker has started it' : `worker ${job.worker_id} holds it`
        }`,
      )
      return
    }
    // delivered once the engine has stored it: an engine killed between the two leaves the job open,
    // and the engine taking the run over adopts the result instead of evaluating the job again. A
    // copy handled meanwhile reaches the engine twice; its ingestion ignores the second.
    await deliver(r) // throws → graphile retries this result job later
    await pool.query('UPDATE fm_queue.jobs SET delivered_at = now() WHERE job_id = $1 AND attempt = $2', [
      r.jobId,
      r.attempt,
    ])
  }

  /**
   * Result jobs of the run left on other engines' tasks once this engine has taken it over: ones the
   * dead engine had stored (or its runner held when it died). Nobody runs those tasks any more.
   */
  async function sweepResults(runId: string) {
    const { rows } = await pool.query<{ id: string; locked_by: string | null }>(
      `SELECT g.id, g.locked_by FROM graphile_worker.jobs g
         JOIN fm_queue.jobs q ON q.job_id = split_part(g.key, ':', 2)
          AND q.attempt = CASE WHEN split_part(g.key, ':', 3) ~ '^[0-9]{1,9}$' THEN split_part(g.key, ':', 3)::int END
        WHERE g.task_identifier LIKE $1 AND g.task_identifier <> ALL($2::text[]) AND g.key LIKE 'result:%' AND q.run_id = $3`,
      [`${QUEUE_TASKS.result}_%`, [resultTask, QUEUE_TASKS.result], runId],
    )
    if (!rows.length) return
    const holders = [...new Set(rows.flatMap((r) => (r.locked_by ? [r.locked_by] : [])))]
    if (holders.length) await utils!.forceUnlockWorkers(holders)
    await pool.query('SELECT graphile_worker.complete_jobs($1::bigint[])', [rows.map((r) => r.id)])
  }

  async function refreshCapacity() {
    const { rows } = await pool.query<{ c: string | null }>(
      `SELECT sum(concurrency) AS c FROM fm_queue.workers
        WHERE status = 'online' AND last_heartbeat > now() - make_interval(secs => $1)`,
      [deadAfterMs / 1000],
    )
    cachedCapacity = Number(rows[0]?.c ?? 0)
  }

  async function reapDeadWorkers(): Promise<string[]> {
    const dead = await pool.query<{ id: string; graphile_worker_ids: string[] }>(
      `UPDATE fm_queue.workers SET status = 'dead', stopped_at = now(), running = 0
        WHERE status IN ('online', 'backing-off') AND last_heartbeat < now() - make_interval(secs => $1)
        RETURNING id, graphile_worker_ids`,
      [deadAfterMs / 1000],
    )
    if (!dead.rows.length) return []
    const ids = dead.rows.map((r) => r.id)
    // the graphile worker ids the dead workers registered, plus whoever holds the locks of their open jobs
    const holders = await pool.query<{ locked_by: string }>(
      `SELECT DISTINCT g.locked_by FROM fm_queue.jobs q
         JOIN graphile_worker.jobs g ON g.key = 'eval:' || q.job_id || ':' || q.attempt
        WHERE q.worker_id = ANY($1) AND q.delivered_at IS NULL AND g.locked_by IS NOT NULL`,
      [ids],
    )
    const graphileIds = [
      ...new Set([...dead.rows.flatMap((r) => r.graphile_worker_ids), ...holders.rows.map((r) => r.locked_by)]),
    ]
    if (graphileIds.length) await utils!.forceUnlockWorkers(graphileIds)
    log(
      `[queue] worker(s) ${ids.join(', ')} stopped sending heartbeats: marked dead, their jobs unlocked for another worker`,
    )
    return ids
  }

  /**
   * Waiting jobs whose avoid flags leave them to no online worker (the others that could take their
   * task and languages left, or back off): their avoid flags are dropped, so the worker that failed
   * them may try again rather than nobody.
   */
  async function releaseStranded(): Promise<number> {
    const { rowCount } = await pool.query(
      `UPDATE graphile_worker._private_jobs j
          SET flags = (SELECT jsonb_object_agg(f, true) FROM jsonb_object_keys(j.flags) f WHERE f NOT LIKE 'avoid:%')
         FROM graphile_worker._private_tasks t
        WHERE t.id = j.task_id AND j.locked_at IS NULL
          AND j.flags ?| (SELECT array_agg('avoid:' || id) FROM fm_queue.workers)
          AND NOT EXISTS (
            SELECT 1 FROM fm_queue.workers w
             WHERE w.status = 'online' AND w.last_heartbeat > now() - make_interval(secs => $1)
               AND w.capabilities->'tasks' ? t.identifier
               AND NOT j.flags ? ('avoid:' || w.id)
               AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(j.flags) f
                                WHERE f LIKE 'lang:%' AND NOT (w.capabilities->'languages') ? substr(f, 6)))`,
      [deadAfterMs / 1000],
    )
    return rowCount ?? 0
  }

  const backend: QueueBackend = {
    mode: 'server',
    pool,
    reapDeadWorkers,
    releaseStranded,
    async start() {
      if (runner) return
      await installQueue(pool)
      const { makeWorkerUtils, run } = await graphileWorker()
      utils = await makeWorkerUtils({ pgPool: pool, logger: await quietLogger(log, connection.keep) })
      runner = await run({
        pgPool: pool,
        concurrency: opts.resultConcurrency ?? RESULT_CONCURRENCY,
        noHandleSignals: true,
        pollInterval: opts.pollIntervalMs ?? 1000,
        logger: await quietLogger(log, connection.keep),
        events: new EventEmitter(),
        // this engine's own results (see resultTask), and the shared task older workers post to
        taskList: {
          [resultTask]: (payload) => handleResult(payload),
          [QUEUE_TASKS.result]: (payload) => handleResult(payload),
        },
      })
      await refreshCapacity()
      let lastPrune = 0
      monitor = setInterval(() => {
        if (closed) return
        reapDeadWorkers()
          .then(refreshCapacity)
          .then(releaseStranded)
          .then(async () => {
            // bookkeeping of delivered jobs and gone workers is kept a week, then dropped
            if (Date.now() - lastPrune < 600_000) return
            lastPrune = Date.now()
            await pool.query("DELETE FROM fm_queue.jobs WHERE delivered_at < now() - interval '7 days'")
            // results a day old were posted to an engine that is gone, for a run no engine took over
            await pool.query(
              `SELECT graphile_worker.complete_jobs(array_agg(id)) FROM graphile_worker.jobs
                WHERE task_identifier LIKE $1 AND created_at < now() - interval '1 day'`,
              [`${QUEUE_TASKS.result}%`],
            )
            await pool.query(
              "DELETE FROM fm_queue.workers WHERE status NOT IN ('online', 'backing-off') AND coalesce(stopped_at, last_heartbeat) < now() - interval '7 days'",
            )
          })
          .catch((e) => log(`[queue] worker check failed: ${(e as Error).message}`))
      }, checkMs)
      monitor.unref()
    },
    async submit(job) {
      const payload = { ...job, enqueuedAt: job.enqueuedAt ?? Date.now(), resultTask }
      const task = taskFor(job)
      await pool.query(
        `WITH ins AS (
           INSERT INTO fm_queue.jobs (job_id, attempt, run_id, task, result_task) VALUES ($1, $2, $3, $4, $8)
           ON CONFLICT DO NOTHING RETURNING 1)
         SELECT graphile_worker.add_job($4, $5::json, job_key => $6, max_attempts => 25, flags => $7::text[]) FROM ins`,
        [
          job.jobId,
          job.attempt,
          job.runId,
          task,
          JSON.stringify(payload),
          evalJobKey(job.jobId, job.attempt),
          flagsFor(job),
          resultTask,
        ],
      )
      // at once, not at the monitor's next check: with no other worker online it waits for none
      if (job.avoidWorkers?.length) await releaseStranded()
    },
    async adopt(runId, jobs, register) {
      if (!jobs.length) {
        register(new Set())
        await sweepResults(runId)
        return new Set()
      }
      const ids = jobs.map((j) => j.jobId)
      const attempts = jobs.map((j) => j.attempt)
      // still to be answered: queued or running (graphile keeps the job until it ends; one that used up
      // its attempts never will), or answered to an engine that did not take the result in
      const { rows } = await pool.query<{ job_id: string; attempt: number }>(
        `SELECT q.job_id, q.attempt
           FROM fm_queue.jobs q
           JOIN unnest($2::text[], $3::int[]) AS c(job_id, attempt) USING (job_id, attempt)
          WHERE q.run_id = $1 AND q.delivered_at IS NULL
            AND EXISTS (SELECT 1 FROM graphile_worker.jobs g
                         WHERE (g.key = 'eval:' || q.job_id || ':' || q.attempt AND g.attempts < g.max_attempts)
                            OR g.key = 'result:' || q.job_id || ':' || q.attempt)`,
        [runId, ids, attempts],
      )
      const adopted = new Set(rows.map((r) => `${r.job_id}:${r.attempt}`))
      // the engine knows them before any of their results can reach it
      register(adopted)
      if (!adopted.size) return adopted
      const mine = rows.map((r) => r.job_id)
      const mineAttempts = rows.map((r) => r.attempt)
      // from here on every worker hands their results to this engine: a worker posting one now reads
      // result_task under a row lock, so it posts either before this (found below) or after, here
      await pool.query(
        `UPDATE fm_queue.jobs q SET result_task = $1
           FROM unnest($2::text[], $3::int[]) AS c(job_id, attempt)
          WHERE q.job_id = c.job_id AND q.attempt = c.attempt`,
        [resultTask, mine, mineAttempts],
      )
      // results already posted to the engine before (its task has no runner any more): taken in
      // here (this engine runs the shared task itself). graphile-worker's public view has no
      // payload; its private table is read for it.
      const posted = await pool.query<{ payload: unknown }>(
        `SELECT j.payload
           FROM graphile_worker._private_jobs j
           JOIN graphile_worker._private_tasks t ON t.id = j.task_id
          WHERE j.key = ANY($1::text[]) AND t.identifier <> ALL($2::text[])`,
        [rows.map((r) => resultJobKey(r.job_id, r.attempt)), [resultTask, QUEUE_TASKS.result]],
      )
      for (const p of posted.rows) await handleResult(p.payload)
      if (posted.rows.length)
        log(`[queue] run ${runId}: took in ${posted.rows.length} result(s) posted to the engine before this one`)
      // those, and any other the dead engine left, released from its runner and removed
      await sweepResults(runId)
      return adopted
    },
    async cancel(jobs) {
      if (!jobs.length) return
      // graphile-worker removes a job no worker has locked (the rows are all read, so every removal
      // happens: a CTE would run it only as far as a join reads), then the bookkeeping rows close
      const { rows } = await pool.query<{ job_id: string; attempt: number }>(
        `SELECT c.job_id, c.attempt
           FROM fm_queue.jobs q
           JOIN unnest($1::text[], $2::int[], $3::text[]) AS c(job_id, attempt, key) USING (job_id, attempt)
           CROSS JOIN LATERAL graphile_worker.remove_job(c.key) AS removed
          WHERE q.delivered_at IS NULL AND q.started_at IS NULL AND removed.id IS NOT NULL`,
        [jobs.map((j) => j.jobId), jobs.map((j) => j.attempt), jobs.map((j) => evalJobKey(j.jobId, j.attempt))],
      )
      if (rows.length)
        await pool.query(
          `UPDATE fm_queue.jobs q SET delivered_at = now()
             FROM unnest($1::text[], $2::int[]) AS c(job_id, attempt)
            WHERE q.job_id = c.job_id AND q.attempt = c.attempt`,
          [rows.map((r) => r.job_id), rows.map((r) => r.attempt)],
        )
    },
    onResult(cb) {
      callbacks.push(cb)
    },
    capacity() {
      return cachedCapacity
    },
    async workers(): Promise<WorkerStatus[]> {
      const { rows } = await pool.query<WorkerRow>(
        `SELECT id, name, host, capabilities, isolation, concurrency, running, completed, status, status_detail, pid,
                last_heartbeat, last_heartbeat > now() - make_interval(secs => $1) AS fresh
           FROM fm_queue.workers
          WHERE status IN ('online', 'backing-off') OR coalesce(stopped_at, last_heartbeat) > now() - interval '1 hour'
          ORDER BY started_at`,
        [deadAfterMs / 1000],
      )
      return rows.map((w) => {
        // a silent worker the monitor has not reaped yet is shown as what it is
        const status = (w.status === 'online' || w.status === 'backing-off') && !w.fresh ? 'dead' : w.status
        return {
          id: w.id,
          name: w.name,
          host: w.host,
          mode: 'server' as const,
          capabilities: w.capabilities,
          isolation: w.isolation,
          concurrency: w.concurrency,
          running: w.running,
          completed: w.completed,
          lastHeartbeat: w.last_heartbeat,
          status,
          ...(w.status_detail && status === 'backing-off' ? { statusDetail: w.status_detail } : {}),
          ...(w.pid ? { pid: w.pid } : {}),
        }
      })
    },
    async close() {
      closed = true
      if (monitor) clearInterval(monitor)
      await runner?.stop().catch(() => undefined)
      await Promise.resolve(utils?.release()).catch(() => undefined)
      runner = null
      await pool.end().catch(() => undefined)
    },
  }
  return backend
}
