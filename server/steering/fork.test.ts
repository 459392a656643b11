// Forks through the API against a migrated database, in both modes: the preview the form opens
// with, the seed programs made from a candidate (and its island's best), where the new run came
// from on both sides, the links from a fork's seed back to its source, and the bounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { RunConfig, SEED_PROGRAMS_MAX } from '../../client-safe/run-config.ts'
import { forkSourceOf } from './fork.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

describe('forkSourceOf', () => {
  it('finds the seed program a seed candidate was made from, by its code', () => {
    const config = {
      seedPrograms: [{ code: 'a = 1\n', sourceRunId: 'r1', sourceCandidateId: 'c1', label: 'x' }, { code: 'b = 2\n' }],
    }
    expect(forkSourceOf(config, 'a = 1\n')).toEqual({ runId: 'r1', candidateId: 'c1', label: 'x' })
    expect(forkSourceOf(config, 'b = 2\n')).toBeNull()
    expect(forkSourceOf({}, 'a = 1\n')).toBeNull()
  })

  it('bounds seed programs in count and size', () => {
    const p = (code: string) => ({ code })
    expect(
      RunConfig.safeParse({ seedPrograms: Array.from({ length: SEED_PROGRAMS_MAX + 1 }, (_, i) => p(`x = ${i}`)) })
        .success,
    ).toBe(false)
    expect(RunConfig.safeParse({ seedPrograms: [p('x'.repeat(200_001))] }).success).toBe(false)
    expect(
      RunConfig.safeParse({ seedPrograms: Array.from({ length: 11 }, () => p('x'.repeat(190_000))) }).success,
    ).toBe(false)
    expect(RunConfig.safeParse({ seedPrograms: [{ code: 'x = 1', sourceRunId: 'r', extra: 1 }] }).success).toBe(false)
    expect(RunConfig.safeParse({ seedPrograms: [p('x = 1')] }).success).toBe(true)
  })
})

describe.each(dbModes())('forks, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let source: string
  const actor = (role: Role): Actor => ({ id: null, label: `${role}@example.test`, role, via: 'session' })
  const as = (role: Role) => createCaller({ app, actor: actor(role), tokenScope: null, headers: new Headers() })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    source = (await seedSyntheticRun(db, { candidates: 3000, islands: 3, metricEvery: 20 })).runId
    await db.prisma.run.update({
      where: { id: source },
      data: {
        name: 'source run',
        config: RunConfig.parse({
          islands: 3,
          populationPerIsland: 12,
          exploration: 0.6,
          migrationInterval: 17,
          budget: { maxEvals: 3000 },
          seed: 4,
        }),
      },
    })
  })
  afterAll(() => cleanup?.())

  it('opens the form with the source run’s configuration and what would seed the fork (admins only)', async () => {
    const cand = syntheticId(source, 2000)
    await expect(as('expert').runs.forkPreview({ runId: source, candidateId: cand })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(as('admin').runs.forkPreview({ runId: source, candidateId: 'nope' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    const p = await as('admin').runs.forkPreview({ runId: source, candidateId: cand })
    expect(p.source).toMatchObject({
      runId: source,
      name: 'source run',
      problemId: 'synthetic-console-max',
      direction: 'max',
    })
    expect(p.candidate).toMatchObject({ id: cand, island: 2000 % 3, seq: 2000 })
    expect(p.config).toMatchObject({ islands: 3, populationPerIsland: 12, exploration: 0.6, migrationInterval: 17 })
    expect(p.config).not.toHaveProperty('seedPrograms')
    expect(p.island).toMatchObject({ index: 2, available: 12 })
  })

  it('forks from a candidate: its code seeds the new run, which records where it came from on both sides', async () => {
    const cand = syntheticId(source, 2000)
    const code = (await db.prisma.candidate.findUnique({ where: { id: cand }, select: { code: true } }))!.code
    await expect(as('expert').runs.fork({ runId: source, candidateId: cand, config: {} })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(
      as('admin').runs.fork({ runId: source, candidateId: cand, config: { islands: 0 } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('islands') })
    const r = await as('admin').runs.fork({
      runId: source,
      candidateId: cand,
      name: 'fork A',
      config: { islands: 2, populationPerIsland: 12, exploration: 0.2, budget: { maxEvals: 50 } },
    })
    expect(r.seeds).toBe(1)
    const run = await db.prisma.run.findUnique({ where: { id: r.id } })
    expect(run).toMatchObject({
      name: 'fork A',
      problemId: 'synthetic-console-max',
      forkedFromRunId: source,
      forkedFromCandidateId: cand,
      status: 'created',
    })
    const config = RunConfig.parse(run!.config)
    expect(config).toMatchObject({ islands: 2, exploration: 0.2, budget: { maxEvals: 50 } })
    expect(config.seedPrograms).toEqual([
      {
        code,
        label: `candidate ${cand.slice(0, 8)} of run ${source.slice(0, 8)}`,
        sourceRunId: source,
        sourceCandidateId: cand,
      },
    ])
    // audited, with the seed programs summarized rather than copied
    const a = await db.prisma.auditEvent.findFirst({ where: { action: 'run.fork', targetId: r.id } })
    expect(a!.after).toMatchObject({
      forkedFrom: { runId: source, candidateId: cand },
      config: { seedPrograms: `1 program(s) from run ${source.slice(0, 8)}` },
    })
    // both runs say so
    const child = await as('viewer').runs.overview({ runId: r.id })
    expect(child.family.forkedFrom).toEqual({ runId: source, runName: 'source run', exists: true, candidateId: cand })
    const parent = await as('viewer').runs.overview({ runId: source })
    expect(parent.family.forks.map((f) => [f.id, f.name, f.candidateId])).toEqual([[r.id, 'fork A', cand]])
    expect((await as('viewer').candidates.get({ runId: source, id: cand })).family.forks.map((f) => f.id)).toEqual([
      r.id,
    ])

    // the engine evaluates the seed programs in its cold start (origin seed); a seed links back across
    const seedId = `${r.id.slice(0, 8)}-seed-0000-0000-000000000001`
    await db.prisma.candidate.create({
      data: {
        id: seedId,
        runId: r.id,
        seq: 1,
        island: -1,
        parentIds: [],
        guidanceIds: [],
        origin: 'seed',
        code,
        codeHash: 'h',
        status: 'evaluated',
        valid: true,
        score: 1,
      },
    })
    expect((await as('viewer').candidates.get({ runId: r.id, id: seedId })).family.from).toMatchObject({
      runId: source,
      candidateId: cand,
    })
    await db.prisma.candidate.update({ where: { id: seedId }, data: { island: 0, evalIndex: 0 } })
    await db.prisma.run.update({ where: { id: r.id }, data: { bestCandidateId: seedId, bestScore: 1 } })
    const lineage = await as('viewer').candidates.lineage({ runId: r.id })
    expect(lineage.forkSources[seedId]).toEqual({ runId: source, candidateId: cand })
  })

  it('forks with the candidate’s island: its best distinct programs, best first, within the population size', async () => {
    const cand = syntheticId(source, 1501) // island 1501 % 3 = 1
    const r = await as('admin').runs.fork({
      runId: source,
      candidateId: cand,
      withIsland: true,
      config: { islands: 2, budget: { maxEvals: 50 } },
    })
    expect(r.seeds).toBe(13)
    const seeds = RunConfig.parse((await db.prisma.run.findUnique({ where: { id: r.id } }))!.config).seedPrograms!
    expect(seeds[0]!.sourceCandidateId).toBe(cand)
    const members = await db.prisma.candidate.findMany({
      where: { id: { in: seeds.slice(1).map((s) => s.sourceCandidateId!) } },
      select: { id: true, island: true, score: true, code: true },
    })
    expect(members.every((m) => m.island === 1)).toBe(true)
    const best = await db.prisma.candidate.findMany({
      where: { runId: source, island: 1, valid: true, id: { not: cand } },
      orderBy: { score: 'desc' },
      take: 12,
      select: { id: true },
    })
    expect(seeds.slice(1).map((s) => s.sourceCandidateId)).toEqual(best.map((b) => b.id))
    expect(new Set(seeds.map((s) => s.code)).size).toBe(13)
  })
})
