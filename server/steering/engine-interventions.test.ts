import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppServices } from '../app.ts'
import type { Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { MAX_CODE_BYTES } from '../contracts/evaluation.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'

// the hidden function of the curve-fit fixture: an expert who knows it writes the exact fit
const EXACT = `import math

# EVOLVE-BLOCK-START
A = 1.3
B = -0.4
C = 0.25
D = 2.1


def predict(x):
    return A * x * x + B * x + C + 0.3 * math.sin(D * x)
# EVOLVE-BLOCK-END
`

describe('interventions on a running engine', () => {
  let h: EngineHarness
  let db: Db
  let app: AppServices
  let runId: string
  const as = (role: Role) => h.as(role)
  /** a curve-fit run with room to go on: its status as stored, and a pause that waits for it */
  const openRun = async (seed: number) => {
    const { id } = await as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: { islands: 2, populationPerIsland: 20, budget: { maxEvals: 100_000 }, seed, coldStartSize: 6 },
    })
    const status = async () => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).status
    const pause = async () => {
      await as('admin').runs.pause({ runId: id })
      await untilProgress(app.events, async () => (await status()) === 'paused', 'the pause')
    }
    return { id, status, pause }
  }

  beforeAll(async () => {
    h = await startEngineHarness({ name: 'console-engine' })
    ;({ db, app } = h)
  })
  afterAll(() => h?.stop())

  it('applies hints, weights, exploration and an expert edit while the run evolves', async () => {
    const r = await as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: { islands: 2, populationPerIsland: 30, budget: { maxEvals: 5000 }, seed: 5, coldStartSize: 6 },
    })
    runId = r.id
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUnique({ where: { id: runId } }))?.status === 'evolving',
      'the cold start',
    )
    const viewer = as('viewer')
    const ctl0 = await viewer.runs.controls({ runId })
    expect(ctl0.driven).toBe(true)
    expect(ctl0.arms.map((a) => a.id)).toContain('swap')

    // a hint for the run: the next candidates carry it
    const hint = await as('expert').guidance.create({
      runId,
      text: 'shrink the sine frequency step by step',
      expiresAfterEvals: 1000,
    })
    const under = await untilProgress(
      app.events,
      async () => {
        const rows = await db.prisma.candidate.findMany({
          where: { runId, guidanceIds: { has: hint.id } },
          select: { id: true, status: true },
        })
        return rows.filter((x) => x.status === 'evaluated').length >= 3 && rows
      },
      'candidates made under the hint',
    )
    expect(under.length).toBeGreaterThanOrEqual(3)
    const listed = (await viewer.guidance.list({ runId })).hints.find((h) => h.id === hint.id)!
    expect(listed.state).toBe('active')
    expect(listed.made.count).toBeGreaterThanOrEqual(3)

    // weights: the statement swap off; the engine's bandit leaves it out from now on
    await as('admin').runs.setWeights({ runId, localOperators: { swap: 0, perturb: 2 } })
    const ctl1 = await viewer.runs.controls({ runId })
    expect(ctl1.arms.find((a) => a.id === 'swap')!.weight).toBe(0)
    const maxSeq = (await db.prisma.candidate.aggregate({ where: { runId }, _max: { seq: true } }))._max.seq!
    // requests in flight keep the arm they were planned with, and take their seq when answered:
    // as many as the run lets fly may still come back as swaps
    const { config } = (await db.prisma.run.findUnique({ where: { id: runId }, select: { config: true } }))!
    const inFlight = (config as { generation: { maxInFlight: number } }).generation.maxInFlight
    expect(inFlight).toBeGreaterThan(0)
    const after = await untilProgress(
      app.events,
      async () => {
        const rows = await db.prisma.candidate.findMany({
          where: { runId, seq: { gt: maxSeq + inFlight }, origin: { in: ['mutation', 'crossover'] } },
          select: { operatorParams: true },
        })
        return rows.length >= 15 && rows
      },
      'candidates after the weight change',
    )
    expect(after.filter((c) => (c.operatorParams as { arm?: string } | null)?.arm === 'swap')).toEqual([])

    // an island's exploration, as the engine holds it
    await as('expert').runs.setExploration({ runId, value: 0.9, island: 1 })
    const ctl2 = await viewer.runs.controls({ runId })
    expect(ctl2.islandExploration[1]).toBe(0.9)
    expect(ctl2.effectiveExploration[1]).toBeGreaterThanOrEqual(0.9)

    // an expert edit of the current best, placed on island 1
    const parentId = (await db.prisma.run.findUnique({ where: { id: runId } }))!.bestCandidateId!
    const { id } = await as('expert').candidates.submitEdit({
      runId,
      parentId,
      code: EXACT,
      island: 1,
      note: 'the exact fit',
    })
    const done = await untilProgress(
      app.events,
      async () => {
        const c = await viewer.candidates.get({ runId, id })
        return c.status === 'evaluated' && c
      },
      'the expert edit to be evaluated',
    )
    expect(done).toMatchObject({
      origin: 'expert-edit',
      island: 1,
      valid: true,
      parents: [expect.objectContaining({ id: parentId })],
    })
    expect(done.score!).toBeLessThan(1e-9)
    expect(done.population).toContain(1)
    expect(done.editNote).toBe('the exact fit')
    // the same program again (another expert's, spacing aside) is not a second evaluation
    const again = await as('admin')
      .candidates.submitEdit({ runId, parentId, code: EXACT.replace('A = 1.3', 'A = 1.3  '), island: 0 })
      .catch((e: Error) => e)
    expect(again).toBeInstanceOf(Error)
    expect((again as Error).message).toMatch(
      new RegExp(
        `this program is already candidate ${id.slice(0, 8)} of this run \\(an expert edit( by \\S+)?, same code up to comments and spacing\\): nothing new to evaluate`,
      ),
    )
    const lineage = await viewer.candidates.lineage({ runId })
    expect(lineage.nodes.find((n) => n.id === id)).toMatchObject({ origin: 'expert-edit' })
    expect(lineage.edges.some((e) => e.to === id)).toBe(true)
    // it is the run's best now: on the best path
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUnique({ where: { id: runId } }))!.bestCandidateId === id,
      'the edit to become the best',
    )

    // a ban of the previous best: from the engine's acknowledgement on, no new child has it as a parent
    await as('expert').candidates.ban({ runId, id: parentId, reason: 'an expert knows better' })
    const banSeq = (await db.prisma.candidate.aggregate({ where: { runId }, _max: { seq: true } }))._max.seq!
    const later = await untilProgress(
      app.events,
      async () => {
        const rows = await db.prisma.candidate.findMany({
          where: { runId, seq: { gt: banSeq } },
          select: { parentIds: true },
        })
        return rows.length >= 20 && rows
      },
      'candidates after the ban',
    )
    expect(later.filter((c) => c.parentIds.includes(parentId))).toEqual([])

    // knowledge on request: the engine takes the retrieved passages for the island
    await as('expert').knowledge.create({
      title: 'Fitting notes',
      content: '# Fitting\n\nThe sine frequency D is close to 2; A is close to 1.3.\n',
      format: 'markdown',
    })
    const retrieved = await as('expert').knowledge.retrieve({ runId, island: 0, queryText: 'sine frequency' })
    expect(retrieved.chunks.length).toBeGreaterThan(0)
    expect(retrieved.command).toMatchObject({
      kind: 'knowledge.use',
      status: 'applied',
      result: { chunks: retrieved.chunks.length },
    })

    // who asked for what, and the engine's acknowledgement of each (through the control channel)
    const audited = await db.prisma.auditEvent.findMany({ where: { runId }, orderBy: { id: 'asc' } })
    expect(audited.filter((a) => !a.actorLabel.startsWith('engine ')).map((a) => a.action)).toEqual([
      'run.create',
      'guidance.create',
      'run.weights',
      'run.exploration',
      // the same program again was refused when it was sent: neither audited nor sent to the engine
      'candidate.expert-edit',
      'candidate.ban',
      'knowledge.retrieve',
    ])
    expect(audited.filter((a) => a.actorLabel.startsWith('engine ')).map((a) => a.action)).toEqual([
      'guidance.reload.applied',
      'run.weights.applied',
      'run.exploration.applied',
      'candidate.expert-edit.applied',
      'candidate.ban.applied',
      'knowledge.use.applied',
    ])
    const acks = await db.prisma.runCommand.findMany({ where: { runId }, orderBy: { id: 'asc' } })
    expect(acks.map((c) => [c.kind, c.status])).toEqual([
      ['guidance.reload', 'applied'],
      ['run.weights', 'applied'],
      ['run.exploration', 'applied'],
      ['candidate.expert-edit', 'applied'],
      ['candidate.ban', 'applied'],
      ['knowledge.use', 'applied'],
    ])
    expect((acks[3]!.result as { candidateId: string }).candidateId).toBe(id)
    await as('admin').runs.stop({ runId })
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUnique({ where: { id: runId } }))?.status === 'stopped',
      'the stop',
    )
    // stopped, the run has no engine: the bandit's figures are its last snapshot's, and the page says why
    const ended = await untilProgress(
      app.events,
      async () => {
        const c = await viewer.runs.controls({ runId })
        return !c.driven && c
      },
      'the engine to let go of the run',
    )
    expect(ended.notDriven).toBe('the run is stopped')
    expect(ended.arms.find((a) => a.id === 'swap')).toMatchObject({ weight: 0 })
    expect(ended.arms.reduce((n, a) => n + a.pulls, 0)).toBeGreaterThan(0)
    // the islands' members as the engine saved them when it stopped: the run's best is its island's best
    const edit = await viewer.candidates.get({ runId, id })
    expect(edit.populationUnknown).toBe('the run is stopped')
    expect(edit.populationSavedAt).not.toBeNull()
    const saved = (await db.prisma.run.findUnique({ where: { id: runId } }))!.engineState as {
      populations: { islands: string[][] }
    }
    const holding = (cid: string) => saved.populations.islands.flatMap((m, i) => (m.includes(cid) ? [i] : []))
    expect(edit.population).toEqual(holding(id))
    const { bestCandidateId } = (await db.prisma.run.findUnique({ where: { id: runId } }))!
    const best = await viewer.candidates.get({ runId, id: bestCandidateId! })
    expect(best.population!.length).toBeGreaterThan(0)
    expect(best.population).toEqual(holding(bestCandidateId!))
  }, 240_000)
  // a resume through the console sets the status back to `created`; the engine that picks the run up
  // must still see it as evolving (its islands replayed), not start a cold start over
  it('pauses and resumes a run through the API with its populations', async () => {
    const { id, status, pause } = await openRun(9)
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).evaluations >= 40,
      '40 evaluations',
      { runId: id },
    )
    await pause()
    const paused = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    // the status says who paused it, as a stop's does
    expect(paused.statusReason).toBe('paused by admin@example.test')
    const coldStarted = () =>
      db.prisma.candidate.count({ where: { runId: id, origin: { in: ['seed', 'cold-start'] } } })
    const before = await coldStarted()

    const target = paused.evaluations + 30
    expect((await as('admin').runs.resume({ runId: id, maxEvals: target })).maxEvals).toBe(target)
    await untilProgress(app.events, async () => ['completed', 'failed'].includes(await status()), 'the end')
    const done = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    expect([done.status, done.statusReason]).toEqual(['completed', `evaluation budget reached (${target})`])
    expect(done.evaluations).toBe(target)
    // no second cold start: the programs after the resume descend from the replayed islands
    expect(await coldStarted()).toBe(before)
    const resumed = await db.prisma.candidate.findMany({
      where: { runId: id, status: 'evaluated', evalIndex: { gt: paused.evaluations } },
      select: { parentIds: true },
    })
    expect(resumed.length).toBeGreaterThan(0)
    expect(resumed.every((c) => c.parentIds.length > 0)).toBe(true)
  }, 240_000)

  it("a banned best is no longer the run's best: the best of the others takes its place", async () => {
    const { id, status } = await openRun(25)
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).evaluations >= 30,
      '30 evaluations',
      { runId: id },
    )
    const banned = (await db.prisma.run.findUniqueOrThrow({ where: { id } })).bestCandidateId!
    await as('expert').candidates.ban({ runId: id, id: banned, reason: 'overfits' })
    // its page says who banned it and why, to every reader
    const page = await as('viewer').candidates.get({ runId: id, id: banned })
    expect(page.ban).toMatchObject({ reason: 'overfits', by: expect.stringContaining('expert') })
    const bestOfTheRest = async () => {
      const rows = await db.prisma.candidate.findMany({
        where: { runId: id, status: 'evaluated', valid: true, banned: false, score: { not: null } },
        select: { score: true },
      })
      return Math.min(...rows.map((r) => r.score!)) // curve-fit minimizes
    }
    const after = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    expect(after.bestCandidateId).not.toBe(banned)
    expect(after.bestScore).toBe(await bestOfTheRest())
    // the engine holds the same: what it finds later is compared with the best that is not banned
    await as('admin').runs.stop({ runId: id })
    await untilProgress(app.events, async () => (await status()) === 'stopped', 'the stop')
    const stopped = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    expect(stopped.bestCandidateId).not.toBe(banned)
    expect(stopped.bestScore).toBe(await bestOfTheRest())
  }, 240_000)

  // the exploration an expert set is the run's: a change while it is paused, and an island's value the
  // engine had applied, both hold after the resume (the engine's snapshot predates them)
  it('keeps the exploration experts set, run-wide while paused and per island, across a resume', async () => {
    const { id, status, pause } = await openRun(21)
    await untilProgress(app.events, async () => (await status()) === 'evolving', 'the cold start', { runId: id })
    expect((await as('expert').runs.setExploration({ runId: id, value: 0.85, island: 1 })).applied).toBe(true)
    // a run its engine drives has nothing to resume: said, not acknowledged and then lost to a pause
    await expect(as('admin').runs.resume({ runId: id })).rejects.toThrow(
      /the run is evolving, driven by this server: nothing to resume \(if it is pausing, resume it once it has paused\)/,
    )
    await pause()
    const stored = await as('expert').runs.setExploration({ runId: id, value: 0.6, island: null })
    expect(stored.applied).toBe(false)
    await as('admin').runs.resume({ runId: id })
    const ctl = await untilProgress(
      app.events,
      async () => {
        const c = await as('viewer').runs.controls({ runId: id })
        // the engine's own figures, once it has loaded the run
        return c.driven && c.effectiveExploration.length > 0 && c
      },
      'the resumed engine',
      { runId: id },
    )
    expect(ctl.exploration).toBe(0.6)
    expect(ctl.islandExploration[1]).toBe(0.85)
    expect(ctl.effectiveExploration[0]).toBeGreaterThanOrEqual(0.6)
    await as('admin').runs.stop({ runId: id })
  }, 240_000)

  // pause, craft an edit, resume: the edit waits, pending, for the engine that resumes the run, which
  // evaluates it like one given to an evolving run
  it('queues an expert edit given to a paused run and evaluates it after the resume', async () => {
    const { id, status, pause } = await openRun(13)
    await untilProgress(app.events, async () => (await status()) === 'evolving', 'the cold start', { runId: id })
    await pause()
    const parentId = (await db.prisma.run.findUniqueOrThrow({ where: { id } })).bestCandidateId!
    const edit = await as('expert').candidates.submitEdit({ runId: id, parentId, code: EXACT, island: 1 })
    expect(edit.command.status).toBe('pending')
    expect(await status()).toBe('paused')
    expect(await db.prisma.candidate.findUnique({ where: { id: edit.id } })).toBeNull()

    await as('admin').runs.resume({ runId: id })
    const done = await untilProgress(
      app.events,
      async () => {
        const c = await as('viewer')
          .candidates.get({ runId: id, id: edit.id })
          .catch(() => null)
        return c?.status === 'evaluated' && c
      },
      'the queued edit to be evaluated',
      { runId: id },
    )
    expect(done).toMatchObject({
      origin: 'expert-edit',
      island: 1,
      valid: true,
      parents: [expect.objectContaining({ id: parentId })],
    })
    expect(done.score!).toBeLessThan(1e-9)
    const cmd = await db.prisma.runCommand.findUniqueOrThrow({ where: { id: BigInt(edit.command.id) } })
    expect([cmd.status, (cmd.result as { candidateId?: string }).candidateId]).toEqual(['applied', edit.id])
    await as('admin').runs.stop({ runId: id })
    await untilProgress(app.events, async () => (await status()) === 'stopped', 'the stop')
    // a program larger than a worker takes is refused when it is submitted, not on the worker
    const huge = `${EXACT}${'# padding\n'.repeat(MAX_CODE_BYTES / 10)}`
    await expect(as('expert').candidates.submitEdit({ runId: id, parentId, code: huge, island: 0 })).rejects.toThrow(
      /a program may have at most 262,144 characters/,
    )
    // a finished run takes no edit: its refusal says which runs do
    await expect(
      as('expert').candidates.submitEdit({ runId: id, parentId, code: `${EXACT}\n`, island: 0 }),
    ).rejects.toThrow(/running or paused run/)
  }, 240_000)

  it('counts an edit queued on a paused run once against the budget', async () => {
    const { id } = await as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: { islands: 2, populationPerIsland: 20, budget: { maxEvals: 1000 }, seed: 31, coldStartSize: 6 },
    })
    const status = async () => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).status
    await untilProgress(app.events, async () => (await status()) === 'evolving', 'the cold start', { runId: id })
    await as('admin').runs.pause({ runId: id })
    await untilProgress(app.events, async () => (await status()) === 'paused', 'the pause')
    const parentId = (await db.prisma.run.findUniqueOrThrow({ where: { id } })).bestCandidateId!
    for (const c of ['1.29', '1.31'])
      await as('expert').candidates.submitEdit({ runId: id, parentId, code: EXACT.replace('1.3', c), island: 0 })
    // the same program again (spacing aside) is refused when it is sent, not queued to be refused later
    await expect(
      as('admin').candidates.submitEdit({ runId: id, parentId, code: EXACT.replace('1.3', '1.29  '), island: 1 }),
    ).rejects.toThrow(/the same program is queued already as an edit by \S+ \(same code up to comments and spacing\)/)
    await as('admin').runs.resume({ runId: id })
    await untilProgress(app.events, async () => (await status()) === 'completed', 'the run to complete', {
      runId: id,
    })
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    expect(run.evaluations).toBe(1000)
    expect(await db.prisma.candidate.count({ where: { runId: id, evalIndex: { not: null } } })).toBe(1000)
    expect(await db.prisma.candidate.count({ where: { runId: id, origin: 'expert-edit', status: 'evaluated' } })).toBe(
      2,
    )
  }, 240_000)

  it('refuses an edit still queued when its paused run is stopped', async () => {
    const { id, status, pause } = await openRun(17)
    await untilProgress(app.events, async () => (await status()) === 'evolving', 'the cold start', { runId: id })
    await pause()
    const parentId = (await db.prisma.run.findUniqueOrThrow({ where: { id } })).bestCandidateId!
    const edit = await as('expert').candidates.submitEdit({ runId: id, parentId, code: EXACT, island: 0 })
    expect(edit.command.status).toBe('pending')
    await as('admin').runs.stop({ runId: id })
    expect(await status()).toBe('stopped')
    const cmd = await db.prisma.runCommand.findUniqueOrThrow({ where: { id: BigInt(edit.command.id) } })
    expect([cmd.status, (cmd.result as { reason?: string }).reason]).toEqual([
      'refused',
      'the run was stopped before it resumed',
    ])
    const seen = await db.prisma.runEvent.findMany({ where: { runId: id, type: 'command' } })
    expect(seen.map((e) => (e.payload as { id?: string; status?: string }).status)).toContain('refused')
  }, 240_000)
})
