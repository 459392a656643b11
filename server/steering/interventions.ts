// What experts and admins do to a run from the console: hints (guidance), exploration and
// mutation weights, pin and ban, expert edits, knowledge on request. Each one is audited (author,
// time, before, after), written to the run's numbered event log (so every open dashboard sees it
// live), and goes to the engine that drives the run through the control channel
// (server/runs/commands.ts): the same path whether that engine is in this process or another
// machine's. What a resumed run needs (guidance, pins, bans, weights) is stored here first.
import { randomUUID } from 'node:crypto'
import type { AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Prisma } from '../db.ts'
import { BadInputError, ConflictError, NotFoundError, PreconditionError } from '../errors.ts'
import { awaitCommand, submitCommand, type CommandKind, type CommandOutcome } from '../runs/commands.ts'
import { hasPositiveWeight, LOCAL_OPERATOR_NAMES, type RunConfig } from '../../client-safe/run-config.ts'
import type { EscalationAction } from '../engine/escalations.ts'
import { drivenBy, notDrivenHere } from '../runs/lease.ts'
import { replaceBannedBest, type ProblemSnapshot } from '../runs/service.ts'
import { storedArmStats, type EngineSnapshot } from '../runs/state.ts'
import { audit } from '../services/audit.ts'
import { analyzeCode } from '../engine/novelty.ts'
import { twinReason } from '../runs/twin.ts'
import { guidanceState, type GroupStats } from './guidance-stats.ts'
import { effectOfStats, type ConcurrentEffect } from './intervention-effect.ts'

const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue

export { PreconditionError }

async function loadRun(app: AppServices, runId: string) {
  const run = await app.db.prisma.run.findUnique({
    where: { id: runId },
    select: { id: true, status: true, evaluations: true, config: true, problemSnapshot: true },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  return { ...run, config: run.config as unknown as RunConfig, snap: run.problemSnapshot as unknown as ProblemSnapshot }
}

/** how long a request waits for the engine's acknowledgement before answering "pending" */
const ACK_WAIT_MS = 3000

/**
 * Sends a command to the run's engine and, while an engine holds the run's lease, waits a bounded
 * time for its acknowledgement (with no engine, it stays pending for the one that picks the run up).
 */
export async function command(
  app: AppServices,
  actor: Actor,
  run: { id: string; status: string },
  kind: CommandKind,
  payload: Record<string, unknown>,
): Promise<CommandOutcome> {
  const c = await submitCommand(app.db, app.events, { runId: run.id, runStatus: run.status, kind, payload, actor })
  if (c.status !== 'pending') return c
  const lease = await app.db.prisma.run.findUnique({ where: { id: run.id }, select: { leaseUntil: true } })
  const driven = !!lease?.leaseUntil && lease.leaseUntil.getTime() > Date.now()
  return driven ? awaitCommand(app.db, app.events, run.id, c.id, ACK_WAIT_MS) : c
}

/** A command the engine refused is the request's failure, with the engine's reason. */
function unlessRefused(c: CommandOutcome): CommandOutcome {
  if (c.status === 'refused') throw new PreconditionError(String(c.result?.reason ?? 'the engine refused this'))
  return c
}

function checkIsland(island: number | null | undefined, islands: number) {
  if (island === null || island === undefined) return
  if (island < 0 || island >= islands)
    throw new BadInputError(`island ${island} does not exist (this run has islands 0–${islands - 1})`)
}

/** A numbered run event for an intervention, announced on the bus (the dashboards' live feed). */
export async function recordIntervention(
  app: AppServices,
  runId: string,
  actor: Actor,
  payload: Record<string, unknown>,
) {
  const row = await app.db.prisma.runEvent.create({
    data: { runId, type: 'intervention', payload: json({ ...payload, actor: actor.label }) },
    select: { id: true },
  })
  app.events.publish({ id: String(row.id), runId, type: 'intervention', payload })
}

// ------------------------------------------------------------------ guidance

/** active hints a run takes at once (all of them go into each prompt in their scope) */
export const MAX_ACTIVE_HINTS = 50

export interface GuidanceInput {
  runId: string
  text: string
  island: number | null
  expiresAfterEvals?: number | null
  expiresInMinutes?: number | null
}

export async function createGuidance(app: AppServices, actor: Actor, input: GuidanceInput) {
  const run = await loadRun(app, input.runId)
  checkIsland(input.island, run.config.islands)
  const text = input.text.trim()
  if (!text) throw new BadInputError('the hint is empty; write what the next mutations should try')
  if (['completed', 'stopped', 'failed'].includes(run.status))
    throw new ConflictError(`the run is ${run.status}; a hint would reach no prompt (resume the run first)`)
  // every active hint goes into every prompt in its scope and is listed on the guidance panel
  if ((await activeHintIds(app, input.runId, run.evaluations)).length >= MAX_ACTIVE_HINTS)
    throw new ConflictError(
      `this run already has ${MAX_ACTIVE_HINTS} active hints, the most it takes; withdraw one before adding another`,
    )
  const expiresAt = input.expiresInMinutes ? new Date(Date.now() + input.expiresInMinutes * 60_000) : null
  const g = await app.db.prisma.guidance.create({
    data: {
      runId: input.runId,
      island: input.island,
      text,
      authorId: actor.id,
      authorLabel: actor.label,
      startEval: run.evaluations,
      expiresAfterEvals: input.expiresAfterEvals ?? null,
      expiresAt,
    },
  })
  await audit(app.db.prisma, actor, {
    action: 'guidance.create',
    targetType: 'guidance',
    targetId: g.id,
    runId: input.runId,
    after: {
      text,
      island: input.island,
      startEval: run.evaluations,
      expiresAfterEvals: g.expiresAfterEvals,
      expiresAt,
    },
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'guidance.create',
    guidanceId: g.id,
    island: input.island,
    text: text.slice(0, 200),
    atEval: run.evaluations,
  })
  const c = await command(app, actor, run, 'guidance.reload', { guidanceId: g.id })
  return { id: g.id, startEval: g.startEval, command: c }
}

export async function withdrawGuidance(app: AppServices, actor: Actor, input: { runId: string; id: string }) {
  const g = await app.db.prisma.guidance.findFirst({ where: { id: input.id, runId: input.runId } })
  if (!g) throw new NotFoundError(`no hint "${input.id}" in this run`)
  if (g.withdrawnAt) throw new ConflictError('this hint was already withdrawn')
  const run = await loadRun(app, input.runId)
  const at = new Date()
  // two experts withdrawing at once: one withdraws it, the other is told
  await app.db.prisma.$transaction(async (tx) => {
    const { count } = await tx.guidance.updateMany({
      where: { id: g.id, withdrawnAt: null },
      data: { withdrawnAt: at },
    })
    if (!count) throw new ConflictError('this hint was already withdrawn')
    await audit(tx, actor, {
      action: 'guidance.withdraw',
      targetType: 'guidance',
      targetId: g.id,
      runId: input.runId,
      before: { withdrawnAt: null },
      after: { withdrawnAt: at, atEval: run.evaluations },
    })
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'guidance.withdraw',
    guidanceId: g.id,
    island: g.island,
    atEval: run.evaluations,
  })
  const c = await command(app, actor, run, 'guidance.reload', { guidanceId: g.id })
  return { ok: true, command: c }
}

/**
 * Every active hint of a run and its newest earlier ones (`olderNotShown` counts the rest), each
 * with its state and its effect: the candidates made under it against its concurrent control,
 * those in its scope whose prompts the engine made without it while it was active
 * (config.controlShare of them, at random), in the problem's direction. The same for each
 * knowledge retrieval of the run: prompts that carried the chunks against those made without.
 * The guidance panel polls this every few seconds on every open page, and the embedded database
 * answers one query at a time: the number of queries does not grow with the hints.
 */
export async function listGuidance(app: AppServices, runId: string) {
  const run = await loadRun(app, runId)
  const direction = run.snap.spec.direction
  const newest = await app.db.prisma.guidance.findMany({
    where: { runId },
    orderBy: { createdAt: 'desc' },
    take: HINT_HISTORY,
  })
  // an active hint older than the newest ones is listed all the same: it can be withdrawn only from here
  const shown = new Set(newest.map((g) => g.id))
  const missing = (await activeHintIds(app, runId, run.evaluations)).filter((id) => !shown.has(id))
  const rows = missing.length
    ? [...newest, ...(await app.db.prisma.guidance.findMany({ where: { id: { in: missing }, runId } }))].sort(
        (a, b) => b.createdAt.getTime() - a.createdAt.getTime(),
      )
    : newest
  const total = newest.length < HINT_HISTORY ? rows.length : await app.db.prisma.guidance.count({ where: { runId } })
  // who withdrew a hint is in the audit log, which only admins read: the hint card names them
  // (asked only when one is withdrawn: the guidance panel polls this list)
  const withdrawn = rows.filter((g) => g.withdrawnAt).map((g) => g.id)
  const withdrawers = new Map(
    withdrawn.length
      ? (
          await app.db.prisma.auditEvent.findMany({
            where: { action: 'guidance.withdraw', targetId: { in: withdrawn } },
            select: { targetId: true, actorLabel: true },
          })
        ).map((e) => [e.targetId, e.actorLabel])
      : [],
  )
  const ids = rows.map((g) => g.id)
  // answers made under each hint that were refused before evaluation (duplicates, other language…)
  const rejectedUnder = new Map(
    ids.length
      ? (
          await app.db.sql<{ id: string; n: number }>(
            `SELECT g AS id, count(*)::int AS n FROM candidates c, unnest(c.guidance_ids) g
             WHERE c.run_id = $1 AND c.status = 'rejected' AND g = ANY($2::text[]) GROUP BY g`,
            [runId, ids],
          )
        ).map((r) => [r.id, r.n])
      : [],
  )
  const stats = await groupsOf(app, runId, 'guidance', ids, direction)
  const recent = await recentRows(
    app,
    ids.flatMap((id) => stats.get(`under:${id}`)?.recent ?? []),
  )
  const out = rows.map((g) => {
    const under = stats.get(`under:${g.id}`) ?? NO_ROWS
    const control = stats.get(`control:${g.id}`) ?? NO_ROWS
    return {
      id: g.id,
      text: g.text,
      island: g.island,
      authorLabel: g.authorLabel,
      createdAt: g.createdAt.getTime(),
      startEval: g.startEval,
      expiresAfterEvals: g.expiresAfterEvals,
      expiresAt: g.expiresAt ? g.expiresAt.getTime() : null,
      withdrawnAt: g.withdrawnAt ? g.withdrawnAt.getTime() : null,
      withdrawnBy: withdrawers.get(g.id) ?? null,
      ...guidanceState(g, { evaluations: run.evaluations }),
      made: {
        count: under.count,
        evaluated: under.evaluated.n,
        rejected: rejectedUnder.get(g.id) ?? 0,
        control: control.count,
        firstSeq: under.firstSeq,
        lastSeq: under.lastSeq,
      },
      effect: under.count ? effectOfStats(under.evaluated, control.evaluated, direction) : null,
      recent: under.recent.flatMap((id) => recent.get(id) ?? []),
    }
  })
  const retrievals = await app.db.prisma.retrieval.findMany({
    where: { runId, trigger: { in: ['stagnation', 'expert'] } },
    orderBy: { createdAt: 'desc' },
    take: 100,
    select: { id: true, island: true, trigger: true, chunkIds: true, createdAt: true },
  })
  const retrievalStats = await groupsOf(
    app,
    runId,
    'retrieval',
    retrievals.map((r) => r.id),
    direction,
  )
  const knowledge: Array<{
    id: string
    island: number | null
    trigger: string
    chunks: number
    createdAt: number
    made: number
    control: number
    effect: ConcurrentEffect | null
  }> = []
  for (const r of retrievals) {
    const under = retrievalStats.get(`under:${r.id}`) ?? NO_ROWS
    const control = retrievalStats.get(`control:${r.id}`) ?? NO_ROWS
    if (!under.count && !control.count) continue
    knowledge.push({
      id: r.id,
      island: r.island,
      trigger: r.trigger,
      chunks: r.chunkIds.length,
      createdAt: r.createdAt.getTime(),
      made: under.count,
      control: control.count,
      effect: under.count ? effectOfStats(under.evaluated, control.evaluated, direction) : null,
    })
  }
  return {
    direction,
    evaluations: run.evaluations,
    islands: run.config.islands,
    controlShare:
      run.config.controlShare ?? 0.2 /* a config stored before controls: the engine resumes it with the default */,
    hints: out,
    /** the run's withdrawn and expired hints older than those listed */
    olderNotShown: Math.max(0, total - rows.length),
    retrievals: knowledge,
  }
}

/** earlier hints listed, newest first (every active one is listed besides) */
const HINT_HISTORY = 200

/**
 * The ids of the run's active hints, by the rule of guidanceState (and the engine's), the clock
 * being the database's. createGuidance bounds their number: listGuidance lists them all.
 */
async function activeHintIds(app: AppServices, runId: string, evaluations: number): Promise<string[]> {
  const rows = await app.db.sql<{ id: string }>(
    `SELECT id FROM guidance WHERE run_id = $1 AND withdrawn_at IS NULL
       AND (expires_after_evals IS NULL OR start_eval + expires_after_evals > $2::int)
       AND (expires_at IS NULL OR expires_at > (now() AT TIME ZONE 'UTC'))`,
    [runId, evaluations],
  )
  return rows.map((r) => r.id)
}

interface CandidateGroup {
  /** evolve-stage candidates not rejected (pending ones included) */
  count: number
  firstSeq: number | null
  lastSeq: number | null
  /** the ids of the last 8, newest first */
  recent: string[]
  /** the evaluated ones' statistics (what an effect compares) */
  evaluated: GroupStats & { withParent: number }
}

const NO_ROWS: CandidateGroup = {
  count: 0,
  firstSeq: null,
  lastSeq: null,
  recent: [],
  evaluated: {
    n: 0,
    valid: 0,
    validRate: null,
    mean: null,
    median: null,
    best: null,
    sd: null,
    improved: 0,
    improvedRate: null,
    withParent: 0,
  },
}

/**
 * Evolve-stage candidates (not rejected) made under, or withheld from, each of some hints or
 * retrievals, summed up in one query: keys `under:<id>` and `control:<id>`. The statistics are
 * those of groupStats (guidance-stats.ts) over the evaluated ones; a score that is not a finite
 * number counts as no valid score, as there.
 */
async function groupsOf(
  app: AppServices,
  runId: string,
  kind: 'guidance' | 'retrieval',
  ids: string[],
  direction: 'max' | 'min',
): Promise<Map<string, CandidateGroup>> {
  if (!ids.length) return new Map()
  const tagged =
    kind === 'guidance'
      ? `SELECT 'under:' || g AS key, c.* FROM c, unnest(c.guidance_ids) g WHERE g = ANY($2::text[])
         UNION ALL
         SELECT 'control:' || g, c.* FROM c, unnest(c.control_guidance_ids) g WHERE g = ANY($2::text[])`
      : `SELECT 'under:' || u.retrieval_id AS key, c.* FROM c
           JOIN (SELECT DISTINCT candidate_id, retrieval_id FROM retrieval_uses
                 WHERE run_id = $1 AND retrieval_id = ANY($2::text[])) u ON u.candidate_id = c.id
         UNION ALL
         SELECT 'control:' || c.control_retrieval_id, c.* FROM c WHERE c.control_retrieval_id = ANY($2::text[])`
  const tags =
    kind === 'guidance'
      ? `(c.guidance_ids && $2::text[] OR c.control_guidance_ids && $2::text[])`
      : `(c.control_retrieval_id = ANY($2::text[]) OR EXISTS (SELECT 1 FROM retrieval_uses u WHERE u.candidate_id = c.id AND u.retrieval_id = ANY($2::text[])))`
  const rows = await app.db.sql<{
    key: string
    count: number
    recent: string[]
    first_seq: number | null
    last_seq: number | null
    n: number
    valid: number
    mean: number | null
    median: number | null
    hi: number | null
    lo: number | null
    sd: number | null
    with_parent: number
    improved_max: number
    improved_min: number
  }>(
    `WITH c AS (
       SELECT c.id, c.seq, c.status = 'evaluated' AS ev,
         c.status = 'evaluated' AND c.valid IS TRUE AND c.score IS NOT NULL
           AND c.score NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) AS ok,
         c.score, c.valid, CASE WHEN p.valid THEN p.score END AS parent_score,
         c.guidance_ids, c.control_guidance_ids, c.control_retrieval_id
       FROM candidates c LEFT JOIN candidates p ON p.id = c.parent_ids[1]
       WHERE c.run_id = $1 AND c.origin IN ('mutation', 'crossover') AND c.status <> 'rejected' AND ${tags}
     ), t AS (${tagged})
     SELECT key, count(*)::int AS count, min(seq)::int AS first_seq, max(seq)::int AS last_seq,
       (array_agg(id ORDER BY seq DESC))[1:8] AS recent,
       count(*) FILTER (WHERE ev)::int AS n,
       count(*) FILTER (WHERE ok)::int AS valid,
       avg(score) FILTER (WHERE ok) AS mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY score) FILTER (WHERE ok) AS median,
       max(score) FILTER (WHERE ok) AS hi,
       min(score) FILTER (WHERE ok) AS lo,
       stddev_samp(score) FILTER (WHERE ok) AS sd,
       count(*) FILTER (WHERE ev AND parent_score IS NOT NULL)::int AS with_parent,
       -- NaN sorts above every number in SQL and compares false in JavaScript: never an improvement
       count(*) FILTER (WHERE ev AND valid AND score > parent_score AND score <> 'NaN'::float8 AND parent_score <> 'NaN'::float8)::int AS improved_max,
       count(*) FILTER (WHERE ev AND valid AND score < parent_score AND score <> 'NaN'::float8 AND parent_score <> 'NaN'::float8)::int AS improved_min
     FROM t GROUP BY key`,
    [runId, ids],
  )
  const num = (v: number | string | null) => (v === null ? null : Number(v))
  return new Map(
    rows.map((r) => {
      const improved = direction === 'max' ? r.improved_max : r.improved_min
      const mean = num(r.mean)
      return [
        r.key,
        {
          count: r.count,
          recent: r.recent,
          firstSeq: r.first_seq,
          lastSeq: r.last_seq,
          evaluated: {
            n: r.n,
            valid: r.valid,
            validRate: r.n ? r.valid / r.n : null,
            mean,
            median: num(r.median),
            best: num(direction === 'max' ? r.hi : r.lo),
            sd: num(r.sd),
            improved,
            improvedRate: r.with_parent ? improved / r.with_parent : null,
            withParent: r.with_parent,
          },
        },
      ]
    }),
  )
}

/** The candidates of `recentIds` (the last made under some hints), by id. */
async function recentRows(app: AppServices, recentIds: string[]) {
  const rows = recentIds.length
    ? await app.db.prisma.candidate.findMany({
        where: { id: { in: recentIds } },
        select: { id: true, score: true, valid: true, status: true, island: true },
      })
    : []
  return new Map(rows.map((r) => [r.id, r]))
}

// ------------------------------------------------------------------ engine knobs

export async function setExploration(
  app: AppServices,
  actor: Actor,
  input: { runId: string; value: number; island: number | null },
) {
  const run = await loadRun(app, input.runId)
  checkIsland(input.island, run.config.islands)
  const before = await controls(app, input.runId)
  if (input.island !== null && !before.active)
    throw new PreconditionError(
      `the run is ${run.status}: an island’s exploration lives in the running engine (set the run-wide value, or resume the run)`,
    )
  // kept with the run: a resumed or restarted engine starts from it (its snapshot may be older)
  const config =
    input.island === null
      ? { ...run.config, exploration: input.value }
      : { ...run.config, islandExploration: { ...run.config.islandExploration, [input.island]: input.value } }
  await app.db.prisma.run.update({ where: { id: input.runId }, data: { config: json(config) } })
  const beforeValue =
    input.island === null ? before.exploration : (before.islandExploration[input.island] ?? before.exploration)
  await audit(app.db.prisma, actor, {
    action: 'run.exploration',
    targetType: 'run',
    targetId: input.runId,
    runId: input.runId,
    before: { island: input.island, exploration: beforeValue },
    after: { island: input.island, exploration: input.value },
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'run.exploration',
    island: input.island,
    before: beforeValue,
    value: input.value,
    atEval: run.evaluations,
  })
  const c = unlessRefused(
    await command(app, actor, run, 'run.exploration', { value: input.value, island: input.island }),
  )
  return { applied: c.status === 'applied', command: c }
}

export async function setMutationWeights(
  app: AppServices,
  actor: Actor,
  input: {
    runId: string
    models?: number[]
    localOperators?: Partial<Record<(typeof LOCAL_OPERATOR_NAMES)[number], number>>
  },
) {
  const run = await loadRun(app, input.runId)
  const cfg = run.config
  if (input.models && cfg.mutator !== 'llm')
    throw new BadInputError('this run uses the offline operators; set their weights instead of model weights')
  if (input.localOperators && cfg.mutator !== 'local')
    throw new BadInputError('this run uses models; set the model weights')
  if (input.models && input.models.length !== cfg.models.length)
    throw new BadInputError(`give one weight per model (${cfg.models.length})`)
  const next: RunConfig = {
    ...cfg,
    models: cfg.models.map((m, i) => ({ ...m, weight: input.models?.[i] ?? m.weight })),
    localOperators: input.localOperators ? { ...cfg.localOperators, ...input.localOperators } : cfg.localOperators,
  }
  const weightsOf = (c: RunConfig) =>
    c.mutator === 'llm'
      ? c.models.map((m) => ({ model: m.label ?? `${m.provider}:${m.model}`, weight: m.weight }))
      : LOCAL_OPERATOR_NAMES.map((o) => ({ operator: o, weight: c.localOperators[o] ?? 1 }))
  if (!hasPositiveWeight(next)) throw new BadInputError('at least one model or operator needs a weight above 0')
  await app.db.prisma.run.update({ where: { id: input.runId }, data: { config: json(next) } })
  await audit(app.db.prisma, actor, {
    action: 'run.weights',
    targetType: 'run',
    targetId: input.runId,
    runId: input.runId,
    before: weightsOf(cfg),
    after: weightsOf(next),
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'run.weights',
    weights: weightsOf(next),
    atEval: run.evaluations,
  })
  const c = unlessRefused(
    await command(app, actor, run, 'run.weights', { models: input.models, localOperators: next.localOperators }),
  )
  return { applied: c.status === 'applied', command: c }
}

/** The engine's knobs as they are now (from this process's engine, else as its last snapshot stored them). */
export async function controls(app: AppServices, runId: string) {
  const run = await loadRun(app, runId)
  const engine = app.runs?.get(runId)
  const state = engine?.controlState() ?? null
  const row = await app.db.prisma.run.findUnique({
    where: { id: runId },
    select: { engineState: true, leaseOwner: true, leaseUntil: true },
  })
  const stored = row?.engineState as Partial<EngineSnapshot> | null
  const active = ['created', 'cold-start', 'evolving'].includes(run.status)
  const lease = { status: run.status, leaseOwner: row?.leaseOwner ?? null, leaseUntil: row?.leaseUntil ?? null }
  return {
    driven: !!engine,
    /** why the figures below are the engine's last stored ones, when this process does not drive the run */
    notDriven: engine ? null : notDrivenHere(app.db, lease),
    active,
    /** who drives the run now (host:pid of its engine), while its lease holds */
    drivenBy: drivenBy(app.db, lease),
    mutator: run.config.mutator,
    exploration: state?.exploration ?? stored?.evolution?.exploration ?? run.config.exploration,
    islandExploration:
      state?.islandExploration ??
      Object.fromEntries(Object.entries(stored?.evolution?.islandExploration ?? {}).map(([k, v]) => [Number(k), v])),
    effectiveExploration: state?.effectiveExploration ?? [],
    arms: state?.arms ?? storedArmStats(run.config, stored),
    models: run.config.models.map((m) => ({ id: m.label ?? `${m.provider}:${m.model}`, weight: m.weight })),
    localOperators: LOCAL_OPERATOR_NAMES.map((o) => ({ id: o, weight: run.config.localOperators[o] ?? 1 })),
  }
}

export async function retrieveKnowledge(app: AppServices, actor: Actor, input: { runId: string; island: number }) {
  const run = await loadRun(app, input.runId)
  checkIsland(input.island, run.config.islands)
  if (!['created', 'cold-start', 'evolving'].includes(run.status))
    throw new PreconditionError(
      `the run is ${run.status}: knowledge goes into the prompts of a running run (resume it first)`,
    )
  await audit(app.db.prisma, actor, {
    action: 'run.retrieve',
    targetType: 'run',
    targetId: input.runId,
    runId: input.runId,
    after: { island: input.island },
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'run.retrieve',
    island: input.island,
    atEval: run.evaluations,
  })
  const c = unlessRefused(await command(app, actor, run, 'run.retrieve', { island: input.island }))
  return { chunks: c.status === 'applied' ? Number(c.result?.chunks ?? 0) : null, command: c }
}

/**
 * A stalled island's escalation on an expert's request: `migrate-in` (the best of the other islands
 * copied in) or `restart-from-elites` (the island reseeded from the run's elite archive). The engine
 * applies it and answers with what moved; the run's activity feed shows the outcome.
 */
export async function escalateIsland(
  app: AppServices,
  actor: Actor,
  input: { runId: string; island: number; action: EscalationAction },
) {
  const run = await loadRun(app, input.runId)
  checkIsland(input.island, run.config.islands)
  if (run.status !== 'evolving')
    throw new PreconditionError(`the run is ${run.status}: islands can be changed while it evolves`)
  await audit(app.db.prisma, actor, {
    action: `island.${input.action}`,
    targetType: 'island',
    targetId: String(input.island),
    runId: input.runId,
    after: { island: input.island, atEval: run.evaluations },
  })
  await recordIntervention(app, input.runId, actor, {
    action: `island.${input.action}`,
    island: input.island,
    atEval: run.evaluations,
  })
  const c = unlessRefused(
    await command(app, actor, run, 'island.escalate', { island: input.island, action: input.action }),
  )
  return {
    joined: c.status === 'applied' ? Number(c.result?.joined ?? 0) : null,
    removed: c.status === 'applied' ? Number(c.result?.removed ?? 0) : null,
    command: c,
  }
}

// ------------------------------------------------------------------ candidates

export async function setPinned(app: AppServices, actor: Actor, input: { runId: string; id: string; pinned: boolean }) {
  const action = input.pinned ? 'candidate.pin' : 'candidate.unpin'
  // the candidate's row locked: a pin and a ban of it at once (two experts, server mode) are decided
  // one after the other, so a banned candidate is never left pinned and the audit's "before" is true
  const c = await app.db.prisma.$transaction(async (tx) => {
    const c = await lockCandidate(tx, input)
    if (input.pinned && c.banned) throw new ConflictError('a banned candidate cannot be pinned')
    await tx.candidate.update({ where: { id: c.id }, data: { pinned: input.pinned } })
    await audit(tx, actor, {
      action,
      targetType: 'candidate',
      targetId: c.id,
      runId: input.runId,
      before: { pinned: c.pinned },
      after: { pinned: input.pinned },
    })
    return c
  })
  await recordIntervention(app, input.runId, actor, { action, candidateId: c.id })
  const cmd = await command(app, actor, await loadRun(app, input.runId), 'candidate.pin', {
    candidateId: c.id,
    pinned: input.pinned,
  })
  return { pinned: input.pinned, command: cmd }
}

/** The candidate's pin and ban, its row locked until the transaction ends. */
async function lockCandidate(tx: Prisma.TransactionClient, input: { runId: string; id: string }) {
  const [c] = await tx.$queryRaw<Array<{ id: string; pinned: boolean; banned: boolean }>>`
    SELECT id, pinned, banned FROM candidates WHERE id = ${input.id} AND run_id = ${input.runId} FOR UPDATE`
  if (!c) throw new NotFoundError(`no candidate "${input.id}" in this run`)
  return c
}

export async function ban(app: AppServices, actor: Actor, input: { runId: string; id: string; reason?: string }) {
  // locked like setPinned: of two bans at once one is refused, and a pin that came first is the "before"
  const c = await app.db.prisma.$transaction(async (tx) => {
    const c = await lockCandidate(tx, input)
    if (c.banned) throw new ConflictError('this candidate is already banned')
    await tx.candidate.update({ where: { id: c.id }, data: { banned: true, pinned: false } })
    await audit(tx, actor, {
      action: 'candidate.ban',
      targetType: 'candidate',
      targetId: c.id,
      runId: input.runId,
      before: { banned: false, pinned: c.pinned },
      after: { banned: true, reason: input.reason ?? null },
    })
    return c
  })
  // a stopped or paused run's best moves here; a running engine's, when it applies the command
  await replaceBannedBest(app.db, input.runId, c.id)
  await recordIntervention(app, input.runId, actor, {
    action: 'candidate.ban',
    candidateId: c.id,
    reason: input.reason ?? null,
  })
  const cmd = await command(app, actor, await loadRun(app, input.runId), 'candidate.ban', { candidateId: c.id })
  return { banned: true, command: cmd }
}

/** Whether the cold start placed programs on islands (the rule cold-start.ts finished() keeps). */
async function hasIslands(app: AppServices, runId: string) {
  const placed = await app.db.prisma.candidate.findFirst({
    where: { runId, origin: { in: ['seed', 'cold-start'] }, island: { gte: 0 } },
    select: { id: true },
  })
  return !!placed
}

export async function submitExpertEdit(
  app: AppServices,
  actor: Actor,
  input: { runId: string; parentId: string; code: string; island: number; note?: string },
) {
  const run = await loadRun(app, input.runId)
  checkIsland(input.island, run.config.islands)
  const parent = await app.db.prisma.candidate.findFirst({
    where: { id: input.parentId, runId: input.runId },
    select: { id: true, code: true },
  })
  if (!parent) throw new NotFoundError(`no candidate "${input.parentId}" in this run`)
  if (!input.code.trim()) throw new BadInputError('the edited program is empty')
  if (input.code === parent.code) throw new BadInputError('the code is unchanged; edit it before submitting')
  // on a paused run the edit waits for the resume (the engine that picks the run up applies it),
  // the way a pause, craft an edit, resume goes; only a run that has islands can take one
  if (run.status === 'paused' ? !(await hasIslands(app, run.id)) : run.status !== 'evolving') {
    throw new PreconditionError(
      run.status === 'cold-start' || run.status === 'paused'
        ? `the run ${run.status === 'paused' ? 'was paused in' : 'is still in'} its cold start; edits join an island once it evolves`
        : `the run is ${run.status}; an edit joins a running or paused run (an admin can resume it)`,
    )
  }
  // a program the run has, or the same edit queued already (two experts, one paused run): refused
  // now, rather than audited, queued, and refused when the run resumes
  const codeHash = analyzeCode(input.code, run.snap.spec.language).codeHash
  const twin = await twinReason(app.db, run.id, codeHash, parent.id)
  if (twin) throw new ConflictError(twin)
  const queued = await app.db.prisma.runCommand.findMany({
    where: { runId: run.id, kind: 'candidate.expert-edit', status: 'pending' },
    select: { payload: true, actorLabel: true },
    take: 200,
  })
  const same = queued.find(
    (q) =>
      analyzeCode(String((q.payload as { code?: unknown }).code ?? ''), run.snap.spec.language).codeHash === codeHash,
  )
  if (same)
    throw new ConflictError(
      `the same program is queued already as an edit by ${same.actorLabel} (same code up to comments and spacing): it is evaluated when the run resumes`,
    )
  // the candidate's id is chosen here, so an engine that applies the command twice (a failover) makes it once
  const id = randomUUID()
  await audit(app.db.prisma, actor, {
    action: 'candidate.expert-edit',
    targetType: 'candidate',
    targetId: id,
    runId: input.runId,
    before: { parentId: parent.id },
    after: { island: input.island, bytes: input.code.length, note: input.note ?? null },
  })
  await recordIntervention(app, input.runId, actor, {
    action: 'candidate.expert-edit',
    candidateId: id,
    parentId: parent.id,
    island: input.island,
    atEval: run.evaluations,
    note: input.note ?? null,
  })
  const c = unlessRefused(
    await command(app, actor, run, 'candidate.expert-edit', {
      candidateId: id,
      parentId: parent.id,
      code: input.code,
      island: input.island,
      authorId: actor.id,
    }),
  )
  return { id, command: c }
}
