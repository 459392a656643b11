// A worker error says in which phase of the evaluation it happened (the runner's own exceptions,
// not the evaluator's failures). The result's bounding is made to fail on demand to reach the phase
// after the evaluator ran.
import { rmSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { makeJob, makeProblem, sharedRunner } from './test-helpers.ts'

vi.mock('./result.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('./result.ts')>()
  return {
    ...orig,
    resultArtifacts: (artifacts: Record<string, unknown>) => {
      if (artifacts.boom) throw new Error('bounding failed')
      return orig.resultArtifacts(artifacts)
    },
  }
})

const shared = sharedRunner('runner-phase-test')

function problem(evaluator: string) {
  const p = makeProblem(
    { 'evaluator.py': evaluator, 'seed.py': 'x = 1\n' },
    {
      id: 'p',
      name: 'p',
      direction: 'max',
      primaryMetric: 'score',
      language: 'python',
      entry: 'seed.py',
      evaluator: 'evaluator.py',
    },
  )
  shared.store.add(p)
  return p
}

describe('a worker error names its phase', () => {
  it('after the evaluator ran: reading the result, not "preparing"', async () => {
    const p = problem(
      'import json\nprint(json.dumps({"valid": True, "metrics": {"score": 1}, "artifacts": {"boom": 1}}))\n',
    )
    const r = await shared.runner.run(makeJob(p, 'x = 2\n'))
    expect(r.error?.kind).toBe('infra')
    expect(r.error?.message).toBe('worker error while reading the evaluation’s result: bounding failed')
    // the slot goes on
    const ok = await shared.runner.run(
      makeJob(problem('import json\nprint(json.dumps({"valid": True, "metrics": {"score": 2}}))\n'), 'x = 3\n'),
    )
    expect(ok.error).toBeUndefined()
    expect(ok.metrics.score).toBe(2)
  })

  it('before it ran: preparing the evaluation', async () => {
    const p = problem('import json\nprint(json.dumps({"valid": True, "metrics": {"score": 1}}))\n')
    expect((await shared.runner.run(makeJob(p, 'x = 2\n'))).error).toBeUndefined()
    // the cached bundle loses a file: copying the problem fails
    rmSync(`${shared.runner.cache.dirFor(p.bundle.hash)}/evaluator.py`)
    const r = await shared.runner.run(makeJob(p, 'x = 3\n'))
    expect(r.error?.kind).toBe('infra')
    expect(r.error?.message).toMatch(/^worker error while preparing the evaluation: ENOENT/)
  })
})
