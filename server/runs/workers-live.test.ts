// Server mode: evaluation capacity follows the workers live. A queue worker that joins a running
// run takes its waiting evaluations at once; the run ends with exactly its budget. Real PostgreSQL,
// real `fm-agent worker` processes on the restricted worker role, the engine in this process.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../auth/roles.ts'
import { openDatabase, type Db } from '../db.ts'
import { EventBus } from '../events.ts'
import { silentLogger } from '../log.ts'
import { createWorkerRole, dropWorkerRole } from '../queue/roles.ts'
import { importProblem } from '../services/problems.ts'
import { createTestDatabase } from '../queue/test-db.ts'
import { removeTempDirs, tempDir } from '../../workers/test-helpers.ts'
import { EngineManager } from './manager.ts'
import { createBackend } from './runtime.ts'
import { createRun } from './service.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SYSTEM: Actor = { id: null, label: 'workers-live test', role: 'admin', via: 'system' }
const roleName = `fm_worker_live${process.pid}`
let pgdb: Awaited<ReturnType<typeof createTestDatabase>>
let db: Db
let workerUrl = ''
const procs: ChildProcess[] = []

function startWorker(name: string) {
  const p = spawn(process.execPath, ['bin/fm-agent.mjs', 'worker', '--concurrency', '1', '--name', name, '--cache-dir', tempDir('fm-live-w-')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, DATABASE_URL: workerUrl, FM_WORKER_HEARTBEAT_MS: '300' } as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  procs.push(p)
  return p
}

async function until<T>(fn: () => Promise<T | null | undefined | false>): Promise<T> {
  for (;;) {
    const v = await fn()
    if (v) return v
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  pgdb = await createTestDatabase()
  db = await openDatabase({ databaseUrl: pgdb.url, dataDir: tempDir('fm-live-data-') })
  workerUrl = (await createWorkerRole(pgdb.url, roleName, `pw-${process.pid}-live`)).databaseUrl
}, 120_000)

afterAll(async () => {
  for (const p of procs) p.kill('SIGTERM')
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))))
  await db?.close()
  await dropWorkerRole(pgdb.url, roleName).catch(() => undefined)
  await pgdb?.drop()
  removeTempDirs()
})

describe('workers joining a running run', () => {
  it('a second worker is used at once, and the run evaluates exactly its budget', async () => {
    // the trivial problem behind a gate: evaluations wait while it is closed, so the run cannot end
    // before the second worker is there, however fast or slow this machine is
    const gate = mkdtempSync('/var/tmp/fm-live-gate-')
    chmodSync(gate, 0o755) // the sandbox's unprivileged uid must see into it
    const folder = tempDir('fm-live-problem-')
    cpSync(join(ROOT, 'bench/problems/trivial'), folder, { recursive: true })
    writeFileSync(join(folder, 'gate.sh'), `while [ -e ${gate}/closed ]; do sleep 0.05; done\nexec awk -f score.awk "$1"\n`)
    writeFileSync(join(folder, 'problem.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(folder, 'problem.json'), 'utf8')), id: 'live-gated', evaluator: 'sh gate.sh {candidate}', limits: { timeoutS: 300, memoryMb: 256 } }))
    const { id: problemId } = await importProblem(db, folder)
    const backend = await createBackend({ db, log: silentLogger })
    const events = new EventBus()
    const manager = new EngineManager({ db, backend, events, log: silentLogger })
    startWorker('live-a')
    const budget = 90
    const { id: runId } = await createRun(db, SYSTEM, { problemId, config: { islands: 2, budget: { maxEvals: budget }, seed: 3 } })
    let evaluated = 0
    events.subscribe(runId, (e) => e.type === 'candidate' && evaluated++)
    const done = manager.launch(runId)
    await until(async () => evaluated >= 25)
    writeFileSync(join(gate, 'closed'), '')
    const admin = new pg.Pool({ connectionString: pgdb.url, max: 2 })
    try {
      startWorker('live-b')
      const b = await until(async () => (await admin.query<{ id: string }>("SELECT id FROM fm_queue.workers WHERE name = 'live-b' AND status = 'online'")).rows[0])
      const joinedAt = evaluated
      rmSync(gate, { recursive: true, force: true })
      const result = await done
      expect(result.status).toBe('completed')
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { evaluations: true } })
      expect(run.evaluations).toBe(budget)
      const byB = await db.prisma.candidate.findMany({ where: { runId, workerId: b.id }, select: { evalIndex: true }, orderBy: { evalIndex: 'asc' } })
      expect(byB.length).toBeGreaterThan(0)
      // the new worker took work at once: among the first few evaluations after it joined (what was
      // waiting in the queue then: two per worker, plus the ones running)
      expect(byB[0]!.evalIndex!).toBeLessThan(joinedAt + 6)
    } finally {
      rmSync(gate, { recursive: true, force: true })
      await admin.end()
      await backend.close()
    }
  })
})
