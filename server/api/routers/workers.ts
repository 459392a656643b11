// Connected evaluation workers and their load.
import { listWorkers } from '../../console/workers.ts'
import { router, viewerProcedure } from '../trpc.ts'

export const workersRouter = router({
  list: viewerProcedure.query(({ ctx }) => listWorkers(ctx.app)),
})
