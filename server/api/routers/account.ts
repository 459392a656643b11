import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { AttemptWindow, windowFor } from '../../auth/attempts.ts'
import { verifyPassword } from '../../auth/auth.ts'
import { setPassword } from '../../services/users.ts'
import { router, viewerProcedure } from '../trpc.ts'

export const ChangePasswordInput = z.object({
  current: z.string().min(1).max(256),
  next: z.string().min(10, 'at least 10 characters').max(256),
})

/** wrong current passwords per user: 5 in 15 minutes, then a wait */
const wrongPasswordWindows = new WeakMap<object, AttemptWindow>()

export const accountRouter = router({
  // the two that answer a user who must change their password first
  me: viewerProcedure.meta({ access: 'viewer', passwordChange: true }).query(async ({ ctx }) => {
    const user = ctx.actor.id
      ? await ctx.app.db.prisma.user.findUnique({
          where: { id: ctx.actor.id },
          select: { id: true, email: true, name: true, role: true, mustChangePassword: true },
        })
      : null
    return (
      user ?? {
        id: null,
        email: ctx.actor.label,
        name: ctx.actor.label,
        role: ctx.actor.role,
        mustChangePassword: false,
      }
    )
  }),
  changePassword: viewerProcedure
    .meta({ access: 'viewer', passwordChange: true })
    .input(ChangePasswordInput)
    .mutation(async ({ ctx, input }) => {
      if (!ctx.actor.id) throw new TRPCError({ code: 'BAD_REQUEST', message: 'this identity has no password' })
      const account = await ctx.app.db.prisma.account.findFirst({
        where: { userId: ctx.actor.id, providerId: 'credential' },
        select: { password: true },
      })
      const wrongPasswords = windowFor(ctx.app, wrongPasswordWindows, () => new AttemptWindow(5, 15 * 60_000))
      const wait = wrongPasswords.waitS(ctx.actor.id)
      if (wait !== null)
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `too many wrong current passwords: try again in ${Math.ceil(wait / 60)} min`,
        })
      if (!account?.password || !(await verifyPassword(account.password, input.current))) {
        wrongPasswords.record(ctx.actor.id)
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'the current password is wrong' })
      }
      wrongPasswords.clear(ctx.actor.id)
      if (input.current === input.next) throw new TRPCError({ code: 'BAD_REQUEST', message: 'choose a new password' })
      const { tokensRevoked } = await setPassword(ctx.app.db, ctx.actor, ctx.actor.id, input.next)
      return { ok: true, tokensRevoked }
    }),
})
