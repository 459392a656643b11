// Server mode on real PostgreSQL: a worker whose machine is broken (its bundle cache cannot be
// written, as on a full disk) answers every job with an infra error within milliseconds. It backs
// off after three of its own in a row, says so once in its log and in its row of fm_queue.workers,
// and gives back the job it held; the retries of the jobs it failed go to the healthy worker, so
// the run completes with every candidate evaluated there. A retry only the worker that failed it
// can take still runs. Every wait is on rows, results or the run's end.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { createTestDatabase, type TestDatabase, testPool } from '../../test-support/pg.ts'
import { type ServerWorker, startServerWorker } from '../../workers/server-worker.ts'
import type { Actor } from '../auth/roles.ts'
import { type EvalJob, type EvalResult, QUEUE_TASKS } from '../contracts/evaluation.ts'
import { type Db, openDatabase } from '../db.ts'
import { EventBus } from '../events.ts'
import { silentLogger } from '../log.ts'
import { EngineManager } from '../runs/manager.ts'
import { createRun } from '../runs/service.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { createQueueBackend, type QueueBackend } from './backend.ts'
import { createWorkerRole, dropWorkerRole } from './roles.ts'

const SYSTEM: Actor = { id: null, label: 'back-off test', role: 'admin', via: 'system' }
const BUDGET = 14

let tdb: TestDatabase
let db: Db
let backend: QueueBackend
let admin: pg.Pool
let workerUrl: string
let problemDir: string
const roleName = `fm_bo_${process.pid}`
const temp: string[] = []
const started: ServerWorker[] = []
const results: EvalResult[] = []

const tempDir = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p))
  temp.push(d)
  return d
}

async function until<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function worker(name: string, log: string[], cacheDir = tempDir(`fm-bo-${name}-`)) {
  const w = await startServerWorker({
    databaseUrl: workerUrl,
    concurrency: 1,
    name,
    cacheDir,
    announce: false,
    heartbeatMs: 200,
    pollIntervalMs: 300,
    // long enough that the broken worker stays backing off for the whole test
    backoff: { afterFailures: 3, firstMs: 600_000, maxMs: 600_000 },
    log: (l) => log.push(l),
  })
  started.push(w)
  return w
}

beforeAll(async () => {
  tdb = await createTestDatabase()
  db = await openDatabase({ databaseUrl: tdb.url, dataDir: tempDir('fm-bo-data-') })
  // a slower evaluator: the healthy worker is busy while jobs wait, so the broken one takes some
  problemDir = tempDir('fm-bo-problem-')
  cpSync(join(FIXTURES, 'curve-fit'), problemDir, { recursive: true })
  const ev = join(problemDir, 'evaluator.py')
  writeFileSync(
    ev,
    readFileSync(ev, 'utf8').replace('def main(path):\n', 'def main(path):\n    import time\n    time.sleep(0.2)\n'),
  )
  const p = JSON.parse(readFileSync(join(problemDir, 'problem.json'), 'utf8'))
  writeFileSync(join(problemDir, 'problem.json'), JSON.stringify({ ...p, id: 'test-curve-fit-backoff' }))
  await importProblem(db, problemDir)
  workerUrl = (await createWorkerRole(tdb.url, roleName, `pw-${process.pid}-bo`)).databaseUrl
  admin = testPool({ connectionString: tdb.url, max: 2 })
  backend = createQueueBackend({
    databaseUrl: tdb.url,
    deadAfterMs: 3000,
    checkMs: 200,
    pollIntervalMs: 300,
    log: () => {},
  })
  backend.onResult((r) => {
    results.push(r)
  })
  await backend.start()
}, 180_000)

afterAll(async () => {
  for (const w of started) await w.stop().catch(() => undefined)
  await backend?.close()
  await admin?.end()
  await db?.close()
  await dropWorkerRole(tdb.url, roleName, { force: true }).catch(() => undefined)
  await tdb?.drop()
  for (const d of temp) rmSync(d, { recursive: true, force: true })
})

let broken: ServerWorker
let healthy: ServerWorker
const brokenLog: string[] = []

describe('a worker whose machine fails every evaluation for its own reasons', () => {
  it('backs off and says why; the jobs it failed are evaluated by the healthy worker and the run completes', async () => {
    const brokenCache = tempDir('fm-bo-broken-')
    broken = await worker('broken', brokenLog, brokenCache)
    // its disk: the bundle cache can no longer be written, so every job fails before it starts
    rmSync(join(brokenCache, 'bundles'), { recursive: true, force: true })
    writeFileSync(join(brokenCache, 'bundles'), 'not a folder')
    healthy = await worker('healthy', [])
    await until(async () => (await backend.workers()).filter((w) => w.status === 'online').length === 2)

    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const { id: runId } = await createRun(db, SYSTEM, {
      problemId: 'test-curve-fit-backoff',
      config: { islands: 2, budget: { maxEvals: BUDGET }, seed: 3 },
    })
    const end = await manager.launch(runId)
    expect(end.status).toBe('completed')

    // every candidate's final attempt ran on the healthy worker
    const evaluated = await admin.query<{ id: string; worker_id: string | null }>(
      `SELECT c.id, q.worker_id FROM candidates c
         JOIN fm_queue.jobs q ON q.job_id = c.id AND q.attempt = c.attempt
        WHERE c.run_id = $1 AND c.status = 'evaluated'`,
      [runId],
    )
    expect(evaluated.rows.length).toBe(BUDGET)
    expect(evaluated.rows.filter((r) => r.worker_id !== healthy.id)).toEqual([])
    // the broken worker ran three jobs, then took none; the retries of those went elsewhere
    const ranOnBroken = await admin.query<{ job_id: string; attempt: number }>(
      'SELECT job_id, attempt FROM fm_queue.jobs WHERE worker_id = $1',
      [broken.id],
    )
    expect(ranOnBroken.rows.length).toBe(3)
    for (const j of ranOnBroken.rows) {
      const retry = await admin.query<{ worker_id: string }>(
        'SELECT worker_id FROM fm_queue.jobs WHERE job_id = $1 AND attempt = $2',
        [j.job_id, j.attempt + 1],
      )
      expect(retry.rows[0]?.worker_id).toBe(healthy.id)
    }
    // a job it gave back while backing off ran as if first taken: no death counted against it
    expect(results.filter((r) => /died/.test(r.error?.message ?? ''))).toEqual([])

    // it says so once in its log, and in its row: the console and the CLI read it there
    const said = brokenLog.filter((l) => l.includes('backing off'))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(
      /\[worker broken\] backing off: 3 evaluations in a row failed for infrastructure reasons on this machine \(last: problem bundle \w+… unavailable: .+\); no jobs taken until \S+ \(600 s\)/,
    )
    expect(broken.backingOff()).not.toBeNull()
    const row = await until(async () => {
      const ws = await backend.workers()
      return ws.find((w) => w.id === broken.id && w.status === 'backing-off')
    })
    expect(row.statusDetail).toMatch(
      /^3 evaluations in a row failed for infrastructure reasons on this machine \(last: problem bundle .+\); takes jobs again at /,
    )
    expect((await backend.workers()).find((w) => w.id === healthy.id)?.status).toBe('online')
    // the engine counts only the healthy worker's slots
    expect(backend.capacity()).toBe(1)
  }, 300_000)

  it('stops at once while backing off', async () => {
    await broken.stop()
    const { rows } = await admin.query('SELECT status, status_detail FROM fm_queue.workers WHERE id = $1', [broken.id])
    expect(rows[0]).toEqual({ status: 'offline', status_detail: null })
  }, 60_000)
})

describe('a retry kept from the worker that failed it', () => {
  const jobFor = async (runId: string): Promise<EvalJob> => {
    const [snap] = (
      await admin.query<{ bundle_hash: string }>(
        "SELECT problem_snapshot->>'bundleHash' AS bundle_hash FROM runs WHERE id = $1",
        [runId],
      )
    ).rows
    return {
      jobId: `retry-${Math.random().toString(36).slice(2, 10)}`,
      runId,
      problem: { id: 'test-curve-fit-backoff', bundleHash: snap!.bundle_hash },
      language: 'python',
      code: readFileSync(join(problemDir, 'initial.py'), 'utf8'),
      stage: 0,
      limits: { timeoutS: 10, memoryMb: 512, cpuS: 20 },
      needs: { gpu: false, languages: ['python'] },
      attempt: 1,
      avoidWorkers: [healthy.id],
    }
  }

  it('waits for another worker while one is online, and runs on the same worker once none is', async () => {
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1')
    const runId = rows[0]!.id
    // another worker that could take it, online (a row only: it takes nothing)
    await admin.query(
      `INSERT INTO fm_queue.workers (id, name, host, capabilities, concurrency, status)
       VALUES ('other', 'other', 'h', $1, 1, 'online')`,
      [JSON.stringify({ cpu: 1, gpu: false, languages: ['python'], tasks: [QUEUE_TASKS.evaluateCpu] })],
    )
    const job = await jobFor(runId)
    await backend.submit(job)
    const flags = async () =>
      (
        await admin.query<{ flags: Record<string, true> | null; locked: boolean }>(
          `SELECT flags, locked_at IS NOT NULL AS locked FROM graphile_worker.jobs WHERE key = $1`,
          [`eval:${job.jobId}:1`],
        )
      ).rows[0]
    expect(Object.keys((await flags())!.flags ?? {})).toEqual(['lang:python', `avoid:${healthy.id}`])
    expect(await backend.releaseStranded()).toBe(0)
    expect((await flags())!.locked).toBe(false)

    // the other worker leaves: the job is the failing worker's again rather than nobody's
    await admin.query("UPDATE fm_queue.workers SET status = 'offline' WHERE id = 'other'")
    const r = await until(async () => results.find((x) => x.jobId === job.jobId))
    expect(r.workerId).toBe(healthy.id)
    expect(r.error).toBeUndefined()
  }, 120_000)

  it('is never left untakeable: with no other worker online at submission it carries no avoid flag', async () => {
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1')
    const job = await jobFor(rows[0]!.id)
    await backend.submit(job)
    const r = await until(async () => results.find((x) => x.jobId === job.jobId))
    expect(r.workerId).toBe(healthy.id)
  }, 120_000)
})
