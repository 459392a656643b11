import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { ProblemId } from '../../contracts/problem.ts'
import { RunConfig, RUN_STATUSES } from '../../runs/config.ts'
import { createRun, exportRun, listRuns, requireRun, resumeRunConfig, runSummary, setStatus } from '../../runs/service.ts'
import { audit } from '../../services/audit.ts'
import type { Context } from '../trpc.ts'
import { adminProcedure, router, viewerProcedure } from '../trpc.ts'

export const RunIdInput = z.object({ runId: z.string().min(1).max(64) })
export const ListRunsInput = z.object({ status: z.enum(RUN_STATUSES).optional(), limit: z.number().int().min(1).max(500).default(100) })
export const CreateRunInput = z.object({
  problemId: ProblemId,
  name: z.string().max(200).optional(),
  // the run config, bounded by its own schema (applied with defaults in the service)
  config: z.record(z.string().max(64), z.unknown()).refine((c) => JSON.stringify(c).length < 100_000, 'config too large'),
})
export const ResumeRunInput = RunIdInput.extend({ maxEvals: z.number().int().min(1).max(10_000_000).optional() })

/** Drive the run here when this process has an engine; otherwise an engine process picks it up. */
function launch(ctx: Context, runId: string) {
  ctx.app.runs?.launch(runId).catch((e) => ctx.app.log.error(`run ${runId}: ${(e as Error).message}`))
}

export const runsRouter = router({
  list: viewerProcedure.input(ListRunsInput).query(({ ctx, input }) => listRuns(ctx.app.db, input)),
  summary: viewerProcedure.input(RunIdInput).query(({ ctx, input }) => runSummary(ctx.app.db, input.runId)),
  create: adminProcedure.input(CreateRunInput).mutation(async ({ ctx, input }) => {
    const parsed = RunConfig.safeParse(input.config)
    if (!parsed.success) {
      const i = parsed.error.issues[0]
      throw new TRPCError({ code: 'BAD_REQUEST', message: `config.${i.path.join('.')}: ${i.message}` })
    }
    const r = await createRun(ctx.app.db, ctx.actor, { problemId: input.problemId, name: input.name, config: input.config })
    launch(ctx, r.id)
    return r
  }),
  resume: adminProcedure.input(ResumeRunInput).mutation(async ({ ctx, input }) => {
    const r = await resumeRunConfig(ctx.app.db, ctx.actor, input.runId, input.maxEvals)
    // an engine (here or in another process) picks up runs in an active status
    if (!ctx.app.runs?.get(input.runId)) await setStatus(ctx.app.db, input.runId, 'created', null)
    await audit(ctx.app.db.prisma, ctx.actor, { action: 'run.resume', targetType: 'run', targetId: input.runId, runId: input.runId })
    launch(ctx, input.runId)
    return r
  }),
  pause: adminProcedure.input(RunIdInput).mutation(async ({ ctx, input }) => {
    const run = await requireRun(ctx.app.db, input.runId)
    const engine = ctx.app.runs?.get(input.runId)
    if (engine) engine.pause()
    else if (run.status === 'evolving' || run.status === 'cold-start' || run.status === 'created') await setStatus(ctx.app.db, input.runId, 'paused', 'paused by a user')
    await audit(ctx.app.db.prisma, ctx.actor, { action: 'run.pause', targetType: 'run', targetId: input.runId, runId: input.runId, before: { status: run.status } })
    return { ok: true }
  }),
  stop: adminProcedure.input(RunIdInput).mutation(async ({ ctx, input }) => {
    const run = await requireRun(ctx.app.db, input.runId)
    const engine = ctx.app.runs?.get(input.runId)
    if (engine) engine.stop(`stopped by ${ctx.actor.label}`)
    else if (!['completed', 'stopped', 'failed'].includes(run.status)) await setStatus(ctx.app.db, input.runId, 'stopped', `stopped by ${ctx.actor.label}`)
    await audit(ctx.app.db.prisma, ctx.actor, { action: 'run.stop', targetType: 'run', targetId: input.runId, runId: input.runId, before: { status: run.status } })
    return { ok: true }
  }),
  export: viewerProcedure.input(RunIdInput).query(({ ctx, input }) => exportRun(ctx.app.db, input.runId)),
})
