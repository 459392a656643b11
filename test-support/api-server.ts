// The real console server (tRPC over HTTP, Better Auth, security headers, CSRF check) in this
// process on a random loopback port, pages off, with one user and one API token per role: the
// harness the access, fuzz and audit tests call through.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Actor, Role } from '../server/auth/roles.ts'
import { readEnv } from '../server/env.ts'
import { silentLogger, type Logger } from '../server/log.ts'
import { startServer, type ServerHandle } from '../server/server-process.ts'
import { createToken, type TokenScope } from '../server/services/tokens.ts'
import { createUser } from '../server/services/users.ts'

export const ADMIN_EMAIL = 'admin@hardening.test'
export const ADMIN_PASSWORD = 'hardening-admin-pw'
export const USER_PASSWORD = 'hardening-user-pw'

export interface Identity {
  role: Role
  userId: string
  email: string
  /** a CLI-scoped API token of this user */
  token: string
  actor: Actor
}

export interface ApiHarness {
  server: ServerHandle
  url: string
  dataDir: string
  users: Record<Role, Identity>
  /** a worker-scoped token of the admin */
  workerToken: string
  token(role: Role, scope?: TokenScope): Promise<string>
  /** a Better Auth session cookie for a role (signs in through /api/auth like the login page); fresh: a new session */
  sessionCookie(role: Role, opts?: { fresh?: boolean }): Promise<string>
  stop(): Promise<void>
}

export async function startApiHarness(
  opts: { engine?: boolean; log?: Logger; env?: Record<string, string> } = {},
): Promise<ApiHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-hardening-'))
  const env = readEnv({
    FM_ADMIN_EMAIL: ADMIN_EMAIL,
    FM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    FM_LOG: 'warn',
    FM_WORKERS: '1',
    ...opts.env,
  })
  const server = await startServer({
    env,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    pages: false,
    engine: opts.engine ?? false,
    log: opts.log ?? silentLogger,
  })
  const db = server.app.db
  const admin = await db.prisma.user.findUniqueOrThrow({ where: { email: ADMIN_EMAIL }, select: { id: true } })
  const system: Actor = { id: null, label: 'hardening test set-up', role: 'admin', via: 'system' }
  const users = {} as Record<Role, Identity>
  const mk = async (role: Role, userId: string, email: string): Promise<Identity> => {
    const actor: Actor = { id: userId, label: email, role, via: 'token' }
    const t = await createToken(db, system, { userId, name: `${role} test token`, scope: 'cli' })
    return { role, userId, email, token: t.token, actor }
  }
  users.admin = await mk('admin', admin.id, ADMIN_EMAIL)
  for (const role of ['viewer', 'expert'] as const) {
    const email = `${role}@hardening.test`
    const u = await createUser(db, system, { email, role, password: USER_PASSWORD })
    await db.prisma.user.update({ where: { id: u.user.id }, data: { mustChangePassword: false } })
    users[role] = await mk(role, u.user.id, email)
  }
  let extra = 0
  const workerToken = (await createToken(db, system, { userId: admin.id, name: 'worker test token', scope: 'worker' }))
    .token
  const cookies = new Map<Role, string>()
  return {
    server,
    url: server.http.url,
    dataDir,
    users,
    workerToken,
    // each its own name: a user's live tokens have distinct names
    token: async (role, scope = 'cli') =>
      (await createToken(db, system, { userId: users[role].userId, name: `${role} ${scope} extra ${++extra}`, scope }))
        .token,
    async sessionCookie(role, opts) {
      const known = cookies.get(role)
      if (known && !opts?.fresh) return known
      const res = await fetch(`${server.http.url}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.http.url },
        body: JSON.stringify({ email: users[role].email, password: role === 'admin' ? ADMIN_PASSWORD : USER_PASSWORD }),
      })
      if (!res.ok) throw new Error(`sign-in as ${role} failed: ${res.status} ${await res.text()}`)
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ')
      cookies.set(role, cookie)
      return cookie
    },
    async stop() {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
