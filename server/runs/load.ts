// A run loaded for its driver: the search state read and replayed from what is stored (state.ts),
// the pipeline's parts built around it, and, on resume, the evaluations that were in flight when the
// previous process stopped submitted again.
import type { LlmErrorKind } from '../llm/errors.ts'
import { analyzeCode } from '../engine/novelty.ts'
import { Budget } from './budget.ts'
import type { GaugeMean } from './concurrency.ts'
import { Dispatcher, type InFlight } from './dispatcher.ts'
import type { DriverDeps } from './driver.ts'
import { GenerationPool } from './generation.ts'
import { Ingestor } from './ingest.ts'
import { Judge } from './judge.ts'
import { MetricsWriter } from './metrics.ts'
import { Planner } from './planner.ts'
import { Repairs } from './repair.ts'
import { PUSH_BACK } from './requester.ts'
import { armOf, type RunState } from './state.ts'
import { RunStore } from './store.ts'

/** The pipeline of one run: what its driver drives. */
export interface RunParts {
  budget: Budget
  store: RunStore
  dispatcher: Dispatcher
  planner: Planner
  repairs: Repairs
  pool: GenerationPool
  metrics: MetricsWriter
  ingestor: Ingestor
}

/** What the parts call back into their driver. */
export interface DriverLinks {
  signal: AbortSignal
  /** whether results are still taken in (the run is not stopping) */
  accepting(): boolean
  /** something changed: start what may start */
  notify(): void
  failNow(reason: string): void
  progress(msg: string): void
  retrieve(island: number, trigger: 'stagnation' | 'expert'): Promise<number>
  waiting: GaugeMean
  busy: GaugeMean
}

export async function loadRun(deps: DriverDeps, runId: string, s: RunState, links: DriverLinks): Promise<RunParts> {
  const { db } = deps
  let pool: GenerationPool | undefined
  let ingestor: Ingestor | undefined
  await s.load({
    env: deps.llmEnv,
    onRetry: (info: { error: { kind: LlmErrorKind } }) => PUSH_BACK.has(info.error.kind) && pool?.pushBack(),
  })
  const budget = new Budget(s.config.budget, {
    evaluations: s.evaluationsAtLoad,
    spendUsd: s.spendAtLoad,
    activeS: s.activeSAtLoad,
  })
  const judge = s.config.judge
    ? await Judge.create({ db, state: s, budget, log: deps.log, signal: links.signal }, s.config.judge, {
        env: deps.llmEnv,
      })
    : null
  const store = new RunStore(db, runId)
  const dispatcher = new Dispatcher(
    deps,
    runId,
    () => s.problem,
    (f, r) => ingestor!.add(f, r),
    () => links.accepting(),
  )
  const planner = new Planner(s, () => budget.evaluations)
  const repairs = new Repairs(s, planner)
  const perModel = new Map<string, number>()
  s.ensemble?.members.forEach((m, i) => {
    s.config.models[i]?.maxInFlight && perModel.set(m.id, s.config.models[i].maxInFlight!)
  })
  pool = new GenerationPool({
    max: s.config.generation.maxInFlight,
    min: s.config.generation.minInFlight,
    perModelMax: perModel,
    onSettled: () => links.notify(),
    onError: (e) => links.failNow(`engine error in a request: ${(e as Error).message}`),
  })
  const generation = pool
  const metrics = new MetricsWriter(
    db,
    deps.events,
    s,
    {
      requests: generation.gauge,
      waiting: links.waiting,
      busy: links.busy,
      capacity: () => dispatcher.capacity(),
      limit: () => generation.limit.current,
    },
    () => ({ evaluations: budget.evaluations, spendUsd: budget.spendUsd, activeS: budget.activeS() }),
  )
  ingestor = new Ingestor({
    db,
    events: deps.events,
    log: deps.log,
    hooks: deps.hooks,
    state: s,
    store,
    budget,
    metrics,
    inFlight: () => dispatcher.ids(),
    failNow: (reason) => links.failNow(reason),
    progress: (msg) => links.progress(msg),
    notify: () => links.notify(),
    retrieve: (island, trigger) => links.retrieve(island, trigger),
    repairs,
    judge,
  })
  await s.replay()
  await repairs.load(db, runId)
  await s.reloadGuidance()
  s.lessons = (await deps.hooks?.lessons?.(s.problem.id).catch(() => [])) ?? []
  return { budget, store, dispatcher, planner, repairs, pool: generation, metrics, ingestor }
}

/** Evaluations in flight when the previous process stopped: submitted again, each on a new attempt. */
export async function resubmitInFlight(
  deps: Pick<DriverDeps, 'db' | 'log'>,
  runId: string,
  s: RunState,
  { budget, dispatcher }: Pick<RunParts, 'budget' | 'dispatcher'>,
) {
  // what this driver submitted already is not left over: an expert edit queued on a paused run is
  // applied from the inbox before this runs (held twice, it had cost the run an evaluation each)
  const live = new Set(dispatcher.ids())
  const pending = await deps.db.prisma.candidate.findMany({
    where: { runId, status: { in: ['queued', 'running'] }, id: { notIn: [...live] } },
    select: {
      id: true,
      island: true,
      origin: true,
      parentIds: true,
      code: true,
      codeHash: true,
      attempt: true,
      operator: true,
      operatorParams: true,
      model: true,
    },
    orderBy: { seq: 'asc' },
  })
  // nothing in flight: the queue still forgets what the previous engine left behind
  if (!pending.length) return void (await dispatcher.adopt([]))
  // a resume may lower what is left (a new total just above the evaluations done): the oldest are
  // evaluated, the rest were made and paid for but do not fit
  const resubmitted = pending.slice(0, budget.left())
  const left = pending.slice(resubmitted.length).map((p) => p.id)
  if (left.length)
    await deps.db.prisma.candidate.updateMany({
      where: { id: { in: left } },
      data: { status: 'rejected', rejectReason: 'not evaluated: beyond the budget left when the run resumed' },
    })
  const inFlight = (p: (typeof pending)[number]): InFlight => ({
    id: p.id,
    island: p.island,
    origin: p.origin,
    parentIds: p.parentIds,
    parentScore: p.parentIds[0] ? (s.scores.get(p.parentIds[0]) ?? null) : null,
    arm: armOf(p.operator, p),
    cost: 0,
    attempt: p.attempt,
    code: p.code,
    prepared: analyzeCode(p.code, s.language),
    operatorParams: (p.operatorParams ?? undefined) as Record<string, unknown> | undefined,
  })
  const all = resubmitted.map(inFlight)
  for (const f of all) {
    budget.hold()
    s.code.set(f.id, f.code)
  }
  // server mode: what the queue still holds (queued, running, or answered to the previous engine)
  // is taken over as it is rather than evaluated again
  const adopted = await dispatcher.adopt(all)
  // the rest: the previous process may have run them, but no result was stored, so they ran to no effect
  await deps.db.sql(
    "UPDATE candidates SET attempt = attempt + 1, status = 'queued' WHERE run_id = $1 AND status IN ('queued', 'running') AND NOT (id = ANY($2::text[]))",
    [runId, [...adopted, ...live]],
  )
  const again = all.filter((f) => !adopted.has(f.id))
  for (const f of again) dispatcher.submit({ ...f, attempt: f.attempt + 1 })
  deps.log.info(
    `run ${runId}: ${adopted.size ? `took over ${adopted.size} evaluation(s) still in the queue, ` : ''}re-submitted ${again.length} evaluation(s) that were in flight${left.length ? ` (${left.length} more beyond the budget left not evaluated)` : ''}`,
  )
}
