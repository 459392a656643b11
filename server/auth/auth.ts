// Sessions and password sign-in are Better Auth's (scrypt hashes, signed httpOnly cookies,
// origin checks); we add roles, disabled accounts and a forced password change on top.
// Better Auth is imported when the server builds its auth (~0.35 s of start): the CLI's commands
// other than the server's never load it.
import type { PrismaClient } from '../db.ts'
import { audit } from '../services/audit.ts'
import { AttemptWindow, FailureLock } from './attempts.ts'
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
  /** failed password sign-ins per email within 15 min before it is locked (FM_SIGNIN_ACCOUNT_LIMIT, default 10) */
  signInFailuresPerAccount?: number
  /** the clock of the per-account limit and of the limited attempts' audit (tests) */
  now?: () => number
}

const SIGN_IN_PATH = '/api/auth/sign-in/email'
const ADDRESS_WINDOW_S = 60
const ACCOUNT_WINDOW_MS = 15 * 60_000
const ACCOUNT_LOCK_MS = 60_000
// the longest a guesser (or a prankster spending wrong passwords) can keep an account's owner waiting
const ACCOUNT_LOCK_MAX_MS = 15 * 60_000

/** Better Auth's own answer of its address limit: the two limits cannot be told apart, nor an account that exists */
function tooManyAttempts(retryAfterS: number) {
  return new Response(JSON.stringify({ message: 'Too many requests. Please try again later.' }), {
    status: 429,
    statusText: 'Too Many Requests',
    headers: { 'Content-Type': 'application/json', 'X-Retry-After': String(retryAfterS) },
  })
}

export async function createAuth(prisma: PrismaClient, opts: AuthOptions) {
  const [{ betterAuth }, { prismaAdapter }, { APIError, createAuthMiddleware }] = await Promise.all([
    import('better-auth'),
    import('better-auth/adapters/prisma'),
    import('better-auth/api'),
  ])
  /** a sign-in attempt on the audit log, as the user it names (an unknown email: a viewer with no id) */
  const auditSignIn = async (action: string, email: string, after: Record<string, unknown>) => {
    const user = email ? await prisma.user.findUnique({ where: { email }, select: { id: true, role: true } }) : null
    await audit(
      prisma,
      {
        id: user?.id ?? null,
        label: email || '(no email given)',
        role: (user?.role as Role) ?? 'viewer',
        via: 'session',
      },
      { action, targetType: 'user', targetId: user?.id ?? null, after },
    ).catch(() => undefined)
  }
  const auth = betterAuth({
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
        await auditSignIn(failed ? 'user.sign-in-refused' : 'user.sign-in', email, {
          from: ctx.headers?.get(CLIENT_ADDRESS_HEADER) ?? null,
        })
        return withoutSessionToken(returned)
      }),
    },
    rateLimit: {
      enabled: true,
      window: 60,
      max: 100,
      customRules: { '/sign-in/email': { window: ADDRESS_WINDOW_S, max: opts.signInPerMinute ?? 20 } },
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

  // Per email, whatever the address: guesses spread over many addresses (a botnet, IPv6) are not slowed
  // by the address limit. In this process's memory, like Better Auth's address limit: with several
  // console processes (server mode, behind a load balancer) each counts apart, so a guesser gets up to
  // that many times the tries, and a restart forgets the counts. The lock is bounded (15 min after the
  // last failure) and holds only password sign-in: API tokens and the local socket still work.
  const accounts = new FailureLock(
    opts.signInFailuresPerAccount ?? 10,
    ACCOUNT_WINDOW_MS,
    ACCOUNT_LOCK_MS,
    ACCOUNT_LOCK_MAX_MS,
    opts.now,
  )
  // one audit event per address or email per window: a flood of refused attempts is not a flood of events
  const noted = {
    address: new AttemptWindow(1, ADDRESS_WINDOW_S * 1000, opts.now),
    account: new AttemptWindow(1, ACCOUNT_WINDOW_MS, opts.now),
  }
  const noteLimited = async (limit: 'address' | 'account', email: string, from: string | null, retryAfterS: number) => {
    const key = limit === 'address' ? (from ?? '') : email
    if (noted[limit].waitS(key) !== null) return
    noted[limit].record(key)
    await auditSignIn('user.sign-in-limited', email, { from, limit, retryAfterS })
  }

  const handle = auth.handler
  auth.handler = async (request: Request) => {
    if (request.method !== 'POST' || new URL(request.url).pathname !== SIGN_IN_PATH) return handle(request)
    const body: unknown = await request
      .clone()
      .json()
      .catch(() => null)
    const given = body && typeof body === 'object' ? (body as Record<string, unknown>).email : undefined
    const email = typeof given === 'string' ? given.toLowerCase().slice(0, 320) : ''
    const from = request.headers.get(CLIENT_ADDRESS_HEADER)
    const wait = email ? accounts.begin(email) : null
    if (wait !== null) {
      await noteLimited('account', email, from, wait)
      return tooManyAttempts(wait)
    }
    let outcome: 'failure' | 'success' | 'other' = 'other'
    try {
      const res = await handle(request)
      if (res.status === 429) await noteLimited('address', email, from, Number(res.headers.get('x-retry-after')) || 0)
      // a wrong password and an unknown email alike (Better Auth answers both 401): no telling which
      outcome = res.status === 401 ? 'failure' : res.ok ? 'success' : 'other'
      return res
    } finally {
      if (email) accounts.settle(email, outcome)
    }
  }
  auth.fetch = auth.handler
  return auth
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
