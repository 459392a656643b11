import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { ProblemId } from '../../contracts/problem.ts'
import { ProblemLoadError } from '../../problems/load.ts'
import {
  getProblem,
  importProblem,
  listProblems,
  ProblemIdConflictError,
  readinessHere,
  summarize,
} from '../../services/problem-catalog.ts'
import { audit } from '../../services/audit.ts'
import { deleteProblem } from '../../services/deletion.ts'
import { adminProcedure, router, viewerProcedure } from '../trpc.ts'

export const ProblemIdInput = z.object({ id: ProblemId })
export const ImportProblemInput = z.object({ path: z.string().min(1).max(1000) })

export const problemsRouter = router({
  list: viewerProcedure.query(({ ctx }) => listProblems(ctx.app.db)),
  get: viewerProcedure.input(ProblemIdInput).query(async ({ ctx, input }) => {
    const row = await getProblem(ctx.app.db, input.id)
    if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: `no problem "${input.id}"` })
    return {
      ...summarize(row, await readinessHere(ctx.app.db, row.spec)),
      description: row.description,
      seedCode: row.seedCode,
      runDefaults: row.runDefaults,
      warnings: row.warnings,
      spec: row.spec,
    }
  }),
  /** an imported problem no run uses; its knowledge documents stay, unscoped */
  delete: adminProcedure.input(ProblemIdInput).mutation(async ({ ctx, input }) => {
    const r = await deleteProblem(ctx.app.db, input.id)
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'problem.delete',
      targetType: 'problem',
      targetId: input.id,
      before: { id: input.id },
      after: r,
    })
    return r
  }),
  /** a folder on the server's machine (native, OpenEvolve or ShinkaEvolve format), or a KernelBench task file */
  import: adminProcedure.input(ImportProblemInput).mutation(async ({ ctx, input }) => {
    try {
      const r = await importProblem(ctx.app.db, input.path)
      await audit(ctx.app.db.prisma, ctx.actor, {
        action: 'problem.import',
        targetType: 'problem',
        targetId: r.id,
        after: r,
      })
      return r
    } catch (e) {
      if (e instanceof ProblemIdConflictError) throw new TRPCError({ code: 'CONFLICT', message: e.message })
      if (e instanceof ProblemLoadError) throw new TRPCError({ code: 'BAD_REQUEST', message: (e as Error).message })
      throw e
    }
  }),
})
