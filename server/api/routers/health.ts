import { publicProcedure, router } from '../trpc.ts'

export const healthRouter = router({
  check: publicProcedure.query(({ ctx }) => ({ ok: true as const, mode: ctx.app.db.mode, time: new Date() })),
})
