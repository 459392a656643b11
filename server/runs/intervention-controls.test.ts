import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { literalEditResponder } from '../../test-support/literal-edit-responder.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import type { AppServices } from '../app.ts'
import type { Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { createDocument } from '../knowledge/documents.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'

const HINT = 'Try shrinking the sine coefficient in small steps.'
const NOTE = 'Curve fitting note: a quadratic plus a sine term fits smooth targets; tune the sine frequency D near 2.'

describe('interventions measured against a concurrent control', () => {
  let h: EngineHarness
  let db: Db
  let app: AppServices
  let server: OpenAiTestServer
  const as = (role: Role) => h.as(role)

  beforeAll(async () => {
    process.env.FM_TEST_CONTROLS_KEY = 'sk-test-CONTROLS'
    server = await startOpenAiTestServer({
      apiKey: 'sk-test-CONTROLS',
      responder: literalEditResponder({ precision: 10 }),
    })
    h = await startEngineHarness({ name: 'controls', knowledge: true })
    ;({ db, app } = h)
    await createDocument(db, { title: 'Curve fitting', content: NOTE, format: 'text' })
  })
  afterAll(async () => {
    await h?.stop()
    await server?.close()
  })

  it('withholds a hint and retrieved knowledge from a seeded share of prompts, and compares the groups', async () => {
    const share = 0.25
    const model = {
      provider: 'openai' as const,
      model: 'scripted',
      baseURL: server.url,
      apiKeyEnv: 'FM_TEST_CONTROLS_KEY',
    }
    const r = await as('admin').runs.create({
      problemId: 'test-curve-fit',
      config: {
        mutator: 'llm',
        models: [model],
        islands: 1,
        populationPerIsland: 30,
        budget: { maxEvals: 5000 },
        seed: 11,
        coldStartSize: 4,
        controlShare: share,
        stagnationWindow: 100_000,
      },
    })
    const runId = r.id
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUnique({ where: { id: runId } }))?.status === 'evolving',
      'the cold start',
    )
    const hint = await as('expert').guidance.create({ runId, text: HINT })
    const kn = await as('expert').knowledge.retrieve({ runId, island: 0, queryText: 'curve fitting sine frequency' })
    expect(kn.chunks.length).toBeGreaterThan(0)
    const retrievalId = kn.retrievalId
    // the engine acted on both: count the candidates made since, until there are enough
    const N = 160
    const where = {
      runId,
      origin: { in: ['mutation', 'crossover'] },
      OR: [{ guidanceIds: { has: hint.id } }, { controlGuidanceIds: { has: hint.id } }],
    }
    await untilProgress(
      app.events,
      async () => (await db.prisma.candidate.count({ where })) >= N,
      `${N} candidates made while the hint was active`,
    )
    await as('admin').runs.stop({ runId })
    await untilProgress(
      app.events,
      async () => (await db.prisma.run.findUnique({ where: { id: runId } }))?.status === 'stopped',
      'the stop',
    )
    const made = await db.prisma.candidate.findMany({
      where,
      select: {
        id: true,
        guidanceIds: true,
        controlGuidanceIds: true,
        controlRetrievalId: true,
        prompt: true,
        status: true,
      },
    })

    // the hint: withheld from about `share` of the prompts (binomial, ±4 sd), and only from those
    const control = made.filter((c) => c.controlGuidanceIds.includes(hint.id))
    const treated = made.filter((c) => c.guidanceIds.includes(hint.id))
    expect(control.length + treated.length).toBe(made.length)
    const sd = Math.sqrt(made.length * share * (1 - share))
    expect(Math.abs(control.length - share * made.length)).toBeLessThan(4 * sd)
    expect(control.length).toBeGreaterThan(0)
    for (const c of treated) expect(c.prompt).toContain(HINT)
    for (const c of control) expect(c.prompt).not.toContain(HINT)

    // retrieved knowledge, the same way: the chunk text is in the prompts that carried it only
    const uses = new Set(
      (await db.prisma.retrievalUse.findMany({ where: { retrievalId }, select: { candidateId: true } })).map(
        (u) => u.candidateId,
      ),
    )
    const kControl = made.filter((c) => c.controlRetrievalId === retrievalId)
    const kTreated = made.filter((c) => uses.has(c.id))
    expect(kControl.every((c) => !uses.has(c.id))).toBe(true)
    const kAll = kControl.length + kTreated.length
    expect(kAll).toBeGreaterThan(N / 2)
    expect(Math.abs(kControl.length - share * kAll)).toBeLessThan(4 * Math.sqrt(kAll * share * (1 - share)))
    for (const c of kTreated) expect(c.prompt).toContain('tune the sine frequency D near 2')
    for (const c of kControl) expect(c.prompt).not.toContain('tune the sine frequency D near 2')

    // the console: both groups over the same period, with intervals and a verdict
    const list = await as('viewer').guidance.list({ runId })
    expect(list.controlShare).toBe(share)
    const h = list.hints.find((x) => x.id === hint.id)!
    // those the stop withdrew before their evaluation are not counted
    const kept = (rows: typeof made) => rows.filter((c) => c.status !== 'rejected').length
    expect(h.made).toMatchObject({ count: kept(treated), control: kept(control) })
    expect(h.effect!.treated.n).toBe(treated.filter((c) => c.status === 'evaluated').length)
    expect(h.effect!.control.n).toBe(control.filter((c) => c.status === 'evaluated').length)
    expect(['better', 'worse', 'not yet clear']).toContain(h.effect!.verdict)
    expect(h.effect!.meanInterval!.low).toBeLessThanOrEqual(h.effect!.meanInterval!.high)
    const kr = list.retrievals.find((x) => x.id === retrievalId)!
    expect(kr).toMatchObject({ trigger: 'expert', island: 0, control: kept(kControl) })
    expect(kr.made).toBeGreaterThanOrEqual(kept(kTreated))
    expect(kr.effect!.control.n).toBeGreaterThan(0)
  }, 420_000)
})
