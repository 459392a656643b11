// A run whose islands sit at the problem's proven optimum is done, not stalled: what the engine does about a
// stall (the island marked stagnant, the `stagnation` event, escalations, the `run.stalled` notice; knowledge
// retrieval too, which this harness has no documents for) follows from the detector's events, so none of it
// happens. The same problem without `optimal` is the control: it does stall, so the silence is the optimum's
// doing. (The exploration boost is the detector's own: evolution.test.ts.)
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classifyEvent } from '../../client-safe/notify-messages.ts'
import { FIXTURES } from '../../test-support/cli.ts'
import { type EngineHarness, startEngineHarness } from '../../test-support/engine-harness.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { importProblem } from '../services/problem-catalog.ts'

// every valid candidate fits exactly: the seed is already at the optimum, and nothing can beat it
const EVALUATOR = `import json, sys
print(json.dumps({"valid": True, "metrics": {"mse": 0.0}, "features": {}, "artifacts": {"feedback": "exact"}}))
`

describe('a run at its proven optimum', () => {
  let h: EngineHarness
  const dirs: string[] = []

  const problem = async (id: string, optimal: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), `fm-${id}-`))
    dirs.push(dir)
    cpSync(join(FIXTURES, 'curve-fit'), dir, { recursive: true })
    writeFileSync(join(dir, 'evaluator.py'), EVALUATOR)
    const spec = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8'))
    spec.id = id
    spec.features = []
    spec.reference = { value: 0, source: 'exact fit (test fixture)', ...(optimal ? { optimal: true } : {}) }
    writeFileSync(join(dir, 'problem.json'), JSON.stringify(spec))
    await importProblem(h.db, dir)
  }

  beforeAll(async () => {
    h = await startEngineHarness({ name: 'optimum' })
    await problem('test-at-optimum', true)
    await problem('test-at-best-known', false)
  })
  afterAll(async () => {
    await h?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  const runToEnd = async (problemId: string) => {
    const { id: runId } = await h.as('admin').runs.create({
      problemId,
      config: {
        islands: 2,
        populationPerIsland: 8,
        stagnationWindow: 3,
        migrationInterval: 1000,
        budget: { maxEvals: 30 },
        seed: 5,
        coldStartSize: 4,
      },
    })
    const run = await untilProgress(
      h.app.events,
      async () => {
        const r = await h.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
        return r.status === 'completed' || r.status === 'failed' ? r : null
      },
      `run ${problemId} to end`,
    )
    expect(run.status).toBe('completed')
    const events = await h.db.prisma.runEvent.findMany({ where: { runId }, orderBy: { id: 'asc' } })
    const stalled = events
      .map((e) =>
        classifyEvent({
          id: Number(e.id),
          runId,
          type: e.type,
          payload: e.payload as Record<string, unknown>,
          t: e.createdAt.getTime(),
        }),
      )
      .filter((c) => c?.event === 'run.stalled')
    return {
      types: new Set(events.map((e) => e.type)),
      stalled,
      stagnantIslands: await h.db.prisma.island.count({ where: { runId, stagnant: true } }),
    }
  }

  it('raises no stall, escalation or run.stalled notice, where the same run without the optimum does', async () => {
    const control = await runToEnd('test-at-best-known')
    expect(control.types.has('stagnation')).toBe(true)
    expect(control.types.has('escalation')).toBe(true)
    expect(control.stalled.length).toBeGreaterThan(0)

    const done = await runToEnd('test-at-optimum')
    expect(done.types.has('stagnation')).toBe(false)
    expect(done.types.has('escalation')).toBe(false)
    expect(done.stalled).toEqual([])
    expect(done.stagnantIslands).toBe(0)
  }, 400_000)
})
