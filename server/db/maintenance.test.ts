import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { servedFolder } from '../../test-support/served-folder.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { openDatabase } from '../db.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'
import { untilProgress } from '../../test-support/progress.ts'
import type { Db } from '../db.ts'
import { maintainEmbedded, tablesDue } from './maintenance.ts'

/** what the database says of the candidates table's upkeep: planner statistics and VACUUM/ANALYZE counts */
async function upkeep(db: Db) {
  const [r] = await db.sql<{ reltuples: number; stats: number; passes: number }>(
    `SELECT c.reltuples,
            (SELECT count(*)::int FROM pg_stats WHERE tablename = 'candidates') AS stats,
            (SELECT (vacuum_count + analyze_count)::int FROM pg_stat_user_tables WHERE relname = 'candidates') AS passes
     FROM pg_class c WHERE c.relname = 'candidates' AND c.relkind = 'r'`,
  )
  return r!
}

describe('embedded database upkeep at a run end', () => {
  let h: EngineHarness
  beforeAll(async () => {
    h = await startEngineHarness({ name: 'maintenance', upkeep: true })
  })
  afterAll(async () => {
    await h?.stop()
  })

  // PGlite has no autovacuum: without this a finished run's tables never had statistics or a
  // visibility map, and the console's reads of it stayed 40-70 % slower
  it('vacuums and analyzes the run tables once the run ends, never while it is driven', async () => {
    const { id: runId } = await h.as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: { islands: 2, populationPerIsland: 8, budget: { maxEvals: 300 }, seed: 7, coldStartSize: 4 },
    })
    // observed at every event of the run until it is over; the upkeep must not show up before
    const during: Array<{ passes: number; reltuples: number; status: string }> = []
    await untilProgress(
      h.app.events,
      async () => {
        const { status } = await h.db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true } })
        if (['completed', 'failed', 'stopped', 'paused'].includes(status)) return status
        const u = await upkeep(h.db)
        during.push({ passes: u.passes, reltuples: u.reltuples, status })
        return null
      },
      'the run to end',
    )
    await h.app.runs!.released(runId)
    expect(during.some((d) => d.status === 'evolving')).toBe(true)
    expect(during.filter((d) => d.passes > 0 || d.reltuples >= 0)).toEqual([])

    const after = await upkeep(h.db)
    const candidates = await h.db.prisma.candidate.count({ where: { runId } })
    expect(candidates).toBeGreaterThanOrEqual(300)
    expect(after.reltuples).toBeGreaterThan(0)
    expect(after.stats).toBeGreaterThan(0)
    expect(after.passes).toBeGreaterThan(0)
    // nothing grew since: a second pass has nothing to do
    expect(await tablesDue(h.db)).toEqual([])
    expect((await maintainEmbedded(h.db)).tables).toEqual([])
  }, 600_000)

  it("catches up at the console's start on what headless runs left in the folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-upkeep-'))
    try {
      // a finished run of a few thousand candidates, written as a headless run leaves them: no upkeep
      const seeded = await openDatabase({ dataDir: dir, databaseUrl: '' })
      try {
        await seedSyntheticRun(seeded, { candidates: 3000, status: 'completed' })
        expect(await tablesDue(seeded)).toContain('candidates')
      } finally {
        await seeded.close()
      }
      const { server } = await servedFolder(dir)
      try {
        expect(await tablesDue(server.app.db)).toEqual([])
        expect((await upkeep(server.app.db)).reltuples).toBeGreaterThan(0)
      } finally {
        await server.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)

  it('leaves a server-mode database to its autovacuum', async () => {
    const db = {
      mode: 'server',
      sql: async () => {
        throw new Error('no statement expected in server mode')
      },
    } as unknown as Db
    expect(await maintainEmbedded(db)).toEqual({ tables: [], ms: 0 })
  })
})
