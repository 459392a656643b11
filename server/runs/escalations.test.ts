import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppServices } from '../app.ts'
import type { Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import type { EscalationOutcome } from './escalations.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'

describe('escalations on a running engine', () => {
  let h: EngineHarness
  let db: Db
  let app: AppServices
  const as = (role: Role) => h.as(role)

  beforeAll(async () => {
    h = await startEngineHarness({ name: 'escalations' })
    ;({ db, app } = h)
  })
  afterAll(() => h?.stop())

  const escalations = async (runId: string) =>
    (await db.prisma.runEvent.findMany({ where: { runId, type: 'escalation' }, orderBy: { id: 'asc' } })).map(
      (e) => e.payload as unknown as EscalationOutcome & { actor: string | null },
    )

  it('acts on a stalled island by itself, and on an expert’s request through the command path', async () => {
    // a short stagnation window: islands stall and escalate within a few dozen evaluations
    const r = await as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: {
        islands: 3,
        populationPerIsland: 12,
        stagnationWindow: 3,
        migrationInterval: 1000,
        budget: { maxEvals: 5000 },
        seed: 11,
        coldStartSize: 6,
      },
    })
    const runId = r.id
    const engine = () => app.runs!.get(runId)!

    // 1. by itself: level 2 brings in other islands' best (level 3 restarts from the elites)
    const auto = await untilProgress(
      app.events,
      async () => (await escalations(runId)).find((e) => e.trigger === 'stagnation'),
      'an escalation on stagnation',
    )
    expect(['migrate-in', 'restart-from-elites']).toContain(auto.action)
    const stalled = await db.prisma.runEvent.findFirst({
      where: { runId, type: 'stagnation', payload: { path: ['island'], equals: auto.island } },
      orderBy: { id: 'asc' },
    })
    expect(stalled).not.toBeNull()
    if (auto.status === 'done') {
      expect(auto.joined).toBeGreaterThan(0)
      expect(auto.moves.length).toBeGreaterThanOrEqual(auto.joined)
      expect(auto.moves.every((m) => m.to === auto.island && m.from !== auto.island)).toBe(true)
    } else expect(auto.reason).toBeTruthy()
    const audited = await db.prisma.auditEvent.findFirst({
      where: { runId, action: `island.${auto.action}`, actorLabel: 'system' },
    })
    expect(audited?.after).toMatchObject({ trigger: 'stagnation', status: auto.status, joined: auto.joined })

    // 2. an expert asks: the stored command is applied by the engine, which answers with what moved
    await expect(as('viewer').runs.escalate({ runId, island: 0, action: 'migrate-in' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(as('expert').runs.escalate({ runId, island: 7, action: 'migrate-in' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    for (const island of [0, 1, 2]) {
      const before = (await escalations(runId)).length
      let answer: { joined: number | null; removed: number | null; command: { status: string } } | null = null
      let refusal: string | null = null
      try {
        answer = await as('expert').runs.escalate({ runId, island, action: 'restart-from-elites' })
      } catch (e) {
        refusal = (e as Error).message
      }
      const mine = (await escalations(runId)).slice(before).find((e) => e.trigger === 'expert')!
      expect(mine).toMatchObject({ island, action: 'restart-from-elites', actor: 'expert@example.test' })
      const cmd = await db.prisma.runCommand.findFirstOrThrow({
        where: { runId, kind: 'island.escalate' },
        orderBy: { id: 'desc' },
      })
      expect(cmd.payload).toEqual({ island, action: 'restart-from-elites' })
      if (mine.status === 'done') {
        expect(answer).toMatchObject({
          joined: mine.joined,
          removed: mine.removedCount,
          command: { status: 'applied' },
        })
        expect(cmd.status).toBe('applied')
        // the elites it brought live in the island now (unless already evicted by newer members)
        const present = mine.moves.filter((m) => engine().populationOf(m.id).includes(island))
        expect(present.length).toBeGreaterThan(0)
        for (const id of mine.removed) expect(engine().populationOf(id)).not.toContain(island)
      } else {
        expect(refusal).toContain(mine.reason)
        expect(cmd.status).toBe('refused')
      }
      const intervention = await db.prisma.auditEvent.findFirst({
        where: {
          runId,
          action: 'island.restart-from-elites',
          actorLabel: 'expert@example.test',
          targetId: String(island),
        },
      })
      expect(intervention).not.toBeNull()
    }
    // at least one request changed its island (three islands cannot all hold every elite)
    expect(
      (await escalations(runId)).filter((e) => e.trigger === 'expert' && e.status === 'done').length,
    ).toBeGreaterThan(0)
    await as('admin')
      .runs.stop({ runId })
      .catch(() => undefined)
  }, 400_000)
})
