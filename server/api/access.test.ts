// Access control, for every procedure of the router as it is when the test runs, through the real
// HTTP server: a procedure added without an access rule, or with a rule its middleware does not
// enforce, fails here. API tokens: hashed at rest, shown once, scoped, revocable, expiring.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROLES, roleAtLeast, type Role } from '../auth/roles.ts'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { callProcedure, type CallResult } from '../../test-support/http-client.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { blockNetwork } from '../../test-support/no-network.ts'
import { listProcedures, offlineOverride, validSample, type ProcedureInfo } from '../../test-support/zod-schema.ts'
import { createToken, hashToken } from '../services/tokens.ts'
import { createUser } from '../services/users.ts'
import { appRouter } from './root.ts'

const procedures = listProcedures(appRouter)
/** The only procedures anyone may call signed out: health, and whatever signing in needs. */
const PUBLIC_ALLOWED = [/^health\./, /^auth\.(signIn|login|session)/]
/** What the access middleware says when it refuses (other FORBIDDENs are the handler's own business rules). */
const ACCESS_REFUSAL = /^(sign in first|needs the \w+ role|a worker token cannot call this)$/

let h: ApiHarness
const samples = new Map<string, unknown>()
let calls = 0

async function call(p: ProcedureInfo, auth: { token?: string; cookie?: string }): Promise<CallResult> {
  calls++
  return callProcedure(h.url, p.path, p.type, samples.get(p.path), { ...auth, readMs: 800 })
}

let network: ReturnType<typeof blockNetwork>
beforeAll(async () => {
  network = blockNetwork()
  h = await startApiHarness()
  for (const p of procedures) samples.set(p.path, validSample(p, { override: offlineOverride }))
}, 120_000)
afterAll(async () => {
  network?.restore()
  await h?.stop()
  // no handler called while checking access tried to leave the machine
  expect(network?.attempts ?? []).toEqual([])
})

describe('every procedure is classified', () => {
  it('has meta.access; only health and sign-in are public', () => {
    const unclassified = procedures
      .filter((p) => !p.meta?.access || !['public', ...ROLES].includes(p.meta.access))
      .map((p) => p.path)
    expect(
      unclassified,
      'procedures without meta.access (use publicProcedure/viewerProcedure/expertProcedure/adminProcedure)',
    ).toEqual([])
    const publicOnes = procedures.filter((p) => p.meta?.access === 'public').map((p) => p.path)
    expect(
      publicOnes.filter((p) => !PUBLIC_ALLOWED.some((r) => r.test(p))),
      'public procedures that are not health or sign-in',
    ).toEqual([])
    expect(publicOnes).toContain('health.check')
    // the census, so a reader of the test output sees what was covered
    const byAccess = Object.fromEntries(
      ['public', ...ROLES].map((a) => [a, procedures.filter((p) => p.meta?.access === a).length]),
    )
    expect(byAccess.viewer! + byAccess.expert! + byAccess.admin!).toBeGreaterThan(30)
  })
})

describe('through HTTP, for every procedure', () => {
  it('anonymous callers get UNAUTHORIZED on everything that is not public, and public ones answer', async () => {
    const wrong: string[] = []
    for (const p of procedures) {
      const r = await call(p, {})
      if (p.meta?.access === 'public') {
        if (r.code === 'UNAUTHORIZED' || r.code === 'FORBIDDEN' || r.status >= 500)
          wrong.push(`${p.path}: public but answered ${r.status} ${r.code}`)
        // a subscription's SSE stream starts with 200 and carries the error as its first event
      } else if (r.code !== 'UNAUTHORIZED' || r.status !== (p.type === 'subscription' ? 200 : 401))
        wrong.push(`${p.path}: ${r.status} ${r.code} ${r.message}`)
      else if (p.type === 'subscription' && r.events.some((e) => e.event === 'message' && e.data))
        wrong.push(`${p.path}: data streamed to an anonymous caller`)
    }
    expect(wrong).toEqual([])
  })

  it('a forged bearer token or session cookie is anonymous', async () => {
    const target = procedures.find((p) => p.path === 'account.me')!
    for (const auth of [
      { token: 'fma_' + 'A'.repeat(32) },
      { token: 'not-a-token' },
      { cookie: 'fm.session_token=forged.value' },
    ]) {
      const r = await call(target, auth)
      expect(r.code, JSON.stringify(auth)).toBe('UNAUTHORIZED')
    }
  })

  it.each(['viewer', 'expert'] as const)(
    'a %s gets FORBIDDEN on every procedure above its role, and passes the check below it',
    async (role) => {
      const wrong: string[] = []
      for (const p of procedures) {
        const access = p.meta?.access
        if (!access || access === 'public') continue
        const r = await call(p, { token: h.users[role].token })
        if (!roleAtLeast(role, access as Role)) {
          if (
            r.code !== 'FORBIDDEN' ||
            r.status !== (p.type === 'subscription' ? 200 : 403) ||
            !ACCESS_REFUSAL.test(r.message ?? '')
          )
            wrong.push(`${p.path} (${access}): ${r.status} ${r.code} ${r.message}`)
        } else if (r.code === 'UNAUTHORIZED' || (r.code === 'FORBIDDEN' && ACCESS_REFUSAL.test(r.message ?? ''))) {
          wrong.push(`${p.path} (${access}): refused to a ${role}: ${r.code} ${r.message}`)
        }
      }
      expect(wrong).toEqual([])
    },
  )

  it('an admin passes the access check everywhere', async () => {
    const refused: string[] = []
    for (const p of procedures) {
      const r = await call(p, { token: h.users.admin.token })
      if (r.code === 'UNAUTHORIZED' || (r.code === 'FORBIDDEN' && ACCESS_REFUSAL.test(r.message ?? '')))
        refused.push(`${p.path}: ${r.code} ${r.message}`)
    }
    expect(refused).toEqual([])
  })

  it('a worker-scoped token (of an admin) gets FORBIDDEN on every procedure not marked worker', async () => {
    const wrong: string[] = []
    let workerProcedures = 0
    for (const p of procedures) {
      if (p.meta?.access === 'public') continue
      const r = await call(p, { token: h.workerToken })
      if (p.meta?.worker) {
        workerProcedures++
        if (r.code === 'UNAUTHORIZED' || (r.code === 'FORBIDDEN' && ACCESS_REFUSAL.test(r.message ?? '')))
          wrong.push(`${p.path} (worker): refused: ${r.message}`)
      } else if (r.code !== 'FORBIDDEN' || r.message !== 'a worker token cannot call this')
        wrong.push(`${p.path}: ${r.status} ${r.code} ${r.message}`)
    }
    expect(wrong).toEqual([])
    recordFigures('access', {
      procedures: procedures.length,
      public: procedures.filter((p) => p.meta?.access === 'public').map((p) => p.path),
      viewer: procedures.filter((p) => p.meta?.access === 'viewer').length,
      expert: procedures.filter((p) => p.meta?.access === 'expert').length,
      admin: procedures.filter((p) => p.meta?.access === 'admin').length,
      workerMarked: workerProcedures,
      httpCalls: calls,
    })
  })

  it('sessions signed in through Better Auth carry the user role the same way', async () => {
    const viewerCookie = await h.sessionCookie('viewer')
    const me = await callProcedure(h.url, 'account.me', 'query', undefined, { cookie: viewerCookie })
    expect(me.status).toBe(200)
    expect(me.data).toMatchObject({ email: h.users.viewer.email, role: 'viewer' })
    const forbidden = await callProcedure(h.url, 'users.list', 'query', undefined, { cookie: viewerCookie })
    expect(forbidden.code).toBe('FORBIDDEN')
    const adminCookie = await h.sessionCookie('admin')
    expect((await callProcedure(h.url, 'users.list', 'query', undefined, { cookie: adminCookie })).status).toBe(200)
  })
})

describe('API tokens', () => {
  it('are shown once, stored only as a SHA-256 hash, and never listed again', async () => {
    const created = await callProcedure(
      h.url,
      'tokens.create',
      'mutation',
      { name: 'shown-once', scope: 'cli' },
      { cookie: await h.sessionCookie('expert', { fresh: true }) },
    )
    expect(created.status).toBe(200)
    const { token, id, prefix } = created.data as { token: string; id: string; prefix: string }
    expect(token).toMatch(/^fma_[A-Za-z0-9_-]{32}$/)
    expect(token.startsWith(prefix)).toBe(true)
    // it works
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { token })).data).toMatchObject({
      email: h.users.expert.email,
    })
    // listings show the prefix, never the token
    for (const [path, who] of [
      ['tokens.mine', h.users.expert.token],
      ['tokens.all', h.users.admin.token],
    ] as const) {
      const list = await callProcedure(h.url, path, 'query', undefined, { token: who })
      expect(list.body).toContain(id)
      expect(list.body).not.toContain(token)
    }
    // at rest: the hash, and nowhere the token itself (the table, then every byte of the data folder)
    const row = await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where: { id } })
    expect(row.tokenHash).toBe(hashToken(token))
    expect(JSON.stringify(row)).not.toContain(token.slice(10))
    await h.server.app.db.sql('CHECKPOINT')
    expect(filesContaining(h.dataDir, token.slice(10))).toEqual([])
    // the check above can find things: the hash itself is in the database files
    expect(filesContaining(h.dataDir, row.tokenHash).length).toBeGreaterThan(0)
  })

  it('need a name that tells them apart: not blank, not the name of a live token of the same user', async () => {
    const cookie = await h.sessionCookie('expert', { fresh: true })
    const make = (name: string) => callProcedure(h.url, 'tokens.create', 'mutation', { name, scope: 'cli' }, { cookie })
    const blank = await make('   ')
    expect(blank.status).toBe(400)
    expect(blank.body).toContain('a token needs a name')
    const first = await make('  laptop ')
    expect(first.status).toBe(200)
    expect((first.data as { name: string }).name).toBe('laptop')
    const again = await make('laptop')
    expect(again.status).toBe(409)
    expect(again.body).toContain('a token named \\"laptop\\" is already in use')
    // once revoked, its name is free again
    await callProcedure(h.url, 'tokens.revoke', 'mutation', { id: (first.data as { id: string }).id }, { cookie })
    expect((await make('laptop')).status).toBe(200)
  })

  it('are revocable: a revoked token is UNAUTHORIZED from its next call', async () => {
    const { token, id } = (
      await callProcedure(
        h.url,
        'tokens.create',
        'mutation',
        { name: 'to-revoke', scope: 'cli' },
        { cookie: await h.sessionCookie('viewer', { fresh: true }) },
      )
    ).data as { token: string; id: string }
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { token })).status).toBe(200)
    // someone else's token: refused to a viewer
    const other = (
      await callProcedure(
        h.url,
        'tokens.create',
        'mutation',
        { name: 'not-yours', scope: 'cli' },
        { cookie: await h.sessionCookie('expert', { fresh: true }) },
      )
    ).data as { id: string }
    expect(
      (await callProcedure(h.url, 'tokens.revoke', 'mutation', { id: other.id }, { token: h.users.viewer.token })).code,
    ).toBe('FORBIDDEN')
    expect(
      (await callProcedure(h.url, 'tokens.revoke', 'mutation', { id }, { token: h.users.viewer.token })).status,
    ).toBe(200)
    const after = await callProcedure(h.url, 'account.me', 'query', undefined, { token })
    expect(after.code).toBe('UNAUTHORIZED')
    // its holder learns a new token is the fix, not a sign-in
    expect(after.message).toBe('this token was revoked: create a new one (Settings → Tokens) and use it instead')
    // revoked once: a second revocation is refused and leaves its time and its audit as they were
    const { revokedAt } = await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where: { id } })
    const again = await callProcedure(h.url, 'tokens.revoke', 'mutation', { id }, { token: h.users.viewer.token })
    expect([again.code, again.message]).toEqual([
      'CONFLICT',
      `this token was already revoked on ${revokedAt!.toISOString()}: nothing to do`,
    ])
    expect((await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where: { id } })).revokedAt).toEqual(revokedAt)
    expect(await h.server.app.db.prisma.auditEvent.count({ where: { action: 'token.revoke', targetId: id } })).toBe(1)
    // a token never issued still gets the plain answer: nothing is said about tokens it does not hold
    const unknown = await callProcedure(h.url, 'account.me', 'query', undefined, { token: `fma_${'x'.repeat(32)}` })
    expect([unknown.code, unknown.message]).toEqual(['UNAUTHORIZED', 'sign in first'])
  })

  it('expire, and die with a disabled user', async () => {
    const t = await h.token('viewer')
    const where = { tokenHash: hashToken(t) }
    expect((await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where })).lastUsedAt).toBeNull()
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { token: t })).status).toBe(200)
    // the use is recorded in the same clock as the rest (not hours off by a time zone), then not again within the minute
    const used = (await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where })).lastUsedAt!
    expect(Math.abs(used.getTime() - Date.now())).toBeLessThan(60_000)
    await h.server.app.db.prisma.apiToken.update({ where, data: { expiresAt: new Date(Date.now() + 3_600_000) } })
    expect((await callProcedure(h.url, 'account.me', 'query', undefined, { token: t })).status).toBe(200)
    expect((await h.server.app.db.prisma.apiToken.findUniqueOrThrow({ where })).lastUsedAt).toEqual(used)
    const expiresAt = new Date(Date.now() - 1000)
    await h.server.app.db.prisma.apiToken.update({ where: { tokenHash: hashToken(t) }, data: { expiresAt } })
    const expired = await callProcedure(h.url, 'account.me', 'query', undefined, { token: t })
    expect([expired.code, expired.message]).toEqual([
      'UNAUTHORIZED',
      `this token expired on ${expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: create a new one (Settings → Tokens) and use it instead`,
    ])
    const e = await h.token('expert')
    await callProcedure(
      h.url,
      'users.update',
      'mutation',
      { id: h.users.expert.userId, disabled: true },
      { token: h.users.admin.token },
    )
    try {
      expect((await callProcedure(h.url, 'account.me', 'query', undefined, { token: e })).code).toBe('UNAUTHORIZED')
    } finally {
      await callProcedure(
        h.url,
        'users.update',
        'mutation',
        { id: h.users.expert.userId, disabled: false },
        { token: h.users.admin.token },
      )
    }
  })

  it('are scoped: worker tokens are for admins to mint, and a cli token cannot mint above its owner', async () => {
    const r = await callProcedure(
      h.url,
      'tokens.create',
      'mutation',
      { name: 'w', scope: 'worker' },
      { cookie: await h.sessionCookie('expert', { fresh: true }) },
    )
    expect(r.code).toBe('FORBIDDEN')
    const ok = await callProcedure(
      h.url,
      'tokens.create',
      'mutation',
      { name: 'w', scope: 'worker' },
      { cookie: await h.sessionCookie('admin', { fresh: true }) },
    )
    expect(ok.status).toBe(200)
    expect((ok.data as { scope: string }).scope).toBe('worker')
    // a worker token cannot mint itself a cli token either
    expect(
      (
        await callProcedure(
          h.url,
          'tokens.create',
          'mutation',
          { name: 'escalate', scope: 'cli' },
          { token: (ok.data as { token: string }).token },
        )
      ).code,
    ).toBe('FORBIDDEN')
  })

  it('an unknown user is NOT_FOUND (404) to users.update and users.resetPassword', async () => {
    for (const [path, input] of [
      ['users.update', { id: 'no-such-user', name: 'x' }],
      ['users.resetPassword', { id: 'no-such-user' }],
    ] as const) {
      const r = await callProcedure(h.url, path, 'mutation', input, { token: h.users.admin.token })
      expect([path, r.status, r.code]).toEqual([path, 404, 'NOT_FOUND'])
    }
  })

  it('are minted from a session only: a token cannot mint another', async () => {
    const child = await callProcedure(
      h.url,
      'tokens.create',
      'mutation',
      { name: 'child', scope: 'cli' },
      { token: h.users.viewer.token },
    )
    expect(child.code).toBe('FORBIDDEN')
    expect(child.message).toMatch(/signed-in session/)
  })

  it('of the CLI die with a password change or reset; worker tokens stay', async () => {
    const db = h.server.app.db
    const system = { id: null, label: 'access test', role: 'admin' as const, via: 'system' as const }
    const u = await createUser(db, system, { email: `pw-tokens-${Date.now()}@hardening.test`, role: 'viewer' })
    let minted = 0
    const mint = async (scope: 'cli' | 'worker') =>
      (await createToken(db, system, { userId: u.user.id, name: `pw ${scope} ${++minted}`, scope })).token
    const works = async (t: string) =>
      (await callProcedure(h.url, 'account.me', 'query', undefined, { token: t })).status
    const [cli1, cli2, worker] = [await mint('cli'), await mint('cli'), await mint('worker')]
    // the admin resets the password: the answer and the audit say how many tokens went
    const reset = await callProcedure(
      h.url,
      'users.resetPassword',
      'mutation',
      { id: u.user.id },
      { token: h.users.admin.token },
    )
    expect(reset.status, reset.body).toBe(200)
    expect(reset.data).toMatchObject({ tokensRevoked: 2 })
    expect(await works(cli1)).toBe(401)
    expect(await works(cli2)).toBe(401)
    const workerRow = await db.prisma.apiToken.findUniqueOrThrow({ where: { tokenHash: hashToken(worker) } })
    expect(workerRow.revokedAt).toBeNull()
    const audited = await db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.password', targetId: u.user.id },
      orderBy: { id: 'desc' },
    })
    expect(audited.after).toMatchObject({ tokensRevoked: 2 })
    // the user changes it themselves (through the one-time password): their new CLI token goes too
    const oneTime = (reset.data as { oneTimePassword: string }).oneTimePassword
    const cli3 = await mint('cli')
    const changed = await callProcedure(
      h.url,
      'account.changePassword',
      'mutation',
      { current: oneTime, next: 'a-new-password-for-tokens' },
      { token: cli3 },
    )
    expect(changed.status, changed.body).toBe(200)
    expect(changed.data).toMatchObject({ ok: true, tokensRevoked: 1 })
    expect(await works(cli3)).toBe(401)
  })
})

/** Files under dir whose bytes contain the text (the database's own files included). */
function filesContaining(dir: string, text: string): string[] {
  const needle = Buffer.from(text)
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = statSync(p)
      if (st.isDirectory()) walk(p)
      else if (st.isFile() && readFileSync(p).includes(needle)) out.push(p)
    }
  }
  walk(dir)
  return out
}
