import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { createToken, listTokens, revokeToken, TOKEN_SCOPES } from '../../services/tokens.ts'
import { adminProcedure, router, viewerProcedure } from '../trpc.ts'

export const CreateTokenInput = z.object({
  name: z.string().trim().min(1, 'a token needs a name (what it is for: a laptop, a CI job)').max(100),
  scope: z.enum(TOKEN_SCOPES),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
})
export const RevokeTokenInput = z.object({ id: z.string().uuid() })

export const tokensRouter = router({
  /** the caller's own tokens */
  mine: viewerProcedure.query(({ ctx }) => (ctx.actor.id ? listTokens(ctx.app.db, ctx.actor.id) : [])),
  all: adminProcedure.query(({ ctx }) => listTokens(ctx.app.db)),
  create: viewerProcedure.input(CreateTokenInput).mutation(({ ctx, input }) => {
    if (!ctx.actor.id) throw new TRPCError({ code: 'BAD_REQUEST', message: 'this identity cannot own tokens' })
    // a leaked token must not be able to mint its own successors (and outlive its revocation)
    if (ctx.bearerToken)
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: 'tokens are created from a signed-in session (Settings → Tokens), not with a token',
      })
    if (input.scope === 'worker' && ctx.actor.role !== 'admin')
      throw new TRPCError({ code: 'FORBIDDEN', message: 'worker tokens are for admins' })
    const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : undefined
    return createToken(ctx.app.db, ctx.actor, { userId: ctx.actor.id, name: input.name, scope: input.scope, expiresAt })
  }),
  revoke: viewerProcedure.input(RevokeTokenInput).mutation(async ({ ctx, input }) => {
    const row = await ctx.app.db.prisma.apiToken.findUnique({ where: { id: input.id }, select: { userId: true } })
    if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: 'no such token' })
    if (row.userId !== ctx.actor.id && ctx.actor.role !== 'admin')
      throw new TRPCError({ code: 'FORBIDDEN', message: 'not your token' })
    return revokeToken(ctx.app.db, ctx.actor, input.id)
  }),
})
