// A run in server mode whose evaluations wait with no worker online says so in the runs list
// (fm-agent runs, the Runs page), its cold start included: it has no pipeline figures yet.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase, testPool } from '../../test-support/pg.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { type Db, openDatabase } from '../db.ts'
import { installQueue } from '../queue/schema.ts'
import { QUEUE_TASKS } from '../contracts/evaluation.ts'
import { listRuns } from './service.ts'

describe('waitingForWorkers', () => {
  let t: TestDatabase
  let db: Db
  let pool: pg.Pool
  beforeAll(async () => {
    t = await createTestDatabase()
    db = await openDatabase({ databaseUrl: t.url })
    pool = testPool({ connectionString: t.url, max: 2 })
    pool.on('error', () => undefined)
    await installQueue(pool)
  })
  afterAll(async () => {
    await pool?.end()
    await db?.close()
    await t?.drop()
  })

  const worker = (id: string, capabilities: object) =>
    pool.query(
      `INSERT INTO fm_queue.workers (id, name, host, capabilities, isolation, concurrency, status, last_heartbeat)
       VALUES ($1, $1, 'h', $2, '{}', 1, 'online', now())`,
      [id, JSON.stringify(capabilities)],
    )

  it('a cold start whose jobs no worker takes, none online; not once one is', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 0, status: 'cold-start' })
    const waiting = async () => (await listRuns(db)).find((r) => r.id === runId)!.waitingForWorkers
    expect(await waiting()).toBe(false)
    await pool.query("INSERT INTO fm_queue.jobs (job_id, attempt, run_id, task) VALUES ('j1', 0, $1, $2)", [
      runId,
      QUEUE_TASKS.evaluateCpu,
    ])
    expect(await waiting()).toBe(true)
    await worker('w1', { tasks: [QUEUE_TASKS.evaluateCpu] })
    expect(await waiting()).toBe(false)
  })

  it('a GPU job with only CPU workers online, or only workers of another version, waits', async () => {
    await pool.query("UPDATE fm_queue.workers SET status = 'offline'")
    const { runId } = await seedSyntheticRun(db, { candidates: 0, status: 'cold-start' })
    const waiting = async () => (await listRuns(db)).find((r) => r.id === runId)!.waitingForWorkers
    await pool.query("INSERT INTO fm_queue.jobs (job_id, attempt, run_id, task) VALUES ('g1', 0, $1, $2)", [
      runId,
      QUEUE_TASKS.evaluateGpu,
    ])
    await worker('cpu-only', { gpu: false, tasks: [QUEUE_TASKS.evaluateCpu] })
    // a worker from before the job protocol: it lists no tasks
    await worker('old', { gpu: true })
    expect(await waiting()).toBe(true)
    await worker('gpu', { gpu: true, tasks: [QUEUE_TASKS.evaluateCpu, QUEUE_TASKS.evaluateGpu] })
    expect(await waiting()).toBe(false)
  })
})
