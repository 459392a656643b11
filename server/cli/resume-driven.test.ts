// `fm-agent resume` in server mode, of a run another engine process drives: refused before the
// run's budget or the audit log is touched (the run goes on at its budget, there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../../test-support/cli.ts'
import { createTestDatabase, type TestDatabase } from '../../test-support/pg.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { type Db, openDatabase } from '../db.ts'

describe('resume of a run driven elsewhere', () => {
  let t: TestDatabase
  let db: Db
  beforeAll(async () => {
    t = await createTestDatabase()
    db = await openDatabase({ databaseUrl: t.url })
  })
  afterAll(async () => {
    await db?.close()
    await t?.drop()
  })

  it('is refused and changes nothing', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 5, status: 'evolving' })
    await db.prisma.run.update({
      where: { id: runId },
      data: { leaseOwner: 'other-host:4242', leaseUntil: new Date(Date.now() + 3_600_000) },
    })
    const before = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    const r = await cli(['resume', runId, '--max-evals', '999999'], { DATABASE_URL: t.url })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`driven by another engine process (other-host:4242): nothing to resume`)
    const after = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    expect(after.config).toEqual(before.config)
    expect(await db.prisma.auditEvent.count({ where: { runId } })).toBe(0)
  }, 120_000)
})
