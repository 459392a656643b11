// Experts' ratings through the API against a migrated database, in both modes: who may rate,
// one rating per expert (the candidate's rating is their sum's sign), withdrawal, the audit and
// the run's event log, the table filter and lineage, export/import, and the statistics of
// rated parents' children.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { exportRun, importRun } from '../runs/service.ts'
import { effectiveRating, runRatings } from './ratings.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

describe('effectiveRating', () => {
  it('is the sign of the experts’ ratings summed', () => {
    expect(effectiveRating([])).toBe(0)
    expect(effectiveRating([1, 1, -1])).toBe(1)
    expect(effectiveRating([1, -1])).toBe(0)
    expect(effectiveRating([-1])).toBe(-1)
  })
})

describe.each(dbModes())('candidate ratings, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  const users: Record<string, string> = {}
  const actor = (role: Role, name: string = role): Actor => ({
    id: users[name]!,
    label: `${name}@example.test`,
    role,
    via: 'session',
  })
  const as = (role: Role, name: string = role) =>
    createCaller({ app, actor: actor(role, name), tokenScope: null, headers: new Headers() })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    for (const name of ['viewer', 'expert', 'expert2', 'admin']) {
      const u = await db.prisma.user.create({
        data: {
          id: `user-${name}`,
          name,
          email: `${name}@example.test`,
          role: name.startsWith('expert') ? 'expert' : name,
        },
      })
      users[name] = u.id
    }
    runId = (await seedSyntheticRun(db, { candidates: 2000, islands: 2, status: 'evolving', metricEvery: 20 })).runId
  })
  afterAll(() => cleanup?.())

  it('lets experts rate up or down with a note, one rating each, and audits every change', async () => {
    const id = syntheticId(runId, 300)
    await expect(as('viewer').candidates.rate({ runId, id, value: 1 })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(as('expert').candidates.rate({ runId, id, value: 2 as never })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(as('expert').candidates.rate({ runId, id, value: 1, note: 'x'.repeat(1001) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(as('expert').candidates.rate({ runId, id: 'no-such-candidate', value: 1 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })

    expect(await as('expert').candidates.rate({ runId, id, value: 1, note: '  tight inner loop  ' })).toMatchObject({
      rating: 1,
      mine: 1,
    })
    // rating again replaces the expert's own rating
    expect(
      await as('expert').candidates.rate({ runId, id, value: 1, note: 'tight inner loop, keep it' }),
    ).toMatchObject({ rating: 1, mine: 1 })
    expect(await as('expert', 'expert2').candidates.rate({ runId, id, value: -1, note: 'overfits' })).toMatchObject({
      rating: 0,
      mine: -1,
    })
    let c = await as('viewer').candidates.get({ runId, id })
    expect(c.rating).toBe(0)
    expect(c.ratings.map((r) => [r.userLabel, r.value, r.note])).toEqual([
      ['expert2@example.test', -1, 'overfits'],
      ['expert@example.test', 1, 'tight inner loop, keep it'],
    ])
    expect(await as('expert').candidates.rate({ runId, id, value: 0 })).toMatchObject({ rating: -1, mine: 0 })
    c = await as('viewer').candidates.get({ runId, id })
    expect(c.rating).toBe(-1)
    expect(c.ratings).toHaveLength(1)

    const audits = await db.prisma.auditEvent.findMany({ where: { targetId: id }, orderBy: { id: 'asc' } })
    expect(audits.map((a) => [a.action, a.actorLabel])).toEqual([
      ['candidate.rate', 'expert@example.test'],
      ['candidate.rate', 'expert@example.test'],
      ['candidate.rate', 'expert2@example.test'],
      ['candidate.unrate', 'expert@example.test'],
    ])
    expect(audits[0]!.after).toEqual({ mine: { value: 1, note: 'tight inner loop' }, rating: 1 })
    expect(audits[1]!.before).toEqual({ mine: { value: 1, note: 'tight inner loop' }, rating: 1 })
    expect(audits[3]!.after).toEqual({ mine: null, rating: -1 })
    const events = await db.prisma.runEvent.findMany({ where: { runId, type: 'intervention' }, orderBy: { id: 'asc' } })
    expect(events.map((e) => (e.payload as { action: string; rating: number }).action)).toEqual([
      'candidate.rate',
      'candidate.rate',
      'candidate.rate',
      'candidate.unrate',
    ])
    expect((events.at(-1)!.payload as { rating: number }).rating).toBe(-1)
  })

  it('shows ratings in the table (column and filter), in the lineage, and to an engine that resumes the run', async () => {
    const up = syntheticId(runId, 500)
    await as('expert').candidates.rate({ runId, id: up, value: 1 })
    const rated = await as('viewer').candidates.list({ runId, filter: { rating: 'up' }, limit: 10 })
    expect(rated.rows.map((r) => [r.id, r.rating])).toEqual([[up, 1]])
    expect(
      (await as('viewer').candidates.list({ runId, filter: { rating: 'down' }, limit: 10 })).rows.map((r) => r.id),
    ).toEqual([syntheticId(runId, 300)])
    const lineage = await as('viewer').candidates.lineage({ runId })
    expect(lineage.nodes.find((n) => n.id === up)).toMatchObject({ rating: 1 })
    expect(lineage.nodes.find((n) => n.id === syntheticId(runId, 300))).toMatchObject({ rating: -1 })
    expect(await runRatings(app, runId)).toEqual(
      new Map([
        [syntheticId(runId, 300), -1],
        [up, 1],
      ]),
    )
  })

  it('measures whether rated parents produce better children', async () => {
    // a synthetic run: scores improve with the evaluation index; rate an early and a late parent
    const late = syntheticId(runId, 1500)
    await as('expert').candidates.rate({ runId, id: late, value: 1 })
    // the ratings were given as the run passed candidate 1000 (children made after it count)
    const at = (await db.prisma.candidate.findUnique({
      where: { id: syntheticId(runId, 1000) },
      select: { createdAt: true },
    }))!.createdAt
    await db.prisma.candidateRating.updateMany({ where: { runId }, data: { createdAt: at } })
    const e = await as('viewer').candidates.ratingEffect({ runId })
    expect(e.rated).toEqual({ up: 2, down: 1 })
    expect(e.direction).toBe('max')
    // children of the rated parents made after candidate 1000, against every child of unrated parents since then
    const kids = (p: string) =>
      db.prisma.candidate.count({
        where: {
          runId,
          parentIds: { has: p },
          origin: { in: ['mutation', 'crossover'] },
          status: 'evaluated',
          createdAt: { gte: at },
        },
      })
    const upKids = (await kids(late)) + (await kids(syntheticId(runId, 500)))
    expect(upKids).toBeGreaterThan(0)
    expect(e.up!.under.n).toBe(upKids)
    expect(e.up!.without.n).toBeGreaterThan(300)
    expect(e.down!.under.n).toBe(await kids(syntheticId(runId, 300)))
    expect(['better', 'worse', 'no clear difference', 'too few candidates']).toContain(e.up!.verdict)
  })

  it('travels with an export into an imported run', async () => {
    const file = await exportRun(db, runId)
    expect(file.ratings.map((r) => r.value).sort()).toEqual([-1, 1, 1])
    await db.prisma.run.delete({ where: { id: runId } })
    await importRun(db, actor('admin'), JSON.parse(JSON.stringify(file)))
    expect((await db.prisma.candidateRating.findMany({ where: { runId } })).map((r) => r.value).sort()).toEqual([
      -1, 1, 1,
    ])
    expect(await runRatings(app, runId)).toEqual(
      new Map([
        [syntheticId(runId, 300), -1],
        [syntheticId(runId, 500), 1],
        [syntheticId(runId, 1500), 1],
      ]),
    )
  })
})
