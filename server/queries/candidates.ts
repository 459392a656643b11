// Candidates for the console: the paged table (filters and sort run in the database), the
// detail page (code, parent, prompt and answer or the operator, metrics, artifacts, knowledge and
// guidance it was made with), the lineage graph and export pages.
import type { Db } from '../db.ts'
import { NotFoundError } from '../errors.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import { modelsWithoutPrice, type RunConfig } from '../../client-safe/run-config.ts'
import {
  candidateOrder,
  candidateWhere,
  type CandidateFilter,
  type CandidateSort,
  type ExportRow,
} from '../../client-safe/candidate-query.ts'
import { ancestry, buildLineage, milestones, type LineageNode, type LineageView } from './lineage.ts'

const ms = (d: Date | null) => (d ? d.getTime() : null)

export const LIST_SELECT = {
  id: true,
  seq: true,
  evalIndex: true,
  island: true,
  origin: true,
  operator: true,
  model: true,
  status: true,
  valid: true,
  score: true,
  parentIds: true,
  pinned: true,
  banned: true,
  rating: true,
  costUsd: true,
  tokensIn: true,
  tokensOut: true,
  rejectReason: true,
  createdAt: true,
  evaluatedAt: true,
  guidanceIds: true,
} as const

export async function listCandidates(
  db: Db,
  input: { runId: string; filter?: CandidateFilter; sort?: CandidateSort; offset: number; limit: number },
) {
  const where = candidateWhere(input.runId, input.filter)
  // the total only with the first page (counting 100,000 rows on every scroll is wasted work)
  const [rows, total] = await Promise.all([
    db.prisma.candidate.findMany({
      where,
      orderBy: candidateOrder(input.sort ?? { field: 'seq', dir: 'desc' }) as never,
      skip: input.offset,
      take: input.limit,
      select: LIST_SELECT,
    }),
    input.offset === 0 ? db.prisma.candidate.count({ where }) : Promise.resolve(null),
  ])
  return {
    total,
    offset: input.offset,
    rows: rows.map((r) => ({
      ...r,
      createdAt: r.createdAt.getTime(),
      evaluatedAt: ms(r.evaluatedAt),
      guidanceCount: r.guidanceIds.length,
      guidanceIds: undefined,
    })),
  }
}

/** The values the table's filters offer (distinct islands, origins, operators, models, statuses). */
export async function candidateFacets(db: Db, runId: string) {
  const [islands, origins, operators, models, statuses] = await Promise.all(
    (['island', 'origin', 'operator', 'model', 'status'] as const).map((by) =>
      db.prisma.candidate.groupBy({
        by: [by],
        where: { runId },
        _count: { _all: true },
        orderBy: { [by]: 'asc' },
      } as never),
    ),
  )
  const pick = (rows: unknown, key: string) =>
    (rows as Array<Record<string, unknown> & { _count: { _all: number } }>).map((r) => ({
      value: r[key] as string | number | null,
      count: r._count._all,
    }))
  return {
    islands: pick(islands, 'island'),
    origins: pick(origins, 'origin'),
    operators: pick(operators, 'operator'),
    models: pick(models, 'model'),
    statuses: pick(statuses, 'status'),
  }
}

/**
 * A page of an export. A run that is live adds candidates while the pages are read, so an export
 * is a snapshot: the first page fixes `upToSeq` (the run's highest seq then) and every later page
 * passes it back, leaving out what came after. With `afterSeq` the pages are read by keyset in #
 * order (seq is unique and never changes, unlike a queued candidate's score or status, so offset
 * drift cannot repeat or skip a row), and the caller orders the whole (compareExportRows).
 */
export async function exportCandidates(
  db: Db,
  input: {
    runId: string
    filter?: CandidateFilter
    sort?: CandidateSort
    offset: number
    limit: number
    withCode: boolean
    upToSeq?: number
    afterSeq?: number
  },
): Promise<{ rows: ExportRow[]; total: number | null; upToSeq: number; nextAfterSeq: number | null }> {
  const upToSeq =
    input.upToSeq ??
    (await db.prisma.candidate.aggregate({ where: { runId: input.runId }, _max: { seq: true } }))._max.seq ??
    -1
  const keyset = input.afterSeq !== undefined
  const where = {
    AND: [
      candidateWhere(input.runId, input.filter),
      { seq: keyset ? { lte: upToSeq, gt: input.afterSeq } : { lte: upToSeq } },
    ],
  }
  const first = keyset ? input.afterSeq! < 0 : input.offset === 0
  const [rows, total] = await Promise.all([
    db.prisma.candidate.findMany({
      where,
      orderBy: (keyset ? [{ seq: 'asc' }] : candidateOrder(input.sort ?? { field: 'seq', dir: 'asc' })) as never,
      skip: keyset ? 0 : input.offset,
      take: input.limit,
      select: { ...LIST_SELECT, metrics: true, features: true, code: input.withCode },
    }),
    first ? db.prisma.candidate.count({ where }) : Promise.resolve(null),
  ])
  const unpriced = await unpricedModelsOf(db, input.runId)
  return {
    total,
    upToSeq,
    nextAfterSeq: keyset && rows.length === input.limit ? rows[rows.length - 1]!.seq : null,
    rows: rows.map((r) => ({
      id: r.id,
      seq: r.seq,
      evalIndex: r.evalIndex,
      island: r.island,
      origin: r.origin,
      operator: r.operator,
      model: r.model,
      status: r.status,
      valid: r.valid,
      score: r.score,
      parentIds: r.parentIds,
      metrics: r.metrics,
      features: r.features,
      // a model without a price counted its calls $0: the cost is unknown, not free
      costUsd: r.model !== null && unpriced.has(r.model) ? null : r.costUsd,
      tokensIn: r.tokensIn,
      tokensOut: r.tokensOut,
      pinned: r.pinned,
      banned: r.banned,
      rating: r.rating,
      rejectReason: r.rejectReason,
      createdAt: r.createdAt.toISOString(),
      evaluatedAt: r.evaluatedAt ? r.evaluatedAt.toISOString() : null,
      ...(input.withCode ? { code: (r as { code?: string }).code ?? '' } : {}),
    })),
  }
}

/**
 * The run's mutation models without a price, by the id candidates carry in `model`. The judge's
 * calls are not in a candidate's cost (they count only in the run's spend), so its price does not matter here.
 */
async function unpricedModelsOf(db: Db, runId: string): Promise<Set<string>> {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { config: true } })
  const config = run?.config as Pick<RunConfig, 'mutator' | 'models'> | undefined
  return new Set(config?.models ? modelsWithoutPrice({ mutator: config.mutator, models: config.models }) : [])
}

/**
 * The islands whose population held a candidate at the engine's last save (EngineSnapshot.populations),
 * for a run no engine here drives; null when the run never saved one (before this was stored, or
 * still in its cold start).
 */
export async function savedPopulationOf(
  db: Db,
  runId: string,
  id: string,
): Promise<{ islands: number[]; savedAt: string } | null> {
  const [row] = await db.sql<{ saved_at: string | number | null; islands: number[] | null }>(
    `SELECT engine_state->'populations'->>'savedAt' AS saved_at,
       ARRAY(SELECT (i.ord - 1)::int FROM jsonb_array_elements(engine_state->'populations'->'islands')
               WITH ORDINALITY AS i(members, ord)
             WHERE i.members @> to_jsonb($2::text) ORDER BY i.ord) AS islands
     FROM runs WHERE id = $1 AND jsonb_typeof(engine_state->'populations'->'islands') = 'array'`,
    [runId, id],
  )
  if (!row || row.saved_at === null) return null
  return { islands: row.islands ?? [], savedAt: new Date(Number(row.saved_at)).toISOString() }
}

export async function candidateDetail(db: Db, runId: string, id: string) {
  const c = await db.prisma.candidate.findFirst({ where: { id, runId } })
  if (!c) throw new NotFoundError(`no candidate "${id}" in this run`)
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: {
      problemSnapshot: true,
      bestCandidateId: true,
      status: true,
      config: true,
      leaseOwner: true,
      leaseUntil: true,
    },
  })
  const snap = run!.problemSnapshot as unknown as ProblemSnapshot
  const parents = c.parentIds.length
    ? await db.prisma.candidate.findMany({
        where: { id: { in: c.parentIds } },
        select: {
          id: true,
          code: true,
          score: true,
          valid: true,
          origin: true,
          island: true,
          seq: true,
          evalIndex: true,
        },
      })
    : []
  const byId = new Map(parents.map((p) => [p.id, p]))
  // children: one scan of the run (no index on parent_ids), the first 50 and how many in all
  const [kids, guidance, uses] = await Promise.all([
    db.prisma.$queryRaw<
      Array<{
        id: string
        score: number | null
        valid: boolean | null
        origin: string
        island: number
        status: string
        eval_index: number | null
        seq: number
        total: bigint | number
      }>
    >`
      SELECT id, score, valid, origin, island, status, eval_index, seq, count(*) OVER () AS total
      FROM candidates WHERE run_id = ${runId} AND ${id} = ANY(parent_ids) ORDER BY seq LIMIT 50`,
    c.guidanceIds.length
      ? db.prisma.guidance.findMany({ where: { id: { in: c.guidanceIds } }, orderBy: { createdAt: 'asc' } })
      : Promise.resolve([]),
    db.prisma.retrievalUse.findMany({ where: { candidateId: id }, orderBy: { id: 'asc' } }),
  ])
  const children = kids.map((k) => ({
    id: k.id,
    score: k.score,
    valid: k.valid,
    origin: k.origin,
    island: k.island,
    status: k.status,
    evalIndex: k.eval_index,
    seq: k.seq,
  }))
  const childCount = kids.length ? Number(kids[0]!.total) : 0
  const chunkIds = [...new Set(uses.map((u) => u.chunkId))]
  const retrievalIds = [...new Set(uses.map((u) => u.retrievalId))]
  const [chunks, retrievals] = await Promise.all([
    chunkIds.length
      ? db.prisma.knowledgeChunk.findMany({
          where: { id: { in: chunkIds } },
          select: {
            id: true,
            heading: true,
            content: true,
            usefulness: true,
            doc: { select: { id: true, title: true, sourcePath: true } },
          },
        })
      : Promise.resolve([]),
    retrievalIds.length
      ? db.prisma.retrieval.findMany({
          where: { id: { in: retrievalIds } },
          select: { id: true, trigger: true, island: true, createdAt: true, chunkIds: true, chunkLabels: true },
        })
      : Promise.resolve([]),
  ])
  const chunkById = new Map(chunks.map((k) => [k.id, k]))
  const retrievalById = new Map(retrievals.map((r) => [r.id, r]))
  const repairs =
    c.origin === 'repair' || c.repairDue || children.some((k) => k.origin === 'repair')
      ? await repairChain(db, runId, c)
      : []
  return {
    id: c.id,
    runId: c.runId,
    seq: c.seq,
    evalIndex: c.evalIndex,
    island: c.island,
    origin: c.origin,
    operator: c.operator,
    operatorParams: (c.operatorParams ?? null) as Record<string, unknown> | null,
    model: c.model,
    code: c.code,
    prompt: c.prompt,
    response: c.response,
    tokensIn: c.tokensIn,
    tokensOut: c.tokensOut,
    costUsd: c.costUsd,
    status: c.status,
    rejectReason: c.rejectReason,
    attempt: c.attempt,
    valid: c.valid,
    score: c.score,
    metrics: (c.metrics ?? null) as Record<string, unknown> | null,
    features: (c.features ?? null) as Record<string, unknown> | null,
    artifacts: (c.artifacts ?? null) as Record<string, unknown> | null,
    error: (c.error ?? null) as { kind?: string; message?: string } | null,
    timing: (c.timing ?? null) as Record<string, unknown> | null,
    /** the judge model's review (LLM-supervised feedback), or why its call gave none */
    judge: (c.judge ?? null) as {
      rating?: number
      critique?: string
      error?: string
      model: string
      tokensIn: number
      tokensOut: number
      costUsd: number
      prompt?: string
      response?: string
    } | null,
    workerId: c.workerId,
    pinned: c.pinned,
    banned: c.banned,
    /** who banned it, when and why (the intervention on record), for whoever reads the page */
    ban: c.banned ? await interventionOn(db, c.runId, c.id, 'candidate.ban') : null,
    /** an expert edit's note, for every reader (it had gone only to the audit log) */
    editNote:
      c.origin === 'expert-edit'
        ? ((await interventionOn(db, c.runId, c.id, 'candidate.expert-edit'))?.note ?? null)
        : null,
    rating: c.rating,
    createdById: c.createdById,
    /** who made it by hand (an expert's edit): the account's email, while the account exists */
    createdBy: c.createdById
      ? ((await db.prisma.user.findUnique({ where: { id: c.createdById }, select: { email: true } }))?.email ?? null)
      : null,
    createdAt: c.createdAt.getTime(),
    evaluatedAt: ms(c.evaluatedAt),
    isRunBest: run!.bestCandidateId === c.id,
    problem: {
      direction: snap.spec.direction,
      primaryMetric: snap.spec.primaryMetric,
      language: snap.spec.language,
      reference: snap.spec.reference ?? null,
    },
    runStatus: run!.status,
    /** who holds the run's lease (lease.ts says whether it drives the run) */
    runLease: { status: run!.status, leaseOwner: run!.leaseOwner, leaseUntil: run!.leaseUntil },
    savedPopulation: await savedPopulationOf(db, runId, id),
    islands: (run!.config as { islands: number }).islands,
    parents: c.parentIds.map((pid) => {
      const p = byId.get(pid)
      return p
        ? {
            id: p.id,
            code: p.code,
            score: p.score,
            valid: p.valid,
            origin: p.origin,
            island: p.island,
            seq: p.seq,
            evalIndex: p.evalIndex,
          }
        : { id: pid, code: null, score: null, valid: null, origin: null, island: null, seq: null, evalIndex: null }
    }),
    children,
    childCount,
    repairDue: c.repairDue,
    repairs,
    guidance: guidance.map((g) => ({
      id: g.id,
      text: g.text,
      island: g.island,
      authorLabel: g.authorLabel,
      startEval: g.startEval,
      expiresAfterEvals: g.expiresAfterEvals,
      expiresAt: ms(g.expiresAt),
      withdrawnAt: ms(g.withdrawnAt),
      createdAt: g.createdAt.getTime(),
    })),
    knowledge: uses.map((u) => {
      const k = chunkById.get(u.chunkId)
      const r = retrievalById.get(u.retrievalId)
      return {
        chunkId: u.chunkId,
        delta: u.delta,
        heading: k?.heading ?? null,
        content: k ? k.content.slice(0, 4000) : null,
        usefulness: k?.usefulness ?? null,
        doc: k?.doc ?? null,
        // what a deleted document's chunk was called when it was retrieved
        label: k ? null : (r?.chunkLabels[r.chunkIds.indexOf(u.chunkId)] ?? null),
        retrieval: r ? { id: r.id, trigger: r.trigger, island: r.island, createdAt: r.createdAt.getTime() } : null,
      }
    }),
  }
}

export interface RepairStep {
  id: string
  origin: string
  status: string
  valid: boolean | null
  score: number | null
  error: { kind?: string; message?: string } | null
  feedback: string | null
}

const MAX_CHAIN = 8

/**
 * The repair chain a candidate belongs to, first failure first: up through its parents while they
 * are repairs, then down through the repairs made of it (a chain is short: repairAttempts ≤ 5).
 */
async function repairChain(
  db: Db,
  runId: string,
  c: { id: string; origin: string; parentIds: string[] },
): Promise<RepairStep[]> {
  const select = {
    id: true,
    origin: true,
    status: true,
    valid: true,
    score: true,
    error: true,
    artifacts: true,
    parentIds: true,
  } as const
  type Row = {
    id: string
    origin: string
    status: string
    valid: boolean | null
    score: number | null
    error: unknown
    artifacts: unknown
    parentIds: string[]
  }
  const step = (r: Row): RepairStep => ({
    id: r.id,
    origin: r.origin,
    status: r.status,
    valid: r.valid,
    score: r.score,
    error: (r.error ?? null) as RepairStep['error'],
    feedback:
      typeof (r.artifacts as { feedback?: unknown } | null)?.feedback === 'string'
        ? (r.artifacts as { feedback: string }).feedback.slice(0, 1000)
        : null,
  })
  const up: Row[] = []
  let cur: { origin: string; parentIds: string[] } = c
  while (cur.origin === 'repair' && cur.parentIds[0] && up.length < MAX_CHAIN) {
    const p: Row | null = await db.prisma.candidate.findFirst({ where: { id: cur.parentIds[0], runId }, select })
    if (!p) break
    up.unshift(p)
    cur = p
  }
  const self = await db.prisma.candidate.findFirst({ where: { id: c.id, runId }, select })
  const down: Row[] = []
  let from = c.id
  while (down.length < MAX_CHAIN) {
    const next: Row[] = await db.prisma.$queryRaw<Row[]>`
      SELECT id, origin, status, valid, score, error, artifacts, parent_ids AS "parentIds" FROM candidates
      WHERE run_id = ${runId} AND origin = 'repair' AND parent_ids[1] = ${from} ORDER BY seq LIMIT 1`
    if (!next.length) break
    down.push(next[0]!)
    from = next[0]!.id
  }
  return [...up, ...(self ? [self] : []), ...down].map(step)
}

// ------------------------------------------------------------------ lineage

const LINEAGE_SELECT = {
  id: true,
  parentIds: true,
  score: true,
  valid: true,
  evalIndex: true,
  island: true,
  origin: true,
  seq: true,
  operator: true,
  status: true,
  rating: true,
} as const

/**
 * Primary-parent chains above the given ids (recursive, by primary key), at most `maxDepth` steps
 * up, stopping at ids already known (a chain that joins the best path need not be walked again).
 */
async function chainsAbove(
  db: Db,
  runId: string,
  ids: string[],
  maxDepth: number,
  known: string[] = [],
): Promise<LineageNode[]> {
  if (!ids.length) return []
  const rows = await db.prisma.$queryRaw<
    Array<{
      id: string
      parent_ids: string[]
      score: number | null
      valid: boolean | null
      eval_index: number | null
      island: number
      origin: string
      seq: number
      operator: string | null
      status: string
      rating: number
    }>
  >`
    WITH RECURSIVE up(id, depth) AS (
      SELECT id, 0 FROM candidates WHERE run_id = ${runId} AND id = ANY(${ids}::text[])
      UNION
      SELECT c.parent_ids[1], up.depth + 1 FROM up JOIN candidates c ON c.id = up.id
      WHERE cardinality(c.parent_ids) > 0 AND up.depth < ${maxDepth} AND NOT (up.id = ANY(${known}::text[])))
    SELECT DISTINCT c.id, c.parent_ids, c.score, c.valid, c.eval_index, c.island, c.origin, c.seq, c.operator, c.status, c.rating
    FROM up JOIN candidates c ON c.id = up.id AND c.run_id = ${runId}`
  return rows.map((r) => ({
    id: r.id,
    parentIds: r.parent_ids,
    score: r.score,
    valid: r.valid,
    evalIndex: r.eval_index,
    island: r.island,
    origin: r.origin,
    seq: r.seq,
    operator: r.operator,
    status: r.status,
    rating: r.rating,
  }))
}

/** How far up the lineage view walks: the best path (then cut, marked), and any other chain. */
export const BEST_PATH_DEPTH = 2000
export const SIDE_CHAIN_DEPTH = 300

export interface LineageInput {
  runId: string
  /** nodes the user opened: their parents and children are shown too */
  expand?: string[]
  /** show the whole best path instead of its milestones */
  fullPath?: boolean
  /** a candidate to make sure is shown (with the chain that joins it to the rest) */
  focus?: string | null
}

/**
 * Opens collapsed: the best path's milestones (improvements, expert edits, crossovers, island
 * changes), the frontier (each island's best) and expert edits, plus what the user expanded.
 */
export async function lineage(
  db: Db,
  input: LineageInput,
): Promise<
  LineageView & { frontier: string[]; direction: 'max' | 'min'; totalCandidates: number; expanded: string[] }
> {
  const run = await db.prisma.run.findUnique({
    where: { id: input.runId },
    select: {
      bestCandidateId: true,
      problemSnapshot: true,
      evaluations: true,
      islands: { select: { index: true, bestCandidateId: true } },
    },
  })
  if (!run) throw new NotFoundError(`no run "${input.runId}"`)
  const direction = (run.problemSnapshot as unknown as ProblemSnapshot).spec.direction
  const frontier = run.islands.map((i) => i.bestCandidateId).filter((x): x is string => !!x)
  // expert edits and rated candidates are always shown (few, and what the experts look for)
  const experts = await db.prisma.candidate.findMany({
    where: { runId: input.runId, OR: [{ origin: 'expert-edit' }, { rating: { not: 0 } }] },
    select: { id: true },
    orderBy: { seq: 'desc' },
    take: 40,
  })
  const expand = (input.expand ?? []).slice(0, 50)
  // children of expanded nodes (a seq scan on parent_ids; bounded per node)
  const children: LineageNode[] = []
  for (const id of expand) {
    const kids = await db.prisma.candidate.findMany({
      where: { runId: input.runId, parentIds: { has: id }, status: 'evaluated' },
      select: LINEAGE_SELECT,
      orderBy: { seq: 'asc' },
      take: 40,
    })
    children.push(...kids)
  }
  // the best path first; other chains stop where they join it (or after SIDE_CHAIN_DEPTH steps)
  const pathNodes = run.bestCandidateId
    ? await chainsAbove(db, input.runId, [run.bestCandidateId], BEST_PATH_DEPTH)
    : []
  const byId = new Map<string, LineageNode>(pathNodes.map((n) => [n.id, n]))
  const seeds = [...frontier, ...experts.map((e) => e.id), ...expand, input.focus, ...children.map((c) => c.id)].filter(
    (x): x is string => !!x && !byId.has(x),
  )
  for (const n of await chainsAbove(db, input.runId, [...new Set(seeds)], SIDE_CHAIN_DEPTH, [...byId.keys()]))
    if (!byId.has(n.id)) byId.set(n.id, n)
  for (const c of children) byId.set(c.id, c)
  // second parents of crossovers that are shown, so their edges can be drawn
  const visible = new Set<string>()
  const path = run.bestCandidateId && byId.has(run.bestCandidateId) ? ancestry(byId, run.bestCandidateId) : []
  for (const id of input.fullPath ? path : milestones(path, byId, direction)) visible.add(id)
  for (const id of frontier) visible.add(id)
  for (const e of experts) {
    visible.add(e.id)
    const p = byId.get(e.id)?.parentIds[0]
    if (p) visible.add(p)
  }
  for (const id of expand) {
    visible.add(id)
    const n = byId.get(id)
    for (const p of n?.parentIds ?? []) if (byId.has(p)) visible.add(p)
  }
  for (const c of children) visible.add(c.id)
  if (input.focus && byId.has(input.focus)) visible.add(input.focus)
  const extraParents = [...visible].flatMap((id) => byId.get(id)?.parentIds.slice(1) ?? []).filter((p) => !byId.has(p))
  if (extraParents.length) for (const n of await chainsAbove(db, input.runId, extraParents, 0)) byId.set(n.id, n)
  const view = buildLineage({ nodes: [...byId.values()], visible, bestId: run.bestCandidateId, frontier, direction })
  const totalCandidates = run.evaluations
  return { ...view, frontier, direction, totalCandidates, expanded: expand }
}

/** The last intervention of a kind on a candidate, as recorded: who, when, and its reason or note. */
async function interventionOn(db: Db, runId: string, candidateId: string, action: string) {
  const [row] = await db.sql<{ actor: string | null; reason: string | null; note: string | null; at: Date }>(
    `SELECT payload->>'actor' AS actor, payload->>'reason' AS reason, payload->>'note' AS note, created_at AS at
     FROM run_events
     WHERE run_id = $1 AND type = 'intervention' AND payload->>'action' = $3 AND payload->>'candidateId' = $2
     ORDER BY id DESC LIMIT 1`,
    [runId, candidateId, action],
  )
  return row ? { by: row.actor, reason: row.reason, note: row.note, at: new Date(row.at).getTime() } : null
}
