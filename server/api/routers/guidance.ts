// Natural-language guidance: experts write hints for a run or one island, active until an
// expiry (evaluations or time) or until withdrawn; the engine puts active hints into the next
// prompts and records them on every candidate made under them.
import { z } from 'zod'
import { HINT_MAX_EVALS, HINT_MAX_MINUTES, HINT_MIN_MINUTES } from '../../../client-safe/hint-form.ts'
import { TtlCache, runVersion } from '../../queries/cache.ts'
import { createGuidance, listGuidance, withdrawGuidance } from '../../steering/interventions.ts'
import { expertProcedure, router, viewerProcedure } from '../trpc.ts'
import { RunIdInput } from './runs.ts'

export const CreateGuidanceInput = RunIdInput.extend({
  text: z.string().min(1).max(4000),
  /** null: the whole run */
  island: z.number().int().min(0).max(1024).nullable().default(null),
  expiresAfterEvals: z.number().int().min(1).max(HINT_MAX_EVALS).nullish(),
  expiresInMinutes: z.number().min(HINT_MIN_MINUTES).max(HINT_MAX_MINUTES).nullish(),
})
export const GuidanceIdInput = RunIdInput.extend({ id: z.string().min(1).max(64) })

// every open guidance panel polls the list: the watchers of a run share one answer per run version
// (see cache.ts), and a hint given or withdrawn makes a new one at once (its key counts them)
const listCache = new TtlCache<Awaited<ReturnType<typeof listGuidance>>>(3000, 100)

export const guidanceRouter = router({
  list: viewerProcedure.input(RunIdInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    const { _count } = await ctx.app.db.prisma.guidance.aggregate({
      where: { runId: input.runId },
      _count: { _all: true, withdrawnAt: true },
    })
    return listCache.get(JSON.stringify([input.runId, v, _count._all, _count.withdrawnAt]), () =>
      listGuidance(ctx.app, input.runId),
    )
  }),
  create: expertProcedure
    .input(CreateGuidanceInput)
    .mutation(({ ctx, input }) => createGuidance(ctx.app, ctx.actor, input)),
  withdraw: expertProcedure
    .input(GuidanceIdInput)
    .mutation(({ ctx, input }) => withdrawGuidance(ctx.app, ctx.actor, input)),
})
