// Server mode on real Postgres: the engine-side backend, two worker processes (one SIGKILLed while it
// runs an evaluation), the worker role's limits, routing, idempotent submission.
import type { ChildProcess } from 'node:child_process'
import pg from 'pg'
import { testPool } from '../../test-support/pg.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JOB_PROTOCOL, QUEUE_TASKS, type EvalResult } from '../contracts/evaluation.ts'
import { openDatabase } from '../db.ts'
import { makeJob, makeProblem, tempDir, removeTempDirs } from '../../workers/test-helpers.ts'
import { createQueueBackend, flagsFor, taskFor, type QueueBackend } from './backend.ts'
import { createWorkerRole, dropWorkerRole } from './roles.ts'
import { createTestDatabase } from './test-db.ts'
import { cleanStaleSlots } from '../../workers/runner.ts'
import { cli } from '../../test-support/cli.ts'
import { startQueueWorker } from '../../test-support/queue-worker.ts'

const problem = makeProblem(
  {
    'evaluator.py': `import json, sys
ns = {}
exec(open(sys.argv[-1]).read(), ns)
print(json.dumps({"valid": True, "metrics": {"score": ns['score']()}}))
`,
    'seed.py': 'def score():\n    return 0\n',
  },
  {
    id: 'queue-test',
    name: 'queue',
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'score',
    limits: { timeoutS: 30 },
  },
)

let db: Awaited<ReturnType<typeof createTestDatabase>>
let backend: QueueBackend
let admin: pg.Pool
let workerUrl: string
const roleName = `fm_worker_t${process.pid}`
const workers: ChildProcess[] = []
const deliveries: EvalResult[] = []
const ingested = new Map<string, EvalResult>() // the engine's idempotent ingestion, keyed on (jobId, attempt)

function startWorker(name: string) {
  // exactly what a user starts on a worker machine
  const p = startQueueWorker({ databaseUrl: workerUrl, name, cacheDir: tempDir('fm-qw-'), stderr: 'pipe' })
  let err = ''
  p.stderr!.on('data', (d) => (err = (err + d).slice(-4000)))
  p.on('exit', (code, sig) => {
    if (code && code !== 0) process.stderr.write(`worker ${name} exited ${code ?? sig}: ${err}\n`)
  })
  workers.push(p)
  return p
}

async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

beforeAll(async () => {
  db = await createTestDatabase()
  // the application's schema (users, candidates, problem_bundles…), as the engine's process creates it
  const app = await openDatabase({ databaseUrl: db.url, dataDir: tempDir('fm-data-') })
  await app.close()
  admin = testPool({ connectionString: db.url, max: 3 })
  await admin.query('INSERT INTO problem_bundles (hash, data, size, file_count) VALUES ($1, $2, $3, $4)', [
    problem.bundle.hash,
    problem.bundle.data,
    problem.bundle.size,
    problem.files.length,
  ])
  backend = createQueueBackend({
    databaseUrl: db.url,
    deadAfterMs: 2000,
    checkMs: 300,
    pollIntervalMs: 500,
    log: () => {},
  })
  backend.onResult((r) => {
    deliveries.push(r)
    const key = `${r.jobId}:${r.attempt}`
    if (!ingested.has(key)) ingested.set(key, r)
  })
  await backend.start()
  workerUrl = (await createWorkerRole(db.url, roleName, `pw-${process.pid}-x`)).databaseUrl
}, 120_000)

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  await backend?.close()
  await admin?.end()
  await db?.drop()
  await dropWorkerRole(process.env.FM_TEST_PG_URL ?? 'postgres://fm:fm@127.0.0.1:5432/fm_test', roleName, {
    force: true,
  }).catch(() => undefined)
  removeTempDirs()
  cleanStaleSlots() // the SIGKILLed worker's slot (its evaluation folders are under /var/tmp: the cache folder is private)
})

describe('the worker role', () => {
  it('can use the queue and read problem bundles, not the application tables', async () => {
    const c = new pg.Client({ connectionString: workerUrl })
    await c.connect()
    try {
      for (const table of ['users', 'candidates', 'runs', 'api_tokens']) {
        await expect(c.query(`SELECT * FROM ${table} LIMIT 1`)).rejects.toMatchObject({ code: '42501' })
      }
      await expect(
        c.query('INSERT INTO problem_bundles (hash, data, size, file_count) VALUES ($1, $2, 1, 1)', [
          '0'.repeat(64),
          Buffer.from('x'),
        ]),
      ).rejects.toMatchObject({ code: '42501' })
      const b = await c.query('SELECT hash FROM problem_bundles WHERE hash = $1', [problem.bundle.hash])
      expect(b.rowCount).toBe(1)
      expect((await c.query('SELECT count(*) FROM graphile_worker.jobs')).rowCount).toBe(1)
      expect((await c.query('SELECT count(*) FROM fm_queue.workers')).rowCount).toBe(1)
    } finally {
      await c.end()
    }
  })

  it('is made and retired for a worker machine by `fm-agent worker-role`', async () => {
    const name = `fm_cli_worker_${process.pid}`
    const made = await cli(['worker-role', 'create', name, '--json'], { DATABASE_URL: db.url })
    expect(made.code, made.stderr).toBe(0)
    const { databaseUrl } = JSON.parse(made.stdout) as { databaseUrl: string }
    expect(new URL(databaseUrl).username).toBe(name)
    const c = new pg.Client({ connectionString: databaseUrl })
    await c.connect()
    try {
      expect((await c.query('SELECT count(*) FROM fm_queue.workers')).rowCount).toBe(1)
      await expect(c.query('SELECT * FROM users LIMIT 1')).rejects.toMatchObject({ code: '42501' })
    } finally {
      await c.end()
    }
    const bad = await cli(['worker-role', 'create', 'Bad-Name'], { DATABASE_URL: db.url })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/lower-case letters/)
    const dropped = await cli(['worker-role', 'drop', name], { DATABASE_URL: db.url })
    expect(dropped.code, dropped.stderr).toBe(0)
    await expect(new pg.Client({ connectionString: databaseUrl }).connect()).rejects.toThrow(
      /authentication|does not exist/,
    )
  }, 60_000)
})

describe('routing', () => {
  it('GPU jobs go to the GPU task, language needs become flags', () => {
    // the task names carry the job protocol: a worker of another version takes none of them
    expect(taskFor({ needs: { gpu: false, languages: [] }, language: 'python' })).toBe(
      `fm_evaluate_cpu_v${JOB_PROTOCOL}`,
    )
    expect(taskFor({ needs: { gpu: true, languages: [] }, language: 'python' })).toBe(
      `fm_evaluate_gpu_v${JOB_PROTOCOL}`,
    )
    expect(taskFor({ needs: { gpu: false, languages: [] }, language: 'cuda' })).toBe(QUEUE_TASKS.evaluateGpu)
    expect(flagsFor({ needs: { gpu: false, languages: ['cpp', 'python'] }, language: 'python' })).toEqual([
      'lang:python',
      'lang:cpp',
    ])
  })
})

describe('a stopped run withdraws its queue', () => {
  it('cancelled jobs that no worker took are never run; the job after them is', async () => {
    const withdrawn = Array.from({ length: 3 }, (_, i) => makeJob(problem, `def score():\n    return ${i}\n`))
    const kept = makeJob(problem, 'def score():\n    return 7\n')
    // no worker is online yet: all four wait, in this order
    for (const j of [...withdrawn, kept]) await backend.submit(j)
    await backend.cancel(withdrawn.map((j) => ({ jobId: j.jobId, attempt: j.attempt })))
    const { rows } = await admin.query(
      'SELECT job_id, delivered_at IS NOT NULL AS closed FROM fm_queue.jobs WHERE job_id = ANY($1::text[])',
      [[...withdrawn, kept].map((j) => j.jobId)],
    )
    expect(Object.fromEntries(rows.map((r) => [r.job_id, r.closed]))).toEqual({
      ...Object.fromEntries(withdrawn.map((j) => [j.jobId, true])),
      [kept.jobId]: false,
    })
    const w = startWorker('after-cancel')
    // one worker takes jobs in order: had the withdrawn ones stayed queued, they would run first
    await until(async () => deliveries.some((r) => r.jobId === kept.jobId))
    expect(deliveries.filter((r) => withdrawn.some((j) => j.jobId === r.jobId))).toEqual([])
    const exited = new Promise((r) => w.once('exit', r))
    w.kill('SIGTERM')
    await exited
  }, 120_000)
})

describe('two workers, one killed mid-evaluation', () => {
  it('every job ends with exactly one ingested result; none lost, none double counted', async () => {
    const w1 = startWorker('w1')
    startWorker('w2')
    await until(async () => (await backend.workers()).filter((w) => w.status === 'online').length === 2 || null)
    await until(async () => backend.capacity() === 2 || null)

    const N = 10
    const earlier = ingested.size
    const jobs = Array.from({ length: N }, (_, i) =>
      makeJob(problem, `import time\ntime.sleep(0.6)\ndef score():\n    return ${i}\n`),
    )
    for (const j of jobs) await backend.submit(j)
    for (const j of jobs.slice(0, 3)) await backend.submit(j) // a resubmit is a no-op
    const gpuJob = makeJob(problem, 'def score():\n    return 1\n', { needs: { gpu: true, languages: [] } })
    await backend.submit(gpuJob)

    // w1 takes a job; kill it while the evaluation runs
    const w1Id = await until(async () => (await backend.workers()).find((w) => w.pid === w1.pid)?.id)
    await until(
      async () => {
        const r = await admin.query(
          "SELECT 1 FROM fm_queue.jobs WHERE worker_id = $1 AND delivered_at IS NULL AND started_at > now() - interval '300 milliseconds'",
          [w1Id],
        )
        return r.rowCount ? true : null
      },
      60_000,
      20,
    )
    w1.kill('SIGKILL')

    await until(async () => (jobs.every((j) => ingested.has(`${j.jobId}:${j.attempt}`)) ? true : null), 90_000, 100)
    expect(ingested.size - earlier).toBe(N)
    for (const [i, j] of jobs.entries()) {
      const r = ingested.get(`${j.jobId}:${j.attempt}`)!
      expect(r.valid).toBe(true)
      expect(r.metrics.score).toBe(i)
    }
    // the interrupted job really ran twice (its first worker died), yet was delivered once
    const reruns = await admin.query<{ job_id: string; runs: number }>(
      'SELECT job_id, runs FROM fm_queue.jobs WHERE runs > 1',
    )
    expect(reruns.rowCount).toBeGreaterThanOrEqual(1)
    for (const j of jobs) expect(deliveries.filter((d) => d.jobId === j.jobId)).toHaveLength(1)
    expect(
      (
        await admin.query('SELECT count(*)::int AS n FROM fm_queue.jobs WHERE job_id = ANY($1)', [
          jobs.map((j) => j.jobId),
        ])
      ).rows[0].n,
    ).toBe(N)

    // the dead worker is reported as such; the GPU job waits for a GPU worker
    const ws = await backend.workers()
    // dead: no evaluation runs on it any more, whatever it was running when it died
    expect(ws.find((w) => w.id === w1Id)).toMatchObject({ status: 'dead', running: 0 })
    expect(ws.filter((w) => w.status === 'online')).toHaveLength(1)
    expect(backend.capacity()).toBe(1)
    expect(deliveries.find((d) => d.jobId === gpuJob.jobId)).toBeUndefined()
    const g = await admin.query('SELECT attempts, locked_by FROM graphile_worker.jobs WHERE task_identifier = $1', [
      QUEUE_TASKS.evaluateGpu,
    ])
    expect(g.rows).toEqual([{ attempts: 0, locked_by: null }])
  }, 180_000)

  it('a second copy of a result is not delivered again', async () => {
    const r = [...ingested.values()][0]
    const before = deliveries.length
    const { rows } = await admin.query("SELECT (graphile_worker.add_job('fm_eval_result', $1::json)).id", [
      JSON.stringify(r),
    ])
    // the copy was taken and handled once graphile-worker has removed it from its queue (a fixed wait
    // would pass on a machine too slow to have handled it yet)
    await until(
      async () =>
        (await admin.query('SELECT 1 FROM graphile_worker.jobs WHERE id = $1', [rows[0].id])).rows.length === 0,
    )
    expect(deliveries.length).toBe(before)
  })

  it('a result for a job its worker does not hold is dropped: only the worker that took a job answers it', async () => {
    const r = [...ingested.values()][0]
    const before = deliveries.length
    const post = async (workerId: string) => {
      const { rows } = await admin.query("SELECT (graphile_worker.add_job('fm_eval_result', $1::json)).id", [
        JSON.stringify({ ...r, jobId: 'forged-job', attempt: 0, workerId }),
      ])
      await until(
        async () =>
          (await admin.query('SELECT 1 FROM graphile_worker.jobs WHERE id = $1', [rows[0].id])).rows.length === 0,
      )
    }
    // a job submitted but not started, answered by someone writing into the queue
    await admin.query("INSERT INTO fm_queue.jobs (job_id, attempt, run_id, task) VALUES ('forged-job', 0, 'r', $1)", [
      QUEUE_TASKS.evaluateCpu,
    ])
    await post('forged')
    // started by one worker, answered in another's name
    await admin.query(
      "UPDATE fm_queue.jobs SET started_at = now(), worker_id = 'the-holder' WHERE job_id = 'forged-job'",
    )
    await post('not-the-holder')
    expect(deliveries.length).toBe(before)
    const job = await admin.query("SELECT delivered_at FROM fm_queue.jobs WHERE job_id = 'forged-job'")
    expect(job.rows).toEqual([{ delivered_at: null }])
  })

  it('a worker stopped with SIGTERM finishes and goes offline', async () => {
    const alive = workers.find((w) => w.exitCode === null && w.signalCode === null)!
    const exited = new Promise<number | null>((r) => alive.once('exit', (code) => r(code)))
    alive.kill('SIGTERM')
    expect(await exited).toBe(0)
    const ws = await backend.workers()
    expect(ws.find((w) => w.pid === alive.pid)?.status).toBe('offline')
  })
})
