// Built-in problems through the real sandbox: the seed of a representative few evaluates valid the
// way a run evaluates it (bundle, sandbox, evaluator, child sandbox for private data, C++ build).
import { describe, expect, it } from 'vitest'
import { loadProblemFolder, BUILTIN_PROBLEMS_DIR } from '../server/problems/load.ts'
import { bundleStore, makeJob, sharedRunner } from './test-helpers.ts'

// ml-digits: private held-out labels behind fm_sandbox.run_candidate; cpu-matmul: a C++ candidate with a
// build command; tsp-eil51: a plain Python evaluator with a time-limited candidate call
const ids = ['ml-digits', 'cpu-matmul', 'tsp-eil51']
const problems = ids.map((id) => loadProblemFolder(`${BUILTIN_PROBLEMS_DIR}/${id}`))
const shared = sharedRunner('builtin-test', bundleStore(...problems))

describe('built-in problems in the sandbox', () => {
  it.each(ids)(
    '%s: the seed evaluates valid',
    async (id) => {
      const p = problems[ids.indexOf(id)]
      const r = await shared.runner.run(makeJob(p, p.seedCode))
      expect(r.error, JSON.stringify(r.artifacts).slice(0, 2000)).toBeUndefined()
      expect(r.valid).toBe(true)
      expect(typeof r.metrics[p.spec.primaryMetric]).toBe('number')
      // the child sandbox was really used: the helper did not fall back to a plain subprocess
      expect(String(r.artifacts.stderr ?? '')).not.toMatch(/WITHOUT a child sandbox/)
    },
    120_000,
  )
})
