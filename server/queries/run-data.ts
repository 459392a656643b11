// What the run dashboard reads from the database: the run's overview, downsampled series (the
// downsampling happens in SQL, so a run of 100,000 evaluations costs a few hundred rows), the
// MAP-Elites heatmap, and the reads the live subscription makes after a cursor.
import type { Db } from '../db.ts'
import type { FeatureSpec, ProblemSpec } from '../contracts/problem.ts'
import { NotFoundError } from '../errors.ts'
import { modelsWithoutPrice, type RunConfig } from '../../client-safe/run-config.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import { encodeCursor } from './cursor.ts'
import { drivenBy } from '../runs/lease.ts'
import { bucketWidth } from '../../client-safe/downsample.ts'
import {
  buildGrid,
  chooseAxes,
  featureName,
  resolveAxis,
  type HeatAxis,
  type HeatCell,
  type HeatGrid,
} from '../../client-safe/heatmap.ts'
import type {
  LiveCursor,
  MetricPoint,
  RunEventRow,
  RunHead,
  ScorePoint,
  SeriesSnapshot,
} from '../../client-safe/types.ts'

const n = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number))
const ms = (d: Date | string | null | undefined): number => (d ? new Date(d).getTime() : 0)

// ------------------------------------------------------------------ overview

export async function runOverview(db: Db, runId: string) {
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: {
      id: true,
      name: true,
      problemId: true,
      status: true,
      statusReason: true,
      config: true,
      problemSnapshot: true,
      evaluations: true,
      spendUsd: true,
      spendEstimated: true,
      seedScore: true,
      bestScore: true,
      bestCandidateId: true,
      leaseOwner: true,
      leaseUntil: true,
      createdAt: true,
      startedAt: true,
      finishedAt: true,
      activeS: true,
      activeAt: true,
      createdById: true,
      islands: {
        select: { index: true, bestScore: true, bestCandidateId: true, stagnant: true },
        orderBy: { index: 'asc' },
      },
    },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const snap = run.problemSnapshot as unknown as ProblemSnapshot
  const spec = snap.spec as ProblemSpec
  const config = run.config as unknown as RunConfig
  // one pass over the run's candidates for the counts; the latest metric row per island by key lookups
  const [c] = await db.prisma.$queryRaw<
    Array<{
      evaluated: bigint | number
      invalid: bigint | number
      rejected: bigint | number
      inflight: bigint | number
    }>
  >`
    SELECT count(*) FILTER (WHERE status = 'evaluated') AS evaluated, count(*) FILTER (WHERE status = 'evaluated' AND valid = false) AS invalid,
           count(*) FILTER (WHERE status = 'rejected') AS rejected, count(*) FILTER (WHERE status IN ('queued', 'running', 'pending')) AS inflight
    FROM candidates WHERE run_id = ${runId}`
  const latest = await db.prisma.$queryRaw<
    Array<{ island: number; population: number; diversity: Record<string, number> }>
  >`
    SELECT island, population, diversity FROM run_metrics WHERE id = ANY(ARRAY(SELECT max(id) FROM run_metrics WHERE run_id = ${runId} GROUP BY island))`
  const pop = new Map(latest.map((r) => [r.island, r]))
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    statusReason: run.statusReason,
    problem: {
      id: snap.id,
      name: snap.name,
      description: snap.description,
      direction: spec.direction,
      primaryMetric: spec.primaryMetric,
      reference: spec.reference ?? null,
      features: spec.features.map((f) => (typeof f === 'string' ? { name: f } : f)),
      language: spec.language,
      format: spec.format,
    },
    /** models it calls with no price: its spend is unknown, not $0 */
    unpriced: modelsWithoutPrice(config),
    config: {
      islands: config.islands,
      populationPerIsland: config.populationPerIsland,
      mutator: config.mutator,
      // never keys: model configs hold only the NAME of the variable with the key
      models: config.models.map((m) => ({
        provider: m.provider,
        model: m.model,
        label: m.label ?? null,
        baseURL: m.baseURL ?? null,
        weight: m.weight,
        pricePer1kIn: m.pricePer1kIn ?? null,
        pricePer1kOut: m.pricePer1kOut ?? null,
      })),
      localOperators: config.localOperators,
      llmOperators: config.llmOperators,
      selection: config.selection,
      exploration: config.exploration,
      stagnationWindow: config.stagnationWindow,
      migrationInterval: config.migrationInterval,
      maxRequestsInFlight: config.generation?.maxInFlight ?? 16,
      budget: {
        maxEvals: config.budget.maxEvals,
        maxSpendUsd: config.budget.maxSpendUsd ?? null,
        maxWallS: config.budget.maxWallS ?? null,
      },
      seed: config.seed,
    },
    evaluations: run.evaluations,
    spendUsd: run.spendUsd,
    spendEstimated: run.spendEstimated,
    seedScore: run.seedScore,
    bestScore: run.bestScore,
    bestCandidateId: run.bestCandidateId,
    lease: run.leaseOwner ? { owner: run.leaseOwner, until: ms(run.leaseUntil) } : null,
    createdAt: ms(run.createdAt),
    startedAt: run.startedAt ? ms(run.startedAt) : null,
    finishedAt: run.finishedAt ? ms(run.finishedAt) : null,
    activeS: run.activeS,
    activeAt: run.activeAt ? ms(run.activeAt) : null,
    islands: run.islands.map((i) => ({
      index: i.index,
      bestScore: i.bestScore,
      bestCandidateId: i.bestCandidateId,
      stagnant: i.stagnant,
      population: pop.get(i.index)?.population ?? 0,
      diversity: pop.get(i.index)?.diversity ?? {},
    })),
    counts: {
      evaluated: n(c?.evaluated ?? 0),
      invalid: n(c?.invalid ?? 0),
      rejected: n(c?.rejected ?? 0),
      inFlight: n(c?.inflight ?? 0),
    },
    /** where a live feed starts when no chart snapshot is loaded (pages other than the dashboard) */
    cursor: encodeCursor(await currentCursor(db, runId)),
  }
}

export async function runHead(db: Db, runId: string): Promise<RunHead | null> {
  const r = await db.prisma.run.findUnique({
    where: { id: runId },
    select: {
      status: true,
      statusReason: true,
      evaluations: true,
      bestScore: true,
      bestCandidateId: true,
      spendUsd: true,
      spendEstimated: true,
      seedScore: true,
      finishedAt: true,
      leaseOwner: true,
      leaseUntil: true,
    },
  })
  if (!r) return null
  const { leaseOwner, leaseUntil, ...head } = r
  // who drives the run now: the engine whose lease holds (after a failover, the one that took over)
  return {
    ...head,
    finishedAt: r.finishedAt ? r.finishedAt.getTime() : null,
    drivenBy: drivenBy(db, { status: r.status, leaseOwner, leaseUntil }),
  }
}

// ------------------------------------------------------------------ rows → plain data

interface MetricRow {
  id: bigint | number
  island: number
  eval_count: number
  at: Date
  best: number | null
  mean: number | null
  median: number | null
  diversity: Record<string, number> | null
  population: number
  evals_per_sec: number
  failure_rate: number
  spend_usd: number
  pipeline: { requests?: number; waiting?: number; busy?: number; capacity?: number; limit?: number } | null
}

function toMetric(r: MetricRow): MetricPoint {
  const d = r.diversity ?? {}
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  return {
    id: n(r.id),
    island: r.island,
    evalCount: r.eval_count,
    t: ms(r.at),
    best: r.best,
    mean: r.mean,
    median: r.median,
    code: num(d.code),
    coverage: num(d.coverage),
    interIsland: num(d.interIsland),
    population: r.population,
    evalsPerSec: r.evals_per_sec,
    failureRate: r.failure_rate,
    spendUsd: r.spend_usd,
    requests: num(r.pipeline?.requests),
    waiting: num(r.pipeline?.waiting),
    busy: num(r.pipeline?.busy),
    capacity: num(r.pipeline?.capacity),
    requestLimit: num(r.pipeline?.limit),
  }
}

interface PointRow {
  id: string
  eval_index: number
  island: number
  score: number | null
  valid: boolean | null
  origin: string
  evaluated_at: Date | null
}

function toPoint(r: PointRow): ScorePoint {
  return {
    id: r.id,
    evalIndex: r.eval_index,
    island: r.island,
    score: r.score,
    valid: !!r.valid && r.score !== null,
    origin: r.origin,
    t: ms(r.evaluated_at),
  }
}

// ------------------------------------------------------------------ cursor and live reads

export async function currentCursor(db: Db, runId: string): Promise<LiveCursor> {
  const [row] = await db.prisma.$queryRaw<
    Array<{ c: number | null; m: bigint | number | null; e: bigint | number | null }>
  >`
    SELECT (SELECT max(eval_index) FROM candidates WHERE run_id = ${runId}) AS c,
           (SELECT max(id) FROM run_metrics WHERE run_id = ${runId}) AS m,
           (SELECT max(id) FROM run_events WHERE run_id = ${runId}) AS e`
  return {
    c: row?.c ?? -1,
    m: row?.m === null || row?.m === undefined ? 0 : n(row.m),
    e: row?.e === null || row?.e === undefined ? 0 : n(row.e),
  }
}

export async function pointsAfter(db: Db, runId: string, after: number, limit: number): Promise<ScorePoint[]> {
  const rows = await db.prisma.$queryRaw<PointRow[]>`
    SELECT id, eval_index, island, score, valid, origin, evaluated_at FROM candidates
    WHERE run_id = ${runId} AND eval_index > ${after} ORDER BY eval_index LIMIT ${limit}`
  return rows.map(toPoint)
}

export async function metricsAfter(db: Db, runId: string, after: number, limit: number): Promise<MetricPoint[]> {
  const rows = await db.prisma.$queryRaw<MetricRow[]>`
    SELECT id, island, eval_count, at, best, mean, median, diversity, population, evals_per_sec, failure_rate, spend_usd, pipeline
    FROM run_metrics WHERE run_id = ${runId} AND id > ${after} ORDER BY id LIMIT ${limit}`
  return rows.map(toMetric)
}

export async function eventsAfter(db: Db, runId: string, after: number, limit: number): Promise<RunEventRow[]> {
  const rows = await db.prisma.$queryRaw<
    Array<{ id: bigint | number; type: string; payload: Record<string, unknown>; created_at: Date }>
  >`
    SELECT id, type, payload, created_at FROM run_events WHERE run_id = ${runId} AND id > ${after} ORDER BY id LIMIT ${limit}`
  return rows.map((r) => ({ id: n(r.id), type: r.type, payload: r.payload ?? {}, t: ms(r.created_at) }))
}

/** The latest events of a run (the dashboard's activity feed and stagnation alerts). */
export async function recentEvents(db: Db, runId: string, limit = 200): Promise<RunEventRow[]> {
  const rows = await db.prisma.$queryRaw<
    Array<{ id: bigint | number; type: string; payload: Record<string, unknown>; created_at: Date }>
  >`
    SELECT id, type, payload, created_at FROM run_events WHERE run_id = ${runId} ORDER BY id DESC LIMIT ${limit}`
  return rows.map((r) => ({ id: n(r.id), type: r.type, payload: r.payload ?? {}, t: ms(r.created_at) })).reverse()
}

// ------------------------------------------------------------------ series snapshot

export interface SeriesOptions {
  /** an evaluation range to zoom into (inclusive) */
  range?: { lo: number; hi: number } | null
  /** evaluation-count buckets for the metric lines */
  buckets?: number
  /** below this many rows, everything is sent as is */
  rawLimit?: number
}

/**
 * Chart data for the whole run or a zoomed range. Above `rawLimit` rows the database groups by
 * evaluation buckets: the last metric row of each island per bucket (best-so-far lines are exact
 * at bucket resolution), and the lowest and highest scoring evaluation of each island per bucket
 * (so the best candidate of any stretch is always drawn).
 */
export async function seriesSnapshot(db: Db, runId: string, opts: SeriesOptions = {}): Promise<SeriesSnapshot> {
  const cursor = await currentCursor(db, runId)
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: { evaluations: true, bestCandidateId: true },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const range = opts.range ?? null
  const lo = range?.lo ?? 0
  const hi = range?.hi ?? Math.max(cursor.c, run.evaluations, 1)
  const buckets = Math.max(10, Math.min(2000, opts.buckets ?? 300))
  const rawLimit = opts.rawLimit ?? 4000
  const w = bucketWidth(lo, hi, buckets)

  const [counts] = await db.prisma.$queryRaw<Array<{ m: bigint | number; p: bigint | number }>>`
    SELECT (SELECT count(*) FROM run_metrics WHERE run_id = ${runId} AND eval_count BETWEEN ${lo} AND ${hi} AND id <= ${cursor.m}) AS m,
           (SELECT count(*) FROM candidates WHERE run_id = ${runId} AND eval_index BETWEEN ${lo} AND ${hi} AND eval_index <= ${cursor.c}) AS p`
  const totalMetrics = n(counts?.m ?? 0)
  const totalPoints = n(counts?.p ?? 0)

  let metricRows: MetricRow[]
  if (totalMetrics <= rawLimit) {
    metricRows = await db.prisma.$queryRaw<MetricRow[]>`
      SELECT id, island, eval_count, at, best, mean, median, diversity, population, evals_per_sec, failure_rate, spend_usd, pipeline
      FROM run_metrics WHERE run_id = ${runId} AND eval_count BETWEEN ${lo} AND ${hi} AND id <= ${cursor.m} ORDER BY id`
  } else {
    // the newest row per island and bucket: a hash aggregate, then primary-key lookups. No join
    // whose plan depends on statistics (PGlite never analyzes by itself), no sort of the run.
    metricRows = await db.prisma.$queryRaw<MetricRow[]>`
      SELECT id, island, eval_count, at, best, mean, median, diversity, population, evals_per_sec, failure_rate, spend_usd, pipeline
      FROM run_metrics WHERE id = ANY(ARRAY(
        SELECT max(id) FROM run_metrics
        WHERE run_id = ${runId} AND eval_count BETWEEN ${lo} AND ${hi} AND id <= ${cursor.m}
        GROUP BY island, (eval_count - ${lo}::int) / ${w}::int))
      ORDER BY id`
  }

  let pointRows: PointRow[]
  if (totalPoints <= rawLimit) {
    pointRows = await db.prisma.$queryRaw<PointRow[]>`
      SELECT id, eval_index, island, score, valid, origin, evaluated_at FROM candidates
      WHERE run_id = ${runId} AND eval_index BETWEEN ${lo} AND ${hi} AND eval_index <= ${cursor.c} ORDER BY eval_index`
  } else {
    // lowest and highest score per island and bucket: one hash aggregate that carries the
    // evaluation index with the score (array comparison; ties go to the earliest), then an index
    // scan by (run, eval_index). No join whose plan depends on statistics (PGlite never analyzes
    // by itself), no sort of the run.
    const picks = await db.prisma.$queryRaw<Array<{ lo_e: number; hi_e: number }>>`
      SELECT (min(ARRAY[score, eval_index::float8]))[2]::int AS lo_e, (-(max(ARRAY[score, -eval_index::float8]))[2])::int AS hi_e
      FROM candidates WHERE run_id = ${runId} AND eval_index BETWEEN ${lo} AND ${hi} AND eval_index <= ${cursor.c} AND valid AND score IS NOT NULL
      GROUP BY island, (eval_index - ${lo}::int) / ${w}::int`
    const wanted = [...new Set(picks.flatMap((x) => [x.lo_e, x.hi_e]))]
    pointRows = await db.prisma.$queryRaw<PointRow[]>`
      SELECT id, eval_index, island, score, valid, origin, evaluated_at FROM candidates
      WHERE run_id = ${runId} AND eval_index = ANY(${wanted}::int[])
      UNION
      SELECT id, eval_index, island, score, valid, origin, evaluated_at FROM candidates
      WHERE id = ${run.bestCandidateId ?? ''} AND run_id = ${runId} AND eval_index BETWEEN ${lo} AND ${hi}
      ORDER BY eval_index`
  }
  return {
    cursor: encodeCursor(cursor),
    range,
    evaluations: run.evaluations,
    metrics: metricRows.map(toMetric),
    points: pointRows.map(toPoint),
    totals: { metrics: totalMetrics, points: totalPoints },
  }
}

// ------------------------------------------------------------------ MAP-Elites heatmap

export async function heatmap(
  db: Db,
  runId: string,
  opts: { axes?: string[]; island?: number | null } = {},
): Promise<HeatGrid | null> {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { problemSnapshot: true } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const spec = (run.problemSnapshot as unknown as ProblemSnapshot).spec
  const names = chooseAxes(spec.features, opts.axes)
  if (names.length === 0) return null
  const island = opts.island ?? null
  // numeric feature values only (an evaluator may report anything); an axis the problem does not bound
  // spans the 1st to 99th percentile of what was observed, so a few absurd values do not squash it
  const fx = names[0]!
  const fy = names[1] ?? names[0]!
  const specOf = (name: string) => spec.features.find((f) => featureName(f) === name)!
  const bounded = (f: FeatureSpec) => typeof f !== 'string' && f.min !== undefined && f.max !== undefined
  let ext: { x0: number | null; x1: number | null; y0: number | null; y1: number | null } | undefined
  if (!bounded(specOf(fx)) || !bounded(specOf(fy))) {
    // percentiles of an evenly spread sample of at most ~5,000 evaluations (a sort of the whole run costs seconds)
    const evaluations =
      (await db.prisma.run.findUnique({ where: { id: runId }, select: { evaluations: true } }))?.evaluations ?? 0
    const step = Math.max(1, Math.ceil(evaluations / 5000))
    ;[ext] = await db.prisma.$queryRaw<
      Array<{ x0: number | null; x1: number | null; y0: number | null; y1: number | null }>
    >`
    WITH f AS (
      SELECT CASE WHEN jsonb_typeof(features -> ${fx}) = 'number' THEN (features ->> ${fx})::float8 END AS x,
             CASE WHEN jsonb_typeof(features -> ${fy}) = 'number' THEN (features ->> ${fy})::float8 END AS y
      FROM candidates WHERE run_id = ${runId} AND status = 'evaluated' AND valid AND (${island}::int IS NULL OR island = ${island}::int) AND eval_index % ${step}::int = 0)
    SELECT percentile_cont(0.01) WITHIN GROUP (ORDER BY x) AS x0, percentile_cont(0.99) WITHIN GROUP (ORDER BY x) AS x1,
           percentile_cont(0.01) WITHIN GROUP (ORDER BY y) AS y0, percentile_cont(0.99) WITHIN GROUP (ORDER BY y) AS y1 FROM f`
  }
  const ax = resolveAxis(specOf(fx), { min: ext?.x0 ?? null, max: ext?.x1 ?? null })
  const axes: [HeatAxis] | [HeatAxis, HeatAxis] =
    names.length === 2 ? [ax, resolveAxis(specOf(fy), { min: ext?.y0 ?? null, max: ext?.y1 ?? null })] : [ax]
  const ay = axes[1] ?? { min: 0, max: 1, bins: 1 }
  const desc = spec.direction === 'max'
  // the same arithmetic as client-safe/heatmap.ts binOf, clamped to the edge bins before the cast (outliers overflow an int)
  // per cell: count and best score, carrying the evaluation index of the best (ties: the earliest)
  const rows = await db.prisma.$queryRaw<
    Array<{ bx: number; by: number; best: number; count: bigint | number; eval_index: number }>
  >`
    WITH f AS (
      SELECT eval_index, score,
        LEAST(${ax.bins - 1}::float8, GREATEST(0, floor(((features ->> ${fx})::float8 - ${ax.min}::float8) / (${ax.max}::float8 - ${ax.min}::float8) * ${ax.bins}::float8)))::int AS bx,
        LEAST(${ay.bins - 1}::float8, GREATEST(0, floor(((features ->> ${fy})::float8 - ${ay.min}::float8) / (${ay.max}::float8 - ${ay.min}::float8) * ${ay.bins}::float8)))::int AS by
      FROM candidates
      WHERE run_id = ${runId} AND status = 'evaluated' AND valid AND score IS NOT NULL AND (${island}::int IS NULL OR island = ${island}::int)
        AND jsonb_typeof(features -> ${fx}) = 'number' AND jsonb_typeof(features -> ${fy}) = 'number'),
    g AS (
      SELECT bx, by, count(*) AS count,
        CASE WHEN ${desc} THEN max(ARRAY[score, -eval_index::float8]) ELSE min(ARRAY[score, eval_index::float8]) END AS pick
      FROM f GROUP BY bx, by)
    SELECT bx, by, pick[1] AS best, count, abs(pick[2])::int AS eval_index FROM g`
  const ids = rows.length
    ? await db.prisma.candidate.findMany({
        where: { runId, evalIndex: { in: rows.map((r) => r.eval_index) } },
        select: { id: true, evalIndex: true },
      })
    : []
  const idOf = new Map(ids.map((c) => [c.evalIndex, c.id]))
  const cells: HeatCell[] = rows.map((r) => ({
    x: r.bx,
    y: names.length === 2 ? r.by : 0,
    best: r.best,
    count: n(r.count),
    candidateId: idOf.get(r.eval_index) ?? null,
  }))
  return buildGrid(axes, cells, spec.direction)
}
