// KernelBench task files (one .py defining `Model`, `get_inputs()` and `get_init_inputs()`) become GPU
// problems: the file is the reference, the seed is the same module with `Model` renamed `ModelNew`,
// and a two-line evaluator hands both to the worker's kernel harness (fm_kernelbench_task.py on top
// of fm_kernelbench.evaluate_kernel): correctness at KernelBench's tolerance, then speedup over eager
// PyTorch (and torch.compile where it works), on a GPU worker; on a machine without one it validates
// the task on the CPU at the file's sizes or reduced ones.
import { readFileSync, statSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { ProblemSpec, type ProblemSpecInput } from '../contracts/problem.ts'
import type { BundleFile } from './bundle.ts'
import { finish, type LoadedProblem, ProblemLoadError, slug } from './common.ts'

/** KernelBench's correctness rule (its eval: torch.allclose with atol = rtol = 1e-2, 5 random input sets). */
export const KERNELBENCH_TOLERANCE = { atol: 1e-2, rtol: 1e-2, trials: 5 }
const MAX_TASK_BYTES = 512 * 1024

const DEFINES = {
  Model: /^class\s+Model\s*[(:]/m,
  get_inputs: /^def\s+get_inputs\s*\(/m,
  get_init_inputs: /^def\s+get_init_inputs\s*\(/m,
}

/** What a KernelBench task file lacks (empty when it is one). */
export function kernelBenchMissing(source: string): string[] {
  return Object.entries(DEFINES)
    .filter(([, re]) => !re.test(source))
    .map(([name]) => name)
}

export function isKernelBenchFile(path: string): boolean {
  if (extname(path) !== '.py') return false
  try {
    if (statSync(path).size > MAX_TASK_BYTES) return false
    return kernelBenchMissing(readFileSync(path, 'utf8')).length === 0
  } catch {
    return false
  }
}

/** The seed: the task's own module with `Model` renamed `ModelNew` (so `super(Model, self)` follows). */
export function kernelBenchSeed(source: string): string {
  return source.replace(/\bModel\b/g, 'ModelNew')
}

const evaluator = (timeLimitS: number) => `"""Written by FM Agent for a KernelBench task file (reference.py, unchanged).
The checks and timing are the worker's: workers/python/fm_kernelbench_task.py."""
import os
import sys

from fm_kernelbench_task import main

main(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference.py'), sys.argv[-1], time_limit_s=${timeLimitS})
`

export function loadKernelBench(file: string): LoadedProblem {
  const st = statSync(file)
  if (st.size > MAX_TASK_BYTES)
    throw new ProblemLoadError(`${file}: larger than ${MAX_TASK_BYTES >> 10} KiB: not a KernelBench task file`)
  const source = readFileSync(file, 'utf8')
  const missing = kernelBenchMissing(source)
  if (missing.length)
    throw new ProblemLoadError(
      `${file} is not a KernelBench task file: it defines no ${missing.join(', no ')} (at the top level)`,
    )
  const name = basename(file, '.py')
  const { atol, rtol, trials } = KERNELBENCH_TOLERANCE
  const description = [
    `KernelBench task ${basename(file)}. Write \`ModelNew\`, a drop-in replacement for the reference \`Model\` below: the same constructor arguments, the same forward signature, and outputs equal to Model's within atol=${atol}, rtol=${rtol} (torch.allclose) on ${trials} random input sets from get_inputs(), but faster on the GPU.`,
    'Custom CUDA kernels (torch.utils.cpp_extension.load_inline), Triton kernels, or a better use of PyTorch operators are all allowed. ModelNew is built from the same random seed as Model, so parameters created in the same order get the same values.',
    'Score: speedup = PyTorch eager time of Model / time of ModelNew on the same GPU and inputs (1.0 = as fast as eager). An incorrect ModelNew scores nothing.',
    '',
    'The reference (reference.py):',
    '```python',
    source.trimEnd(),
    '```',
  ].join('\n')
  const spec: ProblemSpecInput = {
    id: slug(name),
    name: `${name} (KernelBench)`,
    format: 'kernelbench',
    language: 'python',
    entry: 'initial.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'speedup',
    features: [{ name: 'custom_kernel', min: 0, max: 1, bins: 2 }],
    limits: { timeoutS: 600, memoryMb: 65536, cpuS: 600, gpu: true },
    reference: {
      value: 1,
      source:
        'PyTorch eager execution of the task file’s Model on the same GPU in the same evaluation: speedup 1.0 by definition (KernelBench convention)',
    },
    description,
    tags: ['gpu', 'kernel', 'kernelbench'],
  }
  const parsed = ProblemSpec.safeParse(spec)
  if (!parsed.success) throw new ProblemLoadError(`${file}: ${parsed.error.issues[0].message}`)
  const seedCode = kernelBenchSeed(source)
  const files: BundleFile[] = [
    { path: 'evaluator.py', mode: 0o644, data: Buffer.from(evaluator(parsed.data.limits.timeoutS)) },
    { path: 'initial.py', mode: 0o644, data: Buffer.from(seedCode) },
    { path: 'problem.json', mode: 0o644, data: Buffer.from(JSON.stringify(parsed.data, null, 2)) },
    { path: 'reference.py', mode: 0o644, data: Buffer.from(source) },
  ]
  return finish(file, parsed.data, files, {
    seedCode,
    mapped: [
      `${basename(file)} → reference.py (Model, get_inputs, get_init_inputs), unchanged`,
      'seed: the same module with Model renamed ModelNew (speedup ≈ 1.0)',
      `correctness: torch.allclose(atol=${atol}, rtol=${rtol}) on ${trials} random input sets (KernelBench’s rule); speedup over eager PyTorch, and over torch.compile where it works`,
    ],
    warnings: [
      'KernelBench tasks need a GPU worker to run (fm-agent worker --gpu in server mode); without one, problem check validates the task on the CPU',
    ],
  })
}
