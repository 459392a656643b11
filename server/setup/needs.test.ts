// Problems' prerequisites as pure functions: what a problem.json implies, what a machine lacks, the fix.
import { describe, expect, it } from 'vitest'
import { ProblemSpec, type ProblemSpecInput } from '../contracts/problem.ts'
import { folderSpec } from './check.ts'
import { aptProgress } from './install.ts'
import {
  completeRequires,
  fixCommand,
  installPlan,
  mergedFix,
  type MachineState,
  problemNeeds,
  readiness,
  refusal,
  scanPythonImports,
  unmet,
} from '../../client-safe/needs.ts'
import { BUILTIN_PROBLEMS_DIR } from '../problems/load.ts'
import { join } from 'node:path'

const spec = (over: Partial<ProblemSpecInput> = {}) =>
  ProblemSpec.parse({
    id: 'p',
    name: 'P',
    language: 'python',
    entry: 'initial.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 's',
    ...over,
  })

const machine = (over: Partial<MachineState> = {}): MachineState => ({
  python: { path: '/usr/bin/python3', version: '3.11.2' },
  modules: { numpy: '1.24.2', scipy: '1.10.1', sklearn: false, torch: false },
  commands: { 'g++': '/usr/bin/g++', gcc: '/usr/bin/gcc', valgrind: null, bwrap: '/usr/bin/bwrap' },
  os: { id: 'debian', pretty: 'Debian GNU/Linux 12 (bookworm)', apt: true },
  root: true,
  sudo: false,
  gpu: false,
  ...over,
})

describe('problemNeeds', () => {
  it('derives the interpreter, the compiler of `build`, a GPU and what `requires` declares', () => {
    expect(problemNeeds(spec())).toEqual([{ kind: 'python' }])
    expect(
      problemNeeds(
        spec({
          language: 'cpp',
          build: 'CXXFLAGS=-O3 clang++ -O2 {candidate} -o {output}',
          requires: { commands: ['valgrind'] },
        }),
      ),
    ).toEqual([{ kind: 'python' }, { kind: 'command', name: 'clang++' }, { kind: 'command', name: 'valgrind' }])
    expect(problemNeeds(spec({ language: 'c' }))).toContainEqual({ kind: 'command', name: 'gcc' })
    expect(
      problemNeeds(
        spec({ limits: { timeoutS: 10, memoryMb: 512, gpu: true }, requires: { python: ['torch', 'torch'] } }),
      ),
    ).toEqual([{ kind: 'python' }, { kind: 'gpu' }, { kind: 'python-module', name: 'torch' }])
    // a command evaluator's program, but not a shell or Node (always there)
    expect(problemNeeds(spec({ evaluator: 'julia eval.jl {candidate}' }))).toContainEqual({
      kind: 'command',
      name: 'julia',
    })
    expect(problemNeeds(spec({ evaluator: 'node eval.mjs {candidate}' }))).toEqual([{ kind: 'python' }])
    expect(problemNeeds(spec({ evaluator: 'pypy3 eval.py' }))).toContainEqual({ kind: 'command', name: 'pypy3' })
    expect(problemNeeds(spec({ evaluator: 'mytool --fast' }))).toContainEqual({ kind: 'command', name: 'mytool' })
    // an evaluator file whose name has a space is no program to look for ("my" would refuse every run)
    expect(problemNeeds(spec({ evaluator: 'my eval.py' }))).toEqual([{ kind: 'python' }])
    expect(problemNeeds(spec({ evaluator: 'score it.sh' }))).toEqual([{ kind: 'python' }])
  })

  it('reads the built-in problems from their problem.json files', () => {
    const cp = folderSpec(join(BUILTIN_PROBLEMS_DIR, 'circle-packing-26'))
    expect(problemNeeds(cp)).toEqual(
      expect.arrayContaining([
        { kind: 'python-module', name: 'numpy' },
        { kind: 'python-module', name: 'scipy' },
      ]),
    )
    const mm = folderSpec(join(BUILTIN_PROBLEMS_DIR, 'cpu-matmul'))
    expect(problemNeeds(mm)).toEqual(
      expect.arrayContaining([
        { kind: 'command', name: 'g++' },
        { kind: 'command', name: 'valgrind' },
      ]),
    )
    expect(problemNeeds(folderSpec(join(BUILTIN_PROBLEMS_DIR, 'gpu-softmax')))).toContainEqual({ kind: 'gpu' })
  })
})

describe('scanPythonImports', () => {
  it('finds known third-party modules imported at the top level only', () => {
    const src = [
      'import os, numpy as np',
      'from scipy.optimize import minimize',
      'import sklearn.svm',
      'import mylocal',
      'def f():',
      '    import torch',
      '# import pandas',
      '',
    ].join('\n')
    expect(scanPythonImports(src)).toEqual(['numpy', 'scipy', 'sklearn'])
  })

  it('completes `requires` from the entry and the evaluator, keeping what was declared', () => {
    const s = spec({ requires: { python: ['yaml'] } })
    const files = [
      { path: 'initial.py', data: 'import numpy\n' },
      { path: 'evaluator.py', data: Buffer.from('from PIL import Image\n') },
      { path: 'helper.py', data: 'import torch\n' },
    ]
    expect(completeRequires(s, files)).toEqual({ python: ['PIL', 'numpy', 'yaml'], commands: [] })
  })
})

describe('readiness and the fix', () => {
  it('is ready when everything is there', () => {
    expect(readiness(problemNeeds(spec({ requires: { python: ['numpy'] } })), machine())).toMatchObject({
      ok: true,
      missing: [],
      fix: null,
    })
  })

  it('names what is missing and one apt-get command for Debian’s interpreter (sudo when not root)', () => {
    const needs = problemNeeds(
      spec({ language: 'cpp', requires: { python: ['numpy', 'sklearn'], commands: ['valgrind'] } }),
    )
    const r = readiness(needs, machine())
    expect(r.ok).toBe(false)
    expect(r.missing).toEqual(['scikit-learn', 'valgrind'])
    expect(r.fix).toBe('apt-get install -y --no-install-recommends python3-sklearn valgrind')
    expect(refusal('mm', r)).toBe(
      'problem "mm" cannot run on this machine: it needs valgrind; scikit-learn (Python modules for /usr/bin/python3). Fix: apt-get install -y --no-install-recommends python3-sklearn valgrind',
    )
    expect(readiness(needs, machine({ root: false, sudo: false })).fix).toMatch(/^sudo apt-get install/)
  })

  it('uses pip for another interpreter and words where no package manager helps', () => {
    const m = machine({
      python: { path: '/opt/py/bin/python3', version: '3.12.1' },
      os: { id: 'fedora', pretty: 'Fedora', apt: false },
    })
    const missing = unmet(
      problemNeeds(
        spec({ language: 'cpp', requires: { python: ['sklearn', 'mystery'] }, build: 'nvcc {candidate} -o {output}' }),
      ),
      m,
    )
    const plan = installPlan(missing, m)
    expect(plan).toEqual({ apt: [], pip: ['mystery', 'scikit-learn'], manual: ['nvcc (the CUDA toolkit)'] })
    expect(fixCommand(plan, m)).toBe(
      '/opt/py/bin/python3 -m pip install mystery scikit-learn && install nvcc (the CUDA toolkit)',
    )
  })

  it('a missing interpreter is the python3 package for Debian’s path, words for another', () => {
    const gone = { python: { path: '/usr/bin/python3', version: null } }
    const r = readiness(problemNeeds(spec({ requires: { python: ['numpy'] } })), machine(gone))
    expect(r.missing).toEqual(['Python 3 at /usr/bin/python3', 'NumPy'])
    // without an interpreter no module imports: the plan supplies both
    expect(r.fix).toBe('apt-get install -y --no-install-recommends python3 python3-numpy')
    const other = machine({ python: { path: '/opt/py/bin/python3', version: null } })
    expect(installPlan(unmet([{ kind: 'python' }], other), other).manual).toEqual([
      'Python 3 at /opt/py/bin/python3 (or set FM_PYTHON to an interpreter that exists)',
    ])
  })

  it('a GPU problem needs a GPU worker where the machine has none; a GPU worker checks its modules', () => {
    const needs = problemNeeds(
      spec({ limits: { timeoutS: 10, memoryMb: 512, gpu: true }, requires: { python: ['torch'] } }),
    )
    const here = readiness(needs, machine())
    expect(here).toMatchObject({ ok: false, missing: ['a GPU worker'], gpu: true })
    expect(here.fix).toMatch(/fm-agent worker --gpu/)
    const worker = readiness(needs, machine({ gpu: true }), { gpuWorkers: true })
    expect(worker).toMatchObject({
      ok: false,
      missing: ['PyTorch'],
      fix: 'apt-get install -y --no-install-recommends python3-torch',
    })
  })

  it('merges the fixes of several problems into one command', () => {
    const m = machine({ modules: {}, commands: {} })
    const a = readiness(problemNeeds(spec({ requires: { python: ['numpy'] } })), m)
    const b = readiness(problemNeeds(spec({ language: 'cpp', requires: { python: ['numpy', 'scipy'] } })), m)
    const gpu = readiness(problemNeeds(spec({ limits: { timeoutS: 10, memoryMb: 512, gpu: true } })), m)
    expect(mergedFix([a, b, gpu, readiness([{ kind: 'python' }], m)])).toBe(
      'apt-get install -y --no-install-recommends g++ python3-numpy python3-scipy',
    )
  })
})

describe('aptProgress', () => {
  it('turns apt-get output into a few progress lines', () => {
    let t = 0
    const said: string[] = []
    const feed = aptProgress(
      (l) => said.push(l),
      () => t,
    )
    const lines = [
      'Reading package lists...',
      '0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.',
      'Need to get 9,871 kB of archives.',
      'Get:1 http://mirror bookworm/main amd64 libblas3 amd64 3.11.0-2 [149 kB]',
      'Get:2 http://mirror bookworm/main amd64 python3-numpy amd64 1:1.24.2-1 [5,000 kB]',
      'Get:3 http://mirror bookworm/main amd64 valgrind amd64 1:3.19.0-1 [4,000 kB]',
      'Setting up libblas3:amd64 (3.11.0-2) ...',
      'Setting up python3-numpy (1:1.24.2-1) ...',
      'Setting up valgrind (1:3.19.0-1) ...',
    ]
    for (const l of lines) {
      t += 400
      feed(l)
    }
    // at most a line a second, but always the totals and the last package
    expect(said).toEqual(['3 packages to install', 'downloading 9,871 kB', 'downloaded 3/3', 'set up 3/3 (valgrind)'])
  })
})
