// The compare API against a migrated database, in both modes: runs of different problems and
// sizes side by side, each run's best-so-far line downsampled in SQL, bounded input; the line
// against evaluations exact from the candidates, the one against time on the run's own clock.
// And a real run through the engine: its metric rows carry that clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { compareLines, configDiff } from '../../client-safe/compare.ts'
import { runSeconds } from '../../client-safe/series.ts'
import { seedSyntheticRun, setRunModels, UNPRICED_AND_PRICED } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { compareRuns } from './compare-data.ts'

/** The candidates that beat every earlier valid one, in evaluation order (ties are not improvements). */
async function improvementsOf(db: Db, runId: string, direction: 'max' | 'min') {
  const cands = await db.prisma.candidate.findMany({
    where: { runId, evalIndex: { not: null }, valid: true, score: { not: null } },
    select: { evalIndex: true, score: true },
    orderBy: { evalIndex: 'asc' },
  })
  const out: Array<{ e: number; b: number }> = []
  for (const c of cands) {
    const last = out.at(-1)?.b
    if (last === undefined || (direction === 'max' ? c.score! > last : c.score! < last))
      out.push({ e: c.evalIndex!, b: c.score! })
  }
  return out
}

/**
 * Replaces a run's run-level metric rows: 30 rows a second apart, three hours stopped, 30 more a
 * second apart; 10 evaluations a row. With the run's clock (active_s) or, as rows from before it
 * was kept, without. The run row: started a second before its first row, 60 s run in all.
 */
async function stoppedForThreeHours(db: Db, runId: string, withClock: boolean) {
  await db.prisma.$executeRawUnsafe('DELETE FROM run_metrics WHERE run_id = $1 AND island = -1', runId)
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO run_metrics (run_id, island, eval_count, at, best, diversity, population, evals_per_sec, failure_rate, spend_usd, active_s)
     SELECT $1, -1, k * 10, date_trunc('second', now()) - interval '4 hours'
         + make_interval(secs => k + CASE WHEN k > 30 THEN 3 * 3600 ELSE 0 END),
       k, '{}'::jsonb, 10, 10, 0, 0, CASE WHEN $2 THEN k::float8 END
     FROM generate_series(1, 60) k`,
    runId,
    withClock,
  )
  await db.prisma.$executeRawUnsafe(
    `UPDATE runs SET evaluations = 600, best_score = 60, status = 'completed', active_s = 60,
       started_at = (SELECT min(at) FROM run_metrics WHERE run_id = $1 AND island = -1) - interval '1 second',
       finished_at = (SELECT max(at) FROM run_metrics WHERE run_id = $1 AND island = -1),
       active_at = (SELECT max(at) FROM run_metrics WHERE run_id = $1 AND island = -1)
     WHERE id = $1`,
    runId,
  )
}

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

  it('draws each improvement at its own evaluation, not at the next metric row', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 100, islands: 2, metricEvery: 7, direction: 'min' })
    // improvements at #0, #15, #27 and #53; a tie at #60 and an invalid program at #70 are not
    await db.prisma.$executeRawUnsafe(
      `UPDATE candidates SET valid = eval_index <> 70,
         score = CASE WHEN eval_index = 70 THEN NULL WHEN eval_index = 0 THEN 7900 WHEN eval_index = 15 THEN 7885
                      WHEN eval_index = 27 THEN 7745 WHEN eval_index IN (53, 60) THEN 7715 ELSE 8000 + eval_index END
       WHERE run_id = $1`,
      runId,
    )
    await db.prisma.run.update({ where: { id: runId }, data: { bestScore: 7715 } })
    const data = await as().runs.compare({ runIds: [runId, ids[0]!] })
    expect(data.improvements[runId]).toEqual([
      { e: 0, b: 7900 },
      { e: 15, b: 7885 },
      { e: 27, b: 7745 },
      { e: 53, b: 7715 },
    ])
    expect(compareLines(data, 'evals', 'score')[0]!.points).toEqual([
      { x: 0, y: 7900 },
      { x: 15, y: 7885 },
      { x: 27, y: 7745 },
      { x: 53, y: 7715 },
      { x: 100, y: 7715 },
    ])
  })

  it('keeps a run improving at every evaluation to the first and last improvement of each bucket', async () => {
    const expected = await improvementsOf(db, ids[1]!, 'min')
    const data = await as().runs.compare({ runIds: ids, points: 20 })
    const got = data.improvements[ids[1]!]!
    expect(expected.length).toBeGreaterThan(2 * 20)
    expect(got.length).toBeLessThanOrEqual(2 * 20)
    // only true improvements, at their own evaluations, the first and the last among them
    const at = new Map(expected.map((x) => [x.e, x.b]))
    for (const x of got) expect(at.get(x.e)).toBe(x.b)
    expect(got[0]).toEqual(expected[0])
    expect(got.at(-1)).toEqual(expected.at(-1))
    // unbucketed (400 evaluations, 400 points): every one of them
    expect((await as().runs.compare({ runIds: ids })).improvements[ids[1]!]).toEqual(expected)
  })

  it('names the models without a price that make a run’s spend unknown', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 50, islands: 1, metricEvery: 10 })
    await setRunModels(db, runId, UNPRICED_AND_PRICED)
    const data = await as().runs.compare({ runIds: [runId, ids[0]!] })
    expect(data.runs.map((r) => r.unpriced)).toEqual([['openai:instant'], []])
    expect(compareLines(data, 'spend', 'score')[0]!.points).toEqual([])
  })

  it('draws a run stopped for three hours against the time it ran', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 600, islands: 1, metricEvery: 10 })
    await stoppedForThreeHours(db, runId, true)
    const data = await as().runs.compare({ runIds: [runId, ids[0]!] })
    const ts = data.series[runId]!.map((p) => p.t)
    expect(ts).toEqual(Array.from({ length: 60 }, (_, k) => k + 1))
    const line = compareLines(data, 'time', 'score')[0]!.points
    expect(line.at(-1)).toEqual({ x: 60, y: 60 })
    expect(Math.max(...line.map((p) => p.x))).toBe(data.runs[0]!.activeS)
  })

  it('leaves the stop out of rows written before they carried the clock, from the gaps between them', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 600, islands: 1, metricEvery: 10 })
    await stoppedForThreeHours(db, runId, false)
    const data = await as().runs.compare({ runIds: [runId, ids[0]!] })
    const ts = data.series[runId]!.map((p) => p.t)
    expect(ts.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, k) => k + 1))
    // the three hours are not in it: only the second between the rows on either side of them is lost
    expect(ts.slice(30)).toEqual(Array.from({ length: 30 }, (_, k) => k + 30))
    expect(compareLines(data, 'time', 'score')[0]!.points.at(-1)).toEqual({ x: 59, y: 60 })
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

describe('a real run: its metric rows carry its clock', () => {
  let h: EngineHarness
  beforeAll(async () => {
    h = await startEngineHarness({ name: 'compare-clock' })
  })
  afterAll(() => h?.stop())

  it('writes the time run with each metric row, and the compare lines read it and the candidates', async () => {
    const { db, app } = h
    const { id } = await h.as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: { islands: 2, budget: { maxEvals: 40 }, seed: 3 },
    })
    const run = await untilProgress(
      app.events,
      async () => {
        const r = await db.prisma.run.findUnique({ where: { id } })
        return r && ['completed', 'failed', 'stopped'].includes(r.status) ? r : null
      },
      'the end of the run',
    )
    expect(run.status).toBe('completed')
    const rows = await db.prisma.runMetric.findMany({
      where: { runId: id, island: -1 },
      select: { activeS: true },
      orderBy: { id: 'asc' },
    })
    expect(rows.length).toBeGreaterThan(0)
    const clock = rows.map((r) => r.activeS)
    for (const [i, t] of clock.entries()) {
      expect(t).not.toBeNull()
      expect(t!).toBeGreaterThanOrEqual(i ? clock[i - 1]! : 0)
    }
    const data = await compareRuns(db, [id])
    expect(data.series[id]!.map((p) => p.t).every((t) => clock.includes(t))).toBe(true)
    expect(data.improvements[id]).toEqual(await improvementsOf(db, id, 'min'))
    // the line against time ends on the run's own clock, however soon after it the last row was written
    const line = compareLines(data, 'time', 'score')[0]!.points
    const ran = runSeconds({ ...data.runs[0]!, running: false })
    expect(line.at(-1)!.x).toBe(ran)
    expect(Math.max(...line.map((p) => p.x))).toBe(ran)
  })
})
