// Server mode: evaluation capacity follows the workers live. A queue worker that joins a running
// run takes its waiting evaluations at once; the run ends with exactly its budget. Real PostgreSQL,
// real `fm-agent worker` processes on the restricted worker role, the engine in this process.
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../auth/roles.ts'
import { openDatabase, type Db } from '../db.ts'
import { EventBus } from '../events.ts'
import { silentLogger } from '../log.ts'
import { createWorkerRole, dropWorkerRole } from '../queue/roles.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { createTestDatabase } from '../queue/test-db.ts'
import { removeTempDirs, tempDir } from '../../workers/test-helpers.ts'
import { startQueueWorker } from '../../test-support/queue-worker.ts'
import { testPool } from '../../test-support/pg.ts'
import { EngineManager } from './manager.ts'
import { createBackend } from './evaluation-backend.ts'
import { createRun } from './service.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SYSTEM: Actor = { id: null, label: 'workers-live test', role: 'admin', via: 'system' }
const roleName = `fm_worker_live${process.pid}`
let pgdb: Awaited<ReturnType<typeof createTestDatabase>>
let db: Db
let workerUrl = ''
const procs: ChildProcess[] = []

function startWorker(name: string) {
  const p = startQueueWorker({ databaseUrl: workerUrl, name, cacheDir: tempDir('fm-live-w-') })
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
  await dropWorkerRole(pgdb.url, roleName, { force: true }).catch(() => undefined)
  await pgdb?.drop()
  removeTempDirs()
})

describe('workers leaving and joining a running run', () => {
  it('a worker that leaves gets no more jobs; one that joins takes the waiting ones at once; the budget is exact', async () => {
    const { id: problemId } = await importProblem(db, join(ROOT, 'bench/problems/trivial'))
    const backend = await createBackend({ db, log: silentLogger })
    const events = new EventBus()
    const manager = new EngineManager({ db, backend, events, log: silentLogger })
    const a = startWorker('live-a')
    const budget = 90
    const { id: runId } = await createRun(db, SYSTEM, {
      problemId,
      config: { islands: 2, budget: { maxEvals: budget }, seed: 3 },
    })
    let evaluated = 0
    events.subscribe(runId, (e) => e.type === 'candidate' && evaluated++)
    const done = manager.launch(runId)
    const admin = testPool({ connectionString: pgdb.url, max: 2 })
    try {
      await until(async () => evaluated >= 25)
      // A leaves (finishing what it runs): the run waits, its next jobs in the queue
      a.kill('SIGTERM')
      await new Promise((r) => a.once('exit', r))
      const aRow = (
        await admin.query<{ id: string; completed: number }>(
          "SELECT id, completed FROM fm_queue.workers WHERE name = 'live-a'",
        )
      ).rows[0]!
      const aId = aRow.id
      // every result A posted is ingested (what it finished while stopping included)
      const left = await until(async () => {
        const n = await db.prisma.candidate.count({ where: { runId, workerId: aId, status: 'evaluated' } })
        return n === aRow.completed ? n : null
      })
      expect(left).toBeLessThan(budget)
      startWorker('live-b')
      const b = await until(
        async () =>
          (
            await admin.query<{ id: string }>(
              "SELECT id FROM fm_queue.workers WHERE name = 'live-b' AND status = 'online'",
            )
          ).rows[0],
      )
      const result = await done
      expect(result.status).toBe('completed')
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { evaluations: true } })
      expect(run.evaluations).toBe(budget)
      const byWorker = async (id: string) =>
        (
          await db.prisma.candidate.findMany({
            where: { runId, workerId: id, status: 'evaluated' },
            select: { evalIndex: true },
            orderBy: { evalIndex: 'asc' },
          })
        ).map((c) => c.evalIndex!)
      const [byA, byB] = [await byWorker(aId), await byWorker(b.id)]
      // nothing went to A after it left; everything after went to B, starting with what was waiting
      expect(byA.length).toBe(left)
      expect(Math.max(...byA)).toBe(left - 1)
      expect(byB).toEqual(Array.from({ length: budget - left }, (_, i) => left + i))
    } finally {
      await admin.end()
      await backend.close()
    }
  })
})
