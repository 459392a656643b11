// The compare API against a migrated database, in both modes: runs of different problems and
// sizes side by side, each run's best-so-far line downsampled in SQL, bounded input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { compareLines, configDiff } from '../../client-safe/compare.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

const viewer: Actor = { id: 'user-viewer', label: 'viewer@example.test', role: 'viewer', via: 'session' }

describe.each(dbModes())('compare runs, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  const ids: string[] = []
  const as = () => createCaller({ app, actor: viewer, tokenScope: null, headers: new Headers() })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    ids.push((await seedSyntheticRun(db, { candidates: 5000, islands: 3, metricEvery: 5 })).runId)
    ids.push((await seedSyntheticRun(db, { candidates: 400, islands: 2, metricEvery: 5, direction: 'min' })).runId)
  })
  afterAll(() => cleanup?.())

  it('returns each run with its final state and a bounded best-so-far line', async () => {
    const data = await as().runs.compare({ runIds: ids, points: 100 })
    expect(data.runs.map((r) => r.id)).toEqual(ids)
    expect(data.runs.map((r) => [r.islands, r.direction, r.evaluations])).toEqual([
      [3, 'max', 5000],
      [2, 'min', 400],
    ])
    // 1,000 run-level rows for the big run, at most one per bucket sent
    const big = data.series[ids[0]!]!
    expect(big.length).toBeLessThanOrEqual(101)
    expect(big.length).toBeGreaterThan(80)
    for (let i = 1; i < big.length; i++) {
      expect(big[i]!.e).toBeGreaterThan(big[i - 1]!.e)
      expect(big[i]!.b!).toBeGreaterThanOrEqual(big[i - 1]!.b!)
      expect(big[i]!.t).toBeGreaterThanOrEqual(big[i - 1]!.t)
    }
    // the newest row per bucket: the run's last tick is there
    expect(big.at(-1)!.e).toBe(5000)
    const small = data.series[ids[1]!]!
    expect(small.length).toBe(80)
    // the page's lines end at each run's final best
    const lines = compareLines(data, 'evals', 'score')
    expect(lines[0]!.points.at(-1)).toEqual({ x: 5000, y: data.runs[0]!.bestScore })
    expect(
      configDiff(data.runs.map((r) => r.config))
        .filter((r) => r.differs)
        .map((r) => r.path),
    ).toEqual(['budget.maxEvals', 'islands'])
  })

  it('refuses fewer than two runs, more than eight, repeats and only unknown runs', async () => {
    await expect(as().runs.compare({ runIds: [ids[0]!] })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(as().runs.compare({ runIds: Array.from({ length: 9 }, (_, i) => `r${i}`) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(as().runs.compare({ runIds: [ids[0]!, ids[0]!] })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(as().runs.compare({ runIds: ['gone-1', 'gone-2'] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('gone-1'),
    })
    // a shared link naming a run deleted since: the others are compared, the missing one named
    const partial = await as().runs.compare({ runIds: [ids[0]!, 'no-such-run'] })
    expect(partial.runs.map((r) => r.id)).toEqual([ids[0]])
    expect(partial.missing).toEqual(['no-such-run'])
  })
})
