// Peers' task formats run unchanged through the real CLI: an OpenEvolve folder (EvaluationResult with
// artifacts, a cascade, a config.yaml whose system message and models the scripted model server sees),
// ShinkaEvolve folders (Python and C++), and a KernelBench task file checked on the CPU. Each seed
// scores what the peer's own rules say, and a short run improves on it.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { startOpenAiTestServer } from '../../test-support/openai-server.ts'

const dirs: string[] = []
const tempDir = (prefix = 'fm-peers-') => {
  const d = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true })
  }),
)

/** the fixture's evaluator, by hand: 1 / (1 + 10 · RMSE) of the seed cubic against exp on 21 points */
function expfitScore(a: number[]) {
  let sum = 0
  for (let i = 0; i <= 20; i++) {
    const x = i / 20
    const e = a[0] + a[1] * x + a[2] * x ** 2 + a[3] * x ** 3 - Math.exp(x)
    sum += e * e
  }
  return 1 / (1 + 10 * Math.sqrt(sum / 21))
}

/** A C++ fixture of one Newton step towards √2: its seed scores as its evaluator says, and a short offline run improves on it. */
async function sqrt2ImprovedOffline(fixture: string, format: string) {
  const folder = join(FIXTURES, fixture)
  const check = await cli(['problem', 'check', folder, '--json'])
  expect(check.code, check.stderr).toBe(0)
  // one Newton step from 1.0 gives 1.5: 1 / (1 + 100 · |1.5 − √2|)
  expect(check.json).toMatchObject({ format, valid: true, metrics: { approximation: 1.5 } })
  expect(check.json.score).toBeCloseTo(1 / (1 + 100 * (1.5 - Math.SQRT2)), 12)
  const run = await cli(['run', folder, '--operators', 'local', '--max-evals', '16', '--json', '--data-dir', tempDir()])
  expect(run.code, run.stderr).toBe(0)
  expect(run.json).toMatchObject({ status: 'completed', evaluations: 16 })
  expect(run.json.seedScore).toBeCloseTo(check.json.score, 12)
  expect(run.json.best.score).toBeGreaterThan(run.json.seedScore)
}

const SYSTEM_MESSAGE = 'You are an expert in numerical approximation.'

describe('OpenEvolve folders', () => {
  const folder = join(FIXTURES, 'openevolve-expfit')

  it('problem check detects the format, reports what config.yaml mapped and ignored, and scores the seed as OpenEvolve would', async () => {
    const r = await cli(['problem', 'check', folder, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id: 'openevolve-expfit',
      format: 'openevolve',
      valid: true,
      direction: 'max',
      primaryMetric: 'combined_score',
    })
    // stage 1 passed its threshold (0.5), so stage 2's fit decides the score
    expect(r.json.score).toBeCloseTo(expfitScore([1, 1, 0.3, 0.1]), 9)
    expect(r.json.metrics.well_formed).toBe(1)
    expect(r.json.metrics.rmse).toBeGreaterThan(0)
    expect(r.json.features).toEqual({ max_error: r.json.metrics.max_error })
    expect(r.json.scoreMeaning).toMatch(/combined_score .* cascade of 2 stage/)
    const mapped = (r.json.mapped as string[]).join('\n')
    expect(mapped).toMatch(/prompt\.system_message: .* → the system message of every prompt/)
    expect(mapped).toMatch(/cascade_thresholds: \[0\.5\] → cascade of evaluate_stage1\.\.2/)
    expect(mapped).toMatch(/diff_based_evolution: false → full rewrites/)
    expect(mapped).toMatch(
      /llm\.models: .* openai:scripted-coder at http:\/\/127\.0\.0\.1:9\/v1 \(weight 0\.7, key from \$FM_TEST_OE_KEY\)/,
    )
    expect(mapped).toMatch(/evaluator\.timeout: 20 → limits\.timeoutS 40/)
    const warned = (r.json.warnings as string[]).join('\n')
    expect(warned).toMatch(/"prompt\.num_top_programs" is ignored/)
    expect(warned).toMatch(/"log_level" is ignored/)
    expect(warned).toMatch(/feature_dimensions complexity .* ignored/)
    expect(r.stderr).toMatch(/format: OpenEvolve/)
  })

  it('a run with config.yaml’s models sends its system message, the evaluator’s artifacts and the key it names to the model, and improves on the seed', async () => {
    const server = await startOpenAiTestServer({ apiKey: 'sk-test-oe-key' })
    try {
      const copy = join(tempDir(), 'expfit')
      cpSync(folder, copy, { recursive: true })
      const cfg = join(copy, 'config.yaml')
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('http://127.0.0.1:9/v1', server.url))
      const r = await cli(['run', copy, '--max-evals', '12', '--json', '--data-dir', tempDir()], {
        FM_TEST_OE_KEY: 'sk-test-oe-key',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 12, islands: 2 })
      expect(r.json.seedScore).toBeCloseTo(expfitScore([1, 1, 0.3, 0.1]), 9)
      expect(r.json.best.score).toBeGreaterThan(r.json.seedScore)
      expect(r.stderr).toMatch(/openai:scripted-coder at http:\/\/127\.0\.0\.1:\d+\/v1, openai:scripted-coder-large/)
      const chats = server.chatRequests()
      expect(chats.length).toBeGreaterThan(3)
      expect(chats.every((c) => c.auth.ok === true)).toBe(true)
      const bodies = chats.map((c) => c.body as { model: string; messages: Array<{ role: string; content: string }> })
      expect(new Set(bodies.map((b) => b.model))).toEqual(new Set(['scripted-coder', 'scripted-coder-large']))
      // config.yaml's system message is the system prompt of every request
      expect(
        bodies.every((b) => b.messages.some((m) => m.role === 'system' && m.content.includes(SYSTEM_MESSAGE))),
      ).toBe(true)
      // an evaluated parent's EvaluationResult artifacts reach the next prompts
      expect(
        bodies.some((b) =>
          b.messages.some((m) => /### worst_point\nlargest error [-+]\d\.\d{4} at x = /.test(m.content)),
        ),
      ).toBe(true)
      // diff_based_evolution: false → the model is asked for whole programs
      expect(bodies.some((b) => b.messages.some((m) => m.content.includes('Rewrite the current program')))).toBe(true)
      expect(bodies.some((b) => b.messages.some((m) => m.content.includes('<<<<<<< SEARCH')))).toBe(false)
    } finally {
      await server.close()
    }
  })

  it('a run with the offline operators improves on the seed', async () => {
    const r = await cli(['run', folder, '--operators', 'local', '--max-evals', '20', '--json', '--data-dir', tempDir()])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ status: 'completed', evaluations: 20, islands: 2 })
    expect(r.json.best.score).toBeGreaterThan(r.json.seedScore)
  })
})

/** shinka-sine's aggregate by hand: 1 / (1 + 10 · mean |a·x + b·x³ − sin x|) over 3 runs of 8 points */
function sineScore(a: number, b: number) {
  let sum = 0
  for (let seed = 0; seed < 3; seed++) {
    for (let k = 0; k < 8; k++) {
      const x = Math.sin(1.3 * (seed * 8 + k))
      sum += Math.abs(a * x + b * x ** 3 - Math.sin(x))
    }
  }
  return 1 / (1 + (10 * sum) / 24)
}

describe('OpenEvolve folders in C++', () => {
  it('the evaluator gets the program’s source and builds it itself; a run with the offline operators improves on it', async () => {
    await sqrt2ImprovedOffline('openevolve-sqrt2-cpp', 'openevolve')
  })
})

describe('ShinkaEvolve folders', () => {
  it('Python: run_shinka_eval runs the experiment 3 times; combined_score, public/private metrics and text_feedback map as described', async () => {
    const r = await cli(['problem', 'check', join(FIXTURES, 'shinka-sine'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id: 'shinka-sine',
      format: 'shinka',
      valid: true,
      primaryMetric: 'combined_score',
      direction: 'max',
    })
    expect(r.json.score).toBeCloseTo(sineScore(0.5, 0.1), 9)
    expect(r.json.metrics).toMatchObject({ num_valid_runs: 3, num_invalid_runs: 0 })
    expect(r.json.metrics.mean_abs_error).toBeGreaterThan(0)
    expect(r.json.metrics['private.max_abs_error']).toBeGreaterThanOrEqual(r.json.metrics.mean_abs_error)
    expect(r.json.feedback).toMatch(/^mean \|error\| 0\.\d{4}; the worst prediction is at x = /)
    expect(r.json.scoreMeaning).toMatch(/correct\.json/)
    expect(r.stderr).toMatch(/format: ShinkaEvolve/)
  })

  it('C++: evaluate.py compiles and runs initial.cpp itself; a run with the offline operators improves on it', async () => {
    await sqrt2ImprovedOffline('shinka-sqrt2-cpp', 'shinka')
  })

  it('Python: a short run with the scripted model improves on the seed; text_feedback reaches its prompts, private metrics do not', async () => {
    const server = await startOpenAiTestServer()
    try {
      const r = await cli(
        [
          'run',
          join(FIXTURES, 'shinka-sine'),
          '--model',
          'openai:scripted',
          '--max-evals',
          '12',
          '--json',
          '--data-dir',
          tempDir(),
        ],
        {
          OPENAI_BASE_URL: server.url,
          OPENAI_API_KEY: 'sk-test',
        },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.seedScore).toBeCloseTo(sineScore(0.5, 0.1), 9)
      expect(r.json.best.score).toBeGreaterThan(r.json.seedScore)
      const prompts = server.chatRequests().map((c) => JSON.stringify((c.body as { messages: unknown[] }).messages))
      expect(prompts.some((p) => /### feedback\\nmean \|error\| 0\.\d{4}; the worst prediction/.test(p))).toBe(true)
      expect(prompts.some((p) => p.includes('max_abs_error'))).toBe(false)
    } finally {
      await server.close()
    }
  })

  it('a language whose toolchain is missing: problem check and run name the toolchain', async () => {
    const dir = join(tempDir(), 'rust-task')
    cpSync(join(FIXTURES, 'shinka-sqrt2-cpp'), dir, { recursive: true })
    rmSync(join(dir, 'initial.cpp'))
    writeFileSync(
      join(dir, 'initial.rs'),
      'fn main() {\n    // EVOLVE-BLOCK-START\n    let x: f64 = 1.0;\n    // EVOLVE-BLOCK-END\n    println!("{}", 0.5 * (x + 2.0 / x));\n}\n',
    )
    const check = await cli(['problem', 'check', dir, '--json'])
    expect(check.code).toBe(1)
    expect(check.json).toMatchObject({ format: 'shinka', valid: false })
    expect(check.json.error.message).toMatch(/Rust toolchain \(rustc or cargo\), which this machine lacks/)
    const run = await cli(['run', dir, '--operators', 'local', '--max-evals', '5', '--data-dir', tempDir()])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/problem "rust-task" cannot run on this machine: it needs rustc \(the Rust toolchain\)/)
  })
})

describe('KernelBench task files', () => {
  const task = join(FIXTURES, 'kernelbench', '23_Scaled_GELU_RowSum.py')

  it('problem check validates the task on the CPU at reduced sizes; the seed (ModelNew = Model) is exact and about as fast', async () => {
    const r = await cli(['problem', 'check', task, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id: '23_scaled_gelu_rowsum',
      format: 'kernelbench',
      valid: true,
      primaryMetric: 'speedup',
      direction: 'max',
      device: 'cpu',
    })
    expect(r.json.metrics).toMatchObject({ max_abs_err: 0, correct_trials: 2, cpu_check: 1 })
    expect(r.json.features).toEqual({ custom_kernel: 0 })
    // the same code timed interleaved: a ratio near 1 whatever the machine's speed
    expect(r.json.score).toBeGreaterThan(1 / 3)
    expect(r.json.score).toBeLessThan(3)
    expect(r.json.cpuCheck).toMatch(
      /at reduced sizes \(batch_size 2048→256, dim 65536→8192; 8\.0 MiB of inputs instead of 512\.0 MiB\)/,
    )
    expect(r.json.scoreMeaning).toMatch(/atol=rtol=0\.01 on 5 random inputs \(KernelBench's rule\)/)
    // fewer trials on the CPU, said beside the rule's five
    expect(r.json.cpuCheck).toMatch(/on 2 random inputs \(a GPU worker checks 5\)/)
    expect(r.stderr).toMatch(/format: KernelBench task file/)
    expect(r.stderr).toMatch(/no GPU on this machine: the seed runs on the CPU/)
  })

  it('a run refuses: it needs a GPU worker', async () => {
    const r = await cli(['run', task, '--operators', 'local', '--max-evals', '5', '--data-dir', tempDir()])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/problem "23_scaled_gelu_rowsum" cannot run on this machine: it needs a GPU worker/)
  })
})
