// A run in server mode whose evaluations wait with no worker online says so in the runs list
// (fm-agent runs, the Runs page), its cold start included: it has no pipeline figures yet.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase, testPool } from '../../test-support/pg.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { type Db, openDatabase } from '../db.ts'
import { installQueue } from '../queue/schema.ts'
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

  it('a cold start whose jobs no worker takes, none online; not once one is', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 0, status: 'cold-start' })
    const waiting = async () => (await listRuns(db)).find((r) => r.id === runId)!.waitingForWorkers
    expect(await waiting()).toBe(false)
    await pool.query(
      "INSERT INTO fm_queue.jobs (job_id, attempt, run_id, task) VALUES ('j1', 0, $1, 'fm_evaluate_cpu')",
      [runId],
    )
    expect(await waiting()).toBe(true)
    await pool.query(
      `INSERT INTO fm_queue.workers (id, name, host, capabilities, isolation, concurrency, status, last_heartbeat)
       VALUES ('w1', 'w1', 'h', '{}', '{}', 1, 'online', now())`,
    )
    expect(await waiting()).toBe(false)
  })
})
