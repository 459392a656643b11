// A synthetic run written straight into the database with set-based SQL: for the console's tests
// and for bench/console-latency.ts, which needs a run of 100,000 candidates in seconds. The shape
// is that of a real run (islands, lineage through primary parents, crossovers, invalid
// candidates, improving scores, features, a metric tick every few evaluations), the values are
// made up. Nothing in the product calls this.
import type { Db } from '../server/db.ts'

export interface SyntheticOptions {
  candidates: number
  islands?: number
  direction?: 'max' | 'min'
  status?: string
  /** one metric tick (one row per island and one for the run) every this many evaluations */
  metricEvery?: number
  problemId?: string
}

/** Deterministic candidate id for index g (a well-formed UUID). */
export function syntheticId(runId: string, g: number): string {
  return `${runId.slice(0, 8)}-0000-4000-8000-${g.toString(16).padStart(12, '0')}`
}

export async function ensureSyntheticProblem(db: Db, id = 'synthetic-console', direction: 'max' | 'min' = 'max') {
  const spec = {
    id,
    format: 'native',
    name: 'Synthetic (console tests)',
    language: 'python',
    entry: 'main.py',
    evaluator: 'eval.py',
    direction,
    primaryMetric: 'score',
    features: [{ name: 'alpha', min: 0, max: 1, bins: 8 }, 'beta'],
    limits: { timeoutS: 10, memoryMb: 512, gpu: false },
    reference: { value: direction === 'max' ? 1 : 0, source: 'made up' },
  }
  await db.prisma.problem.upsert({
    where: { id },
    update: {},
    create: {
      id,
      name: spec.name,
      description: 'synthetic',
      format: 'native',
      language: 'python',
      direction,
      primaryMetric: 'score',
      spec,
      seedCode: 'x = 0\n',
      bundleHash: `synthetic-${id}`,
    },
  })
  return spec
}

export async function seedSyntheticRun(
  db: Db,
  opts: SyntheticOptions,
): Promise<{ runId: string; bestId: string | null }> {
  const K = opts.islands ?? 4
  const N = opts.candidates
  const direction = opts.direction ?? 'max'
  const every = opts.metricEvery ?? 10
  const problemId = opts.problemId ?? `synthetic-console-${direction}`
  const spec = await ensureSyntheticProblem(db, problemId, direction)
  const config = {
    islands: K,
    populationPerIsland: 40,
    concurrency: 0,
    migrationInterval: 40,
    migrationRate: 0.1,
    mutator: 'local',
    localOperators: {},
    llmOperators: { diff: 0.6, rewrite: 0.2, crossover: 0.2 },
    models: [],
    selection: 'adaptive',
    exploration: 0.3,
    noveltyThreshold: 0.995,
    stagnationWindow: 40,
    promptTokenBudget: 8000,
    budget: { maxEvals: N },
    seed: 0,
  }
  const run = await db.prisma.run.create({
    data: {
      problemId,
      status: opts.status ?? 'completed',
      config,
      evaluations: N,
      nextSeq: N,
      startedAt: new Date(Date.now() - N * 100),
      finishedAt: opts.status && opts.status !== 'completed' ? null : new Date(),
      problemSnapshot: {
        id: problemId,
        name: spec.name,
        description: 'synthetic',
        spec,
        seedCode: 'x = 0\n',
        bundleHash: `synthetic-${problemId}`,
      },
    },
    select: { id: true },
  })
  const runId = run.id
  await db.prisma.island.createMany({ data: Array.from({ length: K }, (_, index) => ({ runId, index })) })
  const prefix = `${runId.slice(0, 8)}-0000-4000-8000-`
  const sign = direction === 'max' ? 1 : -1
  // g = 0 is the seed; g's primary parent is an earlier candidate of the same island; every 10th is a crossover
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, status, valid, score, metrics, features,
       eval_index, guidance_ids, created_at, evaluated_at, tokens_in, tokens_out, cost_usd)
     SELECT $1 || lpad(to_hex(g), 12, '0'), $2, g, CASE WHEN g = 0 THEN 0 ELSE g % $3::int END,
       CASE WHEN g = 0 THEN ARRAY[]::text[]
            WHEN g % 10 = 0 AND g > 2 * $3 THEN ARRAY[$1 || lpad(to_hex(p1), 12, '0'), $1 || lpad(to_hex(GREATEST(0, g - 1)), 12, '0')]
            ELSE ARRAY[$1 || lpad(to_hex(p1), 12, '0')] END,
       CASE WHEN g = 0 THEN 'seed' WHEN g % 10 = 0 AND g > 2 * $3 THEN 'crossover' ELSE 'mutation' END,
       CASE WHEN g = 0 THEN 'seed' WHEN g % 10 = 0 THEN 'local:crossover-literals' WHEN g % 3 = 0 THEN 'local:swap' ELSE 'local:perturb' END,
       jsonb_build_object('description', 'synthetic'), NULL,
       'x = ' || g || E'\\n', md5(g::text), 'evaluated', g % 13 <> 7,
       CASE WHEN g % 13 = 7 THEN NULL ELSE $4::float8 * (1 - exp(-g / ($5::float8 / 4 + 1))) * (0.9 + 0.1 * ((g * 7919) % 1000) / 1000.0) END,
       CASE WHEN g % 13 = 7 THEN '{}'::jsonb ELSE jsonb_build_object('score', 0) END,
       CASE WHEN g % 13 = 7 THEN '{}'::jsonb ELSE jsonb_build_object('alpha', ((g * 31) % 997) / 997.0, 'beta', ((g * 17) % 101) / 10.0) END,
       g, ARRAY[]::text[], now() - (($5::int - g) * interval '100 milliseconds'), now() - (($5::int - g) * interval '100 milliseconds'), 0, 0, 0
     FROM (SELECT g, CASE WHEN g <= 3 * $3 THEN 0 ELSE g - $3 * (1 + (g * 7) % 3) END AS p1 FROM generate_series(0, $5::int - 1) g) s`,
    prefix,
    runId,
    K,
    sign,
    N,
  )
  // metric ticks: per island and the run (island -1)
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO run_metrics (run_id, island, eval_count, at, best, mean, median, diversity, population, evals_per_sec, failure_rate, spend_usd)
     SELECT $1, i, e, now() - (($2::int - e) * interval '100 milliseconds'),
       $3::float8 * (1 - exp(-e / ($2::float8 / 4 + 1))) * (1 - 0.01 * (i + 1)),
       $3::float8 * (1 - exp(-e / ($2::float8 / 4 + 1))) * (0.8 - 0.01 * (i + 1)),
       $3::float8 * (1 - exp(-e / ($2::float8 / 4 + 1))) * (0.82 - 0.01 * (i + 1)),
       CASE WHEN i < 0 THEN jsonb_build_object('code', 0.4 + 0.1 * sin(e / 500.0), 'coverage', LEAST(1, e / ($2::float8 + 1)), 'interIsland', 0.3)
            ELSE jsonb_build_object('code', 0.4 + 0.1 * cos((e + i * 100) / 500.0), 'coverage', LEAST(1, e / ($2::float8 + 1)) * (1 - 0.1 * i)) END,
       40, 10, 1 / 13.0, 0
     FROM generate_series($4::int, $2::int, $4::int) e CROSS JOIN generate_series(-1, $5::int - 1) i
     ORDER BY e, i`,
    runId,
    N,
    sign,
    every,
    K,
  )
  // bests: the run's and each island's
  const best = await db.prisma.candidate.findFirst({
    where: { runId, valid: true },
    orderBy: { score: direction === 'max' ? 'desc' : 'asc' },
    select: { id: true, score: true },
  })
  if (best)
    await db.prisma.run.update({
      where: { id: runId },
      data: { bestScore: best.score, bestCandidateId: best.id, seedScore: 0 },
    })
  for (let i = 0; i < K; i++) {
    const b = await db.prisma.candidate.findFirst({
      where: { runId, island: i, valid: true },
      orderBy: { score: direction === 'max' ? 'desc' : 'asc' },
      select: { id: true, score: true },
    })
    if (b)
      await db.prisma.island.update({
        where: { runId_index: { runId, index: i } },
        data: { bestScore: b.score, bestCandidateId: b.id },
      })
  }
  return { runId, bestId: best?.id ?? null }
}

/** Two models for spend tests: `openai:instant` without a price, `openai:priced` with one. */
export const UNPRICED_AND_PRICED = [
  { provider: 'openai', model: 'instant' },
  { provider: 'openai', model: 'priced', pricePer1kIn: 0.001, pricePer1kOut: 0.002 },
]

/** Makes a synthetic run's config a model run of these models (its spend then reads as their prices say). */
export async function setRunModels(db: Db, runId: string, models: readonly object[]) {
  const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { config: true } })
  await db.prisma.run.update({
    where: { id: runId },
    data: { config: JSON.parse(JSON.stringify({ ...(run.config as object), mutator: 'llm', models })) },
  })
}
