// tRPC set-up: context (who is calling), and procedure kinds by role. Every procedure carries
// its access level in `meta`, so tests can enumerate the router and check each one.
import { initTRPC, TRPCError } from '@trpc/server'
import superjson from 'superjson'
import { ZodError } from 'zod'
import type { AppServices } from '../app.ts'
import { type Actor, type Role, roleAtLeast } from '../auth/roles.ts'
import { resolveToken, type TokenScope } from '../services/tokens.ts'
import { UserError } from '../services/users.ts'
import { BadInputError, ConflictError, NotFoundError, PreconditionError, PrerequisiteError } from '../errors.ts'

export type Access = 'public' | Role
export interface Meta {
  access: Access
  /** worker-scoped tokens may call only procedures that say so */
  worker?: boolean
  /** answers a user who must change their password first (only their account and the change itself) */
  passwordChange?: boolean
}

export interface Context {
  app: AppServices
  actor: Actor | null
  tokenScope: TokenScope | null
  /** the request's headers, for Better Auth calls made on the user's behalf */
  headers: Headers
  /** the caller's password is a one-time (or reset) one: nothing but the change until it is changed */
  mustChangePassword?: boolean
}

/** Who is calling: a bearer token (CLI, workers) or a Better Auth session cookie. */
export async function createContext(app: AppServices, headers: Headers): Promise<Context> {
  const authz = headers.get('authorization')
  if (authz?.toLowerCase().startsWith('bearer ')) {
    const resolved = await resolveToken(app.db, authz.slice(7).trim())
    if (!resolved) return { app, actor: null, tokenScope: null, headers }
    const { scope, mustChangePassword, ...actor } = resolved
    return { app, actor, tokenScope: scope, headers, mustChangePassword }
  }
  if (app.auth && headers.get('cookie')) {
    const session = await app.auth.api.getSession({ headers }).catch(() => null)
    const user = session?.user as
      | { id: string; email: string; role?: string; disabled?: boolean; mustChangePassword?: boolean }
      | undefined
    if (user && !user.disabled) {
      const actor: Actor = { id: user.id, label: user.email, role: (user.role ?? 'viewer') as Role, via: 'session' }
      return { app, actor, tokenScope: null, headers, mustChangePassword: !!user.mustChangePassword }
    }
  }
  return { app, actor: null, tokenScope: null, headers }
}

export { BadInputError, ConflictError, NotFoundError }

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    isDev: false,
    errorFormatter({ shape, error }) {
      // never a stack trace or an internal message in a response
      const internal = shape.data.code === 'INTERNAL_SERVER_ERROR'
      return {
        ...shape,
        message: internal ? 'internal error (see the server log)' : shape.message,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          zodIssues:
            error.cause instanceof ZodError
              ? error.cause.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }))
              : undefined,
        },
      }
    },
  })

export const router = t.router
export const createCallerFactory = t.createCallerFactory
export const middleware = t.middleware

const mapErrors = t.middleware(async ({ next, ctx, path }) => {
  const result = await next()
  if (!result.ok) {
    const cause = result.error.cause
    const as = (code: TRPCError['code']) => new TRPCError({ code, message: cause!.message, cause })
    if (cause instanceof UserError || cause instanceof BadInputError) throw as('BAD_REQUEST')
    if (cause instanceof NotFoundError) throw as('NOT_FOUND')
    if (cause instanceof ConflictError) throw as('CONFLICT')
    if (cause instanceof PrerequisiteError || cause instanceof PreconditionError) throw as('PRECONDITION_FAILED')
    if (result.error.code === 'INTERNAL_SERVER_ERROR')
      ctx.app.log.error(`${path}: ${cause?.stack ?? result.error.message}`)
  }
  return result
})

export const PASSWORD_CHANGE_FIRST =
  'change your password first (Settings → Account): until then only the password change and signing out work'

const requireAccess = t.middleware(({ ctx, meta, next }) => {
  const access = meta?.access === 'public' || !meta ? 'admin' : meta.access
  if (!ctx.actor) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' })
  if (ctx.tokenScope === 'worker' && !meta?.worker)
    throw new TRPCError({ code: 'FORBIDDEN', message: 'a worker token cannot call this' })
  if (ctx.mustChangePassword && !meta?.passwordChange) {
    throw new TRPCError({ code: 'FORBIDDEN', message: PASSWORD_CHANGE_FIRST })
  }
  if (!roleAtLeast(ctx.actor.role, access))
    throw new TRPCError({ code: 'FORBIDDEN', message: `needs the ${access} role` })
  const actor: Actor = ctx.actor
  return next({ ctx: { ...ctx, actor } })
})

/** Deeper than any input schema goes (an open run config included): refused before a recursive walk can overflow. */
export const MAX_INPUT_DEPTH = 64
const MAX_INPUT_PARTS = 200_000
// half of a UTF-16 pair: not encodable as UTF-8, so the database driver fails on it
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * What no schema should have to think about: NUL characters and lone surrogates (PostgreSQL
 * cannot store them in text or jsonb, so they would surface as a database error, a 500) and nesting deep enough to
 * overflow the stack of a recursive walk (zod, JSON.stringify, Prisma). Iterative on purpose.
 */
export function rawInputProblem(raw: unknown): string | null {
  const stack: Array<[unknown, number]> = [[raw, 0]]
  let parts = 0
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return 'text may not contain NUL characters'
      if (LONE_SURROGATE.test(v)) return 'text must be valid Unicode (it holds a lone surrogate)'
      continue
    }
    if (v === null || typeof v !== 'object') continue
    if (depth >= MAX_INPUT_DEPTH) return `the input is nested deeper than ${MAX_INPUT_DEPTH} levels`
    if ((parts += 1) > MAX_INPUT_PARTS) return 'the input has too many parts'
    if (v instanceof Date) continue
    const children: unknown[] =
      v instanceof Map
        ? [...v.keys(), ...v.values()]
        : v instanceof Set
          ? [...v]
          : [...Object.keys(v), ...Object.values(v)]
    for (const c of children) stack.push([c, depth + 1])
  }
  return null
}

const guardInput = t.middleware(async ({ getRawInput, next }) => {
  const problem = rawInputProblem(await getRawInput())
  if (problem) throw new TRPCError({ code: 'BAD_REQUEST', message: problem })
  return next()
})

const base = t.procedure.use(mapErrors)
export const publicProcedure = base.meta({ access: 'public' }).use(guardInput)
export const viewerProcedure = base.meta({ access: 'viewer' }).use(requireAccess).use(guardInput)
/** any signed-in user */
export const protectedProcedure = viewerProcedure
export const expertProcedure = base.meta({ access: 'expert' }).use(requireAccess).use(guardInput)
export const adminProcedure = base.meta({ access: 'admin' }).use(requireAccess).use(guardInput)
