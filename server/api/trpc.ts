// tRPC set-up: context (who is calling), and procedure kinds by role. Every procedure carries
// its access level in `meta`, so tests can enumerate the router and check each one.
import { initTRPC, TRPCError } from '@trpc/server'
import superjson from 'superjson'
import { ZodError } from 'zod'
import type { AppServices } from '../app.ts'
import { type Actor, type Role, roleAtLeast } from '../auth/roles.ts'
import { resolveToken, tokenRefusal, type TokenScope } from '../services/tokens.ts'
import { UserError } from '../services/users.ts'
import { guardStream, takeStreamSlot } from './stream-guard.ts'
import {
  BadInputError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionError,
  PrerequisiteError,
} from '../errors.ts'

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
  /**
   * Resolves the caller again from the same credentials: what a long-lived stream checks while it
   * runs. Absent where the identity cannot change under it (in-process callers).
   */
  resolveAgain?: () => Promise<Context>
  /** the caller presented an API token over HTTP (not a session, not the owner's local socket) */
  bearerToken?: boolean
  /** why a token that resolves to no one is refused (expired, revoked), in place of "sign in first" */
  signInRefusal?: string
}

/** Who is calling: a bearer token (CLI, workers) or a Better Auth session cookie. */
export async function createContext(app: AppServices, headers: Headers): Promise<Context> {
  const resolveAgain = () => createContext(app, headers)
  const authz = headers.get('authorization')
  if (authz?.toLowerCase().startsWith('bearer ')) {
    const token = authz.slice(7).trim()
    const resolved = await resolveToken(app.db, token)
    if (!resolved) {
      const signInRefusal = (await tokenRefusal(app.db, token)) ?? undefined
      return { app, actor: null, tokenScope: null, headers, resolveAgain, signInRefusal }
    }
    const { scope, mustChangePassword, ...actor } = resolved
    return { app, actor, tokenScope: scope, headers, mustChangePassword, resolveAgain, bearerToken: true }
  }
  if (app.auth && headers.get('cookie')) {
    const session = await app.auth.api.getSession({ headers }).catch(() => null)
    const user = session?.user as
      | { id: string; email: string; role?: string; disabled?: boolean; mustChangePassword?: boolean }
      | undefined
    if (user && !user.disabled) {
      const actor: Actor = { id: user.id, label: user.email, role: (user.role ?? 'viewer') as Role, via: 'session' }
      return { app, actor, tokenScope: null, headers, mustChangePassword: !!user.mustChangePassword, resolveAgain }
    }
  }
  return { app, actor: null, tokenScope: null, headers, resolveAgain }
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
        message: internal
          ? 'internal error (see the server log)'
          : error.cause instanceof ZodError
            ? zodMessage(error.cause)
            : shape.message,
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

/** How many schema issues a refusal's message names; the rest are counted (all are in data.zodIssues, up to 10). */
export const MESSAGE_ISSUES = 3

/**
 * A schema refusal as one line a person reads (a CLI, a script, a log): "limit: Too small: expected
 * number to be >=1; …". zod's own message is its issue array as JSON.
 */
export function zodMessage(e: ZodError): string {
  const named = e.issues
    .slice(0, MESSAGE_ISSUES)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
  const more = e.issues.length - named.length
  return named.join('; ') + (more > 0 ? `; and ${more} more` : '')
}

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
    if (cause instanceof ForbiddenError) throw as('FORBIDDEN')
    if (cause instanceof ConflictError) throw as('CONFLICT')
    if (cause instanceof PrerequisiteError || cause instanceof PreconditionError) throw as('PRECONDITION_FAILED')
    if (result.error.code === 'INTERNAL_SERVER_ERROR')
      ctx.app.log.error(`${path}: ${cause?.stack ?? result.error.message}`)
  }
  return result
})

export const PASSWORD_CHANGE_FIRST =
  'change your password first (Settings → Account): until then only the password change and signing out work'

/**
 * Why this caller may not use something with this meta, or null when they may. The one rule for
 * every door into the API: procedures, open streams (again while they run) and the picture route.
 */
export function accessRefusal(
  ctx: Pick<Context, 'actor' | 'tokenScope' | 'mustChangePassword' | 'signInRefusal'>,
  meta: Meta | undefined,
): TRPCError | null {
  const access = meta?.access === 'public' || !meta ? 'admin' : meta.access
  if (!ctx.actor) return new TRPCError({ code: 'UNAUTHORIZED', message: ctx.signInRefusal ?? 'sign in first' })
  if (ctx.tokenScope === 'worker' && !meta?.worker)
    return new TRPCError({ code: 'FORBIDDEN', message: 'a worker token cannot call this' })
  if (ctx.mustChangePassword && !meta?.passwordChange)
    return new TRPCError({ code: 'FORBIDDEN', message: PASSWORD_CHANGE_FIRST })
  if (!roleAtLeast(ctx.actor.role, access))
    return new TRPCError({ code: 'FORBIDDEN', message: `needs the ${access} role` })
  return null
}

const requireAccess = t.middleware(({ ctx, meta, next }) => {
  const refusal = accessRefusal(ctx, meta)
  if (refusal) throw refusal
  const actor: Actor = ctx.actor!
  return next({ ctx: { ...ctx, actor } })
})

/**
 * Subscriptions only: a bounded number of open streams per user, and a stream that ends with the
 * caller's access (checked again from the same credentials while it runs, against the same rule).
 */
const guardStreams = t.middleware(async ({ ctx, meta, type, signal, next }) => {
  if (type !== 'subscription' || !ctx.actor) return next()
  const actor = ctx.actor
  const release = takeStreamSlot(actor.id ?? `${actor.via}:${actor.label}`)
  const result = await next()
  if (!result.ok || !isAsyncIterable(result.data)) {
    release()
    return result
  }
  const again = ctx.resolveAgain
  const recheck = again
    ? async () => {
        const now = await again()
        if (now.actor && now.actor.id !== actor.id)
          return new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' })
        return accessRefusal(now, meta)
      }
    : null
  return { ...result, data: guardStream(result.data, { recheck, signal, onEnd: release }) }
})

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return !!v && typeof v === 'object' && Symbol.asyncIterator in v
}

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
export const viewerProcedure = base.meta({ access: 'viewer' }).use(requireAccess).use(guardStreams).use(guardInput)
/** any signed-in user */
export const protectedProcedure = viewerProcedure
export const expertProcedure = base.meta({ access: 'expert' }).use(requireAccess).use(guardStreams).use(guardInput)
export const adminProcedure = base.meta({ access: 'admin' }).use(requireAccess).use(guardStreams).use(guardInput)
