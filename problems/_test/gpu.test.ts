// GPU problems (KernelBench style). Everything that needs no GPU is checked here: each seed's ModelNew
// matches reference.Model on the CPU at reduced sizes, and without the worker's harness the evaluator
// answers with a clean invalid result. The harness-driven runs need workers/python/fm_kernelbench.py
// (CPU path, at reduced sizes) or a CUDA device (full sizes); their names say so when skipped.
import { spawnSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { PROBLEMS_DIR, PYTHON, evaluate, expectScored, loadSpec, realKernelHarness } from './evaluate.ts'

const probe = spawnSync(PYTHON, ['-c', 'import json, torch; print(json.dumps({"cuda": torch.cuda.is_available()}))'], {
  encoding: 'utf8',
})
const torchAvailable = probe.status === 0
const cudaAvailable = torchAvailable && (JSON.parse(probe.stdout.trim()) as { cuda: boolean }).cuda

// reduced sizes: the reference modules read these constants when building models and inputs
const SMALL: Record<string, Record<string, number>> = {
  'gpu-mlp': { BATCH: 64, IN_FEATURES: 128, HIDDEN: 512, OUT_FEATURES: 96 },
  'gpu-softmax': { ROWS: 64, COLS: 1000 },
  'gpu-conv': { BATCH: 2, IN_CHANNELS: 8, OUT_CHANNELS: 16, HEIGHT: 20, WIDTH: 24 },
}

function shrink(folder: string, id: string): void {
  const lines = Object.entries(SMALL[id]!).map(([k, v]) => `${k} = ${v}`)
  appendFileSync(path.join(folder, 'reference.py'), `\n# test sizes\n${lines.join('\n')}\n`)
}

describe.each(Object.keys(SMALL))('%s', (id) => {
  const dir = path.join(PROBLEMS_DIR, id)
  const spec = loadSpec(id)

  it('is a GPU problem scored by speedup over PyTorch eager', () => {
    expect(spec.limits.gpu).toBe(true)
    expect(spec.primaryMetric).toBe('speedup')
    expect(spec.reference?.value).toBe(1)
  })

  it.skipIf(!torchAvailable)(
    'seed ModelNew matches reference Model on the CPU at reduced sizes (needs torch)',
    () => {
      const r = spawnSync(
        PYTHON,
        [
          path.join(PROBLEMS_DIR, '_test', 'check_kernel_cpu.py'),
          dir,
          path.join(dir, spec.entry),
          JSON.stringify(SMALL[id]),
        ],
        { encoding: 'utf8' },
      )
      expect(r.status, r.stderr).toBe(0)
      const res = JSON.parse(r.stdout.trim()) as { ok: boolean; max_abs_err: number }
      expect(res.ok).toBe(true)
    },
    60_000,
  )

  it.skipIf(realKernelHarness)('without the kernel harness the evaluator gives a clean invalid result', async () => {
    const out = await evaluate(id, path.join(dir, spec.entry))
    expect(out.exitCode).toBe(0)
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/fm_kernelbench/)
  })

  it.runIf(realKernelHarness && torchAvailable)(
    'seed evaluates valid through the harness on the CPU at reduced sizes (runs once workers/python/fm_kernelbench.py exists)',
    async () => {
      const out = await evaluate(id, path.join(dir, spec.entry), {
        args: ['--device', 'cpu'],
        prepare: (f) => shrink(f, id),
      })
      expectScored(spec, out)
    },
    120_000,
  )

  it.runIf(realKernelHarness && cudaAvailable)(
    'seed evaluates valid through the harness on CUDA at full size (skipped: needs a CUDA GPU and the harness)',
    async () => {
      const out = await evaluate(id, path.join(dir, spec.entry))
      expectScored(spec, out)
    },
    300_000,
  )
})
