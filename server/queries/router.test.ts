// The console's API through tRPC's createCaller against a migrated database, in both modes:
// roles, dashboard data (downsampled in SQL), the live subscription's backfill from a cursor,
// candidates (paging, filters, export, lineage), guidance with its effect, and the audit of every
// intervention. The engine side of interventions is in engine-interventions.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { decodeCursor } from './cursor.ts'
import { listGuidance, MAX_ACTIVE_HINTS } from '../steering/interventions.ts'
import { concurrentEffect } from '../steering/intervention-effect.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import type { LiveMessage } from '../../client-safe/types.ts'

const actor = (role: Role): Actor => ({ id: `user-${role}`, label: `${role}@example.test`, role, via: 'session' })

describe.each(dbModes())('console API, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  let bestId: string
  const as = (role: Role, signal?: AbortSignal) =>
    createCaller({ app, actor: actor(role), tokenScope: null, headers: new Headers() }, signal ? { signal } : undefined)

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    const r = await seedSyntheticRun(db, { candidates: 6000, islands: 3, status: 'evolving', metricEvery: 5 })
    runId = r.runId
    bestId = r.bestId!
  })
  afterAll(() => cleanup?.())

  it('lets viewers watch and keeps interventions for experts and run management for admins', async () => {
    const v = as('viewer')
    expect((await v.runs.overview({ runId })).islands).toHaveLength(3)
    expect((await v.candidates.list({ runId, limit: 5 })).rows).toHaveLength(5)
    expect((await v.workers.list()).source).toBe('none')
    await expect(v.guidance.create({ runId, text: 'try x' })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(v.candidates.setPinned({ runId, id: bestId, pinned: true })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(v.candidates.submitEdit({ runId, parentId: bestId, code: 'x = 1', island: 0 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(v.runs.setExploration({ runId, value: 0.5 })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(as('expert').runs.setWeights({ runId, localOperators: { swap: 0 } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(as('expert').runs.pause({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(
      createCaller({ app, actor: null, tokenScope: null, headers: new Headers() }).runs.overview({ runId }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })

  it('sends chart data downsampled in the database, and full resolution inside a zoomed range', async () => {
    const full = await as('viewer').runs.series({ runId, buckets: 200 })
    expect(full.totals).toEqual({ metrics: 1200 * 4, points: 6000 })
    // last row per island per bucket: ≤ 200 buckets × 4 series
    expect(full.metrics.length).toBeLessThanOrEqual(200 * 4 + 4)
    expect(full.metrics.length).toBeGreaterThan(150 * 4)
    // min and max per island per bucket (invalid ones are not drawn), the run best included
    expect(full.points.length).toBeLessThanOrEqual(200 * 3 * 2 + 1)
    expect(full.points.some((p) => p.id === bestId)).toBe(true)
    const valid = await db.prisma.candidate.findMany({
      where: { runId, valid: true },
      select: { evalIndex: true, score: true, island: true },
    })
    const b0 = valid.filter((c) => c.island === 1 && c.evalIndex! < 30)
    const maxB0 = Math.max(...b0.map((c) => c.score!))
    expect(full.points.some((p) => p.island === 1 && p.evalIndex < 30 && p.score === maxB0)).toBe(true)
    expect(decodeCursor(full.cursor)).toMatchObject({ c: 5999 })
    const zoom = await as('viewer').runs.series({ runId, range: { lo: 1000, hi: 1999 }, buckets: 2000 })
    expect(zoom.points.map((p) => p.evalIndex)).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 + i))
    expect(zoom.metrics.every((m) => m.evalCount >= 1000 && m.evalCount <= 1999)).toBe(true)
    expect(zoom.metrics.filter((m) => m.island === -1)).toHaveLength(200)
  })

  it('draws the MAP-Elites grid from the problem features', async () => {
    // a broken candidate with absurd feature values lands in an edge cell instead of failing the query
    await db.prisma.candidate.update({
      where: { id: syntheticId(runId, 1) },
      data: { features: { alpha: 1e15, beta: -1e300 } },
    })
    const g = await as('viewer').runs.heatmap({ runId })
    expect(g!.axes.map((a) => a.name)).toEqual(['alpha', 'beta'])
    expect(g!.axes[0]).toMatchObject({ min: 0, max: 1, bins: 8, auto: false })
    expect(g!.axes[1]!.auto).toBe(true)
    expect(g!.cells[0]![7]).not.toBeNull()
    expect(g!.filled).toBeGreaterThan(20)
    const cells = g!.cells.flat().filter((c) => c !== null)
    expect(cells.reduce((s, c) => s + c!.count, 0)).toBe(
      await db.prisma.candidate.count({ where: { runId, valid: true } }),
    )
    expect(cells.some((c) => c!.t === 1)).toBe(true)
    const island = await as('viewer').runs.heatmap({ runId, island: 2 })
    expect(
      island!.cells
        .flat()
        .filter((c) => c)
        .reduce((s, c) => s + c!.count, 0),
    ).toBe(await db.prisma.candidate.count({ where: { runId, valid: true, island: 2 } }))
  })

  it('streams what happened after a cursor, and resumes a reconnecting client exactly where it was', async () => {
    const snap = await as('viewer').runs.series({ runId })
    const ac = new AbortController()
    const it1 = (await as('viewer', ac.signal).runs.live({ runId, lastEventId: snap.cursor }))[Symbol.asyncIterator]()
    // new evaluations and a metric tick, written as the engine writes them, then a bus wake-up
    await addEvaluations(db, runId, 6000, 3)
    app.events.publish({ runId, type: 'candidate', payload: {} })
    const got: LiveMessage[] = []
    const started = Date.now()
    while (got.flatMap((m) => (m.type === 'batch' ? m.points : [])).length < 3) {
      const r = await it1.next()
      got.push(unwrap(r.value).data)
    }
    expect(Date.now() - started).toBeLessThan(1500)
    const points = got.flatMap((m) => (m.type === 'batch' ? m.points : []))
    expect(points.map((p) => p.evalIndex)).toEqual([6000, 6001, 6002])
    const lastCursor = (got[got.length - 1] as { cursor: string }).cursor
    ac.abort()
    await it1.return?.(undefined)
    // while the client is away: more evaluations, a stagnation event, a status change
    await addEvaluations(db, runId, 6003, 2)
    await db.prisma.runEvent.create({
      data: {
        runId,
        type: 'stagnation',
        payload: { island: 1, kind: 'stagnant', suggestions: ['give-hint'], message: 'no gain in 40' },
      },
    })
    const ac2 = new AbortController()
    const it2 = (await as('viewer', ac2.signal).runs.live({ runId, lastEventId: lastCursor }))[Symbol.asyncIterator]()
    const first = unwrap((await it2.next()).value)
    ac2.abort()
    await it2.return?.(undefined)
    expect(first.data.type).toBe('batch')
    if (first.data.type !== 'batch') return
    expect(first.id).toBe(first.data.cursor)
    expect(first.data.points.map((p) => p.evalIndex)).toEqual([6003, 6004])
    expect(first.data.events.map((e) => e.type)).toEqual(['stagnation'])
    expect(first.data.run).toMatchObject({ status: 'evolving' })
    // a garbage cursor starts from now instead of failing
    const ac3 = new AbortController()
    setTimeout(() => ac3.abort(), 300)
    const it3 = (await as('viewer', ac3.signal).runs.live({ runId, lastEventId: 'nonsense' }))[Symbol.asyncIterator]()
    const r3 = await it3.next()
    const m3 = r3.done ? null : unwrap(r3.value).data
    expect(m3 === null || m3.type !== 'batch' || m3.points.length === 0).toBe(true)
    await expect(
      as('viewer')
        .runs.live({ runId: 'no-such-run' })
        .then(async (s) => await s[Symbol.asyncIterator]().next()),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('pages, filters, sorts and exports candidates in the database', async () => {
    const v = as('viewer')
    const page = await v.candidates.list({ runId, sort: { field: 'score', dir: 'desc' }, limit: 10, offset: 0 })
    expect(page.total).toBeGreaterThanOrEqual(6000)
    expect(page.rows[0]!.id).toBe(bestId)
    const scores = page.rows.map((r) => r.score!)
    expect([...scores].sort((a, b) => b - a)).toEqual(scores)
    const next = await v.candidates.list({ runId, sort: { field: 'score', dir: 'desc' }, limit: 10, offset: 10 })
    expect(next.rows[0]!.score!).toBeLessThanOrEqual(scores[9]!)
    const f = await v.candidates.list({
      runId,
      filter: { islands: [2], origins: ['crossover'], valid: true },
      limit: 500,
    })
    expect(f.total).toBe(
      await db.prisma.candidate.count({ where: { runId, island: 2, origin: 'crossover', valid: true } }),
    )
    expect(f.rows.every((r) => r.island === 2 && r.origin === 'crossover' && r.valid)).toBe(true)
    const facets = await v.candidates.facets({ runId })
    expect(facets.origins.map((o) => o.value)).toEqual(expect.arrayContaining(['seed', 'mutation', 'crossover']))
    expect(facets.operators.map((o) => o.value)).toContain('local:swap')
    const exp = await v.candidates.export({
      runId,
      filter: { islands: [0] },
      sort: { field: 'seq', dir: 'asc' },
      limit: 50,
      withCode: true,
    })
    expect(exp.rows).toHaveLength(50)
    expect(exp.rows[0]).toMatchObject({ id: syntheticId(runId, 0), origin: 'seed', code: 'x = 0\n' })
    await expect(v.candidates.list({ runId, filter: { idPrefix: "1' OR 1=1" } as never })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
  })

  it('opens the lineage collapsed to the best path and the frontier, and expands on request', async () => {
    const v = as('viewer')
    const l = await v.candidates.lineage({ runId })
    expect(l.bestPath[0]).toBe(syntheticId(runId, 0))
    expect(l.bestPath[l.bestPath.length - 1]).toBe(bestId)
    const shown = new Set(l.nodes.map((n) => n.id))
    expect(shown.has(bestId)).toBe(true)
    for (const f of l.frontier) expect(shown.has(f)).toBe(true)
    expect(l.nodes.length).toBeLessThan(l.bestPath.length + l.frontier.length + 5)
    expect(l.nodes.filter((n) => n.onBestPath).every((n) => n.y === 0)).toBe(true)
    const hiddenOnPath = l.edges.filter((e) => e.bestPath).reduce((s, e) => s + e.hidden, 0)
    expect(hiddenOnPath + l.nodes.filter((n) => n.onBestPath).length).toBe(l.bestPath.length)
    const full = await v.candidates.lineage({ runId, fullPath: true })
    expect(full.nodes.filter((n) => n.onBestPath)).toHaveLength(full.bestPath.length)
    const seed = syntheticId(runId, 0)
    const opened = await v.candidates.lineage({ runId, expand: [seed] })
    const kids = opened.edges.filter((e) => e.from === seed && e.hidden === 0).map((e) => e.to)
    expect(kids.length).toBeGreaterThan(3)
  })

  it('shows a candidate with its parents, children and the guidance it was made under', async () => {
    const detail = await as('viewer').candidates.get({ runId, id: syntheticId(runId, 40) })
    expect(detail.parents[0]!.code).toMatch(/^x = \d+/)
    expect(detail.problem.direction).toBe('max')
    expect(detail.population).toBeNull()
    await expect(as('viewer').candidates.get({ runId, id: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('runs hints: scope checks, state, candidates made under them against those without, withdrawal, audit', async () => {
    const e = as('expert')
    await expect(e.guidance.create({ runId, text: 'x', island: 7 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/island 7 does not exist/),
    })
    await expect(e.guidance.create({ runId, text: '   ' })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    const g = await e.guidance.create({ runId, text: 'prefer smaller steps', island: 1, expiresAfterEvals: 500 })
    // the engine records the hint on the candidates it made while it was active: here, by hand
    const under = await db.prisma.candidate.findMany({
      where: { runId, island: 1, seq: { gte: 3000, lt: 3300 }, origin: 'mutation' },
      select: { id: true },
    })
    await db.prisma.candidate.updateMany({
      where: { id: { in: under.map((u) => u.id) } },
      data: { guidanceIds: [g.id] },
    })
    // and those it withheld the hint from (its concurrent control)
    const control = await db.prisma.candidate.findMany({
      where: { runId, island: 1, seq: { gte: 3300, lt: 3400 }, origin: 'mutation' },
      select: { id: true },
    })
    await db.prisma.candidate.updateMany({
      where: { id: { in: control.map((u) => u.id) } },
      data: { controlGuidanceIds: [g.id] },
    })
    // and answers made under it that were refused before evaluation
    for (const seq of [900_001, 900_002])
      await db.prisma.candidate.create({
        data: {
          runId,
          seq,
          island: 1,
          origin: 'mutation',
          code: `x = ${seq}`,
          codeHash: `refused-${seq}`,
          status: 'rejected',
          rejectReason: 'duplicate of an existing candidate',
          guidanceIds: [g.id],
        },
      })
    const list = await as('viewer').guidance.list({ runId })
    const h = list.hints.find((x) => x.id === g.id)!
    expect(h).toMatchObject({
      state: 'active',
      island: 1,
      authorLabel: 'expert@example.test',
      made: { count: under.length },
    })
    expect(h.evalsLeft).toBe(500 - (list.evaluations - h.startEval))
    expect(h.made.control).toBe(control.length)
    expect(h.made.rejected).toBe(2)
    expect(h.effect!.treated.n).toBe(under.length)
    expect(h.effect!.control.n).toBe(control.length)
    expect(['better', 'worse', 'not yet clear']).toContain(h.effect!.verdict)
    expect(h.effect!.meanInterval).not.toBeNull()
    const tagged = await as('viewer').candidates.list({ runId, filter: { guidanceId: g.id }, limit: 500 })
    expect(tagged.total).toBe(under.length + 2)
    // two withdrawing at once: one does, the other is told; the card names who did
    const both = await Promise.allSettled([
      as('admin').guidance.withdraw({ runId, id: g.id }),
      e.guidance.withdraw({ runId, id: g.id }),
    ])
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ code: 'CONFLICT' })
    const by = both[0].status === 'fulfilled' ? 'admin@example.test' : 'expert@example.test'
    const card = (await as('viewer').guidance.list({ runId })).hints.find((x) => x.id === g.id)!
    expect([card.state, card.authorLabel, card.withdrawnBy]).toEqual(['withdrawn', 'expert@example.test', by])
    const audits = await db.prisma.auditEvent.findMany({ where: { targetId: g.id }, orderBy: { id: 'asc' } })
    expect(audits.map((a) => [a.action, a.actorLabel])).toEqual([
      ['guidance.create', 'expert@example.test'],
      ['guidance.withdraw', by],
    ])
    const events = await db.prisma.runEvent.findMany({ where: { runId, type: 'intervention' }, orderBy: { id: 'asc' } })
    expect(events.map((x) => (x.payload as { action: string }).action)).toEqual(
      expect.arrayContaining(['guidance.create', 'guidance.withdraw']),
    )
  })

  it('lists every active hint with a bounded number of queries, and says how many earlier ones it leaves out', async () => {
    const { runId: rid } = await seedSyntheticRun(db, { candidates: 600, islands: 2, status: 'evolving' })
    const hint = (i: number, at: number, withdrawn: boolean) => ({
      runId: rid,
      island: null,
      text: `hint ${i}`,
      authorLabel: 'expert@example.test',
      startEval: 0,
      createdAt: new Date(at),
      withdrawnAt: withdrawn ? new Date(at) : null,
    })
    const t0 = Date.now() - 3_600_000
    // the oldest hints are active; the newest 230 withdrawn: a list of the newest 200 would hide them
    await db.prisma.guidance.createMany({
      data: [
        ...Array.from({ length: MAX_ACTIVE_HINTS - 1 }, (_, i) => hint(i, t0 + i * 1000, false)),
        ...Array.from({ length: 230 }, (_, i) => hint(100 + i, t0 + 100_000 + i * 1000, true)),
      ],
    })
    const all = await db.prisma.guidance.findMany({ where: { runId: rid }, orderBy: { createdAt: 'asc' } })
    const oldest = all[0]!
    // candidates made under the oldest hint and its control, as the engine tags them
    const evolved = await db.prisma.candidate.findMany({
      where: { runId: rid, origin: { in: ['mutation', 'crossover'] } },
      orderBy: { seq: 'asc' },
      select: { id: true, seq: true },
    })
    const tag = async (seqs: (s: number) => boolean, data: { guidanceIds?: string[]; controlGuidanceIds?: string[] }) =>
      db.prisma.candidate.updateMany({
        where: { id: { in: evolved.filter((c) => seqs(c.seq)).map((c) => c.id) } },
        data,
      })
    await tag((s) => s >= 100 && s < 400 && s % 5 !== 0, { guidanceIds: all.slice(0, 20).map((g) => g.id) })
    await tag((s) => s >= 100 && s < 400 && s % 5 === 0, { controlGuidanceIds: all.slice(0, 20).map((g) => g.id) })

    const counted = () => {
      const calls = { n: 0 }
      const count = <T extends object>(target: T): T =>
        new Proxy(target, {
          get(t, k) {
            const v = Reflect.get(t, k)
            if (typeof v === 'function')
              return (...a: unknown[]) => (calls.n++, (v as (...x: unknown[]) => unknown).apply(t, a))
            // a model's methods (prisma.guidance.findMany…)
            if (v && typeof v === 'object' && typeof k === 'string' && !k.startsWith('$')) return count(v)
            return v
          },
        })
      const counting = { ...app, db: { ...app.db, prisma: count(app.db.prisma), sql: count(app.db).sql } }
      return { app: counting as AppServices, calls }
    }
    const many = counted()
    const list = await listGuidance(many.app, rid)
    const active = list.hints.filter((h) => h.state === 'active')
    expect(active.map((h) => h.text).sort()).toEqual(
      all
        .slice(0, MAX_ACTIVE_HINTS - 1)
        .map((g) => g.text)
        .sort(),
    )
    expect(list.hints).toHaveLength(200 + MAX_ACTIVE_HINTS - 1)
    expect(list.olderNotShown).toBe(30)
    // a run with 3 hints asks about as many queries as one with 279 (those add the active ones
    // beyond the newest, the count of the rest, and the recent candidates: a few, not one per hint)
    const { runId: small } = await seedSyntheticRun(db, { candidates: 50, islands: 2, status: 'evolving' })
    await db.prisma.guidance.createMany({ data: [0, 1, 2].map((i) => ({ ...hint(i, t0 + i, i === 0), runId: small })) })
    const few = counted()
    expect((await listGuidance(few.app, small)).olderNotShown).toBe(0)
    expect(many.calls.n).toBeLessThanOrEqual(few.calls.n + 3)
    expect(many.calls.n).toBeLessThan(15)

    // the effect summed up in SQL is the one computed from the candidates themselves
    const rows = async (where: object) =>
      (
        await db.prisma.candidate.findMany({
          where: { runId: rid, origin: { in: ['mutation', 'crossover'] }, status: 'evaluated', ...where },
          select: { score: true, valid: true, parentIds: true },
        })
      ).map(async (c) => {
        const p = await db.prisma.candidate.findUnique({ where: { id: c.parentIds[0] ?? '' } })
        return { score: c.score, valid: c.valid, parentScore: p?.valid ? p.score : null }
      })
    const under = await Promise.all(await rows({ guidanceIds: { has: oldest.id } }))
    const control = await Promise.all(await rows({ controlGuidanceIds: { has: oldest.id } }))
    const expected = concurrentEffect(under, control, 'max')
    const card = list.hints.find((h) => h.id === oldest.id)!
    expect(card.made).toMatchObject({ count: under.length, control: control.length, firstSeq: 101, lastSeq: 399 })
    expect(card.effect).toMatchObject({
      treated: { n: expected.treated.n, valid: expected.treated.valid, improved: expected.treated.improved },
      control: { n: expected.control.n, valid: expected.control.valid, improved: expected.control.improved },
      verdict: expected.verdict,
    })
    for (const k of ['mean', 'median', 'sd', 'best'] as const) {
      expect(card.effect!.treated[k]).toBeCloseTo(expected.treated[k]!, 9)
      expect(card.effect!.control[k]).toBeCloseTo(expected.control[k]!, 9)
    }
    expect(card.effect!.meanInterval!.low).toBeCloseTo(expected.meanInterval!.low, 9)
    expect(card.recent.map((r) => r.id)).toEqual(
      evolved
        .filter((c) => c.seq < 400 && c.seq % 5 !== 0)
        .slice(-8)
        .reverse()
        .map((c) => c.id),
    )

    // one more active hint is taken, the next is refused, and says what to do
    await as('expert').guidance.create({ runId: rid, text: 'the last one' })
    await expect(as('expert').guidance.create({ runId: rid, text: 'one too many' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/already has 50 active hints.*withdraw one/),
    })
  })

  it('pins and bans with an audit trail, and says what needs the engine', async () => {
    const e = as('expert')
    const id = syntheticId(runId, 123)
    await e.candidates.setPinned({ runId, id, pinned: true })
    expect((await db.prisma.candidate.findUnique({ where: { id } }))!.pinned).toBe(true)
    await e.candidates.ban({ runId, id, reason: 'exploits the evaluator' })
    const row = (await db.prisma.candidate.findUnique({ where: { id } }))!
    expect([row.banned, row.pinned]).toEqual([true, false])
    await expect(e.candidates.ban({ runId, id })).rejects.toMatchObject({ code: 'CONFLICT' })
    await expect(e.candidates.setPinned({ runId, id, pinned: true })).rejects.toMatchObject({ code: 'CONFLICT' })
    const actions = (await db.prisma.auditEvent.findMany({ where: { targetId: id }, orderBy: { id: 'asc' } })).map(
      (a) => a.action,
    )
    expect(actions).toEqual(['candidate.pin', 'candidate.ban'])
    // no engine drives the run now: an edit or an island's exploration waits, pending, for the engine
    // that picks the run up (the control channel stores it)
    const edit = await e.candidates.submitEdit({ runId, parentId: id, code: 'x = 42\n', island: 0 })
    expect(edit.command).toMatchObject({ kind: 'candidate.expert-edit', status: 'pending' })
    expect(await db.prisma.runCommand.count({ where: { runId, status: 'pending' } })).toBeGreaterThan(0)
    expect((await e.runs.setExploration({ runId, value: 0.9, island: 1 })).command.status).toBe('pending')
    // the run-wide knob is stored for the engine that resumes the run
    const r = await e.runs.setExploration({ runId, value: 0.8 })
    expect(r.applied).toBe(false)
    expect(
      ((await db.prisma.run.findUnique({ where: { id: runId } }))!.config as { exploration: number }).exploration,
    ).toBe(0.8)
    expect((await as('viewer').runs.controls({ runId })).exploration).toBe(0.8)
    await as('admin').runs.setWeights({ runId, localOperators: { swap: 0, perturb: 3 } })
    const ctl = await as('viewer').runs.controls({ runId })
    expect(ctl.localOperators).toEqual(
      expect.arrayContaining([
        { id: 'swap', weight: 0 },
        { id: 'perturb', weight: 3 },
      ]),
    )
    await expect(
      as('admin').runs.setWeights({
        runId,
        localOperators: { perturb: 0, swap: 0, 'crossover-blocks': 0, 'crossover-literals': 0 },
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(as('admin').runs.setWeights({ runId, models: [1] })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    const weights = await db.prisma.auditEvent.findFirst({ where: { action: 'run.weights', runId } })
    expect(weights!.before).toEqual(expect.arrayContaining([{ operator: 'swap', weight: 1 }]))
    expect(weights!.after).toEqual(expect.arrayContaining([{ operator: 'swap', weight: 0 }]))
  })

  it('pausing or stopping a run that has ended is refused, and audits no change it never made', async () => {
    const { runId: ended } = await seedSyntheticRun(db, { candidates: 3, status: 'completed' })
    const audits = () => db.prisma.auditEvent.count({ where: { runId: ended } })
    const before = await audits()
    await expect(as('admin').runs.stop({ runId: ended })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: 'the run is completed: nothing to stop',
    })
    await expect(as('admin').runs.pause({ runId: ended })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: 'the run is completed: nothing to pause',
    })
    expect(await audits()).toBe(before)
    expect((await db.prisma.run.findUniqueOrThrow({ where: { id: ended } })).status).toBe('completed')
  })
})

/** A tracked message as createCaller yields it: [id, data, symbol] (over HTTP it arrives as {id, data}). */
function unwrap(v: unknown): { id: string; data: LiveMessage } {
  const [id, data] = v as [string, LiveMessage]
  return { id, data }
}

/** n more evaluations at eval_index from.., plus one metric tick, as the engine would write them. */
async function addEvaluations(db: Db, runId: string, from: number, n: number) {
  for (let i = 0; i < n; i++) {
    const g = from + i
    await db.prisma.candidate.create({
      data: {
        id: syntheticId(runId, g),
        runId,
        seq: g,
        island: g % 3,
        parentIds: [syntheticId(runId, 0)],
        origin: 'mutation',
        code: `x = ${g}\n`,
        codeHash: `h${g}`,
        status: 'evaluated',
        valid: true,
        score: 0.5,
        evalIndex: g,
        evaluatedAt: new Date(),
      },
    })
  }
  await db.prisma.run.update({ where: { id: runId }, data: { evaluations: from + n } })
  await db.prisma.runMetric.create({
    data: {
      runId,
      island: -1,
      evalCount: from + n,
      best: 1,
      mean: 0.5,
      median: 0.5,
      diversity: { code: 0.4, coverage: 0.3 },
      population: 40,
      evalsPerSec: 5,
      failureRate: 0,
      spendUsd: 0,
    },
  })
}
