// The GPU harness's correctness path, on the CPU with Debian's python3-torch: a correct ModelNew
// passes (and is timed), a wrong one fails with its error reported, crashing ones are invalid.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PYTHON, PYTHON_DIR, processEnv } from './sandbox.ts'
import { removeTempDirs, tempDir } from './test-helpers.ts'

const REFERENCE = `import torch
import torch.nn as nn
import torch.nn.functional as F

class Model(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return F.gelu(self.fc(x))

def get_inputs():
    return [torch.randn(16, 32)]

def get_init_inputs():
    return [32, 64]
`

const CANDIDATES: Record<string, string> = {
  correct: `import torch, torch.nn as nn
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        h = torch.addmm(self.fc.bias, x, self.fc.weight.t())
        return 0.5 * h * (1.0 + torch.erf(h / 2 ** 0.5))
`,
  wrong: `import torch, torch.nn as nn
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return torch.relu(self.fc(x))
`,
  wrong_shape: `import torch, torch.nn as nn
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return self.fc(x)[:, :10]
`,
  crashing: `import torch.nn as nn
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
    def forward(self, x):
        raise RuntimeError('kernel launch failed')
`,
  no_import: `import torch\nthis is not python\n`,
  missing_class: `import torch\nclass Model2: pass\n`,
}

type KbResult = { valid: boolean; metrics: Record<string, number | null>; artifacts: Record<string, unknown> }
let results: Record<string, KbResult>
let torchOk = true

beforeAll(() => {
  const dir = tempDir('fm-kb-')
  writeFileSync(join(dir, 'reference.py'), REFERENCE)
  for (const [name, code] of Object.entries(CANDIDATES)) writeFileSync(join(dir, `${name}.py`), code)
  // one interpreter for all cases: importing torch is the slow part
  const driver = `import json, sys
from fm_kernelbench import evaluate_kernel
out = {}
for name in ${JSON.stringify(Object.keys(CANDIDATES))}:
    out[name] = evaluate_kernel('${dir}/reference.py', '${dir}/' + name + '.py', device='cpu', correctness_trials=3, warmup=1, timed_runs=5)
print(json.dumps(out, default=str))
`
  const r = spawnSync(PYTHON, ['-c', driver], {
    encoding: 'utf8',
    env: processEnv({ PATH: '/usr/bin:/bin', PYTHONPATH: PYTHON_DIR, OMP_NUM_THREADS: '1', HOME: dir }),
    timeout: 120_000,
  })
  if (r.status !== 0) {
    torchOk = false
    throw new Error(`the harness driver failed: ${r.stderr}`)
  }
  results = JSON.parse(r.stdout.trim().split('\n').pop()!)
}, 150_000)
afterAll(removeTempDirs)

describe('fm_kernelbench.evaluate_kernel on the CPU', () => {
  it('a correct ModelNew passes, is timed, and reports its (tiny) error', () => {
    expect(torchOk).toBe(true)
    const r = results.correct
    expect(r.valid, JSON.stringify(r.artifacts).slice(0, 2000)).toBe(true)
    expect(r.metrics.max_abs_err).toBeLessThan(1e-4)
    expect(r.metrics.correct_trials).toBe(3)
    expect(r.metrics.ref_ms).toBeGreaterThan(0)
    expect(r.metrics.new_ms).toBeGreaterThan(0)
    // the median of the rounds' ratios: each round ran both back to back on the same inputs
    const t = r.artifacts.timing_ms as Record<'reference' | 'candidate', { run: number[] }>
    const ratios = t.reference.run.map((ref, i) => ref / t.candidate.run[i]!).sort((a, b) => a - b)
    const mid = ratios.length >> 1
    expect(ratios.length).toBeGreaterThan(2)
    expect(r.metrics.speedup).toBeCloseTo(ratios.length % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2, 2)
    expect(r.artifacts.device).toBe('cpu')
  })

  it('a wrong ModelNew fails with its max error', () => {
    const r = results.wrong
    expect(r.valid).toBe(false)
    expect(r.metrics.max_abs_err).toBeGreaterThan(1e-3)
    expect(String(r.artifacts.feedback)).toMatch(/incorrect on random input 1 of 3: .*max abs error/)
    expect(r.metrics.speedup).toBeUndefined()
  })

  it('a wrong output shape is reported as such', () => {
    expect(results.wrong_shape.valid).toBe(false)
    expect(String(results.wrong_shape.artifacts.feedback)).toMatch(/shape \(16, 10\), expected \(16, 64\)/)
  })

  it('crashing candidates are invalid with the reason', () => {
    expect(results.crashing.valid).toBe(false)
    expect(String(results.crashing.artifacts.feedback)).toMatch(/forward raised .*kernel launch failed/)
    expect(String(results.crashing.artifacts.traceback)).toMatch(/RuntimeError/)
    expect(results.no_import.valid).toBe(false)
    expect(String(results.no_import.artifacts.feedback)).toMatch(/does not import/)
    expect(results.missing_class.valid).toBe(false)
    expect(String(results.missing_class.artifacts.feedback)).toMatch(/no class ModelNew/)
  })
})
