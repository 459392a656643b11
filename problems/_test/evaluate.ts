// Test helpers for the built-in problems: run a problem's evaluator the way a worker does (the
// problem's bundle, its own files and the shared ones it names, written out as cwd; the candidate
// path as the last argument; the last JSON line of stdout as the result), so the tests also prove
// that each bundle is self-contained.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

import type { EvalResult } from '../../server/contracts/evaluation.ts'
import { ProblemSpec } from '../../server/contracts/problem.ts'
import { loadProblemFolder, type LoadedProblem } from '../../server/problems/load.ts'
import { writeBundle } from '../../server/problems/bundle.ts'
import { createRunner, type Runner } from '../../workers/runner.ts'
import { detectIsolation } from '../../workers/sandbox.ts'
import { bundleStore, makeJob, removeTempDirs, tempDir as workersTempDir } from '../../workers/test-helpers.ts'

export const PROBLEMS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = path.dirname(PROBLEMS_DIR)
export const PYTHON = '/usr/bin/python3'

// The workers engineer's helpers; until they exist, problems/_test holds a stand-in fm_sandbox.
const REAL_HELPERS = path.join(REPO_DIR, 'workers', 'python')
const STANDIN_HELPERS = path.join(PROBLEMS_DIR, '_test')
export const realSandboxHelper = existsSync(path.join(REAL_HELPERS, 'fm_sandbox.py'))
export const realKernelHarness = existsSync(path.join(REAL_HELPERS, 'fm_kernelbench.py'))
/** the real helper isolates only inside a worker-like environment that sets FM_CHILD_SANDBOX (tests then
 * add their copy of the problem folder to the masked paths, see childSandboxEnv); evaluateInWorker
 * gives every test the real thing */
export const realIsolation = realSandboxHelper && !!process.env.FM_CHILD_SANDBOX

let worker: Promise<{ runner: Runner; store: ReturnType<typeof bundleStore> }> | null = null
/** Evaluate `code` as a run does: the problem's bundle through a real worker (sandbox, child sandbox). */
export async function evaluateInWorker(id: string, code: string): Promise<EvalResult> {
  worker ??= (async () => {
    const store = bundleStore()
    const runner = createRunner({
      cacheDir: tempDir('fm-problems-worker-'),
      workerId: 'problems-test',
      slots: 1,
      isolation: detectIsolation(),
      fetchBundle: store.fetch,
    })
    await runner.start()
    return { runner, store }
  })()
  const { runner, store } = await worker
  const problem = loaded(id)
  store.add(problem)
  return runner.run(makeJob(problem, code))
}
/** Stops the worker evaluateInWorker started (call it in afterAll). */
export async function closeWorker(): Promise<void> {
  const w = worker
  worker = null
  if (w) await (await w).runner.close()
}

/** Python lines that read `rel` (a path inside the problem folder) wherever a candidate might find the
 * problem's copy or its source, and print LEAKED with what they read; `fallback` runs when nothing was. */
export function privateProbe(id: string, rel: string, onLeak: string, fallback: string): string {
  return [
    'import os, sys',
    `paths = [os.path.join(os.environ.get('FM_PROBLEM_DIR', '/nonexistent'), ${JSON.stringify(rel)}), ${JSON.stringify(path.join(PROBLEMS_DIR, id, rel))},`,
    `         ${JSON.stringify(rel)}, os.path.join('..', ${JSON.stringify(rel)})]`,
    'here = os.getcwd()',
    'for _ in range(8):',
    `    paths.append(os.path.join(here, 'problem', ${JSON.stringify(rel)}))`,
    '    here = os.path.dirname(here)',
    'leaked = None',
    'for p in paths:',
    '    try:',
    '        leaked = (p, open(p).read())',
    '        break',
    '    except OSError:',
    '        pass',
    'if leaked:',
    "    print('LEAKED', leaked[0], file=sys.stderr)",
    ...onLeak.split('\n').map((l) => `    ${l}`),
    'else:',
    ...fallback.split('\n').map((l) => `    ${l}`),
  ].join('\n')
}

/** PYTHONPATH for an evaluator: the real helpers where they exist, else the stand-in; `standin`
 * forces the stand-in (it can log what an evaluator hands to the candidate) */
export function helperPath(helpers: 'auto' | 'standin' = 'auto'): string {
  if (helpers === 'standin') return [STANDIN_HELPERS, ...(realKernelHarness ? [REAL_HELPERS] : [])].join(path.delimiter)
  const parts = [realSandboxHelper ? REAL_HELPERS : STANDIN_HELPERS]
  if (!realSandboxHelper && realKernelHarness) parts.push(REAL_HELPERS)
  return parts.join(path.delimiter)
}

/** FM_CHILD_SANDBOX for a run in `folder`: the environment's value, with the copied problem folder
 * added to the paths the child sandbox masks (as a worker does for its evaluation folder) */
export function childSandboxEnv(folder: string): string {
  const raw = process.env.FM_CHILD_SANDBOX ?? ''
  try {
    const cfg = JSON.parse(raw) as Record<string, unknown>
    if (cfg && typeof cfg === 'object' && !Array.isArray(cfg)) {
      const hide = Array.isArray(cfg.hide) ? (cfg.hide as string[]) : []
      return JSON.stringify({ ...cfg, hide: [...hide, folder] })
    }
  } catch {
    // not JSON: pass it through unchanged
  }
  return raw
}

export interface EvalOutcome {
  valid: boolean
  metrics: Record<string, number | null>
  features: Record<string, number | null>
  artifacts: Record<string, unknown>
  feedback: string
  exitCode: number | null
  stdout: string
  stderr: string
  ms: number
  /** the copy of the problem folder the evaluator ran in */
  folder: string
}

export function problemIds(): string[] {
  return readdirSync(PROBLEMS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(PROBLEMS_DIR, d.name, 'problem.json')))
    .map((d) => d.name)
    .sort()
}

export function loadSpec(id: string): ProblemSpec {
  return ProblemSpec.parse(JSON.parse(readFileSync(path.join(PROBLEMS_DIR, id, 'problem.json'), 'utf8')))
}

const loadedById = new Map<string, LoadedProblem>()
/** The problem as a run loads it (cached per test file). */
export function loaded(id: string): LoadedProblem {
  let p = loadedById.get(id)
  if (!p) loadedById.set(id, (p = loadProblemFolder(path.join(PROBLEMS_DIR, id))))
  return p
}

const bundleDirs = new Map<string, string>()
/** The problem's bundle written to a folder of its own (read-only use: evaluate() copies it). */
export function bundleDir(id: string): string {
  let dir = bundleDirs.get(id)
  if (!dir) {
    dir = path.join(tempDir('fm-problem-bundle-'), id)
    writeBundle(loaded(id), dir)
    bundleDirs.set(id, dir)
  }
  return dir
}

/** The path of the problem's seed program (its entry, which may come from the shared library). */
export const seedFile = (id: string) => path.join(bundleDir(id), loaded(id).spec.entry)

/** A temporary folder, removed after the test file that made it (with what evaluators left in it). */
export const tempDir = (prefix = 'fm-problems-test-') => workersTempDir(prefix)
// registered once per test file importing these helpers (each file has its own module graph)
afterAll(removeTempDirs)

/** Write a candidate program to a fresh temporary file and return its path. */
export function writeCandidate(code: string, name = 'candidate.py'): string {
  const file = path.join(tempDir('fm-candidate-'), name)
  writeFileSync(file, code)
  return file
}

/** The last stdout line that parses as a JSON object, as the worker reads it. */
export function lastJsonLine(stdout: string): Record<string, unknown> | null {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v: unknown = JSON.parse(lines[i]!)
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
    } catch {
      // not JSON: earlier output of the evaluator
    }
  }
  return null
}

/** Compile a C/C++ candidate with the problem's build command, as the worker does first. */
export function buildCandidate(spec: ProblemSpec, source: string): string {
  const output = path.join(tempDir('fm-build-'), 'candidate')
  const command = (spec.build ?? 'g++ -O2 -std=c++17 {candidate} -o {output}')
    .split(/\s+/)
    .map((p) => p.replaceAll('{candidate}', source).replaceAll('{output}', output))
  const r = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`)
  return output
}

export interface EvaluateOptions {
  env?: Record<string, string>
  /** arguments placed before the candidate path (the candidate stays last) */
  args?: string[]
  timeoutMs?: number
  /** edit the copied folder before the evaluator runs (e.g. shrink a reference) */
  prepare?: (folder: string) => void
  /** compile a C/C++ source first (default: true for c/cpp problems) */
  build?: boolean
  /** which fm_sandbox the evaluator imports (default: the real one where it exists) */
  helpers?: 'auto' | 'standin'
}

export async function evaluate(id: string, candidate: string, opts: EvaluateOptions = {}): Promise<EvalOutcome> {
  const spec = loadSpec(id)
  const folder = path.join(tempDir(), id)
  cpSync(bundleDir(id), folder, { recursive: true })
  opts.prepare?.(folder)
  let target = candidate
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PYTHONPATH: helperPath(opts.helpers),
    PYTHONDONTWRITEBYTECODE: '1',
    // what the evaluator and its fm_sandbox fallback make in the temporary folder goes with the test's
    TMPDIR: tempDir('fm-eval-tmp-'),
    ...(process.env.FM_CHILD_SANDBOX ? { FM_CHILD_SANDBOX: childSandboxEnv(folder) } : {}),
    ...opts.env,
  }
  if ((spec.language === 'cpp' || spec.language === 'c') && opts.build !== false) {
    target = buildCandidate(spec, candidate)
    env.FM_CANDIDATE_SOURCE = candidate
  }
  const evaluator = spec.evaluator
  let command: string
  let args: string[]
  if (evaluator.endsWith('.py')) {
    command = PYTHON
    args = [path.join(folder, evaluator), ...(opts.args ?? []), target]
  } else {
    const parts = evaluator.split(/\s+/).map((p) => p.replaceAll('{candidate}', target))
    command = parts[0]!
    args = [...parts.slice(1), ...(evaluator.includes('{candidate}') ? [] : [target])]
  }
  const started = Date.now()
  return await new Promise<EvalOutcome>((resolve, reject) => {
    const child = spawn(command, args, { cwd: folder, env: env as NodeJS.ProcessEnv })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const res = lastJsonLine(stdout)
      if (!res) {
        reject(new Error(`no JSON result from ${id}'s evaluator (exit ${code})\nstdout: ${stdout}\nstderr: ${stderr}`))
        return
      }
      const artifacts = (res.artifacts ?? {}) as Record<string, unknown>
      resolve({
        valid: res.valid === true,
        metrics: (res.metrics ?? {}) as Record<string, number | null>,
        features: (res.features ?? {}) as Record<string, number | null>,
        artifacts,
        feedback: String(artifacts.feedback ?? ''),
        exitCode: code,
        stdout,
        stderr,
        ms: Date.now() - started,
        folder,
      })
    })
  })
}

/** Python source that returns a fixed JSON-able value from a named function. */
export function constantCandidate(fn: string, value: unknown): string {
  return `import json\n\n_VALUE = json.loads(${JSON.stringify(JSON.stringify(value))})\n\n\ndef ${fn}(*args, **kwargs):\n    return _VALUE\n`
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T
}

/** names of the features a problem declares */
export function featureNames(spec: ProblemSpec): string[] {
  return spec.features.map((f) => (typeof f === 'string' ? f : f.name))
}

/** the primary metric is present, finite, and every declared feature was computed */
export function expectScored(spec: ProblemSpec, out: EvalOutcome): void {
  const score = out.metrics[spec.primaryMetric]
  if (!out.valid) throw new Error(`${spec.id}: invalid: ${out.feedback}`)
  if (typeof score !== 'number' || !Number.isFinite(score)) throw new Error(`${spec.id}: no ${spec.primaryMetric}`)
  for (const name of featureNames(spec)) {
    const v = out.features[name]
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${spec.id}: feature ${name} missing`)
  }
}
