import { TRPCError, tracked } from '@trpc/server'
import { z } from 'zod'
import { liveRun } from '../../queries/live.ts'
import {
  controls,
  escalateIsland,
  PreconditionError,
  retrieveKnowledge,
  setExploration,
  setMutationWeights,
} from '../../steering/interventions.ts'
import { ESCALATIONS } from '../../engine/escalations.ts'
import { runIsActive } from '../../runs/commands.ts'
import { interruptedHere, pauseRun, stopRun } from '../../runs/halt.ts'
import { deleteRun } from '../../services/deletion.ts'
import { drivenBy } from '../../runs/lease.ts'
import { keepFor, TtlCache, runVersion } from '../../queries/cache.ts'
import { Slots } from '../../queries/slots.ts'
import { auditExport } from '../run-export.ts'
import { heatmap, recentEvents, runOverview, seriesSnapshot } from '../../queries/run-data.ts'
import { compareRuns } from '../../queries/compare-data.ts'
import { forkPreview, forkRun, runFamily } from '../../steering/fork.ts'
import { MAX_COMPARE, MIN_COMPARE } from '../../../client-safe/compare.ts'
import { LOCAL_OPERATOR_NAMES } from '../../../client-safe/run-config.ts'
import { ProblemId } from '../../contracts/problem.ts'
import { RunConfig, RUN_STATUSES, SEED_PROGRAMS_MAX_CHARS } from '../../../client-safe/run-config.ts'
import {
  createRun,
  exportRun,
  listRuns,
  requireRun,
  resumeRunConfig,
  runSummary,
  setStatus,
} from '../../runs/service.ts'
import { audit } from '../../services/audit.ts'
import { roleAtLeast } from '../../auth/roles.ts'
import { ConflictError } from '../../errors.ts'
import { evaluateHeldOut, heldOutReport } from '../../runs/held-out.ts'
import type { Context } from '../trpc.ts'
import { adminProcedure, expertProcedure, router, viewerProcedure } from '../trpc.ts'

export const RunIdInput = z.object({ runId: z.string().min(1).max(64) })
/** runs.export answers one value: a run larger than this goes through the streamed download */
export const API_EXPORT_MAX_BYTES = 32 * 2 ** 20
const exportSlots = new Slots(2)
export const ListRunsInput = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.number().int().min(1).max(500).default(100),
  /** the next page: runs after this one in the list's order (newest first), by its createdAt and id */
  after: z.object({ createdAt: z.iso.datetime({ offset: true }), id: z.string().min(1).max(64) }).optional(),
  /** the start of a run id, as the CLI's progress lines print it (8 characters) */
  idPrefix: z
    .string()
    .min(4)
    .max(36)
    .regex(/^[0-9a-f-]+$/, 'the start of a run id: 0-9, a-f and -')
    .optional(),
})
/**
 * A run config before its schema: 100 kB of settings, besides the seed programs a user uploads,
 * which have their own bounds (SEED_PROGRAM_MAX_CHARS each, SEED_PROGRAMS_MAX_CHARS in all; their
 * JSON may take up to 3 bytes a character).
 */
const RunConfigRecord = z
  .record(z.string().max(64), z.unknown())
  .refine(
    ({ seedPrograms, ...settings }) => JSON.stringify(settings).length < 100_000,
    'the run settings are over 100 kB of JSON',
  )
  .refine(
    (c) => JSON.stringify(c.seedPrograms ?? []).length <= 3 * SEED_PROGRAMS_MAX_CHARS,
    `the seed programs are over ${SEED_PROGRAMS_MAX_CHARS.toLocaleString('en-US')} characters in all`,
  )

export const CreateRunInput = z.object({
  problemId: ProblemId,
  name: z.string().max(200).optional(),
  // the run config, bounded by its own schema (applied with defaults in the service)
  config: RunConfigRecord,
})
export const ResumeRunInput = RunIdInput.extend({
  maxEvals: z.number().int().min(1).max(10_000_000).optional(),
  /** a new spend cap, USD */
  maxSpendUsd: z.number().positive().max(1_000_000).optional(),
})
const EvalRange = z
  .object({ lo: z.number().int().min(0).max(100_000_000), hi: z.number().int().min(0).max(100_000_000) })
  .refine((r) => r.hi >= r.lo, 'hi must be ≥ lo')
export const SeriesInput = RunIdInput.extend({
  range: EvalRange.nullish(),
  buckets: z.number().int().min(10).max(2000).optional(),
})
export const HeatmapInput = RunIdInput.extend({
  axes: z.array(z.string().min(1).max(64)).max(2).optional(),
  island: z.number().int().min(0).max(1024).nullish(),
})
export const EventsInput = RunIdInput.extend({ limit: z.number().int().min(1).max(1000).default(200) })
/** `lastEventId` is the cursor of the last message seen: tRPC's SSE link sends it back on reconnect */
export const LiveInput = RunIdInput.extend({ lastEventId: z.string().max(100).nullish() })
export const ExplorationInput = RunIdInput.extend({
  value: z.number().min(0).max(1),
  island: z.number().int().min(0).max(1024).nullable().default(null),
})
export const WeightsInput = RunIdInput.extend({
  models: z.array(z.number().min(0).max(1e6)).max(16).optional(),
  localOperators: z.partialRecord(z.enum(LOCAL_OPERATOR_NAMES), z.number().min(0).max(1000)).optional(),
}).refine((w) => !!w.models !== !!w.localOperators, 'give model weights or operator weights')
export const CompareInput = z.object({
  runIds: z
    .array(z.string().min(1).max(64))
    .min(MIN_COMPARE)
    .max(MAX_COMPARE)
    .refine((ids) => new Set(ids).size === ids.length, 'each run once'),
  points: z.number().int().min(20).max(2000).optional(),
})
export const ForkSourceInput = RunIdInput.extend({ candidateId: z.string().min(1).max(64) })
export const ForkInput = ForkSourceInput.extend({
  withIsland: z.boolean().default(false),
  name: z.string().max(200).optional(),
  // the edited run config, bounded by its own schema (seed programs are made by the server)
  config: RunConfigRecord,
})
export const RetrieveInput = RunIdInput.extend({ island: z.number().int().min(0).max(1024) })
export const EscalateInput = RunIdInput.extend({
  island: z.number().int().min(0).max(1024),
  action: z.enum(ESCALATIONS),
})

// heavy reads shared by the watchers of a run (keys carry the run's version: see cache.ts)
const seriesCache = new TtlCache<Awaited<ReturnType<typeof seriesSnapshot>>>(3000, 100)
const heatmapCache = new TtlCache<Awaited<ReturnType<typeof heatmap>>>(3000, 100)

/** Services say when an action needs the engine this process does not have. */
export async function orPrecondition<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (e instanceof PreconditionError)
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: e.message, cause: e })
    throw e
  }
}

/** Drive the run here when this process has an engine; otherwise an engine process picks it up. */
function launch(ctx: Context, runId: string) {
  ctx.app.runs?.launch(runId).catch((e) => ctx.app.log.error(`run ${runId}: ${(e as Error).message}`))
}

export const HeldOutInput = RunIdInput.extend({ topK: z.number().int().min(1).max(50).optional() })

export const runsRouter = router({
  /** search score against held-out score for the run's top candidates (the problem's held-out stage) */
  heldOut: viewerProcedure
    .input(HeldOutInput)
    .query(({ ctx, input }) => heldOutReport(ctx.app.db, input.runId, input.topK ? { topK: input.topK } : {})),
  /** re-evaluates the top candidates on the held-out stage now, through this process's workers; answers at once */
  checkHeldOut: expertProcedure.input(HeldOutInput).mutation(async ({ ctx, input }) => {
    await requireRun(ctx.app.db, input.runId)
    const report = await heldOutReport(ctx.app.db, input.runId)
    if (!report.declared)
      throw new PreconditionError("this run's problem declares no held-out stage (heldOut in problem.json)")
    const backend = ctx.app.backend
    if (!backend)
      throw new PreconditionError(
        'this process has no evaluation workers; ask the console server or run `fm-agent held-out` where the workers are',
      )
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'run.held-out',
      targetType: 'run',
      targetId: input.runId,
      runId: input.runId,
      after: { topK: input.topK ?? report.topK },
    })
    const done = evaluateHeldOut({ db: ctx.app.db, backend, log: ctx.app.log }, input.runId, { topK: input.topK })
    // the evaluations take as long as they take: the console follows the report
    done.catch((e) => ctx.app.log.warn(`held-out stage of run ${input.runId} failed: ${(e as Error).message}`))
    return { started: true, topK: input.topK ?? report.topK }
  }),
  list: viewerProcedure.input(ListRunsInput).query(({ ctx, input }) => listRuns(ctx.app.db, input)),
  /** how many runs there are (of a status): what a list of the newest leaves out */
  count: viewerProcedure
    .input(ListRunsInput.pick({ status: true }))
    .query(({ ctx, input }) => ctx.app.db.prisma.run.count({ where: input.status ? { status: input.status } : {} })),
  summary: viewerProcedure.input(RunIdInput).query(({ ctx, input }) => runSummary(ctx.app.db, input.runId)),
  create: adminProcedure.input(CreateRunInput).mutation(async ({ ctx, input }) => {
    const parsed = RunConfig.safeParse(input.config)
    if (!parsed.success) {
      const i = parsed.error.issues[0]
      throw new TRPCError({ code: 'BAD_REQUEST', message: `config.${i.path.join('.')}: ${i.message}` })
    }
    const r = await createRun(ctx.app.db, ctx.actor, {
      problemId: input.problemId,
      name: input.name,
      config: input.config,
    })
    launch(ctx, r.id)
    return r
  }),
  resume: adminProcedure.input(ResumeRunInput).mutation(async ({ ctx, input }) => {
    const before = await requireRun(ctx.app.db, input.runId)
    // a headless run answers for its own run: another resumed through it would have no engine
    const only = ctx.app.drivesOnly
    if (only && only !== input.runId)
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: `a headless fm-agent run (of run ${only.slice(0, 8)}) holds this data folder: resume run ${input.runId.slice(0, 8)} when it ends, or run both under the console (fm-agent start)`,
      })
    // a run an engine still drives (evolving, or draining for a pause) has nothing to resume: its
    // engine would end it paused a moment later, the resume acknowledged and lost
    if (runIsActive(before.status) && !(await interruptedHere(ctx.app, before))) {
      const lease = await ctx.app.db.prisma.run.findUnique({
        where: { id: input.runId },
        select: { leaseOwner: true, leaseUntil: true },
      })
      const by = ctx.app.runs?.get(input.runId)
        ? 'this server'
        : lease && drivenBy(ctx.app.db, { status: before.status, ...lease })
      if (by)
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: `the run is ${before.status}, driven by ${by}: nothing to resume (if it is pausing, resume it once it has paused)`,
        })
    }
    // claimed before anything changes: of two admins resuming at once, the second finds the run
    // changed and is refused, instead of writing its budget over the first's and auditing a resume
    const { statusReason } = await ctx.app.db.prisma.run.findUniqueOrThrow({
      where: { id: input.runId },
      select: { statusReason: true },
    })
    const claim = `resuming (asked by ${ctx.actor.label})`
    const { count } = await ctx.app.db.prisma.run.updateMany({
      where: { id: input.runId, status: before.status, statusReason },
      data: { statusReason: claim },
    })
    if (!count)
      throw new ConflictError(
        'the run changed while this resume was asked (another admin resumed, paused or stopped it): look at it again',
      )
    let r: Awaited<ReturnType<typeof resumeRunConfig>>
    try {
      r = await resumeRunConfig(ctx.app.db, ctx.actor, input.runId, input.maxEvals, input.maxSpendUsd)
    } catch (e) {
      await ctx.app.db.prisma.run.updateMany({
        where: { id: input.runId, statusReason: claim },
        data: { statusReason },
      })
      throw e
    }
    // an engine (here or in another process) picks up runs in an active status
    if (!ctx.app.runs?.get(input.runId)) await setStatus(ctx.app.db, input.runId, 'created', null)
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'run.resume',
      targetType: 'run',
      targetId: input.runId,
      runId: input.runId,
      before: { status: before.status, maxEvals: before.config.budget.maxEvals },
      after: { status: 'resumed', maxEvals: r.maxEvals },
    })
    launch(ctx, input.runId)
    return r
  }),
  // an active run is paused or stopped by its engine (the control channel), wherever it runs
  pause: adminProcedure
    .input(RunIdInput)
    .mutation(async ({ ctx, input }) => ({ ok: true, command: await pauseRun(ctx.app, ctx.actor, input.runId) })),
  stop: adminProcedure
    .input(RunIdInput)
    .mutation(async ({ ctx, input }) => ({ ok: true, command: await stopRun(ctx.app, ctx.actor, input.runId) })),
  /** a run no engine drives, with everything it made (server/services/deletion.ts) */
  delete: adminProcedure.input(RunIdInput).mutation(async ({ ctx, input }) => {
    const r = await deleteRun(ctx.app.db, input.runId)
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'run.delete',
      targetType: 'run',
      targetId: input.runId,
      runId: input.runId,
      before: { problemId: r.problemId, candidates: r.candidates },
    })
    return r
  }),
  /**
   * The problem's files (evaluator, held-out data) only for admins, who may import problem folders.
   * One value in memory: bounded, and two at a time in the process (a viewer's batch of 140 had
   * taken the web process to 3.9 GB); a larger run goes through the streamed download route.
   */
  export: viewerProcedure.input(RunIdInput).query(({ ctx, input }) =>
    exportSlots.run(async () => {
      const file = await exportRun(ctx.app.db, input.runId, {
        withProblem: roleAtLeast(ctx.actor.role, 'admin'),
        maxBytes: API_EXPORT_MAX_BYTES,
      })
      await auditExport(ctx.app, ctx.actor, input.runId)
      return file
    }),
  ),
  /** what a fork from this candidate starts with: the source run's configuration and what would seed it */
  forkPreview: adminProcedure.input(ForkSourceInput).query(({ ctx, input }) => forkPreview(ctx.app.db, input)),
  /** a new run from a candidate (and optionally its island's population), on the source run's problem */
  fork: adminProcedure.input(ForkInput).mutation(async ({ ctx, input }) => {
    const r = await forkRun(ctx.app, ctx.actor, input)
    launch(ctx, r.id)
    return r
  }),

  // ---------------------------------------------------------------- the console's dashboard
  overview: viewerProcedure.input(RunIdInput).query(async ({ ctx, input }) => ({
    ...(await runOverview(ctx.app.db, input.runId)),
    driven: !!ctx.app.runs?.get(input.runId),
    /** where it was forked from, and the runs forked from it */
    family: await runFamily(ctx.app.db, input.runId),
  })),
  /** downsampled chart data (whole run, or a zoomed evaluation range) and the cursor to go live from */
  series: viewerProcedure.input(SeriesInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    return seriesCache.get(
      JSON.stringify([input, v]),
      () => seriesSnapshot(ctx.app.db, input.runId, { range: input.range, buckets: input.buckets }),
      undefined,
      keepFor(v),
    )
  }),
  heatmap: viewerProcedure.input(HeatmapInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    return heatmapCache.get(
      JSON.stringify([input, v]),
      () => heatmap(ctx.app.db, input.runId, { axes: input.axes, island: input.island }),
      undefined,
      keepFor(v),
    )
  }),
  /** 2–8 runs side by side: final state, configuration, best so far downsampled per run */
  compare: viewerProcedure
    .input(CompareInput)
    .query(({ ctx, input }) => compareRuns(ctx.app.db, input.runIds, { points: input.points })),
  events: viewerProcedure
    .input(EventsInput)
    .query(({ ctx, input }) => recentEvents(ctx.app.db, input.runId, input.limit)),
  /**
   * The live feed: evaluations, metric rows, events and status after a cursor. Each message is a
   * tracked SSE event whose id is the cursor after it, so a reconnecting client resumes exactly.
   */
  live: viewerProcedure.input(LiveInput).subscription(async function* ({ ctx, input, signal }) {
    // a generator runs after the middleware: map "no such run" here
    if (!(await ctx.app.db.prisma.run.findUnique({ where: { id: input.runId }, select: { id: true } })))
      throw new TRPCError({ code: 'NOT_FOUND', message: `no run "${input.runId}"` })
    const ac = signal ?? new AbortController().signal
    for await (const msg of liveRun({ db: ctx.app.db, events: ctx.app.events }, input.runId, input.lastEventId, ac)) {
      yield tracked(msg.cursor, msg)
    }
  }),
  controls: viewerProcedure.input(RunIdInput).query(({ ctx, input }) => controls(ctx.app, input.runId)),
  /** experts steer: exploration for the run or one island (recorded) */
  setExploration: expertProcedure
    .input(ExplorationInput)
    .mutation(({ ctx, input }) => orPrecondition(() => setExploration(ctx.app, ctx.actor, input))),
  /** admins change what the run spends on: model weights (LLM runs) or operator weights (offline runs) */
  setWeights: adminProcedure
    .input(WeightsInput)
    .mutation(({ ctx, input }) => orPrecondition(() => setMutationWeights(ctx.app, ctx.actor, input))),
  /** knowledge for one island's next prompts, on an expert's request */
  retrieve: expertProcedure
    .input(RetrieveInput)
    .mutation(({ ctx, input }) => orPrecondition(() => retrieveKnowledge(ctx.app, ctx.actor, input))),
  escalate: expertProcedure
    .input(EscalateInput)
    .mutation(({ ctx, input }) => orPrecondition(() => escalateIsland(ctx.app, ctx.actor, input))),
})
