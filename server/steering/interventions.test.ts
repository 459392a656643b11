// Pin and ban of one candidate by two experts at the same moment, through the API, in both modes:
// in server mode the requests really overlap (a pool of connections), and each change must still be
// decided once: a banned candidate is never left pinned, a second ban is refused, and the audit has
// each change once with the state it really changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

describe.each(dbModes())('pin and ban at once, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  const expert = (name: string): Actor => ({
    id: `user-${name}`,
    label: `${name}@example.test`,
    role: 'expert',
    via: 'session',
  })
  const as = (name: string) => createCaller({ app, actor: expert(name), tokenScope: null, headers: new Headers() })
  const auditOf = (id: string) =>
    db.prisma.auditEvent.findMany({
      where: { targetId: id },
      orderBy: { id: 'asc' },
      select: { action: true, before: true },
    })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    runId = (await seedSyntheticRun(db, { candidates: 400, islands: 2, status: 'evolving', metricEvery: 20 })).runId
  })
  afterAll(() => cleanup?.())

  it('never leaves a candidate pinned and banned, and audits the pin the ban undid', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => syntheticId(runId, 100 + i))
    const outcomes = await Promise.all(
      ids.map((id) =>
        Promise.allSettled([
          as('e1').candidates.setPinned({ runId, id, pinned: true }),
          as('e2').candidates.ban({ runId, id }),
        ]),
      ),
    )
    for (const [i, id] of ids.entries()) {
      const [pin, ban] = outcomes[i]!
      const row = (await db.prisma.candidate.findUniqueOrThrow({ where: { id } }))!
      expect([row.banned, row.pinned]).toEqual([true, false])
      expect(ban.status).toBe('fulfilled')
      const audit = await auditOf(id)
      if (pin.status === 'rejected') {
        // the ban came first: the pin is refused and leaves no trace
        expect(pin.reason).toMatchObject({ code: 'CONFLICT', message: 'a banned candidate cannot be pinned' })
        expect(audit).toEqual([{ action: 'candidate.ban', before: { banned: false, pinned: false } }])
      } else {
        // the pin came first: the ban's "before" is the pinned candidate it unpinned
        expect(audit).toEqual([
          { action: 'candidate.pin', before: { pinned: false } },
          { action: 'candidate.ban', before: { banned: false, pinned: true } },
        ])
      }
    }
  })

  it('bans once when two experts ban together: the other is told it is already banned', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => syntheticId(runId, 200 + i))
    const outcomes = await Promise.all(
      ids.map((id) =>
        Promise.allSettled([as('e1').candidates.ban({ runId, id }), as('e2').candidates.ban({ runId, id })]),
      ),
    )
    for (const [i, id] of ids.entries()) {
      const settled = outcomes[i]!
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1)
      const refused = settled.find((s) => s.status === 'rejected')
      expect(refused?.reason).toMatchObject({ code: 'CONFLICT', message: 'this candidate is already banned' })
      expect((await auditOf(id)).map((a) => a.action)).toEqual(['candidate.ban'])
      expect(
        await db.prisma.runCommand.count({
          where: { runId, kind: 'candidate.ban', payload: { equals: { candidateId: id } } },
        }),
      ).toBe(1)
    }
  })
})
