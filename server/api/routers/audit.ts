import { z } from 'zod'
import { adminProcedure, router } from '../trpc.ts'

export const AuditListInput = z.object({
  action: z.string().max(100).optional(),
  actor: z.string().max(254).optional(),
  runId: z.string().max(64).optional(),
  // an audit_events.id (a Postgres bigint)
  before: z
    .bigint()
    .min(0n)
    .max(2n ** 63n - 1n)
    .optional(),
  limit: z.number().int().min(1).max(500).default(100),
})

export const auditRouter = router({
  list: adminProcedure.input(AuditListInput).query(async ({ ctx, input }) => {
    const rows = await ctx.app.db.prisma.auditEvent.findMany({
      where: {
        action: input.action ? { startsWith: input.action } : undefined,
        actorLabel: input.actor ? { contains: input.actor, mode: 'insensitive' } : undefined,
        runId: input.runId,
        id: input.before ? { lt: input.before } : undefined,
      },
      orderBy: { id: 'desc' },
      take: input.limit,
    })
    return { rows, next: rows.length === input.limit ? rows[rows.length - 1].id : null }
  }),
})
