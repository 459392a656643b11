// Access fixes of issue 14, over HTTP: no open redirect after sign-in, a forced password change that
// is really forced (tRPC, SSE, Better Auth routes, tokens), users' tokens survive a server start
// whatever their name, and no token in plaintext anywhere in the data folder (the CLI reaches the
// server through its local socket instead).
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { localSocketClient } from './client.ts'
import { readLock } from '../db/data-dir.ts'
import { SOCKET_NAME } from './local-socket.ts'
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  startApiHarness,
  USER_PASSWORD,
  type ApiHarness,
} from '../../test-support/api-server.ts'
import { callProcedure, rawRequest } from '../../test-support/http-client.ts'
import { listProcedures, offlineOverride, validSample } from '../../test-support/zod-schema.ts'
import { readEnv } from '../env.ts'
import { silentLogger } from '../log.ts'
import { startServer, type ServerHandle } from '../server-process.ts'
import { createToken, hashToken } from '../services/tokens.ts'
import { appRouter } from './root.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { PASSWORD_CHANGE_FIRST } from './trpc.ts'

let h: ApiHarness
const figures: Record<string, number> = {}
beforeAll(async () => {
  h = await startApiHarness()
}, 120_000)
afterAll(async () => {
  await h?.stop()
  if (Object.keys(figures).length === 5) recordFigures('access-integrity', figures)
})

const signIn = async (email: string, password: string) => {
  const res = await fetch(`${h.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: h.url },
    body: JSON.stringify({ email, password }),
  })
  expect(res.status, await res.clone().text()).toBe(200)
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
}

describe('the page after sign-in is never another site', () => {
  const UNSAFE = [
    '/\\evil.com',
    '//evil.com',
    '/%5Cevil.com',
    '/%5cevil.com',
    '/%2F%2Fevil.com',
    '%2F%2Fevil.com',
    '/%255Cevil.com',
    '/\t/evil.com',
    'https://evil.com',
    '/\\/evil.com',
  ]

  it.each(UNSAFE)('GET /login?next=%j is sent to /login without it', async (next) => {
    for (const query of [encodeURIComponent(next), next.replace(/\t/g, '%09')]) {
      const r = await rawRequest(`${h.url}/login?next=${query}`)
      expect(r.status, query).toBe(302)
      expect(r.headers.location).toBe('/login')
    }
  })

  it('a path of the console is kept', async () => {
    figures.redirectRequests = UNSAFE.length * 2
    for (const next of ['/runs', '/runs/abc?tab=steering']) {
      const r = await rawRequest(`${h.url}/login?next=${encodeURIComponent(next)}`)
      expect(r.status).not.toBe(302) // no pages in this harness: 404, but not sent away
    }
  })
})

describe('a user whose password must change can do nothing else', () => {
  let email = ''
  let oneTime = ''
  let cookie = ''
  let token = ''

  beforeAll(async () => {
    email = `must-change-${Date.now()}@hardening.test`
    const created = await callProcedure(
      h.url,
      'users.create',
      'mutation',
      { email, role: 'expert' },
      { token: h.users.admin.token },
    )
    expect(created.status, created.body).toBe(200)
    oneTime = (created.data as { oneTimePassword: string }).oneTimePassword
    cookie = await signIn(email, oneTime)
    const user = await h.server.app.db.prisma.user.findUniqueOrThrow({
      where: { email },
      select: { id: true, mustChangePassword: true },
    })
    expect(user.mustChangePassword).toBe(true)
    // a token made for them earlier (say, before an admin reset their password)
    token = (
      await createToken(
        h.server.app.db,
        { id: null, label: 'test', role: 'admin', via: 'system' },
        { userId: user.id, name: 'before the reset', scope: 'cli' },
      )
    ).token
  })

  it('over tRPC and SSE: FORBIDDEN everywhere but account.me and account.changePassword, with a session or a token', async () => {
    const wrong: string[] = []
    let refused = 0
    for (const p of listProcedures(appRouter)) {
      if (p.meta?.access === 'public') continue
      for (const auth of [{ cookie }, { token }]) {
        const r = await callProcedure(h.url, p.path, p.type, validSample(p, { override: offlineOverride }), {
          ...auth,
          readMs: 800,
        })
        const allowed = (p.meta as { passwordChange?: boolean }).passwordChange
        if (allowed) {
          if (r.code === 'FORBIDDEN' || r.code === 'UNAUTHORIZED') wrong.push(`${p.path}: refused ${r.message}`)
          continue
        }
        if (
          r.code !== 'FORBIDDEN' ||
          r.message !== PASSWORD_CHANGE_FIRST ||
          r.status !== (p.type === 'subscription' ? 200 : 403)
        )
          wrong.push(`${p.path}: ${r.status} ${r.code} ${r.message}`)
        else if (p.type === 'subscription' && r.events.some((e) => e.event === 'message' && e.data))
          wrong.push(`${p.path}: data streamed`)
        else refused++
      }
    }
    expect(wrong).toEqual([])
    expect(refused).toBeGreaterThan(40)
    figures.passwordChangeRefusals = refused
    const me = await callProcedure(h.url, 'account.me', 'query', undefined, { cookie })
    expect((me.data as { mustChangePassword: boolean }).mustChangePassword).toBe(true)
  })

  it('Better Auth routes other than the session and signing out are refused', async () => {
    const update = await rawRequest(`${h.url}/api/auth/update-user`, {
      method: 'POST',
      headers: { cookie, origin: h.url, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'renamed' }),
    })
    expect(update.status).toBe(404)
    const sessions = await rawRequest(`${h.url}/api/auth/list-sessions`, { headers: { cookie } })
    expect(sessions.status).toBe(404)
    const session = await rawRequest(`${h.url}/api/auth/get-session`, { headers: { cookie } })
    expect(session.status).toBe(200)
    expect((await h.server.app.db.prisma.user.findUniqueOrThrow({ where: { email } })).name).not.toBe('renamed')
  })

  it('pictures are refused too, as they are to a worker token; a viewer reaches the route', async () => {
    const picture = `${h.url}/api/images/no-such-candidate/best`
    for (const headers of [{ cookie }, { authorization: `Bearer ${token}` }] as Array<Record<string, string>>) {
      const r = await rawRequest(picture, { headers })
      expect(r.status).toBe(403)
      expect(r.body).toContain(PASSWORD_CHANGE_FIRST)
    }
    const worker = await rawRequest(picture, { headers: { authorization: `Bearer ${h.workerToken}` } })
    expect(worker.status).toBe(403)
    expect(worker.body).toContain('worker token')
    expect((await rawRequest(picture)).status).toBe(401)
    // past the check: no such picture
    const viewer = await rawRequest(picture, { headers: { authorization: `Bearer ${h.users.viewer.token}` } })
    expect(viewer.status).toBe(404)
  })

  it('signing out works; changing the password lifts the restriction', async () => {
    const other = await signIn(email, oneTime)
    const out = await rawRequest(`${h.url}/api/auth/sign-out`, {
      method: 'POST',
      headers: { cookie: other, origin: h.url, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(out.status).toBe(200)
    const changed = await callProcedure(
      h.url,
      'account.changePassword',
      'mutation',
      { current: oneTime, next: 'a-new-password-123' },
      { cookie },
    )
    expect(changed.status, changed.body).toBe(200)
    const fresh = await signIn(email, 'a-new-password-123')
    // the current password is no oracle: five wrong ones, then even the right one waits
    const change = (current: string) =>
      callProcedure(
        h.url,
        'account.changePassword',
        'mutation',
        { current, next: 'another-password-456' },
        { cookie: fresh },
      )
    for (let i = 0; i < 5; i++) expect((await change(`wrong-${i}`)).status).toBe(400)
    const limited = await change('a-new-password-123')
    expect(limited.status).toBe(429)
    expect(limited.body).toMatch(/too many wrong current passwords: try again in \d+ min/)
    expect((await callProcedure(h.url, 'runs.list', 'query', {}, { cookie: fresh })).status).toBe(200)
    // the CLI token made before the change went with it (a change is often a response to a leak)
    expect((await callProcedure(h.url, 'runs.list', 'query', {}, { token })).status).toBe(401)
    const live = await callProcedure(
      h.url,
      'runs.live',
      'subscription',
      { runId: 'none' },
      { cookie: fresh, readMs: 800 },
    )
    expect(live.message ?? '').not.toBe(PASSWORD_CHANGE_FIRST)
  })
})

describe('only the Better Auth routes the console uses are reachable', () => {
  // what the console calls (app/login, components/console-shell): sign in, the session, sign out
  it('sign-in, get-session and sign-out answer; change-password, update-user, list-sessions… are 404', async () => {
    const email = 'viewer@hardening.test'
    const cookie = await signIn(email, USER_PASSWORD)
    const other = await signIn(email, USER_PASSWORD)
    const post = (path: string, body: unknown, c = cookie) =>
      rawRequest(`${h.url}/api/auth/${path}`, {
        method: 'POST',
        headers: { cookie: c, origin: h.url, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const refused = {
      'change-password': await post('change-password', {
        currentPassword: USER_PASSWORD,
        newPassword: 'changed-behind-the-audit',
        revokeOtherSessions: false,
      }),
      'update-user': await post('update-user', { name: 'x'.repeat(100_000) }),
      'list-sessions': await rawRequest(`${h.url}/api/auth/list-sessions`, { headers: { cookie } }),
      'revoke-sessions': await post('revoke-sessions', {}),
      'delete-user': await post('delete-user', {}),
      'get-session/../list-sessions': await rawRequest(`${h.url}/api/auth/get-session/../list-sessions`, {
        headers: { cookie },
      }),
    }
    expect(Object.fromEntries(Object.entries(refused).map(([k, r]) => [k, r.status]))).toEqual(
      Object.fromEntries(Object.keys(refused).map((k) => [k, 404])),
    )
    for (const r of Object.values(refused)) expect(r.body).not.toMatch(/"token"/)
    // nothing changed behind the app's back: same password, same name
    const user = await h.server.app.db.prisma.user.findUniqueOrThrow({ where: { email }, select: { name: true } })
    expect(user.name.length).toBeLessThanOrEqual(100)
    await signIn(email, USER_PASSWORD)
    const session = await rawRequest(`${h.url}/api/auth/get-session`, { headers: { cookie } })
    expect(session.status).toBe(200)
    expect(session.body).toContain(email)
    const out = await post('sign-out', {}, other)
    expect(out.status).toBe(200)
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { cookie: other })).code).toBe('UNAUTHORIZED')
  })
})

describe("a run's export as a download", () => {
  it('to viewers without the problem files, to admins with them; refused like any viewer procedure', async () => {
    const { ensureSyntheticProblem, seedSyntheticRun } = await import('../../test-support/synthetic-run.ts')
    await ensureSyntheticProblem(h.server.app.db, 'export-download')
    const { runId } = await seedSyntheticRun(h.server.app.db, {
      candidates: 20,
      status: 'completed',
      problemId: 'export-download',
    })
    const url = `${h.url}/api/runs/${runId}/export`
    const as = (token: string) => rawRequest(url, { headers: { authorization: `Bearer ${token}` } })
    const viewer = await as(h.users.viewer.token)
    expect(viewer.status, viewer.body).toBe(200)
    expect(viewer.headers['content-disposition']).toBe(`attachment; filename="fm-agent-run-${runId.slice(0, 8)}.json"`)
    const seen = JSON.parse(viewer.body)
    expect([seen.run.id, seen.candidates.length, 'problem' in seen]).toEqual([runId, 20, false])
    const admin = JSON.parse((await as(h.users.admin.token)).body)
    expect(admin.problem.id).toBe('export-download')
    expect((await as(h.workerToken)).status).toBe(403)
    expect((await rawRequest(url)).status).toBe(401)
    const missing = await rawRequest(`${h.url}/api/runs/00000000-0000-4000-8000-000000000000/export`, {
      headers: { authorization: `Bearer ${h.users.viewer.token}` },
    })
    expect(missing.status).toBe(404)
    // the two downloads are on the audit log, by whom; the refused ones are not
    const audited = await h.server.app.db.prisma.auditEvent.findMany({ where: { runId, action: 'run.export' } })
    expect(audited.map((a) => a.actorLabel.split(' ')[0])).toEqual([h.users.viewer.email, h.users.admin.email])
    // the tests below count the runs and problems: none left
    const { deleteProblem, deleteRun } = await import('../services/deletion.ts')
    await deleteRun(h.server.app.db, runId)
    await deleteProblem(h.server.app.db, 'export-download')
  })
})

describe('tokens and the data folder', () => {
  it('no token in plaintext anywhere in the data folder; the CLI reaches the server through its socket', async () => {
    const tokens = [...Object.values(h.users).map((u) => u.token), h.workerToken]
    const sock = join(h.dataDir, SOCKET_NAME)
    expect(statSync(sock).isSocket()).toBe(true)
    expect(statSync(sock).mode & 0o777).toBe(0o600)
    expect(statSync(h.dataDir).mode & 0o777).toBe(0o700)
    // another process on this machine: the CLI, sent to the running server
    // (asynchronously: the server answering it runs in this very process)
    const cli = await promisify(execFile)(
      process.execPath,
      ['bin/fm-agent.mjs', 'runs', '--json', '--data-dir', h.dataDir],
      { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 120_000 },
    )
    expect(cli.stderr).toMatch(/holds .*: sending this command to it/)
    expect(JSON.parse(cli.stdout.trim())).toEqual([])
    // in this process, the same client the CLI uses
    const api = localSocketClient(readLock(h.dataDir)!.apiSocket!)
    try {
      const me = await api.query<{ role: string; email: string }>('account.me')
      expect(me.role).toBe('admin')
      expect(me.email).toBe(ADMIN_EMAIL)
      // a token minted through the socket is the admin's, and works over HTTP
      const t = await api.mutate<{ token: string }>('tokens.create', { name: 'from the socket', scope: 'cli' })
      expect((await callProcedure(h.url, 'runs.list', 'query', {}, { token: t.token })).status).toBe(200)
      tokens.push(t.token)
    } finally {
      await api.close()
    }
    const files: string[] = []
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n)
        const st = statSync(p)
        if (st.isDirectory()) walk(p)
        else if (st.isFile()) files.push(p)
      }
    }
    walk(h.dataDir)
    expect(files.length).toBeGreaterThan(10)
    await h.server.app.db.sql('CHECKPOINT')
    expect(tokens.length).toBe(5)
    for (const f of files) {
      const bytes = readFileSync(f)
      for (const t of tokens) expect(bytes.includes(t), f).toBe(false)
    }
    figures.dataFiles = files.length
    figures.tokensSearched = tokens.length
  })

  it('a server start leaves users\' tokens alone, "local …" names included; a token file of an older version is revoked and removed', async () => {
    const system = { id: null, label: 'test', role: 'admin' as const, via: 'system' as const }
    const db = h.server.app.db
    const admin = h.users.admin.userId
    const laptop = await createToken(db, system, { userId: h.users.viewer.userId, name: 'local laptop', scope: 'cli' })
    const lookalike = await createToken(db, system, { userId: admin, name: 'local build-host pid 4242', scope: 'cli' })
    const legacy = await createToken(db, system, { userId: admin, name: 'local old-host pid 1', scope: 'cli' })
    let second: ServerHandle | null = null
    try {
      await h.server.stop()
      writeFileSync(join(h.dataDir, 'local-admin-token'), legacy.token, { mode: 0o600 })
      const env = readEnv({ FM_ADMIN_EMAIL: ADMIN_EMAIL, FM_ADMIN_PASSWORD: ADMIN_PASSWORD, FM_LOG: 'warn' })
      second = await startServer({
        env,
        dataDir: h.dataDir,
        port: 0,
        host: '127.0.0.1',
        pages: false,
        engine: false,
        log: silentLogger,
      })
      const url = second.http.url
      expect((await callProcedure(url, 'account.me', 'query', undefined, { token: laptop.token })).status).toBe(200)
      expect((await callProcedure(url, 'account.me', 'query', undefined, { token: lookalike.token })).status).toBe(200)
      expect((await callProcedure(url, 'account.me', 'query', undefined, { token: legacy.token })).status).toBe(401)
      expect(readdirSync(h.dataDir)).not.toContain('local-admin-token')
      const rows = await second.app.db.prisma.apiToken.findMany({
        where: { tokenHash: { in: [laptop.token, lookalike.token, legacy.token].map(hashToken) } },
        select: { name: true, revokedAt: true },
      })
      expect(rows.filter((r) => r.revokedAt).map((r) => r.name)).toEqual(['local old-host pid 1'])
      figures.localNamedTokensKept = 2
    } finally {
      await second?.stop()
      rmSync(h.dataDir, { recursive: true, force: true })
      h = null as unknown as ApiHarness // stopped here
    }
  })
})
