// Connected evaluation workers and their load.
import { listWorkers, unsandboxedRuns } from '../../queries/workers.ts'
import { router, viewerProcedure } from '../trpc.ts'

export const workersRouter = router({
  list: viewerProcedure.query(({ ctx }) => listWorkers(ctx.app)),
  /** active runs while a worker evaluates without a sandbox (FM_ALLOW_UNSANDBOXED=1): the console's red banner */
  unsandboxed: viewerProcedure.query(({ ctx }) => unsandboxedRuns(ctx.app)),
})
