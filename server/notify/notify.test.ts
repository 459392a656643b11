// Notifications against local HTTP receivers started by the test (the user's own service, on
// 127.0.0.1): what is worth a message, the message itself (no secrets), bounded delivery (timeout,
// retries with backoff, no redirects), the notifier following the run event log in both database
// modes (the run's webhook and its watchers', folded stalls, one delivery per event and webhook
// even with two notifiers), the outcome recorded and audited, and the browser's feed. The receivers
// are internal addresses: these tests allow them explicitly, as an operator would
// (FM_WEBHOOK_ALLOW_PRIVATE, or the delivery's policy), and check that nothing else does.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import {
  classifyEvent,
  foldStalls,
  webhookMessage,
  WebhookUrl,
  type Classified,
} from '../../client-safe/notify-messages.ts'
import { Notifier } from './notifier.ts'
import { sendTest } from './service.ts'
import { deliverWebhook, SIGNATURE_HEADER, signatureHeader, verifySignature } from './webhook.ts'
import { parseAllowPolicy } from './webhook-address.ts'

/** what FM_WEBHOOK_ALLOW_PRIVATE=1 allows: the test's receivers on 127.0.0.1 */
const LOCAL = parseAllowPolicy('1')

interface Received {
  path: string
  headers: IncomingMessage['headers']
  body: Record<string, unknown>
  /** the body as sent: what a signature covers */
  raw: string
}

/** A webhook receiver on 127.0.0.1: answers with `respond` (status, or 'hang' to never answer). */
type Response = number | 'hang' | { redirect: string }
async function receiver(respond: (n: number, path: string) => Response | Promise<Response> = () => 200) {
  const got: Received[] = []
  let n = 0
  const server: Server = createServer((req, res) => {
    let data = ''
    req.on('data', (c) => (data += c))
    req.on('end', async () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: data ? JSON.parse(data) : {}, raw: data })
      const r = await respond(++n, req.url ?? '')
      if (r === 'hang') return
      if (typeof r === 'object') return void res.writeHead(302, { location: r.redirect }).end()
      res.writeHead(r).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    got,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

async function until<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, what: string, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs
  for (;;) {
    const v = await read()
    if (ok(v)) return v
    if (Date.now() > end) throw new Error(`waited for ${what}; last: ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('what is worth a notification', () => {
  const ev = (id: number, type: string, payload: Record<string, unknown>, t = id * 1000) => ({
    id,
    runId: 'r1',
    type,
    payload,
    t,
  })
  it('notifies completion, failure and a new plateau; not a stop, a pause or an escalation', () => {
    expect(classifyEvent(ev(1, 'status', { status: 'completed', reason: 'budget reached' }))).toMatchObject({
      event: 'run.completed',
      reason: 'budget reached',
    })
    expect(classifyEvent(ev(2, 'status', { status: 'failed', reason: 'no valid candidate' }))).toMatchObject({
      event: 'run.failed',
    })
    expect(classifyEvent(ev(3, 'status', { status: 'stopped' }))).toBeNull()
    expect(classifyEvent(ev(4, 'status', { status: 'evolving' }))).toBeNull()
    expect(classifyEvent(ev(5, 'stagnation', { kind: 'stagnant', island: 2, message: 'no gain' }))).toMatchObject({
      event: 'run.stalled',
      island: 2,
    })
    expect(classifyEvent(ev(6, 'stagnation', { kind: 'escalated', island: 2 }))).toBeNull()
    expect(classifyEvent(ev(7, 'intervention', { action: 'run.exploration' }))).toBeNull()
  })

  it('folds a run’s stalls within the cool-down', () => {
    const stall = (id: number, runId: string, t: number): Classified => ({
      event: 'run.stalled',
      eventId: id,
      runId,
      island: id,
      reason: null,
      t,
    })
    const last = new Map<string, number>()
    const out = foldStalls(
      [
        stall(1, 'a', 0),
        stall(2, 'a', 1000),
        stall(3, 'b', 1000),
        { ...stall(4, 'a', 2000), event: 'run.completed' },
        stall(5, 'a', 601_000),
      ],
      last,
      600_000,
    )
    expect(out.map((c) => c.eventId)).toEqual([1, 3, 4, 5])
    expect(foldStalls([stall(6, 'a', 602_000)], last, 600_000)).toEqual([])
  })

  it('accepts only plain http(s) addresses without credentials', () => {
    expect(WebhookUrl.parse(' https://hooks.example.org/fm/abc ')).toBe('https://hooks.example.org/fm/abc')
    expect(WebhookUrl.safeParse('http://127.0.0.1:9000/x').success).toBe(true)
    for (const bad of [
      'ftp://example.org/x',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'http://user:pass@example.org/',
      'https://example.org/#frag',
      'not a url',
      `https://example.org/${'a'.repeat(2000)}`,
    ]) {
      expect(WebhookUrl.safeParse(bad).success, bad).toBe(false)
    }
  })

  it('says what happened, with facts only', () => {
    const m = webhookMessage(
      'd1',
      { event: 'run.completed', island: null, reason: 'budget reached', t: 0 },
      {
        id: 'run-1',
        name: 'tuned',
        problemId: 'p',
        status: 'completed',
        evaluations: 300,
        bestScore: 2.5,
        bestCandidateId: 'c9',
        direction: 'max',
      },
      'https://fm.example.org/',
    )
    expect(Object.keys(m).sort()).toEqual(['at', 'id', 'island', 'run', 'text', 'type'])
    expect(Object.keys(m.run!).sort()).toEqual([
      'best',
      'direction',
      'evaluations',
      'id',
      'name',
      'problem',
      'reason',
      'status',
      'url',
    ])
    expect(m.run!.url).toBe('https://fm.example.org/runs/run-1')
    expect(m.text).toBe('tuned completed · p · 300 evaluations · best 2.5 · budget reached')
    const one = webhookMessage(
      'd2',
      { event: 'run.failed', island: null, reason: 'no valid candidate', t: 0 },
      {
        id: 'run-2',
        name: 'x',
        problemId: 'p',
        status: 'failed',
        evaluations: 1,
        bestScore: null,
        bestCandidateId: null,
        direction: 'max',
      },
      null,
    )
    expect(one.text).toContain(' · 1 evaluation · ')
  })
})

describe('delivering to a webhook', () => {
  it('retries a failing receiver with growing waits, and stops at the first success', async () => {
    const r = await receiver((n) => (n < 3 ? 503 : 204))
    const attempts: number[] = []
    const t0 = Date.now()
    const out = await deliverWebhook(
      `${r.url}/hook`,
      { type: 'test', id: 'x', at: '', text: 't', run: null, island: null },
      { baseDelayMs: 100, policy: LOCAL, onAttempt: (a) => void attempts.push(a.attempt) },
    )
    expect(out).toEqual({ ok: true, attempts: 3, httpStatus: 204, error: null })
    expect(attempts).toEqual([1, 2, 3])
    // waits of 100 and 400 ms
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500)
    expect(r.got).toHaveLength(3)
    expect(r.got[0]!.headers['content-type']).toBe('application/json')
    expect(r.got[0]!.headers['x-fm-agent-delivery']).toBe('x')
    await r.close()
  })

  it('signs each attempt with the secret, over the time and the body; an old signature does not verify', async () => {
    const r = await receiver((n) => (n < 2 ? 503 : 200))
    const secret = 'whsec_test'
    const msg = { type: 'test' as const, id: 's', at: '', text: 't', run: null, island: null }
    expect(await deliverWebhook(r.url, msg, { baseDelayMs: 10, policy: LOCAL, secret })).toMatchObject({ ok: true })
    for (const g of r.got) expect(verifySignature(secret, g.raw, g.headers[SIGNATURE_HEADER] as string)).toBe(true)
    const header = signatureHeader(secret, 'body', 1_000_000_000_000)
    expect(header).toMatch(/^t=1000000000,v1=[0-9a-f]{64}$/)
    expect(verifySignature(secret, 'body', header, { now: 1_000_000_000_000 + 60_000 })).toBe(true)
    expect(verifySignature(secret, 'body', header, { now: 1_000_000_000_000 + 600_000 })).toBe(false)
    expect(verifySignature(secret, 'body', undefined)).toBe(false)
    // no secret, no signature
    await deliverWebhook(r.url, msg, { policy: LOCAL })
    expect(r.got.at(-1)!.headers[SIGNATURE_HEADER]).toBeUndefined()
    await r.close()
  })

  it('gives up on a 4xx at once, times out a receiver that never answers, and never follows a redirect', async () => {
    const gone = await receiver(() => 404)
    expect(
      await deliverWebhook(
        gone.url,
        { type: 'test', id: 'a', at: '', text: '', run: null, island: null },
        { baseDelayMs: 10, policy: LOCAL },
      ),
    ).toEqual({ ok: false, attempts: 1, httpStatus: 404, error: 'HTTP 404' })
    await gone.close()

    const silent = await receiver(() => 'hang')
    const t0 = Date.now()
    const out = await deliverWebhook(
      silent.url,
      { type: 'test', id: 'b', at: '', text: '', run: null, island: null },
      { timeoutMs: 300, attempts: 2, baseDelayMs: 50, policy: LOCAL },
    )
    expect(out).toMatchObject({ ok: false, attempts: 2, httpStatus: null, error: 'no answer within 300 ms' })
    expect(Date.now() - t0).toBeLessThan(5000)
    await silent.close()

    const elsewhere = await receiver()
    const redirecting = await receiver(() => ({ redirect: `${elsewhere.url}/stolen` }))
    const red = await deliverWebhook(
      redirecting.url,
      { type: 'test', id: 'c', at: '', text: '', run: null, island: null },
      { baseDelayMs: 10, policy: LOCAL },
    )
    expect(red).toMatchObject({ ok: false, attempts: 1, httpStatus: 302 })
    expect(red.error).toContain('not followed')
    expect(elsewhere.got).toHaveLength(0)
    await Promise.all([elsewhere.close(), redirecting.close()])

    // nobody listening: a network error, retried, then reported
    const closed = await receiver()
    await closed.close()
    expect(
      await deliverWebhook(
        closed.url,
        { type: 'test', id: 'd', at: '', text: '', run: null, island: null },
        { attempts: 2, baseDelayMs: 10, policy: LOCAL },
      ),
    ).toMatchObject({ ok: false, attempts: 2, httpStatus: null, error: 'ECONNREFUSED' })
  })

  it('sends nothing to an internal address unless allowed, also when a name resolves to one', async () => {
    const r = await receiver()
    const port = new URL(r.url).port
    const msg = { type: 'test' as const, id: 'e', at: '', text: '', run: null, island: null }
    // by default: refused at once, never retried, nothing reaches the receiver
    for (const url of [
      r.url,
      `http://2130706433:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://localhost.:${port}/`,
    ]) {
      const out = await deliverWebhook(url, msg, { baseDelayMs: 10 })
      expect(out, url).toMatchObject({ ok: false, attempts: 1, httpStatus: null })
      expect(out.error, url).toMatch(/^refused: .*loopback.*FM_WEBHOOK_ALLOW_PRIVATE/)
    }
    // a name is resolved when the message is sent (once per attempt), and every address checked
    const asked: string[] = []
    const dns = async (name: string) => {
      asked.push(name)
      return name === 'hooks.test' ? [{ address: '127.0.0.1', family: 4 }] : []
    }
    const named = await deliverWebhook(`http://hooks.test:${port}/named`, msg, { baseDelayMs: 10, resolve: dns })
    expect(named).toMatchObject({ ok: false, attempts: 1 })
    expect(named.error).toMatch(/^refused: hooks\.test resolves to a loopback address/)
    expect(r.got).toHaveLength(0)
    // allowed: the connection goes to the address checked, the name stays the Host
    const ok = await deliverWebhook(`http://hooks.test:${port}/named`, msg, { resolve: dns, policy: LOCAL })
    expect(ok).toEqual({ ok: true, attempts: 1, httpStatus: 200, error: null })
    expect(r.got.map((g) => [g.path, g.headers.host])).toEqual([['/named', `hooks.test:${port}`]])
    expect(asked).toEqual(['hooks.test', 'hooks.test'])
    // so does the operator's variable, read at each delivery
    vi.stubEnv('FM_WEBHOOK_ALLOW_PRIVATE', '1')
    try {
      expect(await deliverWebhook(`${r.url}/env`, msg)).toMatchObject({ ok: true })
    } finally {
      vi.unstubAllEnvs()
    }
    await r.close()
  })
})

describe.each(dbModes())('the notifier, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  const users: Record<string, Actor> = {}
  const as = (name: string) => createCaller({ app, actor: users[name]!, tokenScope: null, headers: new Headers() })
  const notifiers: Notifier[] = []

  beforeAll(async () => {
    // the receivers are on 127.0.0.1: allowed as an operator allows internal webhooks
    vi.stubEnv('FM_WEBHOOK_ALLOW_PRIVATE', '1')
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    for (const [name, role] of [
      ['ann', 'viewer'],
      ['bob', 'viewer'],
      ['eve', 'expert'],
      ['fay', 'expert'],
      ['ada', 'admin'],
    ] as Array<[string, Role]>) {
      await db.prisma.user.create({ data: { id: `user-${name}`, name, email: `${name}@example.test`, role } })
      users[name] = { id: `user-${name}`, label: `${name}@example.test`, role, via: 'session' }
    }
    runId = (await seedSyntheticRun(db, { candidates: 300, islands: 2, status: 'evolving', metricEvery: 10 })).runId
    await db.prisma.run.update({
      where: { id: runId },
      data: {
        name: 'watched run',
        config: {
          islands: 2,
          mutator: 'llm',
          models: [{ provider: 'openai', model: 'm', apiKeyEnv: 'SECRET_NAMED_KEY' }],
          budget: { maxEvals: 300 },
        },
      },
    })
  })
  afterAll(async () => {
    for (const n of notifiers) await n.stop()
    await cleanup?.()
    vi.unstubAllEnvs()
  })

  async function event(type: string, payload: Record<string, unknown>) {
    const row = await db.prisma.runEvent.create({
      data: { runId, type, payload: payload as object },
      select: { id: true },
    })
    app.events.publish({ id: String(row.id), runId, type, payload })
    return Number(row.id)
  }

  it('sends a run’s completion, failure and first stall to its webhook and its watchers’, once each, and records the outcome', async () => {
    const mine = await receiver()
    const runHook = await receiver((n) => (n === 1 ? 500 : 200))
    const stranger = await receiver()
    // ann watches with her own webhook; bob has one but does not watch; the run has one (set by an expert)
    await as('ann').notifications.watch({ runId, watching: true })
    await as('ann').notifications.setMyWebhook({ url: `${mine.url}/ann` })
    await as('bob').notifications.setMyWebhook({ url: `${stranger.url}/bob` })
    await expect(as('ann').notifications.setRunWebhook({ runId, url: `${runHook.url}/run` })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await as('eve').notifications.setRunWebhook({
      runId,
      url: `${runHook.url}/run`,
      events: ['run.completed', 'run.failed'],
    })
    await expect(as('ann').notifications.setMyWebhook({ url: 'http://ann:secret@127.0.0.1/x' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })

    // two notifiers on one database (two engine processes): still one message per event and webhook
    for (let i = 0; i < 2; i++) {
      const n = new Notifier({
        db,
        events: app.events,
        log: silentLogger,
        consoleUrl: 'http://console.test:3000',
        delivery: { baseDelayMs: 50 },
        pollMs: 200,
        cooldownMs: 60_000,
      })
      await n.start()
      notifiers.push(n)
    }
    await event('stagnation', {
      island: 0,
      kind: 'stagnant',
      level: 1,
      message: 'island 0: no gain for 40 evaluations',
    })
    await event('stagnation', { island: 1, kind: 'stagnant', level: 1, message: 'island 1: no gain' }) // folded
    await event('stagnation', { island: 0, kind: 'escalated', level: 2 })
    await event('status', { status: 'paused', reason: 'paused by a user' })
    const done = await event('status', { status: 'completed', reason: 'budget reached' })

    await until(
      () => mine.got.length,
      (n) => n >= 2,
      'ann’s two messages',
    )
    await until(
      () => runHook.got.length,
      (n) => n >= 2,
      'the run webhook’s retry',
    )
    // nothing more can come: both notifiers have dispatched every event and finished every delivery
    await until(
      () => notifiers.map((n) => n.progress()),
      (ps) => ps.every((p) => p.through >= done && p.delivering === 0),
      'both notifiers caught up',
    )
    expect(mine.got.map((g) => [g.path, g.body.type, g.body.island])).toEqual([
      ['/ann', 'run.stalled', 0],
      ['/ann', 'run.completed', null],
    ])
    // the run's webhook takes no stalls; its first attempt failed and was retried
    expect(runHook.got.map((g) => g.body.type)).toEqual(['run.completed', 'run.completed'])
    expect(stranger.got).toHaveLength(0)

    const completed = mine.got[1]!.body as { id: string; text: string; run: Record<string, unknown> }
    expect(completed.run).toMatchObject({
      id: runId,
      name: 'watched run',
      status: 'evolving',
      evaluations: 300,
      url: `http://console.test:3000/runs/${runId}`,
    })
    expect(completed.text).toContain('watched run completed')
    expect(JSON.stringify(mine.got)).not.toContain('SECRET_NAMED_KEY')
    expect(JSON.stringify(mine.got)).not.toContain('x = ')

    const rows = await db.prisma.notificationDelivery.findMany({
      where: { eventId: BigInt(done) },
      orderBy: { createdAt: 'asc' },
    })
    expect(rows.map((r) => [r.type, r.status, r.attempts]).sort()).toEqual([
      ['run.completed', 'delivered', 1],
      ['run.completed', 'delivered', 2],
    ])
    const audits = await db.prisma.auditEvent.findMany({ where: { action: 'notification.delivered', runId } })
    expect(audits).toHaveLength(3)
    expect(audits.every((a) => (a.after as { to: string }).to.startsWith('http://127.0.0.1:'))).toBe(true)
    // what the user sees in the console
    const my = await as('ann').notifications.mine()
    expect(my.webhook).toEqual({
      secret: expect.stringMatching(/^whsec_/),
      url: `${mine.url}/ann`,
      events: ['run.completed', 'run.failed', 'run.stalled'],
    })
    expect(my.deliveries.map((d) => [d.type, d.status, d.runName])).toEqual([
      ['run.completed', 'delivered', 'watched run'],
      ['run.stalled', 'delivered', 'watched run'],
    ])
    expect(my.watching.map((r) => r.id)).toEqual([runId])
    const page = await as('ann').notifications.run({ runId })
    expect(page).toMatchObject({ watching: true, watchers: 1, webhook: { url: null, to: runHook.url } })
    expect((await as('eve').notifications.run({ runId })).webhook!.url).toBe(`${runHook.url}/run`)
    // what was sent about the run: the run webhook's deliveries, and to each user only their own
    const sent = (d: { deliveries: Array<{ type: string; to: string }> }) =>
      d.deliveries.map((x) => [x.to, x.type]).sort()
    expect(sent(page)).toEqual([
      ['run webhook', 'run.completed'],
      ['your webhook', 'run.completed'],
      ['your webhook', 'run.stalled'],
    ])
    expect(sent(await as('eve').notifications.run({ runId }))).toEqual([['run webhook', 'run.completed']])
    // the audit keeps where messages go, never the whole address
    const set = await db.prisma.auditEvent.findFirst({
      where: { action: 'webhook.set', actorLabel: 'ann@example.test' },
    })
    expect(set!.after).toEqual({ to: mine.url, events: ['run.completed', 'run.failed', 'run.stalled'] })
    await Promise.all([mine.close(), runHook.close(), stranger.close()])
  })

  it('records a failed delivery with its reason, and sends a test message on request', async () => {
    const broken = await receiver(() => 500)
    await as('eve').notifications.setRunWebhook({ runId, url: null })
    expect((await as('eve').notifications.run({ runId })).webhook).toBeNull()
    await as('ann').notifications.setMyWebhook({ url: `${broken.url}/down`, events: ['run.failed'] })
    const failed = await event('status', { status: 'failed', reason: 'no valid candidate' })
    await until(
      () =>
        db.prisma.notificationDelivery.findFirst({ where: { eventId: BigInt(failed), status: { not: 'pending' } } }),
      (d) => !!d,
      'the failed delivery',
      60_000,
    )
    const row = (await db.prisma.notificationDelivery.findFirst({ where: { eventId: BigInt(failed) } }))!
    expect(row).toMatchObject({ status: 'failed', attempts: 4, httpStatus: 500, error: 'HTTP 500' })
    expect(broken.got).toHaveLength(4)
    expect(await db.prisma.auditEvent.count({ where: { action: 'notification.failed', runId } })).toBe(1)

    const ok = await receiver()
    await as('ann').notifications.setMyWebhook({ url: `${ok.url}/hook` })
    const t = await as('ann').notifications.testMine()
    expect(t).toMatchObject({ ok: true, attempts: 1, httpStatus: 200 })
    expect(ok.got[0]!.body).toMatchObject({ type: 'test', id: t.id, run: null })
    // signed with the webhook's own secret, which its owner sees and no one else's verifies
    const { secret } = (await as('ann').notifications.mine()).webhook!
    expect(secret).toMatch(/^whsec_[\w-]{43}$/)
    const signature = ok.got[0]!.headers[SIGNATURE_HEADER] as string
    expect(verifySignature(secret, ok.got[0]!.raw, signature)).toBe(true)
    expect(verifySignature(`${secret}x`, ok.got[0]!.raw, signature)).toBe(false)
    expect(verifySignature(secret, ok.got[0]!.raw.replace('test', 'tesT'), signature)).toBe(false)
    // a new URL keeps the secret (receivers keep verifying); removing the webhook ends it
    await as('ann').notifications.setMyWebhook({ url: `${ok.url}/hook2` })
    expect((await as('ann').notifications.mine()).webhook!.secret).toBe(secret)
    await as('ann').notifications.setMyWebhook({ url: null })
    await as('ann').notifications.setMyWebhook({ url: `${ok.url}/hook` })
    const second = (await as('ann').notifications.mine()).webhook!.secret
    expect(second).not.toBe(secret)
    // a new secret on request: the next message verifies with it and not with the one before
    const rotated = await as('ann').notifications.rotateMySecret()
    expect(rotated.secret).toMatch(/^whsec_[\w-]{43}$/)
    expect(rotated.secret).not.toBe(second)
    expect((await as('ann').notifications.mine()).webhook).toMatchObject({
      url: `${ok.url}/hook`,
      secret: rotated.secret,
    })
    await as('ann').notifications.testMine()
    const last = ok.got.at(-1)!
    expect(verifySignature(rotated.secret, last.raw, last.headers[SIGNATURE_HEADER] as string)).toBe(true)
    expect(verifySignature(second, last.raw, last.headers[SIGNATURE_HEADER] as string)).toBe(false)
    expect(
      await db.prisma.auditEvent.count({
        where: { action: 'webhook.rotate-secret', targetId: { startsWith: 'user:' } },
      }),
    ).toBeGreaterThan(0)
    await expect(as('ada').notifications.rotateMySecret()).rejects.toThrow('you have no webhook yet')

    // without the operator's opt-in: saving an internal address is refused with the reason, and
    // one saved before is refused when sending (the check that DNS cannot get around)
    vi.stubEnv('FM_WEBHOOK_ALLOW_PRIVATE', '')
    try {
      for (const url of [`${ok.url}/x`, 'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:10.0.0.1]/']) {
        const err = await as('ann')
          .notifications.setMyWebhook({ url })
          .catch((e: Error) => e)
        expect(err, url).toMatchObject({ code: 'BAD_REQUEST' })
        expect((err as Error).message, url).toMatch(/^this webhook address is refused: .*FM_WEBHOOK_ALLOW_PRIVATE/)
      }
      await expect(as('eve').notifications.setRunWebhook({ runId, url: 'http://localhost./' })).rejects.toThrow(
        /loopback/,
      )
      const refused = await as('ann').notifications.testMine()
      expect(refused).toMatchObject({ ok: false, attempts: 1, httpStatus: null })
      expect(refused.error).toMatch(/^refused: 127\.0\.0\.1 is a loopback address/)
      // each test is a request the server makes and two audit rows: ten a minute per user
      let limited: unknown = null
      for (let i = 0; i < 11 && !limited; i++)
        limited = await as('ann')
          .notifications.testMine()
          .then(() => null)
          .catch((e: unknown) => e)
      expect(limited).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
      expect((limited as Error).message).toMatch(/^10 test messages a minute at most: try again in \d+ s$/)
      expect(ok.got).toHaveLength(2)
      expect((await as('ann').notifications.mine()).webhook!.url).toBe(`${ok.url}/hook`)
    } finally {
      vi.stubEnv('FM_WEBHOOK_ALLOW_PRIVATE', '1')
    }
    await expect(as('bob').notifications.testRun({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await Promise.all([broken.close(), ok.close()])
  })

  it('shows a run webhook’s whole address only to the expert who set it and to admins', async () => {
    const url = 'http://127.0.0.1:9/hook?token=run-hook-secret'
    await as('eve').notifications.setRunWebhook({ runId, url })
    const seen = async (who: string) => (await as(who).notifications.run({ runId })).webhook
    expect(await seen('eve')).toMatchObject({ url, to: 'http://127.0.0.1:9', secret: expect.stringMatching(/^whsec_/) })
    expect(await seen('ada')).toMatchObject({ url, secret: expect.stringMatching(/^whsec_/) })
    for (const who of ['fay', 'ann'])
      expect(await seen(who)).toMatchObject({ url: null, to: 'http://127.0.0.1:9', secret: null })
    // its secret is renewed by who sees it, never by an expert who cannot (they could not pass it on)
    const before = (await seen('eve'))!.secret
    await expect(as('fay').notifications.rotateRunSecret({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(as('ann').notifications.rotateRunSecret({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect((await seen('eve'))!.secret).toBe(before)
    const byEve = await as('eve').notifications.rotateRunSecret({ runId })
    const byAda = await as('ada').notifications.rotateRunSecret({ runId })
    expect(new Set([before, byEve.secret, byAda.secret]).size).toBe(3)
    expect((await seen('eve'))!.secret).toBe(byAda.secret)
    // once fay sets it, it is hers to see and no longer eve's, with a secret of its own: eve's
    // receiver's secret is never shown to fay
    await as('fay').notifications.setRunWebhook({ runId, url: `${url}-2` })
    expect((await seen('fay'))!.url).toBe(`${url}-2`)
    expect((await seen('fay'))!.secret).toMatch(/^whsec_/)
    expect((await seen('fay'))!.secret).not.toBe(byAda.secret)
    expect((await seen('eve'))!.url).toBeNull()
    // who already saw the secret keeps it when replacing the address: an admin, the one who set it
    const fays = (await seen('fay'))!.secret
    await as('fay').notifications.setRunWebhook({ runId, url: `${url}-3` })
    await as('ada').notifications.setRunWebhook({ runId, url: `${url}-4` })
    expect((await seen('ada'))!.secret).toBe(fays)
    await expect(as('eve').notifications.rotateRunSecret({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await as('fay').notifications.setRunWebhook({ runId, url: null })
  })

  it('tells a disabled user nothing more: no webhook message, no feed item', async () => {
    const bobs = await receiver()
    const eves = await receiver()
    // bob and eve both watch the run with a webhook; then bob is disabled (off-boarded)
    await as('bob').notifications.setMyWebhook({ url: `${bobs.url}/bob` })
    await as('eve').notifications.setMyWebhook({ url: `${eves.url}/eve` })
    for (const who of ['bob', 'eve']) await as(who).notifications.watch({ runId, watching: true })
    const start = await as('bob').notifications.feed({ after: null })
    // one more notifier of its own (the test runs alone too); deliveries stay one per event and webhook
    const own = new Notifier({
      db,
      events: app.events,
      log: silentLogger,
      consoleUrl: null,
      delivery: { baseDelayMs: 50 },
      pollMs: 200,
    })
    await own.start()
    notifiers.push(own)
    await db.prisma.user.update({ where: { id: 'user-bob' }, data: { disabled: true } })
    try {
      const failed = await event('status', { status: 'failed', reason: 'the evaluator crashed' })
      // eve's message arrives and every notifier is done with the event: bob's would have come by now
      await until(
        () => eves.got.length,
        (n) => n >= 1,
        'eve’s message',
      )
      await until(
        () => notifiers.map((n) => n.progress()),
        (ps) => ps.every((p) => p.through >= failed && p.delivering === 0),
        'the notifiers caught up',
      )
      expect(eves.got.map((g) => [g.path, g.body.type])).toEqual([['/eve', 'run.failed']])
      expect(bobs.got).toEqual([])
      expect((await as('bob').notifications.feed({ after: start.cursor })).items).toEqual([])
      expect((await as('eve').notifications.feed({ after: start.cursor })).items.map((i) => i.event)).toEqual([
        'run.failed',
      ])
    } finally {
      await db.prisma.user.update({ where: { id: 'user-bob' }, data: { disabled: false } })
      for (const who of ['bob', 'eve']) {
        await as(who).notifications.watch({ runId, watching: false })
        await as(who).notifications.setMyWebhook({ url: null })
      }
      await Promise.all([bobs.close(), eves.close()])
    }
  })

  it('a retry goes with the webhook as it is then: a renewed secret, and none at all once its user is disabled', async () => {
    // the receiver fails the first attempt, after the webhook changed under it
    const renewed = await receiver(async (n) => {
      if (n > 1) return 200
      await as('bob').notifications.rotateMySecret()
      return 503
    })
    await as('bob').notifications.setMyWebhook({ url: `${renewed.url}/bob` })
    const old = (await as('bob').notifications.mine()).webhook!.secret
    const sent = await sendTest(db, users.bob!, { kind: 'user' }, { attempts: 3, baseDelayMs: 10 })
    expect(sent).toMatchObject({ ok: true, attempts: 2 })
    const now = (await as('bob').notifications.mine()).webhook!.secret
    expect(now).not.toBe(old)
    const [first, second] = renewed.got
    expect(verifySignature(old, first!.raw, first!.headers[SIGNATURE_HEADER] as string)).toBe(true)
    expect(verifySignature(now, second!.raw, second!.headers[SIGNATURE_HEADER] as string)).toBe(true)

    const offboarded = await receiver(async () => {
      await db.prisma.user.update({ where: { id: 'user-bob' }, data: { disabled: true } })
      return 503
    })
    await as('bob').notifications.setMyWebhook({ url: `${offboarded.url}/bob` })
    try {
      const cut = await sendTest(db, users.bob!, { kind: 'user' }, { attempts: 3, baseDelayMs: 10 })
      expect(cut).toMatchObject({ ok: false, attempts: 1, error: 'cancelled: its user is disabled' })
      expect(offboarded.got).toHaveLength(1)
      expect(await db.prisma.notificationDelivery.findUnique({ where: { id: cut.id } })).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: 'cancelled: its user is disabled',
      })
    } finally {
      await db.prisma.user.update({ where: { id: 'user-bob' }, data: { disabled: false } })
      await as('bob').notifications.setMyWebhook({ url: null })
      await Promise.all([renewed.close(), offboarded.close()])
    }
  })

  it('feeds the browser the events of the runs the user watches', async () => {
    const start = await as('ann').notifications.feed({ after: null })
    expect(start.items).toEqual([])
    await as('ann').notifications.setMyWebhook({ url: null })
    await event('stagnation', { island: 1, kind: 'stagnant', level: 1, message: 'island 1: stuck' })
    await event('status', { status: 'completed', reason: 'budget reached' })
    const next = await as('ann').notifications.feed({ after: start.cursor })
    expect(next.items.map((i) => [i.event, i.title])).toEqual([
      ['run.stalled', 'watched run: island 1 stalled'],
      ['run.completed', 'watched run completed'],
    ])
    expect(next.cursor).toBeGreaterThan(start.cursor)
    expect((await as('ann').notifications.feed({ after: next.cursor })).items).toEqual([])
    // bob does not watch the run
    expect((await as('bob').notifications.feed({ after: start.cursor })).items).toEqual([])
    await as('ann').notifications.watch({ runId, watching: false })
    expect((await as('ann').notifications.feed({ after: start.cursor })).items).toEqual([])
  })
})
