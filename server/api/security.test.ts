// Browser-facing protections through the real HTTP server: security headers on every kind of
// answer, session cookies (httpOnly, SameSite, Secure behind https), and CSRF: a state-changing
// request that carries the session cookie from another site is refused, the same request from the
// console's own origin works, and bearer-token clients (no ambient credentials) are not affected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  startApiHarness,
  USER_PASSWORD,
  type ApiHarness,
} from '../../test-support/api-server.ts'
import { callProcedure, rawRequest, type RawResponse } from '../../test-support/http-client.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { contentSecurityPolicy } from './security.ts'
import { MAX_BATCH_CALLS } from '../../client-safe/api-limits.ts'

let h: ApiHarness
let cookie = ''
const checked: string[] = []

beforeAll(async () => {
  h = await startApiHarness()
  cookie = await h.sessionCookie('admin')
}, 120_000)
afterAll(() => h?.stop())

function expectSecurityHeaders(r: RawResponse, what: string) {
  checked.push(what)
  const csp = String(r.headers['content-security-policy'] ?? '')
  expect(csp, what).toContain("frame-ancestors 'none'")
  expect(csp, what).toContain("object-src 'none'")
  expect(csp, what).toContain("default-src 'self'")
  // Monaco's language services run in workers from this origin (or blob: URLs it makes)
  expect(csp, what).toMatch(/worker-src 'self' blob:/)
  expect(r.headers['x-content-type-options'], what).toBe('nosniff')
  expect(r.headers['x-frame-options'], what).toBe('DENY')
  expect(r.headers['referrer-policy'], what).toBe('same-origin')
}

describe('security headers', () => {
  it('are on API answers of every kind: success, error, auth, health, not found, refused', async () => {
    expectSecurityHeaders(await rawRequest(`${h.url}/api/trpc/health.check`), 'tRPC query')
    expectSecurityHeaders(await rawRequest(`${h.url}/api/trpc/users.list`), 'tRPC 401')
    expectSecurityHeaders(await rawRequest(`${h.url}/api/trpc/runs.list?input=%7B`), 'tRPC 400')
    expectSecurityHeaders(
      await rawRequest(`${h.url}/api/trpc/runs.live?input=${encodeURIComponent('{"json":{"runId":"x"}}')}`, {
        headers: { cookie, accept: 'text/event-stream' },
        readMs: 300,
      }),
      'SSE subscription',
    )
    expectSecurityHeaders(await rawRequest(`${h.url}/api/auth/get-session`, { headers: { cookie } }), 'Better Auth')
    expectSecurityHeaders(await rawRequest(`${h.url}/api/health`), 'health')
    expectSecurityHeaders(await rawRequest(`${h.url}/api/nothing-here`), 'API 404')
    expectSecurityHeaders(
      await rawRequest(`${h.url}/api/trpc/tokens.create`, {
        method: 'POST',
        headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
        body: '{}',
      }),
      'CSRF refusal',
    )
  })

  it('the production policy has no eval; only the dev server gets it', () => {
    expect(contentSecurityPolicy(false)).not.toContain('unsafe-eval')
    expect(contentSecurityPolicy(true)).toContain('unsafe-eval')
  })
})

describe('batched calls', () => {
  it('one request carries at most MAX_BATCH_CALLS calls: more is a 400, not work', async () => {
    const batch = (n: number) =>
      rawRequest(
        `${h.url}/api/trpc/${Array.from({ length: n }, () => 'health.check').join(',')}?batch=1&input=${encodeURIComponent('{}')}`,
        { headers: { authorization: `Bearer ${h.users.viewer.token}` } },
      )
    expect((await batch(MAX_BATCH_CALLS)).status).toBe(200)
    const over = await batch(MAX_BATCH_CALLS + 1)
    expect(over.status).toBe(400)
    expect(over.body).toMatch(/batch/i)
  })
})

describe('CSRF', () => {
  // each probe's own name: a user's live tokens have distinct names
  let probes = 0
  const create = (headers: Record<string, string>) =>
    rawRequest(`${h.url}/api/trpc/tokens.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ json: { name: `csrf-probe ${++probes}`, scope: 'cli' } }),
    })
  const count = () => h.server.app.db.prisma.apiToken.count({ where: { name: { startsWith: 'csrf-probe' } } })

  it('refuses a cross-site state-changing request that carries the session cookie, by Origin or by Sec-Fetch-Site', async () => {
    const before = await count()
    const attempts: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'http://127.0.0.1.evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: 'http://sub.localhost' },
      { 'sec-fetch-site': 'cross-site', origin: h.url },
    ]
    for (const a of attempts) {
      const r = await create({ cookie, ...a })
      expect(r.status, JSON.stringify(a)).toBe(403)
      expect(r.body).toMatch(/cross-site request refused/)
    }
    // Better Auth's own state-changing routes too
    const signOut = await rawRequest(`${h.url}/api/auth/sign-out`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(signOut.status).toBe(403)
    expect(await count()).toBe(before)
    // and the session survived the forged sign-out
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { cookie })).status).toBe(200)
  })

  it('never runs a mutation from a GET (a link or an image cannot change state)', async () => {
    const before = await count()
    const r = await rawRequest(
      `${h.url}/api/trpc/tokens.create?input=${encodeURIComponent(JSON.stringify({ json: { name: 'csrf-probe', scope: 'cli' } }))}`,
      { headers: { cookie } },
    )
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.status).toBeLessThan(500)
    expect(await count()).toBe(before)
  })

  it('accepts the same request from the console’s own origin, and from a browser that sends no Origin on same-origin fetches', async () => {
    const before = await count()
    const same = await create({ cookie, origin: h.url, 'sec-fetch-site': 'same-origin' })
    expect(same.status, same.body).toBe(200)
    const noOrigin = await create({ cookie })
    expect(noOrigin.status, noOrigin.body).toBe(200)
    expect(await count()).toBe(before + 2)
  })

  it('does not apply to bearer-token clients (no ambient credentials to abuse)', async () => {
    // the request reaches the procedure, whose own rule answers (tokens come from a session)
    const r = await create({ authorization: `Bearer ${h.users.admin.token}`, origin: 'https://elsewhere.example' })
    expect(r.status, r.body).toBe(403)
    expect(r.body).toContain('tokens are created from a signed-in session')
    const other = await rawRequest(`${h.url}/api/trpc/tokens.revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${h.users.admin.token}`,
        origin: 'https://elsewhere.example',
      },
      body: JSON.stringify({ json: { id: 'no-such-token' } }),
    })
    expect(other.status, other.body).not.toBe(403)
  })

  it('sign-in from another site is refused by origin too', async () => {
    const r = await rawRequest(`${h.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    })
    expect(r.status).toBe(403)
    expect(r.headers['set-cookie']).toBeUndefined()
  })
})

describe('session cookies', () => {
  it('are httpOnly and SameSite=Lax, not Secure over plain http on loopback', async () => {
    const r = await rawRequest(`${h.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: h.url },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    })
    expect(r.status).toBe(200)
    const session = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => /session_token=/.test(c))
    expect(session).toBeDefined()
    expect(session).toMatch(/;\s*HttpOnly/i)
    expect(session).toMatch(/;\s*SameSite=Lax/i)
    expect(session).not.toMatch(/;\s*Secure/i)
  })

  it('are Secure (and __Secure- prefixed) when the console is served over https', async () => {
    const https = await startApiHarness({ env: { FM_PUBLIC_URL: 'https://console.example.test' } })
    try {
      const r = await rawRequest(`${https.url}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://console.example.test' },
        body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
      })
      expect(r.status, r.body).toBe(200)
      const session = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => /session_token=/.test(c))
      expect(session).toMatch(/^__Secure-/)
      expect(session).toMatch(/;\s*Secure/i)
      expect(session).toMatch(/;\s*HttpOnly/i)
      expect(session).toMatch(/;\s*SameSite=Lax/i)
    } finally {
      await https.stop()
    }
    recordFigures('browser-http', { headerChecks: checked.length, answersChecked: checked })
  })
})

describe('a disabled account', () => {
  it('answers a right password as it answers a wrong one: a refusal confirms nothing', async () => {
    const { createUser } = await import('../services/users.ts')
    const email = 'off-boarded@hardening.test'
    const u = await createUser(
      h.server.app.db,
      { id: null, label: 'test', role: 'admin', via: 'system' },
      { email, role: 'viewer', password: USER_PASSWORD },
    )
    await h.server.app.db.prisma.user.update({ where: { id: u.user.id }, data: { disabled: true } })
    const signIn = (password: string) =>
      rawRequest(`${h.url}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: h.url },
        body: JSON.stringify({ email, password }),
      })
    const [right, wrong] = [await signIn(USER_PASSWORD), await signIn('not-the-password-1')]
    expect([right.status, wrong.status]).toEqual([401, 401])
    expect(JSON.parse(right.body)).toEqual(JSON.parse(wrong.body))
    expect(JSON.parse(right.body)).toMatchObject({ code: 'INVALID_EMAIL_OR_PASSWORD' })
    expect(right.headers['set-cookie']).toBeUndefined()
  })
})

describe('sign-in attempts', () => {
  const attempt = (url: string, headers: Record<string, string> = {}, email = ADMIN_EMAIL) =>
    rawRequest(`${url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url, ...headers },
      body: JSON.stringify({ email, password: 'not-the-password-1' }),
    })

  // first: the limit test below spends this client's sign-ins for the minute
  it('are on the audit log, refused and accepted, with the client address', async () => {
    const strict = await startApiHarness({ env: { FM_TRUST_PROXY: '1' } })
    try {
      expect((await attempt(strict.url, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(401)
      await strict.sessionCookie('admin')
      const rows = await strict.server.app.db.prisma.auditEvent.findMany({
        where: { action: { startsWith: 'user.sign-in' } },
        orderBy: { id: 'asc' },
      })
      expect(rows.map((r) => [r.action, r.actorLabel])).toEqual([
        ['user.sign-in-refused', ADMIN_EMAIL],
        ['user.sign-in', ADMIN_EMAIL],
      ])
      expect(rows[0]!.after).toEqual({ from: '203.0.113.7' })
    } finally {
      await strict.stop()
    }
  })

  it('are limited per client; a client cannot dodge the limit with its own X-Forwarded-For', async () => {
    const statuses: number[] = []
    // an email each: the per-email limit (10 failures) would otherwise answer first
    for (let i = 0; i < 24; i++)
      statuses.push(
        (await attempt(h.url, { 'x-forwarded-for': `198.51.100.${i}` }, `guess-${i}@hardening.test`)).status,
      )
    // 20 a minute per client (the file's earlier sign-ins count too), whatever address it claims
    const limited = statuses.indexOf(429)
    expect(statuses[0]).toBe(401)
    expect(limited, statuses.join(' ')).toBeGreaterThan(0)
    expect(limited).toBeLessThanOrEqual(20)
    expect(
      statuses.slice(limited).every((s) => s === 429),
      statuses.join(' '),
    ).toBe(true)
  })

  it("the limit is the operator's to set (FM_SIGNIN_LIMIT)", async () => {
    // a client address of its own (through a trusted proxy): the other tests' attempts do not count
    const strict = await startApiHarness({ env: { FM_SIGNIN_LIMIT: '3', FM_TRUST_PROXY: '1' } })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 5; i++)
        statuses.push((await attempt(strict.url, { 'x-forwarded-for': '203.0.113.50' })).status)
      // refused from the third attempt on (the default, 20, would answer all five)
      expect(statuses[0]).toBe(401)
      expect(statuses.slice(3)).toEqual([429, 429])
    } finally {
      await strict.stop()
    }
  })

  it('behind a trusted proxy (FM_TRUST_PROXY), each forwarded client has its own budget', async () => {
    // one email throughout: its own limit is not what this is about
    const proxied = await startApiHarness({ env: { FM_TRUST_PROXY: '1', FM_SIGNIN_ACCOUNT_LIMIT: '1000' } })
    try {
      const statuses: number[] = []
      // the client's own claim comes first; the proxy appends the address it saw
      for (let i = 0; i < 21; i++)
        statuses.push((await attempt(proxied.url, { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.7` })).status)
      expect(statuses.at(-1)).toBe(429)
      expect((await attempt(proxied.url, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(401)
    } finally {
      await proxied.stop()
    }
  })
})

describe('sign-in limits per email (FM_SIGNIN_ACCOUNT_LIMIT), whatever the address', () => {
  let strict: ApiHarness
  let address = 0
  // each attempt from an address of its own unless told: only the email's limit can apply
  const attempt = (email: string, opts: { password?: string; from?: string } = {}) =>
    rawRequest(`${strict.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: strict.url,
        'x-forwarded-for': opts.from ?? `192.0.2.${++address}`,
      },
      body: JSON.stringify({ email, password: opts.password ?? 'not-the-password-1' }),
    })
  const limitedEvents = (email: string) =>
    strict.server.app.db.prisma.auditEvent.findMany({
      where: { action: 'user.sign-in-limited', actorLabel: email },
      orderBy: { id: 'asc' },
    })

  beforeAll(async () => {
    strict = await startApiHarness({
      env: { FM_TRUST_PROXY: '1', FM_SIGNIN_LIMIT: '5', FM_SIGNIN_ACCOUNT_LIMIT: '3' },
    })
  }, 120_000)
  afterAll(() => strict?.stop())

  it('failures spread over many addresses lock the email, an account and an unknown email alike', async () => {
    const answers: Record<string, RawResponse[]> = {}
    for (const email of [strict.users.viewer.email, 'nobody-here@hardening.test']) {
      answers[email] = []
      for (let i = 0; i < 5; i++) answers[email].push(await attempt(email))
    }
    const [account, unknown] = Object.values(answers)
    expect(account!.map((r) => r.status)).toEqual([401, 401, 401, 429, 429])
    expect(unknown!.map((r) => r.status)).toEqual(account!.map((r) => r.status))
    // the same answer as the address limit's, for both: it confirms no account
    expect(account![3]!.body).toBe(unknown![3]!.body)
    expect(JSON.parse(account![3]!.body)).toEqual({ message: 'Too many requests. Please try again later.' })
    expect(Number(account![3]!.headers['x-retry-after'])).toBeGreaterThan(50)
    // the lock holds the right password too: a guess that lands in it confirms nothing
    expect((await attempt(strict.users.viewer.email, { password: USER_PASSWORD })).status).toBe(429)
  })

  it("one address's failures against many emails hit the address limit (FM_SIGNIN_LIMIT)", async () => {
    const statuses: number[] = []
    for (let i = 0; i < 7; i++)
      statuses.push((await attempt(`sprayed-${i}@hardening.test`, { from: '198.18.0.1' })).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
    const events = await strict.server.app.db.prisma.auditEvent.findMany({
      where: { action: 'user.sign-in-limited' },
    })
    const fromHere = events.filter((e) => (e.after as { from?: string }).from === '198.18.0.1')
    expect(fromHere.map((e) => [e.actorLabel, e.after])).toEqual([
      ['sprayed-5@hardening.test', { from: '198.18.0.1', limit: 'address', retryAfterS: expect.any(Number) }],
    ])
  })

  it("a successful sign-in resets the email's count", async () => {
    const email = strict.users.expert.email
    const statuses: number[] = []
    for (const password of [undefined, undefined, USER_PASSWORD, undefined, undefined, undefined, undefined])
      statuses.push((await attempt(email, { password })).status)
    expect(statuses).toEqual([401, 401, 200, 401, 401, 401, 429])
  })

  it('refused attempts are audited once per window, with the address and the limit, never the password', async () => {
    const { createAuth } = await import('../auth/auth.ts')
    const envAuth = strict.server.app.auth!
    let t = 1_000_000
    strict.server.app.auth = await createAuth(strict.server.app.db.prisma, {
      secret: envAuth.options.secret!,
      baseURL: envAuth.options.baseURL as string,
      trustedOrigins: envAuth.options.trustedOrigins as string[],
      secureCookies: false,
      signInPerMinute: 5,
      signInFailuresPerAccount: 3,
      now: () => t,
    })
    try {
      const email = 'audited-lock@hardening.test'
      const statuses: number[] = []
      for (let i = 0; i < 8; i++) statuses.push((await attempt(email)).status)
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429])
      expect((await limitedEvents(email)).map((e) => e.after)).toEqual([
        { from: '192.0.2.' + (address - 4), limit: 'account', retryAfterS: 60 },
      ])
      // the email's window later: the first lock is over, one more failure locks it twice as long
      t += 15 * 60_000
      expect((await attempt(email)).status).toBe(401)
      expect((await attempt(email)).status).toBe(429)
      expect((await attempt(email)).status).toBe(429)
      const events = await limitedEvents(email)
      expect(events.map((e) => (e.after as { retryAfterS: number }).retryAfterS)).toEqual([60, 120])
      expect(events.every((e) => e.actorId === null && e.targetType === 'user')).toBe(true)
      // the address limit is Better Auth's, on the wall clock: still in force a minute later by this clock
      const from = '198.18.0.2'
      for (let i = 0; i < 8; i++) await attempt(`spray-${i}@hardening.test`, { from })
      t += 60_000
      expect((await attempt('spray-9@hardening.test', { from })).status).toBe(429)
      const fromHere = (
        await strict.server.app.db.prisma.auditEvent.findMany({
          where: { action: 'user.sign-in-limited' },
          orderBy: { id: 'asc' },
        })
      ).filter((e) => (e.after as { from?: string }).from === from)
      expect(fromHere.map((e) => e.actorLabel)).toEqual(['spray-5@hardening.test', 'spray-9@hardening.test'])
      const all = await strict.server.app.db.prisma.auditEvent.findMany({ where: { action: { startsWith: 'user.' } } })
      expect(JSON.stringify(all, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
        'not-the-password-1',
      )
    } finally {
      strict.server.app.auth = envAuth
    }
  })
})
