// What the compare page reads: 2–8 runs (any problems) with their final state, their configuration
// snapshots, and each run's best so far downsampled in SQL from its run-level metric rows (a few
// hundred points per run, whatever its size). Shaping is in client-safe/compare.ts.
import type { Db } from '../db.ts'
import { NotFoundError } from '../errors.ts'
import { configSummary, type RunConfig } from '../../client-safe/run-config.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import type { CompareData, ComparePoint, CompareRun } from '../../client-safe/compare.ts'
import { bucketWidth } from '../../client-safe/downsample.ts'

const ms = (d: Date | null) => (d ? d.getTime() : null)

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
    // the last run-level row per evaluation bucket: best so far is monotone, so the line is exact at bucket resolution
    const w = bucketWidth(0, Math.max(1, r.evaluations), buckets)
    const pts = await db.prisma.$queryRaw<
      Array<{ eval_count: number; at: Date; best: number | null; spend_usd: number }>
    >`
      SELECT eval_count, at, best, spend_usd FROM run_metrics WHERE id = ANY(ARRAY(
        SELECT max(id) FROM run_metrics WHERE run_id = ${id} AND island = -1 GROUP BY eval_count / ${w}::int))
      ORDER BY id`
    const start = r.startedAt?.getTime() ?? pts[0]?.at.getTime() ?? r.createdAt.getTime()
    series[id] = pts.map((p) => ({
      e: p.eval_count,
      t: Math.max(0, (p.at.getTime() - start) / 1000),
      s: p.spend_usd,
      b: p.best,
    }))
  }
  return { runs, series, missing }
}
