// Peers' evaluators in the real sandbox: OpenEvolve's `openevolve` package and ShinkaEvolve's
// `shinka.core.run_shinka_eval` as the sandbox provides them, and what the adapters make of results.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadProblem } from '../server/problems/load.ts'
import { spawnSync } from 'node:child_process'
import { createRunner } from './runner.ts'
import { detectIsolation, PYTHON, PYTHON_DIR, processEnv } from './sandbox.ts'
import { makeJob, makeProblem, sharedRunner, tempDir } from './test-helpers.ts'

const shared = sharedRunner('peers-test')
const store = shared.store

function folder(files: Record<string, string>) {
  const p = makeProblem(files)
  store.add(p)
  return p
}

describe('the openevolve package in the sandbox', () => {
  it('EvaluationResult with metrics and artifacts (text and bytes); its helpers work; evaluator_args reach evaluate()', async () => {
    const p = folder({
      'initial_program.py': 'def f():\n    return 3\n',
      'config.yaml': 'evaluator:\n  evaluator_args:\n    scale: 10\n',
      'evaluator.py': `import runpy
from openevolve.evaluation_result import EvaluationResult
import openevolve
def evaluate(program_path, scale=1):
    v = runpy.run_path(program_path)['f']()
    r = EvaluationResult(metrics={"combined_score": v * scale}, artifacts={"note": "value %d" % v, "blob": b"\\x00raw"})
    assert r.has_artifacts() and r.get_artifact_keys() == ["note", "blob"] and r.get_artifact_size("blob") == 4
    assert r.get_total_artifact_size() == 11 and r.to_dict() == {"combined_score": v * scale}
    assert EvaluationResult.from_dict({"x": 1}).artifacts == {} and openevolve.EvaluationResult is EvaluationResult
    return r
`,
    })
    expect(p.mapped.join('\n')).toMatch(/evaluator_args: \["scale"\] → keyword arguments of evaluate\(\)/)
    const r = await shared.runner.run(makeJob(p, 'def f():\n    return 4\n'))
    expect(r.error, JSON.stringify(r.artifacts)).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics).toEqual({ combined_score: 40 })
    expect(r.artifacts).toMatchObject({ note: 'value 4', blob: '\u0000raw' })
  })

  it('the adapter runs preloaded in the warm launcher; what one evaluation changes in it does not reach the next', async () => {
    const p = folder({
      'initial_program.py': 'x = 1\n',
      'evaluator.py': `import sys
def evaluate(path):
    caller = sys._getframe(1).f_globals
    shim = sys.modules.get('fm_openevolve')
    seen = getattr(shim, 'TOUCHED', 0)
    if shim is not None:
        shim.TOUCHED = 1
    return {"combined_score": 1, "seen": seen, "preloaded": float(caller.get('__name__') == 'fm_openevolve' and caller is vars(shim))}
`,
    })
    for (let i = 0; i < 4; i++) {
      const r = await shared.runner.run(makeJob(p, 'x = 2\n'))
      expect(r.error, JSON.stringify(r.artifacts)).toBeUndefined()
      expect(r.metrics).toEqual({ combined_score: 1, seen: 0, preloaded: 1 })
    }
  })

  it('the evolution controller is not importable from an evaluator, and says why', async () => {
    const p = folder({
      'initial_program.py': 'x = 1\n',
      'evaluator.py': 'from openevolve import OpenEvolve\ndef evaluate(path):\n    return {"combined_score": 1}\n',
    })
    const r = await shared.runner.run(makeJob(p, 'x = 2\n'))
    expect(r.error?.kind).toBe('crash')
    expect(String(r.artifacts.stderr)).toMatch(/openevolve\.OpenEvolve is not available to evaluators run by FM Agent/)
  })

  it('without config.yaml, evaluate_stage1..3 make a cascade with OpenEvolve’s default thresholds; __evaluation_failed__ invalidates', async () => {
    const p = folder({
      'initial_program.py': 'q = 0.6\n',
      'evaluator.py': `import runpy
def q(path):
    return runpy.run_path(path)['q']
def evaluate_stage1(path):
    return {"combined_score": q(path), "s1": 1, "__evaluation_failed__": 1 if q(path) < 0 else 0}
def evaluate_stage2(path):
    return {"combined_score": q(path) + 0.1, "s2": 1}
def evaluate_stage3(path):
    return {"combined_score": q(path) + 0.2, "s3": 1}
`,
    })
    expect(p.spec.cascade).toEqual([
      { function: 'evaluate_stage1', threshold: 0.5 },
      { function: 'evaluate_stage2', threshold: 0.75 },
      { function: 'evaluate_stage3', threshold: 0.9 },
    ])
    expect(p.spec.limits.timeoutS).toBe(900) // OpenEvolve's 300 s per stage
    const low = await shared.runner.run(makeJob(p, 'q = 0.4\n'))
    expect([low.stage, low.metrics]).toEqual([1, { combined_score: 0.4, s1: 1, __evaluation_failed__: 0 }])
    const mid = await shared.runner.run(makeJob(p, 'q = 0.6\n'))
    expect(mid.stage).toBe(2)
    expect(mid.metrics.combined_score).toBeCloseTo(0.7, 12)
    const high = await shared.runner.run(makeJob(p, 'q = 0.7\n'))
    expect(high.stage).toBe(3)
    expect(high.metrics.combined_score).toBeCloseTo(0.9, 12)
    expect(high.valid).toBe(true)
    const failed = await shared.runner.run(makeJob(p, 'q = -1.0\n'))
    expect(failed.valid).toBe(false)
  })
})

const SHINKA_EVALUATE = `import argparse, math
from shinka.core import run_shinka_eval
def aggregate(results):
    return {"combined_score": sum(results) / len(results), "public": {"runs": len(results)}, "text_feedback": "mean %.3f" % (sum(results) / len(results))}
def validate(result):
    return (math.isfinite(result) and result >= 0, None if result >= 0 else "negative score %s" % result)
if __name__ == "__main__":
    p = argparse.ArgumentParser(); p.add_argument("--program_path"); p.add_argument("--results_dir"); p.add_argument("--mode", default="plain")
    a = p.parse_args()
    import os
    mode = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mode.txt")).read().strip()
    kw = {}
    if mode == "early":
        kw = dict(early_stop_method="ci", early_stop_threshold=100.0, early_stop_kwargs={"min_trials": 3})
    if mode == "parallel":
        kw = dict(run_workers=3)
    run_shinka_eval(program_path=a.program_path, results_dir=a.results_dir, experiment_fn_name="run", num_runs=6,
                    get_experiment_kwargs=lambda i: {"i": i}, aggregate_metrics_fn=aggregate, validate_fn=validate, **kw)
`

function shinka(mode: string) {
  return folder({ 'initial.py': 'def run(i):\n    return 1.0 + i\n', 'evaluate.py': SHINKA_EVALUATE, 'mode.txt': mode })
}

describe('the adapters\u2019 arguments', () => {
  it('the form the worker writes is read as argparse reads it; any other form goes to argparse, errors included', () => {
    const driver = `import json, fm_openevolve as oe, fm_shinka as sk
def both(mod, argv):
    try:
        mine = vars(mod.parse_args(mod.PARSER, argv))
    except SystemExit as e:
        mine = 'exit %s' % e.code
    try:
        theirs = vars(mod.PARSER.parse_args(argv))
    except SystemExit as e:
        theirs = 'exit %s' % e.code
    return [mine, theirs]
print(json.dumps([
    both(oe, ['--evaluator', 'e.py', 'c.py']),
    both(oe, ['c.py', '--max-stage', '2', '--evaluator', 'e.py', '--thresholds', '[0.5, 0.8]', '--features', 'a,b']),
    both(oe, ['--evaluator=e.py', 'c.py']),
    both(oe, ['--max-stage', 'two', '--evaluator', 'e.py', 'c.py']),
    both(oe, ['c.py']),
    both(oe, ['--evaluator', 'e.py', 'c.py', 'd.py']),
    both(oe, ['--evaluator', 'e.py', '--evaluator', 'f.py', 'c.py']),
    both(sk, ['--results-dir', 'r', '--evaluator', 'e.py', 'c.py']),
    both(sk, ['--evaluator', 'e.py', 'c.py']),
]))
`
    const r = spawnSync(PYTHON, ['-c', driver], {
      encoding: 'utf8',
      env: processEnv({ PATH: '/usr/bin:/bin', PYTHONPATH: PYTHON_DIR }),
      timeout: 60_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const pairs = JSON.parse(r.stdout.trim().split('\n').pop()!) as [unknown, unknown][]
    for (const [mine, theirs] of pairs) expect(mine).toEqual(theirs)
    expect(pairs[1]![0]).toEqual({
      evaluator: 'e.py',
      thresholds: '[0.5, 0.8]',
      max_stage: 2,
      features: 'a,b',
      function: null,
      candidate: 'c.py',
    })
    expect(pairs.map(([mine]) => (typeof mine === 'string' ? mine : 'ok')).join(', ')).toBe(
      'ok, ok, ok, exit 2, exit 2, exit 2, ok, ok, exit 2',
    )
  })
})

describe('ShinkaEvolve evaluators in the sandbox', () => {
  it('run_shinka_eval: runs with their kwargs, validation, aggregation; an invalid run makes the program incorrect', async () => {
    const p = shinka('plain')
    expect(p.spec).toMatchObject({
      format: 'shinka',
      evaluator: 'evaluate.py',
      entry: 'initial.py',
      primaryMetric: 'combined_score',
    })
    const ok = await shared.runner.run(makeJob(p, 'def run(i):\n    return 2.0 * i\n'))
    expect(ok.error, JSON.stringify(ok.artifacts)).toBeUndefined()
    expect(ok.valid).toBe(true)
    expect(ok.metrics).toMatchObject({ combined_score: 5, runs: 6, num_valid_runs: 6, num_invalid_runs: 0 })
    expect(ok.artifacts.feedback).toBe('mean 5.000')
    const bad = await shared.runner.run(makeJob(p, 'def run(i):\n    return 3.0 - i\n'))
    expect(bad.valid).toBe(false)
    expect(bad.error).toBeUndefined()
    expect(bad.metrics).toMatchObject({ num_valid_runs: 4, num_invalid_runs: 2 })
    expect(bad.artifacts.error).toBe('Validation failed: negative score -1.0')
    expect(bad.artifacts.all_validation_errors).toEqual(['negative score -1.0', 'negative score -2.0'])
  })

  it('a program that raises gets the default metrics and its error; evaluate.py crashing before its results is a crash', async () => {
    const p = shinka('plain')
    const raising = await shared.runner.run(makeJob(p, 'def run(i):\n    raise ValueError("boom %d" % i)\n'))
    expect(raising.valid).toBe(false)
    expect(raising.metrics).toMatchObject({ combined_score: 0, num_successful_runs: 0 })
    expect(raising.artifacts.error).toBe('ValueError: boom 0')
    const q = folder({ 'initial.py': 'x = 1\n', 'evaluate.py': 'raise SystemExit("cannot evaluate: missing data")\n' })
    const crash = await shared.runner.run(makeJob(q, 'x = 2\n'))
    expect(crash.error?.kind).toBe('crash')
    expect(String(crash.artifacts.stderr)).toMatch(/evaluate\.py wrote no metrics\.json \(missing\)/)
    // one that ends without an error but writes nothing is told what it must write
    const silent = await shared.runner.run(
      makeJob(folder({ 'initial.py': 'x = 1\n', 'evaluate.py': 'pass\n' }), 'x = 2\n'),
    )
    expect([silent.valid, silent.error?.kind]).toEqual([false, undefined])
    expect(String(silent.artifacts.feedback)).toMatch(
      /evaluate\.py wrote no metrics\.json \(missing\); it runs as `evaluate\.py --program_path P --results_dir D` and must write/,
    )
  })

  it('early stopping skips runs once the scores settle the threshold; run_workers runs in parallel processes', async () => {
    const early = await shared.runner.run(makeJob(shinka('early'), 'def run(i):\n    return 1.0 + 0.01 * i\n'))
    expect(early.valid).toBe(true)
    expect(early.metrics.runs).toBe(3)
    expect(early.artifacts.early_stop).toMatchObject({
      method: 'ci',
      triggered: true,
      prediction: 'below',
      runs_completed: 3,
      runs_requested: 6,
    })
    const parallel = await shared.runner.run(
      makeJob(shinka('parallel'), 'import os\ndef run(i):\n    return float(os.getpid())\n'),
    )
    expect(parallel.valid).toBe(true)
    expect(parallel.metrics.runs).toBe(6)
  })
})

const KB_TASK = `import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, features):
        super(Model, self).__init__()
        self.proj = nn.Linear(features, features)

    def forward(self, x):
        return torch.nn.functional.gelu(self.proj(x))

batch_size = 64
features = 48

def get_inputs():
    return [torch.randn(batch_size, features)]

def get_init_inputs():
    return [features]
`

describe('KernelBench task files on a CPU worker', () => {
  it('at the file’s sizes; KernelBench’s tolerance (1e-2) accepts the tanh GELU, a wrong op fails; custom kernels are a feature', async () => {
    const dir = tempDir('fm-kb-task-')
    writeFileSync(join(dir, '7_Linear_GELU.py'), KB_TASK)
    const p = loadProblem(join(dir, '7_Linear_GELU.py'))
    store.add(p)
    expect(p.spec).toMatchObject({ format: 'kernelbench', primaryMetric: 'speedup', limits: { gpu: true } })
    expect(p.seedCode).toContain('class ModelNew(nn.Module):')
    expect(p.seedCode).toContain('super(ModelNew, self).__init__()')
    const cpu = { needs: { gpu: false, languages: [] } }
    const seed = await shared.runner.run(makeJob(p, p.seedCode, cpu))
    expect(seed.error, JSON.stringify(seed.artifacts)).toBeUndefined()
    expect(seed.valid).toBe(true)
    expect(String(seed.artifacts.cpu_check)).toMatch(/at the file's sizes \(0\.0 MiB of inputs\)/)
    const tanh = p.seedCode.replace(
      'torch.nn.functional.gelu(self.proj(x))',
      "torch.nn.functional.gelu(self.proj(x), approximate='tanh')  # load_inline later",
    )
    const approx = await shared.runner.run(makeJob(p, tanh, cpu))
    expect(approx.valid, JSON.stringify(approx.artifacts)).toBe(true)
    expect(approx.metrics.max_abs_err).toBeGreaterThan(1e-5)
    expect(approx.metrics.max_abs_err).toBeLessThan(1e-2)
    expect(approx.features.custom_kernel).toBe(1)
    const wrong = await shared.runner.run(makeJob(p, p.seedCode.replace('torch.nn.functional.gelu', 'torch.relu'), cpu))
    expect(wrong.valid).toBe(false)
    expect(String(wrong.artifacts.feedback)).toMatch(/incorrect on random input 1 of 2: .*atol=0\.01, rtol=0\.01/)
  })

  it('a GPU worker whose PyTorch sees no CUDA device fails loudly instead of timing the CPU', async () => {
    const dir = tempDir('fm-kb-task-')
    writeFileSync(join(dir, 'task.py'), KB_TASK)
    const p = loadProblem(join(dir, 'task.py'))
    const gpuRunner = createRunner({
      cacheDir: tempDir('fm-cache-'),
      workerId: 'fake-gpu',
      slots: 1,
      isolation: detectIsolation(),
      fetchBundle: async () => p.bundle.data,
      gpu: true,
    })
    try {
      await gpuRunner.start()
      const r = await gpuRunner.run(makeJob(p, p.seedCode, { needs: { gpu: true, languages: [] } }))
      expect(r.valid).toBe(false)
      expect(r.error?.kind).toBe('crash')
      expect(String(r.artifacts.stderr)).toMatch(/this GPU worker's PyTorch sees no CUDA device/)
    } finally {
      await gpuRunner.close()
    }
  })

  it('the torch.compile baseline wraps a Model built from the same seed, so a correct ModelNew matches it (checked on the CPU with compile as the identity)', () => {
    const dir = tempDir('fm-kb-compile-')
    writeFileSync(join(dir, 'reference.py'), KB_TASK)
    writeFileSync(join(dir, 'candidate.py'), KB_TASK.replace(/\bModel\b/g, 'ModelNew'))
    const driver = `import json, torch
import fm_kernelbench_task as task
from fm_kernelbench import evaluate_kernel
torch.compile = lambda module: module  # PyTorch 1.13 here has no torch.compile
def on_cpu(ref, cand, **kw):
    kw['device'] = 'cpu'
    return evaluate_kernel(ref, cand, **kw)
print(json.dumps(task.against_compile(on_cpu, '${dir}/reference.py', '${dir}/candidate.py', '${dir}')))
`
    const r = spawnSync(PYTHON, ['-c', driver], {
      encoding: 'utf8',
      env: processEnv({ PATH: '/usr/bin:/bin', PYTHONPATH: PYTHON_DIR, OMP_NUM_THREADS: '1', HOME: dir }),
      timeout: 120_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const [speedup, ms] = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(speedup).toBeGreaterThan(0)
    expect(ms).toBeGreaterThan(0)
  })
})
