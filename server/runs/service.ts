// Runs as data: creation (config and problem snapshot), listing, the summary the CLI prints,
// status changes, export and import. The engine (engine.ts) is what moves a run forward.
import { randomUUID } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import type { Db, Prisma } from '../db.ts'
import type { Actor } from '../auth/roles.ts'
import type { ProblemSpec } from '../contracts/problem.ts'
import { BadInputError, ConflictError, NotFoundError } from '../errors.ts'
import { audit } from '../services/audit.ts'
import { importedImage } from '../images/store.ts'
import type { RunDefaults } from '../problems/load.ts'
import { assertRunnableHere } from '../setup/check.ts'
import { missingKeyProblem } from '../llm/chat-model.ts'
import { detectIsolationAsync, unsandboxedRefusal } from '../../workers/sandbox.ts'
import { PrerequisiteError } from '../errors.ts'
import {
  ACTIVE_STATUSES,
  configSummary,
  FINAL_STATUSES,
  RunConfig,
  type RunConfigInput,
  type RunStatus,
  modelsWithoutPrice,
  unpricedModels,
} from '../../client-safe/run-config.ts'
import { knowledgeSeedPrograms } from './seeds.ts'
import { drivenBy } from './lease.ts'
import { PROBLEM_CONTENT } from '../services/problem-catalog.ts'
import {
  EXPORT_FORMAT,
  type ExportFile,
  exportedBundle,
  exportText,
  importedBundle,
  readExportFile,
} from './export-file.ts'
import { insertRowsExactly } from '../db/exact-rows.ts'

const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue

export interface ProblemSnapshot {
  id: string
  name: string
  description: string
  spec: ProblemSpec
  seedCode: string
  bundleHash: string
}

/** Problem defaults (OpenEvolve's config.yaml) under the run's own settings. */
export function mergeDefaults(input: RunConfigInput, d: RunDefaults): RunConfigInput {
  const merged: RunConfigInput = { ...input }
  if (merged.islands === undefined && d.islands) merged.islands = d.islands
  if (merged.populationPerIsland === undefined && d.populationSize)
    merged.populationPerIsland = Math.max(
      2,
      Math.floor(d.populationSize / (merged.islands ?? RunConfig.parse({}).islands)),
    )
  if (merged.migrationInterval === undefined && d.migrationInterval) merged.migrationInterval = d.migrationInterval
  if (merged.migrationRate === undefined && d.migrationRate !== undefined) merged.migrationRate = d.migrationRate
  if (merged.seed === undefined && d.seed !== undefined) merged.seed = d.seed
  if (merged.budget?.maxEvals === undefined && d.maxEvals)
    merged.budget = { ...(merged.budget ?? {}), maxEvals: d.maxEvals }
  if (merged.exploration === undefined && d.exploration !== undefined) merged.exploration = d.exploration
  if (merged.concurrency === undefined && d.concurrency) merged.concurrency = d.concurrency
  if (merged.llmOperators === undefined && d.llmOperators) merged.llmOperators = d.llmOperators
  // a config that names models means them (mutator unset had run the offline operators), over the API as from --config
  if (merged.mutator === undefined && merged.models?.length) merged.mutator = 'llm'
  // the task's own models, when the run names neither models nor the offline operators
  if (merged.mutator === undefined && !merged.models?.length && d.models?.length) {
    merged.mutator = 'llm'
    merged.models = d.models
  }
  return merged
}

/** Embedded runs evaluate on this machine: not without a sandbox, unless FM_ALLOW_UNSANDBOXED=1. */
export async function assertSandboxedHere() {
  const why = unsandboxedRefusal(await detectIsolationAsync())
  if (why) throw new PrerequisiteError(`this run cannot start: ${why}`)
}

export async function createRun(
  db: Db,
  actor: Actor,
  input: {
    problemId: string
    name?: string
    config: RunConfigInput
    forkedFrom?: { runId: string; candidateId: string }
  },
) {
  const problem = await db.prisma.problem.findUnique({
    where: { id: input.problemId },
    select: {
      id: true,
      name: true,
      description: true,
      spec: true,
      seedCode: true,
      bundleHash: true,
      runDefaults: true,
    },
  })
  if (!problem) throw new NotFoundError(`no problem "${input.problemId}" (fm-agent problems lists them)`)
  const parsed = RunConfig.safeParse(mergeDefaults(input.config, problem.runDefaults as RunDefaults))
  if (!parsed.success) {
    const i = parsed.error.issues[0]
    throw new BadInputError(`run config ${i.path.join('.') || ''}: ${i.message}`)
  }
  const config = parsed.data
  const unpriced = unpricedModels(config)
  if (unpriced.length)
    throw new BadInputError(
      `budget.maxSpendUsd is set, but ${unpriced.join(', ')} ${unpriced.length > 1 ? 'have' : 'has'} no price, so the cap could not count ${unpriced.length > 1 ? 'their' : 'its'} calls: give pricePer1kIn and pricePer1kOut (USD per 1,000 tokens; 0 for a free local model) in the run config's models, or remove the cap`,
    )
  const spec = problem.spec as ProblemSpec
  // knowledge documents tagged `seed` join the run's seed programs, snapshotted with its config
  const fromKnowledge = await knowledgeSeedPrograms(
    db,
    { id: problem.id, language: spec.language, family: spec.family },
    config.seedPrograms ?? [],
  )
  if (fromKnowledge.length) config.seedPrograms = [...(config.seedPrograms ?? []), ...fromKnowledge]
  if (!problem.seedCode.trim() && !config.seedPrograms?.length && config.mutator !== 'llm') {
    throw new BadInputError(
      `problem "${problem.id}" has no seed program: its cold start writes the first programs with a model; give the run models (an LLM run) or seed programs (--seed-program)`,
    )
  }
  // embedded mode evaluates on this machine: a problem it cannot run is refused here, not failed on its seed
  if (db.mode === 'embedded') {
    // and this process's environment is its engine's: a model without its key would fail the run
    // after its seed, so it is refused now
    const keyless = [...(config.mutator === 'llm' ? config.models : []), ...(config.judge ? [config.judge.model] : [])]
      .map((m) => missingKeyProblem(m))
      .filter((m) => m !== null)
    if (keyless.length) throw new BadInputError(keyless.join('; '))
    await assertSandboxedHere()
    await assertRunnableHere(spec)
  }
  const snapshot: ProblemSnapshot = {
    id: problem.id,
    name: problem.name,
    description: problem.description,
    spec,
    seedCode: problem.seedCode,
    bundleHash: problem.bundleHash,
  }
  const run = await db.prisma.$transaction(async (tx) => {
    const r = await tx.run.create({
      data: {
        problemId: problem.id,
        name: input.name,
        config: json(config),
        problemSnapshot: json(snapshot),
        createdById: actor.id,
        forkedFromRunId: input.forkedFrom?.runId ?? null,
        forkedFromCandidateId: input.forkedFrom?.candidateId ?? null,
      },
      select: { id: true },
    })
    await tx.island.createMany({ data: Array.from({ length: config.islands }, (_, index) => ({ runId: r.id, index })) })
    // whoever starts a run watches it (notified when it completes, fails or stalls) until they stop
    if (actor.id) await tx.runWatcher.create({ data: { runId: r.id, userId: actor.id } })
    await audit(tx, actor, {
      action: input.forkedFrom ? 'run.fork' : 'run.create',
      targetType: 'run',
      targetId: r.id,
      runId: r.id,
      after: { problemId: problem.id, config: configSummary(config), forkedFrom: input.forkedFrom ?? null },
    })
    return r
  })
  return { id: run.id, config }
}

export interface RunSummary {
  runId: string
  status: RunStatus
  statusReason: string | null
  problemId: string
  direction: 'max' | 'min'
  evaluations: number
  seedScore: number | null
  best: { score: number; candidateId: string } | null
  islands: number
  diversity: Record<string, number>
  perIsland: Array<{ island: number; best: number | null; population: number; diversity: Record<string, number> }>
  spendUsd: number
  /**
   * some model sent no token counts, so the spend is an estimate (4 characters per token). Set by
   * runSummary always; optional for summaries made by hand.
   */
  spendEstimated?: boolean
  /** models the run calls with no price: their calls count $0, so its spend is unknown */
  unpriced: string[]
  /** per model, once the run has ended or paused: its calls, those that failed (no answer, a refusal), their spend (judge calls apart) */
  models: Array<{ model: string; calls: number; failed: number; spendUsd: number }>
  /**
   * The pipeline over the run (means of the per-second means): model requests in flight, candidates
   * waiting for a worker, workers busy, and the workers' capacity; null before the first metrics.
   */
  pipeline: { requests: number; waiting: number; busy: number; capacity: number; busyShare: number | null } | null
  /**
   * The cold start: the seed programs it evaluated and, for a problem without one, how many
   * programs written from the description it took until one was valid (null: none was).
   */
  coldStart: { seeds: number; seedless: boolean; firstValidAfter: number | null }
}

/** The summary of `fm-agent run --json` (a contract: docs/architecture.md#cli). */
export async function runSummary(db: Db, runId: string): Promise<RunSummary> {
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: {
      id: true,
      status: true,
      statusReason: true,
      problemId: true,
      evaluations: true,
      seedScore: true,
      bestScore: true,
      bestCandidateId: true,
      spendUsd: true,
      spendEstimated: true,
      config: true,
      problemSnapshot: true,
      islands: { select: { index: true, bestScore: true }, orderBy: { index: 'asc' } },
    },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const snap = run.problemSnapshot as unknown as ProblemSnapshot
  // the latest metric row per island (and -1 for the run) carries the diversity measures
  const latest = await db.prisma.$queryRaw<
    Array<{ island: number; diversity: Record<string, number>; population: number; best: number | null }>
  >`
    SELECT DISTINCT ON (island) island, diversity, population, best FROM run_metrics WHERE run_id = ${runId} ORDER BY island, id DESC`
  const byIsland = new Map(latest.map((r) => [r.island, r]))
  const [p] = await db.prisma.$queryRaw<
    Array<{ requests: number | null; waiting: number | null; busy: number | null; capacity: number | null }>
  >`
    SELECT avg((pipeline->>'requests')::float8) AS requests, avg((pipeline->>'waiting')::float8) AS waiting,
           avg((pipeline->>'busy')::float8) AS busy, avg((pipeline->>'capacity')::float8) AS capacity
      FROM run_metrics WHERE run_id = ${runId} AND island = -1 AND pipeline IS NOT NULL`
  const r4 = (x: number) => Math.round(x * 1e3) / 1e3
  const [seeds, cold] = await Promise.all([
    db.prisma.candidate.count({ where: { runId, origin: 'seed' } }),
    db.prisma.runEvent.findFirst({
      where: { runId, type: 'cold-start' },
      orderBy: { id: 'desc' },
      select: { payload: true },
    }),
  ])
  const coldPayload = cold?.payload as { firstValidAfter?: number | null } | undefined
  // every candidate of the run is read: once it has ended (or paused), not at each poll of a follower
  const ended = FINAL_STATUSES.includes(run.status as RunStatus) || run.status === 'paused'
  const models = ended
    ? await db.sql<{ model: string; calls: number; failed: number; spend: number }>(
        `SELECT model, count(*)::int AS calls,
           count(*) FILTER (WHERE reject_reason LIKE 'model error from %')::int AS failed,
           coalesce(sum(cost_usd), 0)::float8 AS spend
         FROM candidates WHERE run_id = $1 AND model IS NOT NULL GROUP BY model ORDER BY model`,
        [runId],
      )
    : []
  return {
    runId: run.id,
    status: run.status as RunStatus,
    statusReason: run.statusReason,
    problemId: run.problemId,
    direction: snap.spec.direction,
    evaluations: run.evaluations,
    seedScore: run.seedScore,
    best:
      run.bestScore !== null && run.bestCandidateId ? { score: run.bestScore, candidateId: run.bestCandidateId } : null,
    islands: run.islands.length,
    diversity: byIsland.get(-1)?.diversity ?? {},
    perIsland: run.islands.map((i) => ({
      island: i.index,
      best: i.bestScore,
      population: byIsland.get(i.index)?.population ?? 0,
      diversity: byIsland.get(i.index)?.diversity ?? {},
    })),
    spendUsd: run.spendUsd,
    spendEstimated: run.spendEstimated,
    unpriced: modelsWithoutPrice(run.config as unknown as RunConfig),
    models: models.map((m) => ({ model: m.model, calls: m.calls, failed: m.failed, spendUsd: m.spend })),
    pipeline:
      p && p.requests !== null
        ? {
            requests: r4(p.requests),
            waiting: r4(p.waiting ?? 0),
            busy: r4(p.busy ?? 0),
            capacity: r4(p.capacity ?? 0),
            busyShare: p.capacity ? r4((p.busy ?? 0) / p.capacity) : null,
          }
        : null,
    coldStart: { seeds, seedless: !snap.seedCode.trim(), firstValidAfter: coldPayload?.firstValidAfter ?? null },
  }
}

export type RunProgress = Pick<RunSummary, 'runId' | 'status' | 'evaluations' | 'best' | 'seedScore'>

/** What a progress line shows, in one read of the run's row (the full summary takes six). */
/**
 * When `bannedId` is the run's best, the best candidate an expert has not banned becomes the run's
 * best (or none). Returns the run's best as stored after it. A banned best had stayed the run's best
 * everywhere, unmarked, the program "New run from the best" started from.
 */
export async function replaceBannedBest(
  db: Db,
  runId: string,
  bannedId: string,
): Promise<{ candidateId: string | null; score: number | null }> {
  await db.sql(
    `WITH r AS (
       SELECT id, coalesce(problem_snapshot->'spec'->>'direction', 'max') AS direction FROM runs
       WHERE id = $1 AND best_candidate_id = $2),
     b AS (
       SELECT c.id, c.score FROM candidates c, r
       WHERE c.run_id = $1 AND c.status = 'evaluated' AND c.valid AND NOT c.banned AND c.score IS NOT NULL
       ORDER BY CASE WHEN r.direction = 'min' THEN c.score ELSE -c.score END, c.eval_index
       LIMIT 1)
     UPDATE runs SET best_candidate_id = (SELECT id FROM b), best_score = (SELECT score FROM b), updated_at = now()
     FROM r WHERE runs.id = r.id`,
    [runId, bannedId],
  )
  const [row] = await db.sql<{ id: string | null; score: number | null }>(
    'SELECT best_candidate_id AS id, best_score AS score FROM runs WHERE id = $1',
    [runId],
  )
  return { candidateId: row?.id ?? null, score: row?.score ?? null }
}

export async function runProgress(db: Db, runId: string): Promise<RunProgress> {
  const [r] = await db.sql<{
    status: RunStatus
    evaluations: number
    best_score: number | null
    best_candidate_id: string | null
    seed_score: number | null
  }>('SELECT status, evaluations, best_score, best_candidate_id, seed_score FROM runs WHERE id = $1', [runId])
  if (!r) throw new NotFoundError(`no run "${runId}"`)
  return {
    runId,
    status: r.status,
    evaluations: r.evaluations,
    best:
      r.best_score !== null && r.best_candidate_id ? { score: r.best_score, candidateId: r.best_candidate_id } : null,
    seedScore: r.seed_score,
  }
}

export async function listRuns(
  db: Db,
  opts: { limit?: number; status?: string; idPrefix?: string; after?: { createdAt: string; id: string } } = {},
) {
  const after = opts.after ? { at: new Date(opts.after.createdAt), id: opts.after.id } : null
  const rows = await db.prisma.run.findMany({
    where: {
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.idPrefix ? { id: { startsWith: opts.idPrefix } } : {}),
      ...(after ? { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { gt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    take: opts.limit ?? 100,
    select: {
      id: true,
      name: true,
      problemId: true,
      status: true,
      statusReason: true,
      evaluations: true,
      bestScore: true,
      seedScore: true,
      spendUsd: true,
      spendEstimated: true,
      createdAt: true,
      startedAt: true,
      finishedAt: true,
      config: true,
      problemSnapshot: true,
      leaseOwner: true,
      leaseUntil: true,
    },
  })
  // active runs whose evaluations wait and no worker can take them (the engine's last pipeline figures)
  const active = rows.filter((r) => (ACTIVE_STATUSES as string[]).includes(r.status)).map((r) => r.id)
  const stalled = new Set<string>()
  if (active.length) {
    const last = await db.prisma.$queryRaw<
      Array<{ run_id: string; pipeline: { waiting?: number; capacity?: number } | null; at: Date }>
    >`
      SELECT DISTINCT ON (run_id) run_id, pipeline, at FROM run_metrics WHERE run_id = ANY(${active}::text[]) AND island = -1 ORDER BY run_id, id DESC`
    for (const m of last)
      if (
        m.pipeline &&
        m.pipeline.capacity === 0 &&
        (m.pipeline.waiting ?? 0) > 0 &&
        Date.now() - m.at.getTime() < 30_000
      )
        stalled.add(m.run_id)
    // a run that started with no worker online has no pipeline figures yet (its cold start's jobs
    // wait): in server mode the queue says it, its jobs untaken and no online worker taking their
    // task (a GPU job with only CPU workers, a worker of another job protocol)
    if (db.mode === 'server') {
      const waiting = await db.prisma
        .$queryRawUnsafe<Array<{ run_id: string }>>(
          `SELECT DISTINCT j.run_id FROM fm_queue.jobs j
            WHERE j.run_id = ANY($1::text[]) AND j.delivered_at IS NULL AND j.started_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM fm_queue.workers w
                               WHERE w.status = 'online' AND w.last_heartbeat > now() - interval '60 seconds'
                                 AND w.capabilities->'tasks' @> jsonb_build_array(j.task))`,
          active,
        )
        .catch(() => []) // no queue installed yet: no worker ever connected, and no job either
      for (const w of waiting) stalled.add(w.run_id)
    }
  }
  return rows.map(({ config, problemSnapshot, leaseOwner, leaseUntil, ...r }) => {
    const snap = problemSnapshot as unknown as ProblemSnapshot
    const cfg = config as RunConfig
    return {
      ...r,
      drivenBy: drivenBy(db, { status: r.status, leaseOwner, leaseUntil }),
      waitingForWorkers: stalled.has(r.id),
      direction: snap.spec.direction,
      reference: snap.spec.reference ?? null,
      maxEvals: cfg.budget.maxEvals,
      maxSpendUsd: cfg.budget.maxSpendUsd ?? null,
      /** models it calls with no price: its spend is unknown, not $0 */
      unpriced: modelsWithoutPrice({ mutator: cfg.mutator, models: cfg.models ?? [], judge: cfg.judge }),
      mutator: cfg.mutator,
      islands: cfg.islands,
    }
  })
}

export async function setStatus(db: Db, runId: string, status: RunStatus, reason: string | null = null) {
  const final = FINAL_STATUSES.includes(status)
  await db.prisma.run.update({
    where: { id: runId },
    data: { status, statusReason: reason, ...(final ? { finishedAt: new Date() } : { finishedAt: null }) },
  })
}

export async function requireRun(db: Db, runId: string) {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { id: true, status: true, config: true } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  return { ...run, status: run.status as RunStatus, config: run.config as RunConfig }
}

// ------------------------------------------------------------------ export / import

export { EXPORT_FORMAT }

/** candidates (and pictures) read and written per page: an export's memory stays bounded by a page, not the run */
const EXPORT_PAGE = 200

/**
 * A run's export (format fm-agent-run/1): every candidate with its code, metrics and artifacts,
 * the run's config and history, and (unless `withProblem` is false) its problem, the row and the
 * stored files, so that the export imports into a database that never saw the problem. Given as
 * pieces of its JSON text, written as they are read: the candidates and their pictures a page at
 * a time, so a run of any size exports in bounded memory (built whole, a 40 MB export took
 * ~520 MB). The pieces joined are the file. Between pages the event loop gets a turn: the embedded
 * database answers without one, and a loop of its queries held every other request meanwhile.
 */
export async function* exportChunks(
  db: Db,
  runId: string,
  opts: { withProblem?: boolean } = {},
): AsyncGenerator<string> {
  const run = await db.prisma.run.findUnique({ where: { id: runId } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const [islands, problem] = await Promise.all([
    db.prisma.island.findMany({ where: { runId }, orderBy: { index: 'asc' } }),
    opts.withProblem === false ? null : problemForExport(db, run),
  ])
  const { leaseOwner: _lo, leaseUntil: _lu, ...runData } = run
  const head = { format: EXPORT_FORMAT, exportedAt: new Date().toISOString(), run: runData, islands }
  yield `${exportText(head).slice(0, -1)},"candidates":[`
  // pages as ranges of seq: each reads its own rows whatever plan the table's statistics give (the
  // embedded database has no autovacuum to gather them; "seq > last LIMIT n" re-read the rest per page)
  const seqs = (
    await db.prisma.candidate.findMany({ where: { runId }, select: { seq: true }, orderBy: { seq: 'asc' } })
  ).map((c) => c.seq)
  for (let i = 0; i < seqs.length; i += EXPORT_PAGE) {
    const page = await db.prisma.candidate.findMany({
      where: { runId, seq: { gte: seqs[i]!, lte: seqs[Math.min(i + EXPORT_PAGE, seqs.length) - 1]! } },
      orderBy: { seq: 'asc' },
    })
    yield `${i ? ',' : ''}${page.map(exportText).join(',')}`
    await setImmediate()
  }
  const [migrations, guidance, metrics, ratings] = await Promise.all([
    db.prisma.migration.findMany({ where: { runId }, orderBy: { id: 'asc' } }),
    db.prisma.guidance.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } }),
    db.prisma.runMetric.findMany({ where: { runId }, orderBy: { id: 'asc' } }),
    db.prisma.candidateRating.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } }),
  ])
  yield `],"migrations":${exportText(migrations.map(({ id: _id, ...m }) => m))},"guidance":${exportText(guidance)},"metrics":${exportText(metrics.map(({ id: _id, ...m }) => m))},"ratings":${exportText(ratings)},"images":[`
  // the candidates' pictures, their bytes in base64
  const pictured = (
    await db.prisma.candidateImage.findMany({
      where: { candidate: { runId } },
      select: { candidateId: true },
      distinct: ['candidateId'],
      orderBy: { candidateId: 'asc' },
    })
  ).map((i) => i.candidateId)
  for (let i = 0; i < pictured.length; i += EXPORT_PAGE) {
    const page = await db.prisma.candidateImage.findMany({
      where: { candidateId: { in: pictured.slice(i, i + EXPORT_PAGE) } },
      select: { candidateId: true, name: true, mime: true, data: true },
      orderBy: [{ candidateId: 'asc' }, { name: 'asc' }],
    })
    const images = page.map((p) => ({ ...p, data: Buffer.from(p.data).toString('base64') }))
    yield `${i ? ',' : ''}${images.map(exportText).join(',')}`
    await setImmediate()
  }
  const events = await db.prisma.runEvent.findMany({
    where: { runId },
    orderBy: { id: 'asc' },
    select: { type: true, payload: true, createdAt: true },
  })
  yield `],"events":${exportText(events)}${problem ? `,"problem":${exportText(problem.problem)},"bundles":${exportText(problem.bundles)}` : ''}}`
}

/**
 * A run's export as one object (the API's runs.export); exportChunks writes it without holding it
 * whole. `maxBytes` refuses a run larger than that as one value, pointing to the streamed download.
 */
export async function exportRun(
  db: Db,
  runId: string,
  opts: { withProblem?: boolean; maxBytes?: number } = {},
): Promise<ExportFile> {
  let text = ''
  for await (const piece of exportChunks(db, runId, opts)) {
    text += piece
    if (opts.maxBytes !== undefined && text.length > opts.maxBytes)
      throw new BadInputError(
        `the run's export is over ${Math.round(opts.maxBytes / 2 ** 20)} MB, more than one API answer holds: download it from /api/runs/${runId}/export (the console's Export button) or with fm-agent export`,
      )
  }
  return JSON.parse(text) as ExportFile
}

/** The run's problem as stored, with the files the run ran with and the problem's own when they differ. */
async function problemForExport(db: Db, run: { problemId: string; problemSnapshot: unknown }) {
  const problem = await db.prisma.problem.findUnique({
    where: { id: run.problemId },
    select: PROBLEM_CONTENT,
  })
  if (!problem) return null
  const hashes = [...new Set([(run.problemSnapshot as ProblemSnapshot).bundleHash, problem.bundleHash])].filter(Boolean)
  const stored = await db.prisma.problemBundle.findMany({ where: { hash: { in: hashes } } })
  const bundles = hashes.flatMap((h) => stored.filter((b) => b.hash === h)).map(exportedBundle)
  return { problem, bundles }
}

/** the largest value of a numeric field among rows (-1 when none has one) */
function maxOf(rows: Array<Record<string, unknown>>, field: string): number {
  let max = -1
  for (const r of rows) if (typeof r[field] === 'number' && (r[field] as number) > max) max = r[field] as number
  return max
}

export interface ImportResult {
  runId: string
  candidates: number
  /**
   * What became of the export's problem here: `created` from the export; `same`, the one here (the
   * same files, or an export that does not carry its problem); `differs`, the one here has other
   * files and was left as it is: the run keeps the files it ran with (its own bundle).
   */
  problem: { id: string; status: 'created' | 'same' | 'differs' }
  /** why the run cannot be resumed here (the files it ran with are neither in the export nor here) */
  notResumable?: string
}

/** Why a run cannot go on here: the files it ran with (its own bundle) are not in this database. */
async function missingRunFiles(db: Db, bundleHash: string | undefined, alsoHere: string[] = []) {
  if (!bundleHash || alsoHere.includes(bundleHash)) return null
  if (await db.prisma.problemBundle.findUnique({ where: { hash: bundleHash }, select: { hash: true } })) return null
  return `the files the run ran with (bundle ${bundleHash.slice(0, 12)}) are not in this database: its export was made before exports carried them; it can be viewed, compared and exported here, not resumed (export it again with this version from where it ran)`
}

/**
 * Imports an export as a new run (the exported ids), stopped: it can be inspected or resumed. Its
 * problem is created from the export when this database lacks it; one here is never overwritten.
 */
export async function importRun(db: Db, actor: Actor, data: unknown): Promise<ImportResult> {
  const file = readExportFile(data)
  const src = file.run
  if (file.problem && file.problem.id !== src.problemId)
    throw new BadInputError(
      `the export's problem is "${file.problem.id}" but its run names "${src.problemId}": the file was altered`,
    )
  // checked before anything is written: a damaged or oversized bundle refuses the whole file
  const bundles = file.bundles.map(importedBundle)
  const existing = await db.prisma.problem.findUnique({ where: { id: src.problemId }, select: { bundleHash: true } })
  let status: ImportResult['problem']['status'] = 'same'
  if (!existing) {
    if (!file.problem)
      throw new BadInputError(
        `the export's problem "${src.problemId}" is not in this database and the file does not carry it (exported before exports carried their problem, or by a user who is not an admin); export the run again with this version (an export now carries its problem), or run the problem's folder here once (fm-agent run <folder>)`,
      )
    const hash = file.problem.bundleHash
    if (
      !bundles.some((b) => b.hash === hash) &&
      !(await db.prisma.problemBundle.findUnique({ where: { hash }, select: { hash: true } }))
    )
      throw new BadInputError(
        `the export carries problem "${src.problemId}" without its files (bundle ${hash.slice(0, 12)}); run the problem's folder here once (fm-agent run <folder>)`,
      )
    status = 'created'
  } else if (file.problem && file.problem.bundleHash !== existing.bundleHash) status = 'differs'
  if (await db.prisma.run.findUnique({ where: { id: src.id }, select: { id: true } })) {
    throw new ConflictError(`run ${src.id} already exists here`)
  }
  const notResumable = await missingRunFiles(
    db,
    (src.problemSnapshot as Partial<ProblemSnapshot> | undefined)?.bundleHash,
    bundles.map((b) => b.hash),
  )
  // candidates keep their ids: a copy of an export (its run id changed) would collide halfway through
  const [taken] = await db.sql<{ id: string; runId: string }>(
    `SELECT id, run_id AS "runId" FROM candidates WHERE id = ANY($1::text[]) LIMIT 1`,
    [file.candidates.map((c) => c.id)],
  )
  if (taken)
    throw new ConflictError(
      `candidate ${taken.id} of this export is already here, in run ${taken.runId}: the file is a copy of an export imported before (a run's candidates keep their ids)`,
    )
  const now = new Date()
  await db.prisma.$transaction(
    async (tx) => {
      // content-addressed: a bundle already here is the same files
      if (bundles.length) await tx.problemBundle.createMany({ data: bundles, skipDuplicates: true })
      if (status === 'created') {
        const p = file.problem!
        await insertRowsExactly(tx, 'problems', [
          // its folder is on the exporting machine, not here: no source path to hide from sandboxes
          { ...p, sourcePath: null, builtin: false, createdAt: now, updatedAt: now },
        ])
      }
      await insertRowsExactly(tx, 'runs', [
        {
          id: src.id,
          name: src.name ?? null,
          problemId: src.problemId,
          status: FINAL_STATUSES.includes(src.status as RunStatus) ? src.status : 'stopped',
          statusReason: src.statusReason ?? 'imported',
          config: src.config,
          problemSnapshot: src.problemSnapshot,
          // an export of a running run reads its row before its last candidates: the counters
          // cover every candidate the file holds, so a resume neither reuses a seq nor overruns
          evaluations: Math.max(Number(src.evaluations ?? 0), 1 + maxOf(file.candidates, 'evalIndex')),
          spendUsd: src.spendUsd,
          // an export from before runs kept the mark: counted, as it read there
          spendEstimated: src.spendEstimated === true,
          seedScore: src.seedScore ?? null,
          bestScore: src.bestScore ?? null,
          bestCandidateId: src.bestCandidateId ?? null,
          nextSeq: Math.max(Number(src.nextSeq ?? 0), 1 + maxOf(file.candidates, 'seq')),
          engineState: src.engineState ?? {},
          createdById: actor.id,
          startedAt: src.startedAt ?? null,
          finishedAt: src.finishedAt ?? null,
          // an export from before runs kept their running time: start to end, as it was measured then
          activeS:
            typeof src.activeS === 'number'
              ? src.activeS
              : src.startedAt && src.finishedAt
                ? Math.max(0, (Date.parse(String(src.finishedAt)) - Date.parse(String(src.startedAt))) / 1000)
                : 0,
          forkedFromRunId: src.forkedFromRunId ?? null,
          forkedFromCandidateId: src.forkedFromCandidateId ?? null,
          createdAt: src.createdAt ?? now,
          updatedAt: now,
        },
      ])
      await insertRowsExactly(
        tx,
        'islands',
        file.islands.map((i) => ({
          id: randomUUID(),
          runId: src.id,
          index: i.index,
          state: i.state ?? {},
          bestScore: i.bestScore ?? null,
          bestCandidateId: i.bestCandidateId ?? null,
          stagnant: i.stagnant,
          updatedAt: now,
        })),
      )
      await insertRowsExactly(
        tx,
        'candidates',
        file.candidates.map((c) => ({
          ...c,
          runId: src.id,
          status: c.status === 'queued' || c.status === 'running' ? 'pending' : c.status,
        })),
      )
      // exports made before ratings, pictures or some columns existed have none: their defaults
      await insertRowsExactly(
        tx,
        'migrations',
        file.migrations.map(({ id: _id, ...m }) => ({ ...m, runId: src.id })),
      )
      await insertRowsExactly(
        tx,
        'run_metrics',
        file.metrics.map(({ id: _id, ...m }) => ({ ...m, runId: src.id })),
      )
      await insertRowsExactly(
        tx,
        'guidance',
        file.guidance.map((g) => ({ ...g, runId: src.id })),
      )
      await insertRowsExactly(
        tx,
        'candidate_ratings',
        file.ratings.map((r) => ({ ...r, runId: src.id })),
      )
      // pictures are checked as they were at ingestion; one that fails is left out
      const pictures = file.images.flatMap((i) => {
        const img = importedImage(i)
        return img ? [img] : []
      })
      if (pictures.length) await tx.candidateImage.createMany({ data: pictures })
      await insertRowsExactly(
        tx,
        'run_events',
        file.events.map(({ id: _id, ...e }) => ({ ...e, runId: src.id })),
      )
      await audit(tx, actor, {
        action: 'run.import',
        targetType: 'run',
        targetId: src.id,
        runId: src.id,
        after: { candidates: file.candidates.length, problem: { id: src.problemId, status } },
      })
      // a run of 100,000 candidates takes far longer than Prisma's default 5 s for one transaction
    },
    { timeout: 30 * 60_000, maxWait: 60_000 },
  )
  return {
    runId: src.id,
    candidates: file.candidates.length,
    problem: { id: src.problemId, status },
    ...(notResumable ? { notResumable } : {}),
  }
}

/**
 * A resumed run's budget: `maxEvals` its new total of evaluations, `maxSpendUsd` its new spend cap
 * (a run that stopped at its cap could not be given more: it ended again at once).
 */
export async function resumeRunConfig(db: Db, actor: Actor, runId: string, maxEvals?: number, maxSpendUsd?: number) {
  const run = await requireRun(db, runId)
  const { problemSnapshot: snapshot } = await db.prisma.run.findUniqueOrThrow({
    where: { id: runId },
    select: { problemSnapshot: true },
  })
  const missing = await missingRunFiles(db, (snapshot as unknown as Partial<ProblemSnapshot>).bundleHash)
  if (missing) throw new BadInputError(missing)
  if (db.mode === 'embedded') {
    await assertSandboxedHere()
    const { problemSnapshot } = await db.prisma.run.findUniqueOrThrow({
      where: { id: runId },
      select: { problemSnapshot: true },
    })
    await assertRunnableHere((problemSnapshot as unknown as ProblemSnapshot).spec)
  }
  const config = {
    ...run.config,
    budget: {
      ...run.config.budget,
      ...(maxEvals !== undefined ? { maxEvals } : {}),
      ...(maxSpendUsd !== undefined ? { maxSpendUsd } : {}),
    },
  }
  const { evaluations, spendUsd } = await db.prisma.run.findUniqueOrThrow({
    where: { id: runId },
    select: { evaluations: true, spendUsd: true },
  })
  if (config.budget.maxEvals <= evaluations) {
    throw new BadInputError(
      maxEvals !== undefined
        ? `the run already has ${evaluations} evaluations; --max-evals is the new total, so give more than that`
        : `the run already has its ${evaluations} evaluations (its budget); give a larger total to go on (--max-evals N)`,
    )
  }
  const cap = config.budget.maxSpendUsd
  if (cap !== undefined && cap <= spendUsd)
    throw new BadInputError(
      maxSpendUsd !== undefined
        ? `the run has spent $${spendUsd.toFixed(4)}; --max-spend is its new cap, so give more than that`
        : `the run has spent $${spendUsd.toFixed(4)} of its $${cap} cap; give a larger one to go on (--max-spend USD)`,
    )
  const unpriced = unpricedModels(config)
  if (maxSpendUsd !== undefined && unpriced.length)
    throw new BadInputError(`a spend cap needs a price for ${unpriced.join(', ')}, and the run has none for it`)
  await db.prisma.run.update({
    where: { id: runId },
    data: { config: json(config), ...(run.status === 'failed' ? { statusReason: null } : {}) },
  })
  const changed = {
    ...(maxEvals !== undefined && maxEvals !== run.config.budget.maxEvals ? { maxEvals } : {}),
    ...(maxSpendUsd !== undefined && maxSpendUsd !== run.config.budget.maxSpendUsd ? { maxSpendUsd } : {}),
  }
  if (Object.keys(changed).length) {
    await audit(db.prisma, actor, {
      action: 'run.config',
      targetType: 'run',
      targetId: runId,
      runId,
      before: Object.fromEntries(
        Object.keys(changed).map((k) => [k, run.config.budget[k as keyof typeof changed] ?? null]),
      ),
      after: changed,
    })
  }
  return { maxEvals: config.budget.maxEvals, maxSpendUsd: config.budget.maxSpendUsd ?? null }
}
