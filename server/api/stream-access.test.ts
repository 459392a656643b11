// Open live streams over HTTP end with their caller's access: a disabled user, a session signed out
// or ended by a password change made in another, a revoked token. And one user holds a bounded number
// of them.
// Driven by what the streams do (first message, end, error event): no sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { callProcedure, rawRequest } from '../../test-support/http-client.ts'
import { subscribe, type SseSubscription } from '../../test-support/sse-client.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { createToken } from '../services/tokens.ts'
import { createUser } from '../services/users.ts'
import { MAX_STREAMS_PER_ACTOR, openStreams, TOO_MANY_STREAMS } from './stream-guard.ts'

let h: ApiHarness
let runId = ''
const system: Actor = { id: null, label: 'stream access test', role: 'admin', via: 'system' }
const PASSWORD = 'stream-user-password'

beforeAll(async () => {
  h = await startApiHarness()
  runId = (await seedSyntheticRun(h.server.app.db, { candidates: 20, islands: 1, status: 'evolving' })).runId
}, 120_000)
afterAll(() => h?.stop())

let seq = 0
async function newUser(role: Role = 'viewer') {
  const email = `stream-${Date.now()}-${seq++}@hardening.test`
  const u = await createUser(h.server.app.db, system, { email, role, password: PASSWORD })
  await h.server.app.db.prisma.user.update({ where: { id: u.user.id }, data: { mustChangePassword: false } })
  const cookie = await signIn(email)
  const token = await createToken(h.server.app.db, system, { userId: u.user.id, name: 'stream test', scope: 'cli' })
  return { id: u.user.id, email, cookie, token: token.token, tokenId: token.id }
}

/** A new session of the user's: its cookie. */
async function signIn(email: string) {
  const res = await fetch(`${h.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: h.url },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  expect(res.status).toBe(200)
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
}

/** A stream of the run from its start, resolved once its first message arrived (it is past every check). */
async function openStream(auth: { cookie?: string; token?: string }) {
  let first!: () => void
  const flowing = new Promise<void>((r) => (first = r))
  const sub = subscribe(h.url, 'runs.live', { runId, lastEventId: 'c-1.m0.e0' }, { ...auth, onData: () => first() })
  await Promise.race([flowing, sub.ended.then(() => Promise.reject(new Error(`ended early: ${sub.errors}`)))])
  return sub
}

/** The stream's own end is what is waited for; the test runner's timeout is the guard against one that never ends. */
async function endsWithRefusal(sub: SseSubscription, code: 'UNAUTHORIZED' | 'FORBIDDEN') {
  await sub.ended
  sub.close()
  expect(sub.errors.join('\n')).toContain(code)
}

describe('an open live stream ends with its caller’s access', () => {
  it('when the user is disabled (session and token streams)', async () => {
    const u = await newUser()
    const [byCookie, byToken] = await Promise.all([openStream({ cookie: u.cookie }), openStream({ token: u.token })])
    const setDisabled = async (disabled: boolean) => {
      const r = await callProcedure(
        h.url,
        'users.update',
        'mutation',
        { id: u.id, disabled },
        { token: h.users.admin.token },
      )
      expect(r.status, r.body).toBe(200)
    }
    await setDisabled(true)
    await Promise.all([endsWithRefusal(byCookie, 'UNAUTHORIZED'), endsWithRefusal(byToken, 'UNAUTHORIZED')])
    // enabled again, the user signs in anew: the token they had stays dead
    await setDisabled(false)
    const old = await callProcedure(h.url, 'account.me', 'query', undefined, { token: u.token })
    expect(old.status, old.body).toBe(401)
  })

  it('when the session signs out', async () => {
    const u = await newUser()
    const sub = await openStream({ cookie: u.cookie })
    const out = await rawRequest(`${h.url}/api/auth/sign-out`, {
      method: 'POST',
      headers: { cookie: u.cookie, origin: h.url, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(out.status).toBe(200)
    await endsWithRefusal(sub, 'UNAUTHORIZED')
  })

  it("when the password changes (the user's other sessions and CLI tokens; the session that changed it stays)", async () => {
    const u = await newUser()
    const elsewhere = await signIn(u.email)
    const [here, other, byToken] = await Promise.all([
      openStream({ cookie: u.cookie }),
      openStream({ cookie: elsewhere }),
      openStream({ token: u.token }),
    ])
    let hereEnded = false
    void here.ended.then(() => (hereEnded = true))
    const r = await callProcedure(
      h.url,
      'account.changePassword',
      'mutation',
      { current: PASSWORD, next: 'another-password-1' },
      { cookie: u.cookie },
    )
    expect(r.status, r.body).toBe(200)
    await Promise.all([endsWithRefusal(other, 'UNAUTHORIZED'), endsWithRefusal(byToken, 'UNAUTHORIZED')])
    // the others were ended by the same change: the session that made it is still signed in, its stream open
    const me = await callProcedure(h.url, 'account.me', 'query', undefined, { cookie: u.cookie })
    expect(me.status, me.body).toBe(200)
    expect(hereEnded).toBe(false)
    here.close()
  })

  it('when its token is revoked', async () => {
    const u = await newUser()
    const sub = await openStream({ token: u.token })
    const r = await callProcedure(h.url, 'tokens.revoke', 'mutation', { id: u.tokenId }, { cookie: u.cookie })
    expect(r.status, r.body).toBe(200)
    await endsWithRefusal(sub, 'UNAUTHORIZED')
  })
})

describe('live streams per user are bounded', () => {
  it(`refuses stream ${MAX_STREAMS_PER_ACTOR + 1} with TOO_MANY_REQUESTS, and frees a slot when one ends`, async () => {
    const u = await newUser()
    const subs = await Promise.all(
      Array.from({ length: MAX_STREAMS_PER_ACTOR }, (_, i) =>
        openStream(i % 2 ? { token: u.token } : { cookie: u.cookie }),
      ),
    )
    expect(openStreams(u.id)).toBe(MAX_STREAMS_PER_ACTOR)
    const extra = await callProcedure(h.url, 'runs.live', 'subscription', { runId }, { token: u.token, readMs: 2000 })
    expect(extra.code).toBe('TOO_MANY_REQUESTS')
    expect(extra.message).toBe(TOO_MANY_STREAMS)
    // another user is not affected
    const other = await openStream({ token: h.users.viewer.token })
    other.close()
    // one closes: its slot comes back once the server has seen it go
    subs[0]!.close()
    await subs[0]!.ended
    await expect.poll(() => openStreams(u.id), { timeout: 10_000 }).toBe(MAX_STREAMS_PER_ACTOR - 1)
    const again = await openStream({ token: u.token })
    again.close()
    for (const s of subs) s.close()
    await expect.poll(() => openStreams(u.id), { timeout: 10_000 }).toBe(0)
  })
})
