// Sessions and password sign-in are Better Auth's (scrypt hashes, signed httpOnly cookies,
// origin checks); we add roles, disabled accounts and a forced password change on top.
// Better Auth is imported when the server builds its auth (~0.35 s of start): the CLI's commands
// other than the server's never load it.
import type { PrismaClient } from '../db.ts'
import { audit } from '../services/audit.ts'
import type { Role } from './roles.ts'

/** The header Better Auth reads the client's address from; the HTTP server sets it on every request. */
export const CLIENT_ADDRESS_HEADER = 'x-fm-client-address'

export interface AuthOptions {
  secret: string
  /** where the console is served, e.g. http://127.0.0.1:3000 */
  baseURL: string
  trustedOrigins: string[]
  /** https deployments: cookies get the Secure attribute */
  secureCookies: boolean
  /** password sign-in attempts per client per minute (FM_SIGNIN_LIMIT, default 20) */
  signInPerMinute?: number
}

export async function createAuth(prisma: PrismaClient, opts: AuthOptions) {
  const [{ betterAuth }, { prismaAdapter }, { APIError, createAuthMiddleware }] = await Promise.all([
    import('better-auth'),
    import('better-auth/adapters/prisma'),
    import('better-auth/api'),
  ])
  return betterAuth({
    appName: 'FM Agent',
    secret: opts.secret,
    baseURL: opts.baseURL,
    basePath: '/api/auth',
    trustedOrigins: opts.trustedOrigins,
    database: prismaAdapter(prisma, { provider: 'postgresql' }),
    emailAndPassword: { enabled: true, disableSignUp: true, minPasswordLength: 10, maxPasswordLength: 256 },
    user: {
      additionalFields: {
        role: { type: 'string', required: false, defaultValue: 'viewer', input: false },
        mustChangePassword: { type: 'boolean', required: false, defaultValue: false, input: false },
        disabled: { type: 'boolean', required: false, defaultValue: false, input: false },
      },
    },
    session: { expiresIn: 60 * 60 * 24 * 7, updateAge: 60 * 60 * 24 },
    databaseHooks: {
      session: {
        create: {
          before: async (session) => {
            const user = await prisma.user.findUnique({ where: { id: session.userId }, select: { disabled: true } })
            return user && !user.disabled ? { data: session } : false
          },
        },
      },
    },
    hooks: {
      // a disabled account is refused before its password is checked, with the same answer as a wrong
      // password (and a hash's time): after the check, a different refusal would confirm the password
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== '/sign-in/email' || typeof ctx.body?.email !== 'string') return
        const user = await prisma.user.findUnique({
          where: { email: ctx.body.email.toLowerCase() },
          select: { disabled: true },
        })
        if (!user?.disabled) return
        await ctx.context.password.hash(String(ctx.body.password ?? ''))
        throw APIError.from('UNAUTHORIZED', { code: 'INVALID_EMAIL_OR_PASSWORD', message: 'Invalid email or password' })
      }),
      // every password sign-in, and every refused one, on the audit log with the client's address:
      // an admin could not tell who signed in from where, nor see a run of wrong passwords
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path === '/get-session') return withoutSessionToken(ctx.context.returned)
        if (ctx.path !== '/sign-in/email') return
        const email = typeof ctx.body?.email === 'string' ? ctx.body.email.toLowerCase().slice(0, 320) : ''
        const returned = ctx.context.returned
        const failed = returned instanceof Error || (returned instanceof Response && !returned.ok)
        const user = email ? await prisma.user.findUnique({ where: { email }, select: { id: true, role: true } }) : null
        await audit(
          prisma,
          {
            id: user?.id ?? null,
            label: email || '(no email given)',
            role: (user?.role as Role) ?? 'viewer',
            via: 'session',
          },
          {
            action: failed ? 'user.sign-in-refused' : 'user.sign-in',
            targetType: 'user',
            targetId: user?.id ?? null,
            after: { from: ctx.headers?.get(CLIENT_ADDRESS_HEADER) ?? null },
          },
        ).catch(() => undefined)
        return withoutSessionToken(returned)
      }),
    },
    rateLimit: {
      enabled: true,
      window: 60,
      max: 100,
      customRules: { '/sign-in/email': { window: 60, max: opts.signInPerMinute ?? 20 } },
    },
    advanced: {
      // set by the HTTP server from the socket (or a trusted proxy), never taken from the client
      ipAddress: { ipAddressHeaders: [CLIENT_ADDRESS_HEADER] },
      cookiePrefix: 'fm',
      useSecureCookies: opts.secureCookies,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, path: '/' },
    },
    telemetry: { enabled: false },
  })
}

export type Auth = Awaited<ReturnType<typeof createAuth>>

/**
 * Sign-in's and get-session's answers without the session token Better Auth puts in them: the
 * token is the httpOnly cookie's value, and in a body a page's script (or an injected one) could
 * read it. The console needs none of it (the cookie signs it in, the CLI uses API tokens); what
 * is not an answer to reshape (a refusal, nothing) is left as it is.
 */
export function withoutSessionToken(returned: unknown): Record<string, unknown> | undefined {
  if (!returned || typeof returned !== 'object' || returned instanceof Error || returned instanceof Response) return
  const { token: _signIn, ...body } = returned as Record<string, unknown>
  const session = body.session
  if (session && typeof session === 'object') {
    const { token: _session, ...rest } = session as Record<string, unknown>
    body.session = rest
  }
  return body
}

/** Better Auth's handler for Node's HTTP server */
export async function authNodeHandler(auth: Auth) {
  const { toNodeHandler } = await import('better-auth/node')
  return toNodeHandler(auth)
}

export async function hashPassword(password: string): Promise<string> {
  return (await import('better-auth/crypto')).hashPassword(password)
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  return (await import('better-auth/crypto')).verifyPassword({ hash, password })
}
