// Server mode on real PostgreSQL: a worker whose machine is broken (its bundle cache cannot be
// written, as on a full disk) answers every job with an infra error within milliseconds. It backs
// off after three of its own in a row, says so once in its log and in its row of fm_queue.workers,
// and takes no job meanwhile: the retries of the jobs it failed, and a run started then, are
// evaluated by the healthy worker. A retry only the worker that failed it can take still runs.
// Every wait is on results, the worker's state or the run's end, never on time.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { observed } from '../../test-support/held.ts'
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

/** the result of a job's attempt, when the backend hands it over (at once for one already in) */
const resultOf = (job: Pick<EvalJob, 'jobId' | 'attempt'>) =>
  new Promise<EvalResult>((resolve) => {
    const r = results.find((x) => x.jobId === job.jobId && x.attempt === job.attempt)
    if (r) resolve(r)
    else waiting.push({ ...job, resolve })
  })
const waiting: Array<Pick<EvalJob, 'jobId' | 'attempt'> & { resolve: (r: EvalResult) => void }> = []

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
  problemDir = tempDir('fm-bo-problem-')
  cpSync(join(FIXTURES, 'curve-fit'), problemDir, { recursive: true })
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
    for (const w of waiting.filter((x) => x.jobId === r.jobId && x.attempt === r.attempt)) w.resolve(r)
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

/** A job of the run's problem, as the engine submits one (a retry names the workers to avoid). */
async function jobFor(runId: string, attempt: number, avoidWorkers?: string[]): Promise<EvalJob> {
  const [snap] = (
    await admin.query<{ bundle_hash: string }>(
      "SELECT problem_snapshot->>'bundleHash' AS bundle_hash FROM runs WHERE id = $1",
      [runId],
    )
  ).rows
  return {
    jobId: `job-${Math.random().toString(36).slice(2, 10)}`,
    runId,
    problem: { id: 'test-curve-fit-backoff', bundleHash: snap!.bundle_hash },
    language: 'python',
    code: readFileSync(join(problemDir, 'initial.py'), 'utf8'),
    stage: 0,
    limits: { timeoutS: 10, memoryMb: 512, cpuS: 20 },
    needs: { gpu: false, languages: ['python'] },
    attempt,
    ...(avoidWorkers ? { avoidWorkers } : {}),
  }
}

describe('a worker whose machine fails every evaluation for its own reasons', () => {
  it('backs off and says why; its failed jobs and a run started meanwhile go to the healthy worker', async () => {
    const brokenCache = tempDir('fm-bo-broken-')
    broken = await worker('broken', brokenLog, brokenCache)
    // its disk: the bundle cache can no longer be written, so every job fails before it starts
    rmSync(join(brokenCache, 'bundles'), { recursive: true, force: true })
    writeFileSync(join(brokenCache, 'bundles'), 'not a folder')
    const { id: firstRun } = await createRun(db, SYSTEM, {
      problemId: 'test-curve-fit-backoff',
      config: { islands: 2, budget: { maxEvals: BUDGET }, seed: 3 },
    })
    // alone, it takes the first three jobs and fails them; the fourth stays in the queue or, held
    // when it backs off, goes back to it
    const first = await Promise.all([0, 1, 2, 3].map(() => jobFor(firstRun, 0)))
    for (const j of first) await backend.submit(j)
    const failed = await Promise.all(first.slice(0, 3).map((j) => resultOf(j)))
    for (const r of failed) expect([r.workerId, r.error?.kind]).toEqual([broken.id, 'infra'])
    await observed(() => broken.backingOff() !== null)
    // their retries, as the dispatcher sends them: kept from it (the flags go, since no other worker
    // is online, but it fetches nothing while backing off)
    const retries = failed.map((r) => ({
      ...first.find((j) => j.jobId === r.jobId)!,
      attempt: 1,
      avoidWorkers: [broken.id],
    }))
    for (const j of retries) await backend.submit(j)

    healthy = await worker('healthy', [])
    expect((await backend.workers()).find((w) => w.id === healthy.id)?.status).toBe('online')
    for (const j of [...retries, first[3]!]) {
      const r = await resultOf(j)
      expect([r.workerId, r.attempt, r.error]).toEqual([healthy.id, j.attempt, undefined])
    }

    // a run started while it backs off is evaluated by the healthy worker alone
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const { id: runId } = await createRun(db, SYSTEM, {
      problemId: 'test-curve-fit-backoff',
      config: { islands: 2, budget: { maxEvals: BUDGET }, seed: 3 },
    })
    const end = await manager.launch(runId)
    expect(end.status).toBe('completed')
    const evaluated = await admin.query<{ id: string; worker_id: string | null }>(
      `SELECT c.id, q.worker_id FROM candidates c
         JOIN fm_queue.jobs q ON q.job_id = c.id AND q.attempt = c.attempt
        WHERE c.run_id = $1 AND c.status = 'evaluated'`,
      [runId],
    )
    expect(evaluated.rows.length).toBe(BUDGET)
    expect(evaluated.rows.filter((r) => r.worker_id !== healthy.id)).toEqual([])
    // the broken worker ran three jobs, then took none
    const ranOnBroken = await admin.query('SELECT job_id FROM fm_queue.jobs WHERE worker_id = $1', [broken.id])
    expect(ranOnBroken.rows.length).toBe(3)
    // a job it gave back while backing off ran as if first taken: no death counted against it
    expect(results.filter((r) => /died/.test(r.error?.message ?? ''))).toEqual([])

    // it says so once in its log, and in its row: the console and the CLI read it there
    const said = brokenLog.filter((l) => l.includes('backing off'))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(
      /\[worker broken\] backing off: 3 evaluations in a row failed for infrastructure reasons on this machine \(last: problem bundle \w+… unavailable: .+\); no jobs taken until \S+ \(600 s\)/,
    )
    // written by its heartbeat, as it goes on
    await observed(async () => (await backend.workers()).some((w) => w.id === broken.id && w.status === 'backing-off'))
    const row = (await backend.workers()).find((w) => w.id === broken.id)!
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
  it('waits for another worker while one is online, and runs on the same worker once none is', async () => {
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1')
    const runId = rows[0]!.id
    // another worker that could take it, online (a row only: it takes nothing)
    await admin.query(
      `INSERT INTO fm_queue.workers (id, name, host, capabilities, concurrency, status)
       VALUES ('other', 'other', 'h', $1, 1, 'online')`,
      [JSON.stringify({ cpu: 1, gpu: false, languages: ['python'], tasks: [QUEUE_TASKS.evaluateCpu] })],
    )
    const job = await jobFor(runId, 1, [healthy.id])
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
    const r = await resultOf(job)
    expect(r.workerId).toBe(healthy.id)
    expect(r.error).toBeUndefined()
  }, 120_000)

  it('is never left untakeable: with no other worker online at submission it carries no avoid flag', async () => {
    const { rows } = await admin.query<{ id: string }>('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1')
    const job = await jobFor(rows[0]!.id, 1, [healthy.id])
    await backend.submit(job)
    const r = await resultOf(job)
    expect(r.workerId).toBe(healthy.id)
  }, 120_000)
})
