import { z } from 'zod'
import { currentSessionId, endUserSessions } from '../../auth/sessions.ts'
import { Role } from '../../auth/roles.ts'
import { createUser, generatePassword, listUsers, setPassword, updateUser } from '../../services/users.ts'
import { adminProcedure, router } from '../trpc.ts'

export const CreateUserInput = z.object({
  email: z.email().max(254),
  name: z.string().min(1).max(100).optional(),
  role: Role,
})
export const UpdateUserInput = z.object({
  id: z.string().min(1).max(64),
  role: Role.optional(),
  disabled: z.boolean().optional(),
  name: z.string().min(1).max(100).optional(),
})
export const UserIdInput = z.object({ id: z.string().min(1).max(64) })
export const EndSessionsInput = z.object({ userId: z.string().min(1).max(64) })

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.app.db)),
  create: adminProcedure.input(CreateUserInput).mutation(async ({ ctx, input }) => {
    const r = await createUser(ctx.app.db, ctx.actor, input)
    return { user: r.user, oneTimePassword: r.password }
  }),
  update: adminProcedure.input(UpdateUserInput).mutation(({ ctx, input }) => {
    const { id, ...patch } = input
    return updateUser(ctx.app.db, ctx.actor, id, patch)
  }),
  resetPassword: adminProcedure.input(UserIdInput).mutation(async ({ ctx, input }) => {
    const password = generatePassword()
    const { tokensRevoked } = await setPassword(ctx.app.db, ctx.actor, input.id, password)
    return { oneTimePassword: password, tokensRevoked }
  }),
  // signs a user out everywhere (a shared machine, a lost laptop) without disabling the account;
  // an admin ending their own keeps the session they do it from
  endSessions: adminProcedure.input(EndSessionsInput).mutation(async ({ ctx, input }) => {
    const keep = input.userId === ctx.actor.id ? await currentSessionId(ctx.app.auth, ctx.headers) : null
    return endUserSessions(ctx.app.db, ctx.actor, input.userId, keep)
  }),
})
