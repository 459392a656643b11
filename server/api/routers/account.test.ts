// Sign-in sessions a user can see and end, over HTTP with real Better Auth cookies: the list marks
// the session asking, one session or all the others end, an admin signs a user out, disabling a
// user or changing a password ends their sessions (the one the change came from stays), ids of
// another user's sessions end nothing, and no answer ever carries a session's token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  startApiHarness,
  USER_PASSWORD,
  type ApiHarness,
} from '../../../test-support/api-server.ts'
import { callProcedure, rawRequest, type CallResult, type ProcedureType } from '../../../test-support/http-client.ts'
import { createUser } from '../../services/users.ts'

let h: ApiHarness
/** every body the tests saw, checked at the end for session tokens */
const bodies: string[] = []
/** every session token the database held while the tests ran */
const tokens = new Set<string>()

beforeAll(async () => {
  h = await startApiHarness({ env: { FM_SIGNIN_LIMIT: '1000' } })
}, 120_000)
afterAll(() => h?.stop())

const system = { id: null, label: 'sessions test', role: 'admin' as const, via: 'system' as const }
let made = 0
const newUser = async (role: 'viewer' | 'admin' = 'viewer') => {
  const email = `sessions-${++made}@hardening.test`
  const u = await createUser(h.server.app.db, system, { email, role, password: USER_PASSWORD })
  await h.server.app.db.prisma.user.update({ where: { id: u.user.id }, data: { mustChangePassword: false } })
  return { id: u.user.id, email }
}

/** signs in as the login page does, from a browser with this user agent; the cookie and the session's id */
const signIn = async (email: string, userAgent: string, password = USER_PASSWORD) => {
  const r = await rawRequest(`${h.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: h.url, 'user-agent': userAgent },
    body: JSON.stringify({ email, password }),
  })
  bodies.push(r.body)
  expect(r.status, r.body).toBe(200)
  const cookie = ([] as string[])
    .concat(r.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0])
    .join('; ')
  const user = await h.server.app.db.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } })
  const rows = await h.server.app.db.prisma.session.findMany({
    where: { userId: user.id },
    orderBy: { createdAt: 'desc' },
  })
  for (const s of rows) tokens.add(s.token)
  const mine = rows.find((s) => cookie.includes(encodeURIComponent(s.token)) || cookie.includes(s.token))!
  expect(mine, 'the new session is in the database').toBeDefined()
  return { cookie, sessionId: mine.id }
}

const call = async (
  path: string,
  type: ProcedureType,
  input: unknown,
  auth: { cookie?: string; token?: string },
): Promise<CallResult> => {
  const r = await callProcedure(h.url, path, type, input, auth)
  bodies.push(r.body)
  return r
}

interface Listed {
  sessions: Array<{ id: string; current: boolean; userAgent: string | null; ipAddress: string | null }>
  total: number
}
const list = async (cookie: string) => {
  const r = await call('account.sessions', 'query', undefined, { cookie })
  expect(r.status, r.body).toBe(200)
  return r.data as Listed
}
const signedIn = async (cookie: string) => (await call('account.me', 'query', undefined, { cookie })).status === 200

describe('a user’s own sessions', () => {
  it('are listed with the one asking marked, its browser and address', async () => {
    const u = await newUser()
    const laptop = await signIn(u.email, 'Mozilla/5.0 (Macintosh) Firefox/128.0')
    const shared = await signIn(u.email, 'Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36')
    const listed = await list(laptop.cookie)
    expect(listed.total).toBe(2)
    expect(listed.sessions.map((s) => [s.id, s.current]).sort()).toEqual(
      [
        [laptop.sessionId, true],
        [shared.sessionId, false],
      ].sort(),
    )
    const other = listed.sessions.find((s) => s.id === shared.sessionId)!
    expect(other.userAgent).toContain('Chrome/126.0')
    expect(other.ipAddress).toBe('127.0.0.1')
    expect(Object.keys(other).sort()).toEqual(
      ['createdAt', 'current', 'expiresAt', 'id', 'ipAddress', 'renewedAt', 'userAgent'].sort(),
    )
    // another user's sessions are not in it
    const v = await signIn(h.users.viewer.email, 'curl/8')
    expect((await list(v.cookie)).sessions.map((s) => s.id)).not.toContain(shared.sessionId)
  })

  it('end one at a time: the ended one is signed out, the one asking is not', async () => {
    const u = await newUser()
    const here = await signIn(u.email, 'here')
    const there = await signIn(u.email, 'there')
    const r = await call('account.endSession', 'mutation', { sessionId: there.sessionId }, { cookie: here.cookie })
    expect(r.status, r.body).toBe(200)
    expect(r.data).toEqual({ sessionsEnded: 1 })
    expect(await signedIn(there.cookie)).toBe(false)
    expect(await signedIn(here.cookie)).toBe(true)
    const again = await call('account.endSession', 'mutation', { sessionId: there.sessionId }, { cookie: here.cookie })
    expect(again.code).toBe('NOT_FOUND')
    const event = await h.server.app.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.session.end', targetId: u.id },
    })
    expect(event.before).toMatchObject({ session: there.sessionId, userAgent: 'there' })
  })

  it('cannot be another user’s: a guessed id is answered as an unknown one and ends nothing', async () => {
    const victim = await newUser()
    const theirs = await signIn(victim.email, 'victim')
    const attacker = await newUser()
    const mine = await signIn(attacker.email, 'attacker')
    const guessed = await call(
      'account.endSession',
      'mutation',
      { sessionId: theirs.sessionId },
      { cookie: mine.cookie },
    )
    const unknown = await call(
      'account.endSession',
      'mutation',
      { sessionId: 'no-such-session' },
      { cookie: mine.cookie },
    )
    expect([guessed.code, guessed.message]).toEqual([unknown.code, unknown.message])
    expect(guessed.code).toBe('NOT_FOUND')
    // from an API token of theirs too
    const token = await h.token('expert')
    const byToken = await call('account.endSession', 'mutation', { sessionId: theirs.sessionId }, { token })
    expect(byToken.code).toBe('NOT_FOUND')
    expect(await signedIn(theirs.cookie)).toBe(true)
    // an admin's procedure is an admin's
    const viaAdmin = await call('users.endSessions', 'mutation', { userId: victim.id }, { cookie: mine.cookie })
    expect(viaAdmin.code).toBe('FORBIDDEN')
    expect(await signedIn(theirs.cookie)).toBe(true)
  })

  it('"sign out everywhere else" ends all but the one asking', async () => {
    const u = await newUser()
    const here = await signIn(u.email, 'here')
    const others = [await signIn(u.email, 'a'), await signIn(u.email, 'b'), await signIn(u.email, 'c')]
    const r = await call('account.endOtherSessions', 'mutation', undefined, { cookie: here.cookie })
    expect(r.status, r.body).toBe(200)
    expect(r.data).toEqual({ sessionsEnded: 3 })
    for (const o of others) expect(await signedIn(o.cookie)).toBe(false)
    expect(await signedIn(here.cookie)).toBe(true)
    expect((await list(here.cookie)).sessions.map((s) => [s.id, s.current])).toEqual([[here.sessionId, true]])
  })

  it('take bounded input', async () => {
    const { cookie } = await signIn(h.users.viewer.email, 'bounds')
    const long = await call('account.endSession', 'mutation', { sessionId: 'x'.repeat(129) }, { cookie })
    expect(long.code).toBe('BAD_REQUEST')
    const none = await call('account.endSession', 'mutation', {}, { cookie })
    expect(none.code).toBe('BAD_REQUEST')
  })
})

describe('an admin', () => {
  it('signs a user out everywhere', async () => {
    const u = await newUser()
    const a = await signIn(u.email, 'a')
    const b = await signIn(u.email, 'b')
    const admin = await signIn(ADMIN_EMAIL, 'admin', ADMIN_PASSWORD)
    const r = await call('users.endSessions', 'mutation', { userId: u.id }, { cookie: admin.cookie })
    expect(r.status, r.body).toBe(200)
    expect(r.data).toEqual({ sessionsEnded: 2 })
    expect([await signedIn(a.cookie), await signedIn(b.cookie)]).toEqual([false, false])
    expect(await h.server.app.db.prisma.session.count({ where: { userId: u.id } })).toBe(0)
    const event = await h.server.app.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.sessions.end', targetId: u.id },
    })
    expect(event.actorId).toBe(h.users.admin.userId)
    expect(event.after).toMatchObject({ sessionsEnded: 2 })
    const unknown = await call('users.endSessions', 'mutation', { userId: 'no-such-user' }, { cookie: admin.cookie })
    expect(unknown.code).toBe('NOT_FOUND')
  })

  it('ending their own sessions keeps the one they do it from', async () => {
    const admin = await newUser('admin')
    const here = await signIn(admin.email, 'here')
    const there = await signIn(admin.email, 'there')
    const r = await call('users.endSessions', 'mutation', { userId: admin.id }, { cookie: here.cookie })
    expect(r.data).toEqual({ sessionsEnded: 1 })
    expect([await signedIn(here.cookie), await signedIn(there.cookie)]).toEqual([true, false])
  })

  it('disabling a user ends their sessions', async () => {
    const u = await newUser()
    const s = await signIn(u.email, 'soon disabled')
    const r = await call('users.update', 'mutation', { id: u.id, disabled: true }, { token: h.users.admin.token })
    expect(r.status, r.body).toBe(200)
    expect(await h.server.app.db.prisma.session.count({ where: { userId: u.id } })).toBe(0)
    // enabled again, the old cookie does not come back
    await call('users.update', 'mutation', { id: u.id, disabled: false }, { token: h.users.admin.token })
    expect(await signedIn(s.cookie)).toBe(false)
  })

  it('resetting a password ends every session of the user', async () => {
    const u = await newUser()
    const a = await signIn(u.email, 'a')
    const r = await call('users.resetPassword', 'mutation', { id: u.id }, { token: h.users.admin.token })
    expect(r.status, r.body).toBe(200)
    expect(await signedIn(a.cookie)).toBe(false)
    expect(await h.server.app.db.prisma.session.count({ where: { userId: u.id } })).toBe(0)
  })
})

describe('a password change', () => {
  it('ends the user’s other sessions and keeps the one it came from', async () => {
    const u = await newUser()
    const here = await signIn(u.email, 'here')
    const there = await signIn(u.email, 'there')
    const r = await call(
      'account.changePassword',
      'mutation',
      { current: USER_PASSWORD, next: 'a-new-password-for-sessions' },
      { cookie: here.cookie },
    )
    expect(r.status, r.body).toBe(200)
    expect(r.data).toMatchObject({ ok: true, sessionsEnded: 1 })
    expect([await signedIn(here.cookie), await signedIn(there.cookie)]).toEqual([true, false])
    expect((await list(here.cookie)).sessions.map((s) => s.id)).toEqual([here.sessionId])
    const audited = await h.server.app.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.password', targetId: u.id },
    })
    expect(audited.after).toMatchObject({ sessionsEnded: 1 })
  })
})

describe('a session’s token', () => {
  it('is in no answer: not sign-in’s, not get-session’s, not the procedures’', async () => {
    const u = await newUser()
    const s = await signIn(u.email, 'tokens')
    const session = await rawRequest(`${h.url}/api/auth/get-session`, { headers: { cookie: s.cookie } })
    bodies.push(session.body)
    expect(session.status).toBe(200)
    const parsed = JSON.parse(session.body)
    expect(parsed.session.id).toBe(s.sessionId)
    expect(parsed.session).not.toHaveProperty('token')
    expect(parsed.user.email).toBe(u.email)
    const signInBody = JSON.parse(bodies[bodies.length - 2]!)
    expect(signInBody).not.toHaveProperty('token')
    expect(signInBody.user.email).toBe(u.email)
    expect(tokens.size).toBeGreaterThan(15)
    expect(bodies.length).toBeGreaterThan(40)
    const leaks = bodies.filter((b) => [...tokens].some((t) => b.includes(t)))
    expect(leaks).toEqual([])
  })
})
