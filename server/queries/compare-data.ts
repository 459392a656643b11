// What the compare page reads: 2–8 runs (any problems) with their final state, their configuration
// snapshots, each run's improvements (the candidates that beat every earlier one, at their own
// eval_index) and its best so far downsampled in SQL from its run-level metric rows, against the
// time it had run (a few hundred points per run, whatever its size). Shaping is in client-safe/compare.ts.
import type { Db } from '../db.ts'
import { NotFoundError } from '../errors.ts'
import { configSummary, modelsWithoutPrice, type RunConfig } from '../../client-safe/run-config.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import type { CompareData, CompareImprovement, ComparePoint, CompareRun } from '../../client-safe/compare.ts'
import { bucketWidth } from '../../client-safe/downsample.ts'

const ms = (d: Date | null) => (d ? d.getTime() : null)

/**
 * Metric rows written before they carried the run's clock: a gap between two run-level rows longer
 * than this is taken as time the run did not run. While it runs the engine writes one a second.
 */
const LEGACY_GAP_S = 30

export async function compareRuns(db: Db, runIds: string[], opts: { points?: number } = {}): Promise<CompareData> {
  const rows = await db.prisma.run.findMany({
    where: { id: { in: runIds } },
    select: {
      id: true,
      name: true,
      problemId: true,
      status: true,
      statusReason: true,
      config: true,
      problemSnapshot: true,
      evaluations: true,
      bestScore: true,
      bestCandidateId: true,
      seedScore: true,
      spendUsd: true,
      spendEstimated: true,
      createdAt: true,
      startedAt: true,
      finishedAt: true,
      activeS: true,
      activeAt: true,
    },
  })
  const byId = new Map(rows.map((r) => [r.id, r]))
  const missing = runIds.filter((id) => !byId.has(id))
  if (missing.length === runIds.length) throw new NotFoundError(`no run ${missing.map((m) => `"${m}"`).join(', ')}`)
  const buckets = Math.max(20, Math.min(2000, opts.points ?? 400))
  const runs: CompareRun[] = []
  const series: Record<string, ComparePoint[]> = {}
  const improvements: Record<string, CompareImprovement[]> = {}
  for (const id of runIds.filter((x) => byId.has(x))) {
    const r = byId.get(id)!
    const snap = r.problemSnapshot as unknown as ProblemSnapshot
    const config = r.config as unknown as RunConfig
    runs.push({
      id: r.id,
      name: r.name,
      problemId: r.problemId,
      problemName: snap.name,
      direction: snap.spec.direction,
      primaryMetric: snap.spec.primaryMetric,
      reference: snap.spec.reference ?? null,
      status: r.status,
      statusReason: r.statusReason,
      evaluations: r.evaluations,
      bestScore: r.bestScore,
      bestCandidateId: r.bestCandidateId,
      seedScore: r.seedScore,
      spendUsd: r.spendUsd,
      spendEstimated: r.spendEstimated,
      // as the dashboard and `run --json` decide it: a model without a price makes the spend unknown
      unpriced: modelsWithoutPrice(config),
      createdAt: r.createdAt.getTime(),
      startedAt: ms(r.startedAt),
      finishedAt: ms(r.finishedAt),
      activeS: r.activeS,
      activeAt: ms(r.activeAt),
      islands: config.islands,
      mutator: config.mutator,
      models: config.models.map((m) => m.label ?? `${m.provider}:${m.model}`),
      config: configSummary(config),
    })
    const w = bucketWidth(0, Math.max(1, r.evaluations), buckets)
    improvements[id] = await runImprovements(db, id, snap.spec.direction, w)
    // against time and spend: the last run-level row per evaluation bucket, written at most once a
    // second, so these lines are as fine as that
    const pts = await db.prisma.$queryRaw<
      Array<{
        id: bigint | number
        eval_count: number
        best: number | null
        spend_usd: number
        active_s: number | null
      }>
    >`
      SELECT id, eval_count, best, spend_usd, active_s FROM run_metrics WHERE id = ANY(ARRAY(
        SELECT max(id) FROM run_metrics WHERE run_id = ${id} AND island = -1 GROUP BY eval_count / ${w}::int))
      ORDER BY id`
    const legacy = pts.some((p) => p.active_s === null) ? await legacyRunSeconds(db, id) : null
    series[id] = pts.map((p) => ({
      e: p.eval_count,
      t: p.active_s ?? legacy?.get(String(p.id)) ?? 0,
      s: p.spend_usd,
      b: p.best,
    }))
  }
  return { runs, series, improvements, missing }
}

/**
 * The candidates that beat every earlier one, in eval_index order (ties go to the earliest, as the
 * run's best does): the best-so-far line against evaluations, exact. A run improving at nearly every
 * evaluation keeps the first and last improvement of each bucket of `w` evaluations, so the answer
 * stays a few hundred rows for a run of 100,000 candidates; the window is one index-ordered pass.
 */
async function runImprovements(db: Db, runId: string, direction: 'max' | 'min', w: number) {
  const sign = direction === 'max' ? 1 : -1
  const rows = await db.prisma.$queryRaw<Array<{ e: number; b: number }>>`
    WITH c AS (
      SELECT eval_index, score, max(score * ${sign}::float8) OVER (
        ORDER BY eval_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
      FROM candidates WHERE run_id = ${runId} AND eval_index IS NOT NULL AND valid AND score IS NOT NULL),
    i AS (SELECT eval_index, score FROM c WHERE before IS NULL OR score * ${sign}::float8 > before)
    SELECT eval_index AS e, score AS b FROM i WHERE eval_index IN (
      SELECT min(eval_index) FROM i GROUP BY eval_index / ${w}::int
      UNION SELECT max(eval_index) FROM i GROUP BY eval_index / ${w}::int)
    ORDER BY eval_index`
  return rows.map((x) => ({ e: Number(x.e), b: Number(x.b) }))
}

/**
 * For metric rows written before they carried the run's clock: the seconds run by each run-level
 * row, from its start to its first row, then the gaps between rows, leaving out any longer than
 * LEGACY_GAP_S (a stop, a pause or a crash before a resume). An estimate, the best those rows allow.
 */
async function legacyRunSeconds(db: Db, runId: string): Promise<Map<string, number>> {
  const rows = await db.prisma.$queryRaw<Array<{ id: bigint | number; ran: number; first: number }>>`
    WITH m AS (
      SELECT id, at, coalesce(extract(epoch FROM at - lag(at) OVER (ORDER BY id)), 0)::float8 AS gap
      FROM run_metrics WHERE run_id = ${runId} AND island = -1)
    SELECT id, sum(CASE WHEN gap <= ${LEGACY_GAP_S}::float8 THEN gap ELSE 0 END) OVER (ORDER BY id) AS ran,
      extract(epoch FROM first_value(at) OVER (ORDER BY id)
        - coalesce((SELECT started_at FROM runs WHERE id = ${runId}), first_value(at) OVER (ORDER BY id)))::float8 AS first
    FROM m`
  return new Map(rows.map((x) => [String(x.id), Math.max(0, Number(x.first)) + Number(x.ran)]))
}
