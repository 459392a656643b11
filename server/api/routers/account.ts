import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { AttemptWindow, windowFor } from '../../auth/attempts.ts'
import { verifyPassword } from '../../auth/auth.ts'
import { currentSessionId, endOwnSession, endUserSessions, listSessions } from '../../auth/sessions.ts'
import { setPassword } from '../../services/users.ts'
import { router, viewerProcedure } from '../trpc.ts'

export const ChangePasswordInput = z.object({
  current: z.string().min(1).max(256),
  next: z.string().min(10, 'at least 10 characters').max(256),
})

// Better Auth's session ids are 32 characters; the bound leaves room without taking an essay
export const SessionIdInput = z.object({ sessionId: z.string().min(1).max(128) })

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
      const keep = await currentSessionId(ctx.app.auth, ctx.headers)
      const { sessionsEnded, tokensRevoked } = await setPassword(ctx.app.db, ctx.actor, ctx.actor.id, input.next, keep)
      return { ok: true, sessionsEnded, tokensRevoked }
    }),
  // a user's own sign-in sessions (a shared machine, a lost laptop): seen and ended by id, never by token
  sessions: viewerProcedure.query(async ({ ctx }) => {
    const userId = ownSessionsOf(ctx.actor)
    return listSessions(ctx.app.db, userId, await currentSessionId(ctx.app.auth, ctx.headers))
  }),
  endSession: viewerProcedure.input(SessionIdInput).mutation(({ ctx, input }) => {
    const userId = ownSessionsOf(ctx.actor)
    return endOwnSession(ctx.app.db, { ...ctx.actor, id: userId }, input.sessionId)
  }),
  // from a token (no session of its own) this ends every session of the user
  endOtherSessions: viewerProcedure.mutation(async ({ ctx }) => {
    const userId = ownSessionsOf(ctx.actor)
    return endUserSessions(ctx.app.db, ctx.actor, userId, await currentSessionId(ctx.app.auth, ctx.headers))
  }),
})

function ownSessionsOf(actor: { id: string | null }): string {
  if (!actor.id)
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'this identity has no sign-in sessions: sign in as a user' })
  return actor.id
}
