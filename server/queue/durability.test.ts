// Server mode (PostgreSQL + the graphile-worker queue): evaluation workers killed with -9 while
// they run a job, at random moments of a real run driven by the engine, and replaced. The run ends
// with exactly its budget; after each kill nothing evaluated is lost; every candidate's result is
// ingested once (eval_index 0..n-1, runs.evaluations = count) even though the interrupted jobs ran
// again on another worker. Extends server/queue/queue.test.ts (a single kill of the bare backend)
// into a trial loop through the engine. Then the engine itself is killed with evaluations in flight:
// the engine taking the run over adopts them, so none is evaluated twice.
//   FM_WORKER_KILLS   workers killed mid-job per run (default 3; 20 for a long run)
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, startCli } from '../../test-support/cli.ts'
import { createTestDatabase, TEST_PG_URL, type TestDatabase, testPool } from '../../test-support/pg.ts'
import type { Actor } from '../auth/roles.ts'
import type { EvalResult } from '../contracts/evaluation.ts'
import { openDatabase, type Db } from '../db.ts'
import { EventBus } from '../events.ts'
import { silentLogger } from '../log.ts'
import { createQueueBackend, type QueueBackend } from './backend.ts'
import { createWorkerRole } from './roles.ts'
import { EngineManager } from '../runs/manager.ts'
import { createRun } from '../runs/service.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { recordFigures, ROOT } from '../../test-support/figures.ts'

const KILLS = Number(process.env.FM_WORKER_KILLS ?? 3)
const BUDGET = 24 + KILLS * 4
const SYSTEM: Actor = { id: null, label: 'durability test', role: 'admin', via: 'system' }

let tdb: TestDatabase
let db: Db
let backend: QueueBackend
let admin: pg.Pool
let workerUrl: string
const roleName = `fm_wk_${process.pid}`
const temp: string[] = []
const workers: ChildProcess[] = []
const deliveries = new Map<string, number>()

const tempDir = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p))
  temp.push(d)
  return d
}

function startWorker(name: string) {
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'workers/bin.ts',
      'worker',
      '--concurrency',
      '1',
      '--name',
      name,
      '--cache-dir',
      tempDir('fm-dw-cache-'),
    ],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME!,
        DATABASE_URL: workerUrl,
        FM_WORKER_HEARTBEAT_MS: '300',
      } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  p.stderr!.resume()
  workers.push(p)
  return p
}

async function until<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 120_000,
  everyMs = 25,
): Promise<T | null> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) return null
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

// one statement, so one snapshot: the run's counter and its candidates as of the same commit (two
// reads could fall either side of an ingest and disagree while the run is going)
async function ledger(runId: string) {
  const r = await admin.query<{ status: string; evaluations: number; id: string | null; eval_index: number | null }>(
    `SELECT r.status, r.evaluations, c.id, c.eval_index FROM runs r
       LEFT JOIN candidates c ON c.run_id = r.id AND c.status = 'evaluated' WHERE r.id = $1`,
    [runId],
  )
  if (!r.rows.length) throw new Error(`run ${runId} not found`)
  const rows = r.rows.filter((x) => x.id !== null)
  return {
    run: { status: r.rows[0]!.status, evaluations: r.rows[0]!.evaluations },
    ids: new Set(rows.map((x) => x.id!)),
    evalIndexes: rows.map((x) => x.eval_index!).sort((a, b) => a - b),
  }
}

beforeAll(async () => {
  tdb = await createTestDatabase()
  db = await openDatabase({ databaseUrl: tdb.url, dataDir: tempDir('fm-dw-data-') })
  // the fixture with a slower evaluator, so that a kill lands inside a job rather than between two
  const problemDir = tempDir('fm-dw-problem-')
  cpSync(join(FIXTURES, 'curve-fit'), problemDir, { recursive: true })
  const ev = join(problemDir, 'evaluator.py')
  writeFileSync(
    ev,
    readFileSync(ev, 'utf8').replace('def main(path):\n', 'def main(path):\n    import time\n    time.sleep(0.4)\n'),
  )
  const p = JSON.parse(readFileSync(join(problemDir, 'problem.json'), 'utf8'))
  writeFileSync(join(problemDir, 'problem.json'), JSON.stringify({ ...p, id: 'test-curve-fit-slow' }))
  await importProblem(db, problemDir)
  workerUrl = (await createWorkerRole(tdb.url, roleName, `pw-${process.pid}-d`)).databaseUrl
  admin = testPool({ connectionString: tdb.url, max: 2 })
  backend = createQueueBackend({
    databaseUrl: tdb.url,
    deadAfterMs: 2000,
    checkMs: 300,
    pollIntervalMs: 500,
    log: () => {},
  })
  backend.onResult((r: EvalResult) => {
    const key = `${r.jobId}:${r.attempt}`
    deliveries.set(key, (deliveries.get(key) ?? 0) + 1)
  })
  await backend.start()
}, 180_000)

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  await backend?.close()
  await admin?.end()
  await db?.close()
  await tdb?.drop()
  const c = new pg.Client({ connectionString: TEST_PG_URL })
  await c.connect()
  await c.query(`DROP OWNED BY ${c.escapeIdentifier(roleName)}`).catch(() => undefined)
  await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(roleName)}`).catch(() => undefined)
  await c.end()
  temp.forEach((d) => {
    rmSync(d, { recursive: true, force: true })
  })
})

describe('server mode: workers killed mid-job during a run', () => {
  it(`${KILLS} workers killed while evaluating: the run ends with exactly its budget, nothing lost, nothing ingested twice`, async () => {
    const started = Date.now()
    let live = [startWorker('w0'), startWorker('w1')]
    await until(async () => ((await backend.workers()).filter((w) => w.status === 'online').length >= 2 ? true : null))
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const { id: runId } = await createRun(db, SYSTEM, {
      problemId: 'test-curve-fit-slow',
      config: { islands: 2, budget: { maxEvals: BUDGET }, seed: 5 },
    })
    const finished = manager.launch(runId)
    let before = await ledger(runId)
    const killed: Array<{ evaluations: number; job: string }> = []
    for (let k = 0; k < KILLS; k++) {
      // let the run move a little, then take a worker that has just started a job
      const target = Math.min(BUDGET - 6, before.ids.size + 1 + Math.floor(Math.random() * 4))
      await until(async () => ((await ledger(runId)).ids.size >= target ? true : null))
      const byPid = new Map(live.map((w) => [w.pid, w]))
      const victim = await until(
        async () => {
          const ws = await backend.workers()
          const r = await admin.query<{ worker_id: string; job_id: string }>(
            "SELECT worker_id, job_id FROM fm_queue.jobs WHERE delivered_at IS NULL AND worker_id IS NOT NULL AND started_at > now() - interval '250 milliseconds'",
          )
          for (const row of r.rows) {
            const w = ws.find((x) => x.id === row.worker_id && x.status === 'online' && x.pid && byPid.has(x.pid))
            if (w) return { proc: byPid.get(w.pid!)!, job: row.job_id }
          }
          return null
        },
        60_000,
        15,
      )
      expect(victim, 'a worker running a job').not.toBeNull()
      victim!.proc.kill('SIGKILL')
      await new Promise((r) => victim!.proc.once('exit', r))
      live = live.filter((w) => w !== victim!.proc)
      const after = await ledger(runId)
      killed.push({ evaluations: after.ids.size, job: victim!.job })
      expect(after.evalIndexes).toEqual(Array.from({ length: after.ids.size }, (_, i) => i))
      expect(after.run.evaluations).toBe(after.ids.size)
      expect([...before.ids].filter((id) => !after.ids.has(id))).toEqual([])
      before = after
      live.push(startWorker(`w${k + 2}`))
    }
    const end = await finished
    expect(end.status).toBe('completed')
    const final = await ledger(runId)
    expect(final.run).toMatchObject({ status: 'completed', evaluations: BUDGET })
    expect(final.evalIndexes).toEqual(Array.from({ length: BUDGET }, (_, i) => i))
    expect([...before.ids].filter((id) => !final.ids.has(id))).toEqual([])
    // the interrupted jobs ran again elsewhere, and their results were still delivered once
    const rerun = await admin.query<{ job_id: string; runs: number }>(
      'SELECT job_id, runs FROM fm_queue.jobs WHERE runs > 1',
    )
    const rerunIds = new Set(rerun.rows.map((r) => r.job_id))
    const killedJobsRerun = killed.filter((k) => rerunIds.has(k.job)).length
    expect(killedJobsRerun, 'killed jobs that ran again on another worker').toBeGreaterThanOrEqual(1)
    expect(
      [...deliveries.values()].every((n) => n === 1),
      'a result delivered twice',
    ).toBe(true)
    const evaluatedJobs = await db.prisma.candidate.findMany({
      where: { runId, status: 'evaluated' },
      select: { id: true, attempt: true },
    })
    for (const c of evaluatedJobs)
      expect(deliveries.get(`${c.id}:${c.attempt}`) ?? 0, `deliveries of ${c.id}`).toBeLessThanOrEqual(1)
    recordFigures('durability-server', {
      workerKills: killed.length,
      killedJobsRerun,
      jobsRunMoreThanOnce: rerun.rowCount ?? 0,
      budget: BUDGET,
      evaluations: final.ids.size,
      evaluationsAtKills: killed.map((k) => k.evaluations),
      seconds: Math.round((Date.now() - started) / 1000),
    })
  }, 600_000)
})

describe('server mode: the engine killed with evaluations in flight', () => {
  it('the engine taking the run over adopts the queued, running and answered ones: none is evaluated twice', async () => {
    const budget = 40
    startWorker('e0')
    startWorker('e1')
    // the first engine: `fm-agent run` in server mode drives its run in its own process
    const first = startCli(['run', 'test-curve-fit-slow', '--max-evals', String(budget), '--seed', '9'], {
      DATABASE_URL: tdb.url,
      FM_LEASE_S: '3',
    })
    let err = ''
    first.stderr!.on('data', (d) => (err += d))
    first.stdout!.resume()
    const runId = await until(async () => /run ([0-9a-f-]{36}) on test-curve-fit-slow/.exec(err)?.[1])
    expect(runId, `the run's id in: ${err.slice(-2000)}`).toBeTruthy()
    // killed once it has results and a queue: some of its jobs waiting, some running
    const open = `SELECT job_id, attempt, started_at IS NOT NULL AS started FROM fm_queue.jobs
                   WHERE run_id = $1 AND delivered_at IS NULL`
    const atKill = await until(async () => {
      if ((await ledger(runId!)).ids.size < 6) return null
      const r = await admin.query<{ job_id: string; attempt: number; started: boolean }>(open, [runId])
      return r.rows.some((x) => x.started) && r.rows.some((x) => !x.started) ? r.rows : null
    })
    first.kill('SIGKILL')
    await new Promise((r) => first.once('exit', r))
    expect(atKill, 'jobs in flight when the engine was killed').not.toBeNull()
    // the workers go on answering the dead engine; a second engine takes the run once its lease ends
    await until(
      async () =>
        (await admin.query('SELECT 1 FROM runs WHERE id = $1 AND lease_until < now()', [runId])).rows.length > 0,
    )
    const posted = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key = ANY($1::text[])`,
      [atKill!.map((j) => `result:${j.job_id}:${j.attempt}`)],
    )
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const end = await manager.launch(runId!)
    expect(end.status).toBe('completed')
    const final = await ledger(runId!)
    expect(final.run).toMatchObject({ status: 'completed', evaluations: budget })
    expect(final.evalIndexes).toEqual(Array.from({ length: budget }, (_, i) => i))
    // every job in flight at the kill was answered at its own attempt, and no candidate ran twice
    const rows = await admin.query<{ job_id: string; attempt: number; started: boolean; delivered: boolean }>(
      `SELECT job_id, attempt, started_at IS NOT NULL AS started, delivered_at IS NOT NULL AS delivered
         FROM fm_queue.jobs WHERE run_id = $1`,
      [runId],
    )
    const byKey = new Map(rows.rows.map((r) => [`${r.job_id}:${r.attempt}`, r]))
    for (const j of atKill!) expect(byKey.get(`${j.job_id}:${j.attempt}`)?.delivered, `${j.job_id}`).toBe(true)
    const startedPerCandidate = new Map<string, number>()
    for (const r of rows.rows)
      if (r.started) startedPerCandidate.set(r.job_id, (startedPerCandidate.get(r.job_id) ?? 0) + 1)
    expect([...startedPerCandidate].filter(([, n]) => n > 1)).toEqual([])
    // nothing is left in the queue for the dead engine
    const left = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key = ANY($1::text[])`,
      [rows.rows.map((j) => `result:${j.job_id}:${j.attempt}`)],
    )
    expect(left.rows[0]!.n).toBe(0)
    recordFigures('engine-takeover-server', {
      budget,
      inFlightAtKill: atKill!.length,
      startedAtKill: atKill!.filter((j) => j.started).length,
      resultsPostedToTheDeadEngine: posted.rows[0]!.n,
    })
  }, 300_000)
})
