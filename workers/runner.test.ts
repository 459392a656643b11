// Languages, evaluator kinds, cascades and OpenEvolve folders through the runner (real sandbox).
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ProblemSpec } from '../server/contracts/problem.ts'
import { createRunner, memoryFloor, memoryRoot } from './runner.ts'
import { detectIsolation } from './sandbox.ts'
import { makeJob, makeProblem, sharedRunner, tempDir } from './test-helpers.ts'
import { observed } from '../test-support/held.ts'

const shared = sharedRunner('runner-test')
const store = shared.store

function problem(files: Record<string, string>, spec?: Record<string, unknown>) {
  const p = makeProblem(files, spec && { id: 'p', name: 'p', direction: 'max', primaryMetric: 'score', ...spec })
  store.add(p)
  return p
}

describe('languages', () => {
  it('python: candidate imported by a Python evaluator', async () => {
    const p = problem(
      {
        'evaluator.py': `import importlib.util, json, sys
spec = importlib.util.spec_from_file_location('cand', sys.argv[-1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
import numpy
print(json.dumps({"valid": True, "metrics": {"score": float(numpy.sum(m.values()))}, "features": {"n": len(m.values())}}))
`,
        'seed.py': 'def values():\n    return [1, 2]\n',
      },
      { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py' },
    )
    const r = await shared.runner.run(makeJob(p, 'def values():\n    return [1, 2, 3.5]\n'))
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(6.5)
    expect(r.features.n).toBe(3)
  })

  it('javascript: a Node evaluator; ESM and CommonJS candidates', async () => {
    const p = problem(
      {
        'evaluator.mjs': `import { pathToFileURL } from 'node:url'
const m = await import(pathToFileURL(process.argv.at(-1)).href)
const f = m.f ?? m.default?.f
console.log('evaluating')
console.log(JSON.stringify({ valid: true, metrics: { score: f(), heapLimitMb: Math.round(process.constrainedMemory?.() ?? 0) } }))
`,
        'seed.js': 'export function f() { return 1 }\n',
      },
      { language: 'javascript', entry: 'seed.js', evaluator: 'evaluator.mjs', limits: { timeoutS: 20, memoryMb: 256 } },
    )
    const esm = await shared.runner.run(makeJob(p, 'export function f() { return 2 }\n'))
    expect(esm.error).toBeUndefined()
    expect(esm.metrics.score).toBe(2)
    expect(esm.artifacts.stdout).toBe('evaluating\n')
    const cjs = await shared.runner.run(makeJob(p, 'module.exports.f = () => 3\n'))
    expect(cjs.metrics.score).toBe(3)
    // the heap limit makes a runaway allocation a memory failure, not a hang
    const hog = await shared.runner.run(
      makeJob(p, 'const a = []; while (true) a.push(new Array(1e6).fill(1))\nexport const f = () => 0\n'),
    )
    expect(hog.error?.kind).toBe('memory')
  })

  it('typescript: the candidate is transpiled in the worker, a TS evaluator bundled with its imports', async () => {
    const p = problem(
      {
        'evaluator.ts': `import { pathToFileURL } from 'node:url'
import { scoreOf } from './helper.ts'
const m = await import(pathToFileURL(process.argv.at(-1)!).href)
console.log(JSON.stringify({ valid: true, metrics: { score: scoreOf(m.solve(3)) }, artifacts: { source: process.env.FM_CANDIDATE_SOURCE?.endsWith('candidate.ts') } }))
`,
        'helper.ts': 'export const scoreOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)\n',
        'seed.ts': 'export function solve(n: number): number[] { return [n] }\n',
      },
      { language: 'typescript', entry: 'seed.ts', evaluator: 'evaluator.ts', limits: { timeoutS: 20, memoryMb: 256 } },
    )
    const r = await shared.runner.run(
      makeJob(
        p,
        'interface X { a: number }\nexport function solve(n: number): number[] { const xs: number[] = []; for (let i = 1; i <= n; i++) xs.push(i); return xs }\n',
      ),
    )
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(6)
    expect(r.artifacts.source).toBe(true)
    const bad = await shared.runner.run(makeJob(p, 'export function solve(n: number: number[] {\n'))
    expect(bad.valid).toBe(false)
    expect(bad.error?.kind).toBe('crash')
    expect(String(bad.artifacts.compiler)).toMatch(/Expected/)
  })

  const cppEvaluator = `import json, os, subprocess, sys
binary = sys.argv[-1]
src = open(os.environ['FM_CANDIDATE_SOURCE']).read()
out = subprocess.run([binary], capture_output=True, text=True, timeout=10)
print(json.dumps({"valid": out.returncode == 0, "metrics": {"score": float(out.stdout.strip() or 0), "source_chars": len(src)}}))
`
  it('c++: compiled inside the sandbox; the evaluator gets the binary; compiler errors come back as artifacts', async () => {
    const p = problem(
      { 'evaluator.py': cppEvaluator, 'seed.cpp': 'int main(){return 0;}\n' },
      { language: 'cpp', entry: 'seed.cpp', evaluator: 'evaluator.py', limits: { timeoutS: 60 } },
    )
    const ok = await shared.runner.run(
      makeJob(
        p,
        '#include <cstdio>\n#include <vector>\nint main(){ std::vector<int> v{1,2,3,4}; long s=0; for(int x: v) s+=x; printf("%ld\\n", s); }\n',
      ),
    )
    expect(ok.error).toBeUndefined()
    expect(ok.metrics.score).toBe(10)
    expect(ok.metrics.source_chars).toBeGreaterThan(20)
    const bad = await shared.runner.run(makeJob(p, 'int main( { return undefined_thing; }\n'))
    expect(bad.valid).toBe(false)
    expect(bad.error?.kind).toBe('crash')
    expect(bad.error?.message).toMatch(/compilation failed/)
    expect(String(bad.artifacts.compiler)).toMatch(/error/)
  })

  it('c, with a problem-specific build command', async () => {
    const p = problem(
      { 'evaluator.py': cppEvaluator, 'seed.c': 'int main(void){return 0;}\n', 'lib.h': '#define ANSWER 42\n' },
      {
        language: 'c',
        entry: 'seed.c',
        evaluator: 'evaluator.py',
        build: 'gcc -O1 -I. {candidate} -o {output}',
        limits: { timeoutS: 60 },
      },
    )
    const r = await shared.runner.run(
      makeJob(p, '#include <stdio.h>\n#include "lib.h"\nint main(void){ printf("%d\\n", ANSWER); return 0; }\n'),
    )
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(42)
  })

  it('an evaluator given as a command, {candidate} replaced', async () => {
    const p = problem(
      {
        'score.py':
          'import json, sys\nprint(json.dumps({"valid": True, "metrics": {"score": len(sys.argv)}, "artifacts": {"flag": sys.argv[1], "cand": sys.argv[2].endswith(".py")}}))\n',
        'seed.py': '',
      },
      { language: 'python', entry: 'seed.py', evaluator: 'python3 score.py --flag {candidate}' },
    )
    const r = await shared.runner.run(makeJob(p, 'x = 1\n'))
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(3)
    expect(r.artifacts).toMatchObject({ flag: '--flag', cand: true })
  })
  it('an evaluator file whose name has a space or other characters is that file; a command naming it still runs', async () => {
    const score =
      'import json, sys\nprint(json.dumps({"valid": True, "metrics": {"score": len(sys.argv)}, "artifacts": {"me": sys.argv[0]}}))\n'
    const file = problem(
      { 'év al.py': score, 'seed.py': '' },
      { language: 'python', entry: 'seed.py', evaluator: 'év al.py' },
    )
    const r = await shared.runner.run(makeJob(file, 'x = 1\n'))
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(2)
    expect(String(r.artifacts.me)).toMatch(/\/év al\.py$/)
    const command = problem(
      { 'év al.py': score, 'seed.py': '' },
      { language: 'python', entry: 'seed.py', evaluator: 'python3 "év al.py" --flag {candidate}' },
    )
    const c = await shared.runner.run(makeJob(command, 'x = 1\n'))
    expect(c.error).toBeUndefined()
    expect(c.metrics.score).toBe(3)
  })
})

describe('memory floors', () => {
  const asLimit =
    'import json, resource\nsoft = resource.getrlimit(resource.RLIMIT_AS)[0]\nprint(json.dumps({"valid": True, "metrics": {"score": soft // 2**20 if soft > 0 else -1}}))\n'

  it('a Python evaluator runs under at least its floor, and memoryFloor says so when it raises the limit', async () => {
    const low = problem(
      { 'evaluator.py': asLimit, 'seed.py': '' },
      { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py', limits: { memoryMb: 256 } },
    )
    const r = await shared.runner.run(makeJob(low, 'x = 1\n'))
    expect(r.error).toBeUndefined()
    const floor = memoryFloor(low.spec, () => true)
    expect(floor?.mb).toBe(512)
    expect(r.metrics.score).toBe(floor!.mb)
    const high = problem(
      { 'evaluator.py': asLimit, 'seed.py': '' },
      { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py', limits: { memoryMb: 1024 } },
    )
    expect((await shared.runner.run(makeJob(high, 'x = 1\n'))).metrics.score).toBe(1024)
    expect(memoryFloor(high.spec, () => true)).toBeNull()
  })

  it('memoryFloor follows how the evaluator runs', () => {
    const spec = (over: Record<string, unknown>) =>
      ProblemSpec.parse({
        id: 'p',
        name: 'p',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'score',
        ...over,
        limits: { memoryMb: 128, ...(over.limits as object) },
      })
    const files =
      (...names: string[]) =>
      (path: string) =>
        names.includes(path)
    expect(memoryFloor(spec({}), files('evaluator.py'))?.mb).toBe(512)
    expect(memoryFloor(spec({ evaluator: 'python3 score.py {candidate}' }), files('score.py'))?.mb).toBe(512)
    expect(memoryFloor(spec({ evaluator: 'evaluator.mjs', language: 'javascript' }), files('evaluator.mjs'))).toBeNull()
    expect(memoryFloor(spec({ evaluator: 'run.sh', language: 'typescript' }), files('run.sh'))?.mb).toBe(2048)
    expect(memoryFloor(spec({ limits: { gpu: true } }), files('evaluator.py'))).toBeNull()
    expect(memoryFloor(spec({ format: 'shinka', language: 'cpp' }), files('evaluator.py'))?.mb).toBe(2048)
  })
})

describe("what an evaluator's result may be", () => {
  // the candidate is the evaluator's body: what it prints is the result
  const execEvaluator = { 'evaluator.py': 'import sys\nexec(open(sys.argv[-1]).read())\n', 'seed.py': '' }
  const lossProblem = (evaluator = 'evaluator.py') =>
    problem(
      // run.sh: the line comes from a child of the evaluator process, as a shell evaluator's does
      { ...execEvaluator, 'run.sh': '#!/bin/sh\npython3 evaluator.py "$1"\n' },
      { language: 'python', entry: 'seed.py', evaluator, primaryMetric: 'loss', direction: 'min' },
    )

  it('past the metric bound the primary metric is kept and the rest counted', async () => {
    const p = lossProblem()
    const r = await shared.runner.run(
      makeJob(
        p,
        'import json\nm = {f"instance_{i:03d}": float(i) for i in range(250)}\nm["loss"] = 0.5\nprint(json.dumps({"valid": True, "metrics": m}))\n',
      ),
    )
    expect(r.error).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics.loss).toBe(0.5)
    expect(Object.keys(r.metrics)).toHaveLength(200)
    expect(r.artifacts.metrics_dropped).toMatch(
      /^51 of 251 metrics left out: a result keeps at most 200 metrics \("loss" always\)/,
    )
    // 100,000 metrics (a 1.5 MB line): read, then bounded
    const wide = await shared.runner.run(
      makeJob(
        p,
        'import json\nm = {f"m{i}": i for i in range(100000)}\nm["loss"] = 1.5\nline = json.dumps({"valid": True, "metrics": m})\nassert len(line) > 1 << 20\nprint(line)\n',
      ),
    )
    expect(wide.error).toBeUndefined()
    expect(wide.metrics.loss).toBe(1.5)
    expect(wide.artifacts.metrics_dropped).toMatch(/^99801 of 100001 metrics left out/)
  })

  // prints one result line of `mb` MiB (its size on stderr), then `after`
  const bigLine = (mb: number, after = '') =>
    `import json, sys\nline = json.dumps({"valid": True, "metrics": {"loss": 1}, "artifacts": {"blob": "x" * (${mb} << 20)}})\nsys.stderr.write(f"size={len(line)}\\n")\nprint(line)\n${after}`
  const sizeOf = (r: { artifacts: Record<string, unknown> }) =>
    Number(/size=(\d+)/.exec(String(r.artifacts.stderr))![1]).toLocaleString('en-US')

  it('a result line over the bound: its size, the bound and what to do, not "no JSON object"', async () => {
    const p = lossProblem()
    const r = await shared.runner.run(makeJob(p, bigLine(9)))
    expect(r.valid).toBe(false)
    expect(r.error?.kind).toBe('bad-output')
    expect(r.error?.message).toBe(
      `the evaluator's result line is ${sizeOf(r)} bytes, over the 8 MiB (8,388,608 bytes) a result line may have, so it was not read: keep it small: a result keeps at most 200 metrics and its artifacts are cut to 16,000 characters each (96,000 in all) anyway, so report a summary (totals, a sample) rather than the raw data`,
    )
    // log lines after it change nothing
    const logged = await shared.runner.run(makeJob(p, bigLine(9, 'print("done")\nprint("bye")\n')))
    expect(logged.error?.message).toMatch(new RegExp(`^the evaluator's result line is ${sizeOf(logged)} bytes, over`))
    // a shell evaluator's line, whichever process printed it
    const sh = await shared.runner.run(makeJob(lossProblem('run.sh'), bigLine(9)))
    expect(sh.error?.message).toMatch(new RegExp(`^the evaluator's result line is ${sizeOf(sh)} bytes, over`))
    // a small result after a big line is the result
    const small = await shared.runner.run(
      makeJob(p, `${bigLine(9)}print(json.dumps({"valid": True, "metrics": {"loss": 3}}))\n`),
    )
    expect(small.error).toBeUndefined()
    expect(small.metrics.loss).toBe(3)
    // under the bound a big line is read (a 1 MiB read had cut it), its artifact then bounded
    const blob = await shared.runner.run(
      makeJob(
        p,
        'import json\nprint(json.dumps({"valid": True, "metrics": {"loss": 2}, "artifacts": {"blob": "x" * (4 << 20)}}))\n',
      ),
    )
    expect(blob.error).toBeUndefined()
    expect(blob.metrics.loss).toBe(2)
    expect(String(blob.artifacts.blob).length).toBeLessThanOrEqual(16_000)
  })

  it('a line longer than what the worker keeps of stdout (64 MiB) still has its size; the result file too', async () => {
    const p = lossProblem()
    // 40 MiB of log lines first: the 64 MiB file restarts inside the result line
    const r = await shared.runner.run(makeJob(p, `for _ in range(40):\n    print("log " * (1 << 18))\n${bigLine(30)}`))
    expect(r.error?.kind).toBe('bad-output')
    expect(r.error?.message).toMatch(new RegExp(`^the evaluator's result line is ${sizeOf(r)} bytes, over the 8 MiB`))
    const file = await shared.runner.run(
      makeJob(
        p,
        'import json, os\nwith open(os.environ["FM_RESULT_FILE"], "w") as f:\n    f.write(json.dumps({"valid": True, "metrics": {"loss": 1}, "artifacts": {"blob": "x" * (9 << 20)}}))\n',
      ),
    )
    expect(file.error?.message).toMatch(/^\$FM_RESULT_FILE holds 9,437,\d{3} bytes, over the 8 MiB \(8,388,608 bytes\)/)
  })

  it('a wrong kind of valid or metrics is bad output that says what they must be; valid: false says it gave no reason', async () => {
    const p = lossProblem()
    const r = await shared.runner.run(makeJob(p, 'print(\'{"valid": "yes", "metrics": [1, 2]}\')\n'))
    expect(r.valid).toBe(false)
    expect(r.error).toEqual({
      kind: 'bad-output',
      message:
        'the evaluator\'s result is malformed: "valid" is a string ("yes"): it must be true or false; "metrics" is an array ([1,2]): it must be an object of numbers, {"name": number, …}',
    })
    const quiet = await shared.runner.run(makeJob(p, 'print(\'{"valid": false}\')\n'))
    expect(quiet.valid).toBe(false)
    expect(quiet.error).toBeUndefined()
    expect(quiet.artifacts.feedback).toMatch(/^the evaluator reported "valid": false without a reason \(add "feedback"/)
  })
})

describe('cascade', () => {
  const files = {
    'evaluator.py': `import json, os, sys
stage = sys.argv[1]
x = float(open(sys.argv[-1]).read().strip())
if stage == 'cheap':
    print(json.dumps({"valid": True, "metrics": {"score": x, "cheap": 1}}))
else:
    print(json.dumps({"valid": True, "metrics": {"score": x * 10, "full": 1}}))
`,
    'seed.py': '0.1\n',
  }
  const spec = {
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    cascade: [
      { command: 'python3 evaluator.py cheap {candidate}', threshold: 0.5 },
      { command: 'python3 evaluator.py full {candidate}' },
    ],
  }

  it('stage 1 below its threshold: stage 2 never runs, and the program is not ranked on its quick score', async () => {
    const p = problem(files, spec)
    const r = await shared.runner.run(makeJob(p, '0.2\n'))
    expect(r.stage).toBe(1)
    // its stage-1 score (0.2) would outrank a program whose full score is lower than that
    expect(r.valid).toBe(false)
    expect(r.metrics).toEqual({ score: 0.2, cheap: 1 })
    expect(r.metrics.full).toBeUndefined()
    expect(String(r.artifacts.cascade)).toMatch(/stopped after stage 1/)
    expect(r.artifacts.feedback).toBe(
      'stopped after stage 1: score = 0.2 does not reach the threshold 0.5 (max); only a program that passes every stage of the cascade is ranked',
    )
  })

  it('stage 1 scoring NaN: stopped, and told it is NaN, not that a threshold was missed', async () => {
    const r = await shared.runner.run(makeJob(problem(files, spec), 'nan\n'))
    expect([r.stage, r.valid]).toEqual([1, false])
    expect(r.artifacts.feedback).toMatch(/^stopped after stage 1: the evaluator's "score" is NaN, not a finite number/)
  })

  it('stage 1 passes: stage 2 runs, metrics merged; job.stage stops early when asked', async () => {
    const p = problem(files, spec)
    const r = await shared.runner.run(makeJob(p, '0.7\n'))
    expect(r.stage).toBe(2)
    expect(r.metrics).toEqual({ score: 7, cheap: 1, full: 1 })
    const only1 = await shared.runner.run(makeJob(p, '0.7\n', { stage: 1 }))
    expect(only1.stage).toBe(1)
    expect(only1.metrics.full).toBeUndefined()
  })

  it('function stages of a Python evaluator; direction min', async () => {
    const p = problem(
      {
        'evaluator.py': `def quick(path):
    return {"valid": True, "metrics": {"cost": float(open(path).read())}}
def thorough(path):
    return {"cost": float(open(path).read()) / 2, "thorough": True}
`,
        'seed.py': '5\n',
      },
      {
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'min',
        primaryMetric: 'cost',
        cascade: [{ function: 'quick', threshold: 10 }, { function: 'thorough' }],
      },
    )
    const pass = await shared.runner.run(makeJob(p, '8\n'))
    expect(pass.stage).toBe(2)
    expect(pass.metrics).toMatchObject({ cost: 4, thorough: 1 })
    const stop = await shared.runner.run(makeJob(p, '12\n'))
    expect([stop.stage, stop.valid]).toEqual([1, false])
    expect(stop.metrics.thorough).toBeUndefined()
  })
})

describe('OpenEvolve folders run unchanged', () => {
  it('evaluate() returning a dict with combined_score; non-numeric values go to artifacts', async () => {
    const p = problem({
      'initial_program.py': '# EVOLVE-BLOCK-START\ndef f():\n    return 1\n# EVOLVE-BLOCK-END\n',
      'evaluator.py': `import importlib.util
def evaluate(program_path):
    spec = importlib.util.spec_from_file_location('program', program_path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    v = m.f()
    return {"combined_score": v / 10, "value": v, "ok": True, "note": "looks fine"}
`,
    })
    expect(p.spec.format).toBe('openevolve')
    const r = await shared.runner.run(makeJob(p, 'def f():\n    return 7\n'))
    expect(r.error).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics).toEqual({ combined_score: 0.7, value: 7, ok: 1 })
    expect(r.artifacts.note).toBe('looks fine')
  })

  it('an EvaluationResult-like object; the mean of the metrics when combined_score is absent', async () => {
    const p = problem({
      'initial_program.py': 'x = 1\n',
      'evaluator.py': `from dataclasses import dataclass, field
@dataclass
class EvaluationResult:
    metrics: dict
    artifacts: dict = field(default_factory=dict)
def evaluate(program_path):
    return EvaluationResult(metrics={"a": 0.5, "b": 1.5}, artifacts={"stderr_hint": "all good", "raw": b"bytes"})
`,
    })
    const r = await shared.runner.run(makeJob(p, 'x = 2\n'))
    expect(r.error).toBeUndefined()
    expect(r.metrics).toEqual({ a: 0.5, b: 1.5, combined_score: 1 })
    expect(r.artifacts).toMatchObject({ stderr_hint: 'all good', raw: 'bytes' })
  })

  it('stage functions when config.yaml turns the cascade on', async () => {
    const p = problem({
      'initial_program.py': 'q = 0.1\n',
      'config.yaml': 'evaluator:\n  cascade_evaluation: true\n  cascade_thresholds: [0.5]\n',
      'evaluator.py': `import runpy
def q(path):
    return runpy.run_path(path)['q']
def evaluate_stage1(path):
    return {"combined_score": q(path), "stage1": 1}
def evaluate_stage2(path):
    return {"combined_score": q(path) * 2, "stage2": 1}
def evaluate(path):
    raise RuntimeError('evaluate() must not be called when the cascade is on')
`,
    })
    const low = await shared.runner.run(makeJob(p, 'q = 0.2\n'))
    expect(low.error).toBeUndefined()
    expect(low.stage).toBe(1)
    expect(low.metrics).toEqual({ combined_score: 0.2, stage1: 1 })
    const high = await shared.runner.run(makeJob(p, 'q = 0.6\n'))
    expect(high.stage).toBe(2)
    expect(high.metrics).toEqual({ combined_score: 1.2, stage1: 1, stage2: 1 })
  })

  it('an exception in evaluate() is a crash with its traceback; an error entry makes it invalid', async () => {
    const p = problem({
      'initial_program.py': 'x = 1\n',
      'evaluator.py': `def evaluate(path):
    src = open(path).read()
    if 'raise' in src:
        raise ValueError('cannot score this program')
    if 'nothing' in src:
        return {"note": "no numbers"}
    if 'failed' in src:
        return {"__evaluation_failed__": 1.0}
    return {"combined_score": 0.0, "error": "the program timed out"}
`,
    })
    const crash = await shared.runner.run(makeJob(p, 'raise\n'))
    expect(crash.error?.kind).toBe('crash')
    expect(String(crash.artifacts.stderr)).toContain('cannot score this program')
    const err = await shared.runner.run(makeJob(p, 'x = 2\n'))
    expect(err.valid).toBe(false)
    expect(err.error).toBeUndefined()
    expect(err.artifacts.feedback).toBe('the program timed out')
    // invalid without an error: the adapter says why, not "the evaluator reported valid: false"
    const empty = await shared.runner.run(makeJob(p, 'nothing = 1\n'))
    expect(empty.valid).toBe(false)
    expect(empty.artifacts.feedback).toBe('the evaluator returned no numeric metric: there is no combined_score')
    const failed = await shared.runner.run(makeJob(p, 'failed = 1\n'))
    expect(failed.valid).toBe(false)
    expect(failed.artifacts.feedback).toMatch(/EVALUATION_FAILED_METRIC without an 'error'/)
  })
})

describe('infra failures are retryable results', () => {
  it('a bundle nobody has, a GPU job on a CPU worker', async () => {
    const p = makeProblem(
      { 'seed.py': '', 'evaluator.py': '' },
      {
        id: 'ghost',
        name: 'g',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    const missing = await shared.runner.run(makeJob(p, ''))
    expect(missing.error?.kind).toBe('infra')
    store.add(p)
    const gpu = await shared.runner.run(makeJob(p, '', { needs: { gpu: true, languages: [] } }))
    expect(gpu.error?.kind).toBe('infra')
    expect(gpu.error?.message).toMatch(/GPU/)
  })
})

describe('job folders', () => {
  it('are removed after each evaluation, deep trees, unwritable folders and links included, never what a link points to', async () => {
    const sandboxRoot = tempDir('fm-sbx-root-')
    chmodSync(sandboxRoot, 0o711) // the sandbox's user passes through to its slot
    const outside = tempDir('fm-outside-')
    mkdirSync(join(outside, 'dir'))
    writeFileSync(join(outside, 'dir', 'keep'), 'kept')
    const own = createRunner({
      cacheDir: tempDir('fm-cache-'),
      workerId: 'job-folders',
      slots: 1,
      sandboxRoot,
      isolation: detectIsolation(),
      fetchBundle: store.fetch,
    })
    await own.start()
    try {
      const p = problem(
        {
          'evaluator.py': `import json, os
scratch = os.path.join(os.environ['FM_PROBLEM_DIR'], 'scratch')
deep = os.path.join(scratch, 'a', 'b', 'c')
os.makedirs(deep)
for i in range(5):
    open(os.path.join(deep, f'f{i}'), 'w').write('x' * 100)
os.symlink(${JSON.stringify(join(outside, 'dir'))}, os.path.join(scratch, 'a', 'to-dir'))
os.symlink(${JSON.stringify(join(outside, 'dir', 'keep'))}, os.path.join(deep, 'to-file'))
os.chmod(os.path.join(scratch, 'a', 'b'), 0o500)
print(json.dumps({"valid": True, "metrics": {"score": 1}}))
`,
          'seed.py': 'x = 1\n',
        },
        { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py' },
      )
      for (let i = 0; i < 3; i++) {
        const r = await own.run(makeJob(p, `x = ${i}\n`))
        expect(r.error).toBeUndefined()
        expect(r.metrics.score).toBe(1)
      }
      const slots = readdirSync(sandboxRoot)
      expect(slots).toHaveLength(1)
      expect(readdirSync(join(sandboxRoot, slots[0])).filter((n) => n.startsWith('job-'))).toEqual([])
      expect(existsSync(join(outside, 'dir', 'keep'))).toBe(true)
    } finally {
      await own.close()
    }
  })
})

describe('job folders a candidate makes hard to remove', () => {
  /** A runner of one slot (every job in the same slot), in a sandbox root of the test's own. */
  async function oneSlot(workerId: string, log?: (line: string) => void) {
    const sandboxRoot = tempDir('fm-sbx-root-')
    chmodSync(sandboxRoot, 0o711) // the sandbox's user passes through to its slot
    const runner = createRunner({
      cacheDir: tempDir('fm-cache-'),
      workerId,
      slots: 1,
      sandboxRoot,
      isolation: detectIsolation(),
      fetchBundle: store.fetch,
      log,
    })
    await runner.start()
    const [slot] = readdirSync(sandboxRoot)
    return { runner, slotDir: join(sandboxRoot, slot) }
  }
  // what else is in the slot folder ($HOME/..) when the evaluation starts
  const siblings = `sorted(n for n in os.listdir(os.path.dirname(os.environ['HOME'])) if n.startswith('job-'))`

  it('a folder chain longer than PATH_MAX: the result stands and the next job of the slot runs', async () => {
    const p = problem(
      {
        'evaluator.py': `import json, os
jobs = ${siblings}
if os.environ['FM_JOB_ID'].endswith('-deep'):
    start = os.getcwd()
    for i in range(30):
        os.mkdir('d' * 200)
        os.chdir('d' * 200)
    open('leaf', 'w').write('x')
    os.chdir(start)
print(json.dumps({"valid": True, "metrics": {"score": 1}, "artifacts": {"jobs": jobs}}))
`,
        'seed.py': 'x = 1\n',
      },
      { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py' },
    )
    const lines: string[] = []
    const { runner, slotDir } = await oneSlot('deep-chain', (line) => lines.push(line))
    try {
      const deep = await runner.run(makeJob(p, 'x = 2\n', { jobId: `j-${Date.now()}-deep` }))
      expect(deep.error).toBeUndefined()
      expect(deep.metrics.score).toBe(1)
      const next = await runner.run(makeJob(p, 'x = 3\n'))
      expect(next.error).toBeUndefined()
      expect(next.metrics.score).toBe(1)
      // the slot took the next job only once the chain was gone
      expect(next.artifacts.jobs).toEqual(['job-2'])
      await runner.run(makeJob(p, 'x = 4\n')) // after job-2's folder is gone
      expect(readdirSync(slotDir).filter((n) => n.startsWith('job-'))).toEqual([])
      expect(lines.filter((l) => /could not remove/.test(l))).toEqual([])
    } finally {
      await runner.close()
    }
  })

  it.skipIf(process.getuid?.() !== 0)(
    'a folder it cannot remove: logged once, the result stands, the slot goes on, the removal is tried again',
    async () => {
      const p = problem(
        {
          'evaluator.py': `import json, os
if os.environ['FM_JOB_ID'].endswith('-held'):
    os.mkdir('mnt')
    os.mkfifo('go')
    open('ready', 'w').close()
    open('go').read()  # blocks until the test, having mounted a file system on mnt, writes it
print(json.dumps({"valid": True, "metrics": {"score": 1}}))
`,
          'seed.py': 'x = 1\n',
        },
        { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py' },
      )
      const lines: string[] = []
      const { runner, slotDir } = await oneSlot('unremovable', (line) => lines.push(line))
      const problemDir = join(slotDir, 'job-1', 'problem')
      const mnt = join(problemDir, 'mnt')
      try {
        const held = runner.run(makeJob(p, 'x = 2\n', { jobId: `j-${Date.now()}-held` }))
        await observed(() => existsSync(join(problemDir, 'ready')))
        // rm --one-file-system leaves a mount alone: the job folder stays
        expect(spawnSync('mount', ['-t', 'tmpfs', 'fm-test', mnt]).status).toBe(0)
        writeFileSync(join(problemDir, 'go'), '')
        const r = await held
        expect(r.error).toBeUndefined()
        expect(r.metrics.score).toBe(1)
        for (let i = 0; i < 2; i++) {
          const next = await runner.run(makeJob(p, `x = ${3 + i}\n`))
          expect(next.error).toBeUndefined()
          expect(next.metrics.score).toBe(1)
        }
        const warned = lines.filter((l) => /could not remove/.test(l))
        expect(warned).toHaveLength(1)
        expect(warned[0]).toMatch(/job-1 .*tried again/)
        expect(existsSync(mnt)).toBe(true)
        spawnSync('umount', [mnt])
        await runner.run(makeJob(p, 'x = 5\n')) // its slot is released once job-1 is gone
        await runner.run(makeJob(p, 'x = 6\n'))
        expect(readdirSync(slotDir).filter((n) => n.startsWith('job-'))).toEqual([])
      } finally {
        spawnSync('umount', ['-l', mnt])
        await runner.close()
      }
    },
    60_000,
  )

  it('50,000 files: the result comes back, and they are removed while the event loop goes on', async () => {
    const p = problem(
      {
        'evaluator.py': `import json, os
os.mkdir('many')
for i in range(50000):
    os.close(os.open(os.path.join('many', 'f%d' % i), os.O_CREAT | os.O_WRONLY, 0o600))
print(json.dumps({"valid": True, "metrics": {"score": len(os.listdir('many'))}}))
`,
        'seed.py': 'x = 1\n',
      },
      { language: 'python', entry: 'seed.py', evaluator: 'evaluator.py', limits: { timeoutS: 60 } },
    )
    const { runner, slotDir } = await oneSlot('many-files')
    try {
      const r = await runner.run(makeJob(p, 'x = 2\n'))
      expect(r.error).toBeUndefined()
      expect(r.metrics.score).toBe(50000)
      // The result came before the removal ended: the slot is still held for it. Each turn of the
      // event loop from here on is one this process could have sent a heartbeat in; a synchronous
      // removal would have had none while the files were there.
      const many = join(slotDir, 'job-1', 'problem', 'many')
      let turnsWhileThere = 0
      for (;;) {
        await new Promise((r) => setImmediate(r))
        if (runner.stats().running === 0) break
        if (existsSync(many)) turnsWhileThere++
      }
      expect(turnsWhileThere).toBeGreaterThan(0)
      expect(existsSync(join(slotDir, 'job-1'))).toBe(false)
    } finally {
      await runner.close()
    }
  }, 60_000)
})

describe('memoryRoot (where a worker not run as root keeps its evaluation folders)', () => {
  it('a private folder of its own in the tmpfs; none where the name is taken by a link or a file, or the tmpfs is small', () => {
    const base = tempDir('fm-shm-')
    const uid = process.getuid!()
    const dir = join(base, `fm-agent-sbx-${uid}`)
    expect(memoryRoot(base)).toBe(dir)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(memoryRoot(base)).toBe(dir) // made already: used again
    rmSync(dir, { recursive: true })
    symlinkSync(tempDir('fm-elsewhere-'), dir)
    expect(memoryRoot(base)).toBeNull()
    rmSync(dir)
    writeFileSync(dir, '')
    expect(memoryRoot(base)).toBeNull()
    expect(memoryRoot(join(base, 'absent'))).toBeNull()
    // too little room (a container's 64 MB /dev/shm): the disk instead
    rmSync(dir)
    expect(memoryRoot(base, Number.MAX_SAFE_INTEGER / 1024 / 1024)).toBeNull()
    expect(existsSync(dir)).toBe(false)
  })
})
