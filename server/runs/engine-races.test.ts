// Races, each pinned down: (1) a run evaluated one candidate more than its budget when two
// evaluation slots passed the budget check while the first was still writing its candidate; (2) a
// run launched twice at once (runs.create and the pick-up poll) got two engines; (3) two answers
// with the same code, screened at once, were both evaluated (a new user's run found four such pairs).
// Real engine, real sandboxed workers, embedded database; many slots on a trivial evaluator make
// the end of the budget crowded.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../auth/roles.ts'
import { openDatabase, type Db } from '../db.ts'
import { EventBus } from '../events.ts'
import { silentLogger } from '../log.ts'
import { EngineManager } from './manager.ts'
import { createBackend } from './evaluation-backend.ts'
import { createRun } from './service.ts'
import { importProblem } from '../services/problem-catalog.ts'
import type { EvaluationBackend } from '../contracts/evaluation.ts'
import { ROOT } from '../../test-support/figures.ts'

const SYSTEM: Actor = { id: null, label: 'race test', role: 'admin', via: 'system' }
const dir = mkdtempSync(join(tmpdir(), 'fm-races-'))
let db: Db
let backend: EvaluationBackend
let problemId = ''

beforeAll(async () => {
  db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  problemId = (await importProblem(db, join(ROOT, 'bench/problems/trivial'))).id
  backend = await createBackend({ db, log: silentLogger, workers: 2 })
}, 120_000)
afterAll(async () => {
  await backend?.close()
  await db?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function evaluated(runId: string) {
  const run = await db.prisma.run.findUniqueOrThrow({
    where: { id: runId },
    select: { evaluations: true, status: true },
  })
  const indexes = (
    await db.prisma.candidate.findMany({ where: { runId, evalIndex: { not: null } }, select: { evalIndex: true } })
  )
    .map((c) => c.evalIndex!)
    .sort((a, b) => a - b)
  return { ...run, indexes }
}

describe('engine races', () => {
  it('an engine whose lease went to another lets go of the run, writing neither its end nor its lease', async () => {
    const events = new EventBus()
    const manager = new EngineManager({ db, backend, events, log: silentLogger })
    const { id } = await createRun(db, SYSTEM, {
      problemId,
      config: { islands: 2, budget: { maxEvals: 100_000 }, seed: 5 },
    })
    // the run is under way once its evolve stage has begun
    const evolving = new Promise<void>((resolve) => {
      const off = events.subscribe(id, (e) => {
        if (e.type === 'status' && (e.payload as { status?: string }).status === 'evolving') off(), resolve()
      })
    })
    const driving = manager.launch(id)
    await evolving
    // as if this process had been frozen past its lease and another engine had claimed the run
    await db.sql(
      `UPDATE runs SET lease_owner = 'other-engine:1', lease_until = now() + interval '1 hour' WHERE id = $1`,
      [id],
    )
    const statuses: string[] = []
    events.subscribe(id, (e) => e.type === 'status' && statuses.push((e.payload as { status: string }).status))
    expect(await driving).toEqual({ status: 'evolving', reason: 'detached' })
    const row = await db.prisma.run.findUniqueOrThrow({ where: { id } })
    expect(row).toMatchObject({ status: 'evolving', leaseOwner: 'other-engine:1', finishedAt: null })
    expect(statuses).toEqual([])
    // the other engine's to end; cleaned up here as it would
    await db.sql(`UPDATE runs SET status = 'stopped', lease_owner = NULL, lease_until = NULL WHERE id = $1`, [id])
  }, 120_000)

  it('many slots at the end of the budget: exactly the budget is evaluated, run after run', async () => {
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    for (let i = 0; i < 3; i++) {
      const budget = 40 + i
      const { id } = await createRun(db, SYSTEM, {
        problemId,
        config: { islands: 2, concurrency: 12, budget: { maxEvals: budget }, seed: i },
      })
      expect((await manager.launch(id)).status).toBe('completed')
      const r = await evaluated(id)
      expect(r.evaluations, `run ${i}`).toBe(budget)
      expect(r.indexes).toEqual(Array.from({ length: budget }, (_, k) => k))
    }
  }, 300_000)

  it('answers with the same code screened at once: each program is evaluated once', async () => {
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    // the offline operators answer at once, so many proposals are screened in the same turn of the
    // event loop, and on four literals they often propose the same program
    for (let seed = 0; seed < 6; seed++) {
      const { id } = await createRun(db, SYSTEM, {
        problemId,
        config: { islands: 2, mutator: 'local', budget: { maxEvals: 60 }, seed },
      })
      expect((await manager.launch(id)).status).toBe('completed')
      const hashes = (
        await db.prisma.candidate.findMany({
          where: { runId: id, evalIndex: { not: null } },
          select: { codeHash: true },
        })
      ).map((c) => c.codeHash)
      expect(hashes.length).toBe(60)
      expect(new Set(hashes).size, `seed ${seed}`).toBe(hashes.length)
    }
  }, 300_000)

  it('a run launched twice at once is driven by one engine', async () => {
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const { id } = await createRun(db, SYSTEM, { problemId, config: { islands: 2, budget: { maxEvals: 30 }, seed: 9 } })
    const [a, b] = await Promise.all([manager.launch(id), manager.launch(id), manager.resumeActive(true)])
    expect(a.status).toBe('completed')
    expect(b.status).toBe('completed')
    expect(manager.running()).toEqual([])
    const r = await evaluated(id)
    expect(r.evaluations).toBe(30)
    // a second engine would have persisted its own seed and cold start
    expect(await db.prisma.candidate.count({ where: { runId: id, origin: 'seed' } })).toBe(1)
    // (with two engines the first one never hears of its results and this test times out)
  }, 90_000)

  it('a pause the dead engine had applied is finished by the engine that picks the run up, not by a resume', async () => {
    const manager = new EngineManager({ db, backend, events: new EventBus(), log: silentLogger })
    const { id } = await createRun(db, SYSTEM, { problemId, config: { islands: 2, budget: { maxEvals: 12 }, seed: 4 } })
    expect((await manager.launch(id)).status).toBe('completed')
    // as a process leaves a run when it dies draining toward a pause it had acknowledged
    const dieWhilePausing = async () => {
      await db.sql(
        `UPDATE runs SET status = 'evolving', finished_at = NULL, config = jsonb_set(config, '{budget,maxEvals}', '24') WHERE id = $1`,
        [id],
      )
      // applied after the run last went evolving
      await db.sql(
        `INSERT INTO run_commands (run_id, kind, payload, actor_label, status, applied_at, created_at)
         VALUES ($1, 'run.pause', '{"reason": "paused by ada"}', 'ada', 'applied', now() + interval '1 millisecond', now())`,
        [id],
      )
    }
    await dieWhilePausing()
    expect(await manager.resumeActive(true)).toEqual([id])
    await manager.released(id)
    const paused = await db.prisma.run.findUniqueOrThrow({
      where: { id },
      select: { status: true, statusReason: true },
    })
    expect(paused).toEqual({ status: 'paused', statusReason: 'paused by ada' })
    expect((await evaluated(id)).evaluations).toBe(12)
    // the same state launched by a user (a resume) goes on: only a pick-up finishes a halt it finds
    await dieWhilePausing()
    const resumed = await manager.launch(id)
    expect(resumed.status).toBe('completed')
    expect((await evaluated(id)).evaluations).toBe(24)
  }, 90_000)
})
