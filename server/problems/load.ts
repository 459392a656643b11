// Reads a problem: a folder in the native format (problem.json), an OpenEvolve task folder
// (initial_program.* + evaluator.py, optional config.yaml), a ShinkaEvolve task folder
// (initial.<ext> + evaluate.py), or a KernelBench task file (Model, get_inputs, get_init_inputs).
// The peers' formats run unchanged: their folders travel as they are, plus a problem.json written here.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ProblemSpec } from '../contracts/problem.ts'
import { BundleError, readFolder } from './bundle.ts'
import { finish, type LoadedProblem, ProblemLoadError } from './common.ts'
import { isKernelBenchFile, KERNELBENCH_TOLERANCE, kernelBenchMissing, loadKernelBench } from './kernelbench.ts'
import { loadOpenEvolve } from './openevolve.ts'
import { withSharedFiles } from './shared.ts'
import { loadShinka } from './shinka.ts'
import { describeIssues, describeUnknownKey, relevantIssues, unknownKeys } from './spec-issues.ts'

export { isEvaluatorCommand, ProblemLoadError, type LoadedProblem, type RunDefaults } from './common.ts'

export const BUILTIN_PROBLEMS_DIR = fileURLToPath(new URL('../../problems', import.meta.url))

export type ProblemFormat = ProblemSpec['format']

export const FORMAT_NAMES: Record<ProblemFormat, string> = {
  native: 'FM Agent (problem.json)',
  openevolve: 'OpenEvolve (initial_program.* + evaluator.py)',
  shinka: 'ShinkaEvolve (initial.<ext> + evaluate.py)',
  kernelbench: 'KernelBench task file (Model, get_inputs, get_init_inputs)',
}

/** Which format a path holds, and the file that marks it; null when it is none of them. */
export function detectFormat(path: string): { format: ProblemFormat; entry?: string } | null {
  if (!existsSync(path)) return null
  if (statSync(path).isFile()) return isKernelBenchFile(path) ? { format: 'kernelbench' } : null
  if (existsSync(join(path, 'problem.json'))) return { format: 'native' }
  const names = readdirSync(path)
  const oe = names.find((f) => /^initial_program\.[a-z0-9]+$/.test(f))
  if (oe && names.includes('evaluator.py')) return { format: 'openevolve', entry: oe }
  const sh = names.find((f) => /^initial\.[a-z0-9]+$/.test(f))
  if (sh && names.includes('evaluate.py')) return { format: 'shinka', entry: sh }
  return null
}

/** Loads a problem folder (any format) or a KernelBench task file. */
export function loadProblem(pathIn: string): LoadedProblem {
  try {
    return loadAny(pathIn)
  } catch (e) {
    // a folder too large to bundle is the user's input to fix, like any other problem with the folder
    if (e instanceof BundleError) throw new ProblemLoadError(e.message)
    throw e
  }
}

function loadAny(pathIn: string): LoadedProblem {
  const path = resolve(pathIn)
  if (!existsSync(path)) throw new ProblemLoadError(`${pathIn}: no such file or folder`)
  const found = detectFormat(path)
  if (statSync(path).isFile()) {
    if (found) return loadKernelBench(path)
    const why = path.endsWith('.py')
      ? `it defines no ${kernelBenchMissing(readFileSync(path, 'utf8').slice(0, 512 * 1024)).join(', no ')}`
      : 'not a .py file'
    throw new ProblemLoadError(
      `${pathIn} is not a KernelBench task file (${why}); a problem is a folder or a file defining Model, get_inputs and get_init_inputs`,
    )
  }
  if (found?.format === 'native') return loadNative(path)
  if (found?.format === 'openevolve') return loadOpenEvolve(path, found.entry!)
  if (found?.format === 'shinka') return loadShinka(path, found.entry!)
  throw new ProblemLoadError(
    `${pathIn} is not a problem folder: expected problem.json, initial_program.* with evaluator.py (OpenEvolve), ` +
      'or initial.<ext> with evaluate.py (ShinkaEvolve); or give a KernelBench task file',
  )
}

/** @deprecated the same as loadProblem (which also takes KernelBench task files) */
export const loadProblemFolder = loadProblem

function loadNative(folder: string): LoadedProblem {
  let raw: unknown
  const text = readFileSync(join(folder, 'problem.json'), 'utf8')
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ProblemLoadError(
      `${folder}/problem.json is not valid JSON: ${withLineColumn((e as Error).message, text)}`,
    )
  }
  const parsed = ProblemSpec.safeParse(raw)
  // unknown keys are warnings, not errors: a problem.json written for a later version still loads,
  // and a typo ("limit" for "limits") is named instead of silently leaving the default in force
  const unknown = unknownKeys(ProblemSpec, raw)
  const file = `${folder}/problem.json`
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, ProblemSpec, raw)
    // the keys it ignores may be why a value is missing ("limit" for "limits"): named with the errors
    const lines = [...issues, ...unknown.map(describeUnknownKey)]
    const count = relevantIssues(parsed.error).length
    throw new ProblemLoadError(
      lines.length === 1
        ? `${file}: ${lines[0]}`
        : `${file}: ${count} issue${count > 1 ? 's' : ''}:\n  ${lines.join('\n  ')}`,
    )
  }
  const links: string[] = []
  return finish(folder, parsed.data, withSharedFiles(parsed.data, readFolder(folder, {}, links)), {
    warnings: [...unknown.map((k) => `problem.json: ${describeUnknownKey(k)}`), ...links],
    unknownKeys: unknown,
  })
}

/** One sentence on what a problem's score is, in the terms of its own format. */
export function describeScore(spec: ProblemSpec): string {
  const dir = spec.direction === 'max' ? 'higher is better' : 'lower is better'
  switch (spec.format) {
    case 'openevolve':
      return `combined_score as evaluator.py returns it (else the mean of its numeric metrics), ${dir}, as OpenEvolve ranks programs${spec.cascade?.length ? `; cascade of ${spec.cascade.length === 1 ? 'one stage (evaluate_stage1 alone)' : `${spec.cascade.length} stages: a later stage runs only when combined_score reaches its threshold`}` : ''}`
    case 'shinka':
      return `combined_score from the metrics.json that evaluate.py writes (run_shinka_eval's aggregate), ${dir}; a program counts only when correct.json says correct, as in ShinkaEvolve`
    case 'kernelbench':
      return `speedup = PyTorch eager time of Model / time of ModelNew on a GPU, counted only when ModelNew matches Model within atol=rtol=${KERNELBENCH_TOLERANCE.atol} on ${KERNELBENCH_TOLERANCE.trials} random inputs (KernelBench's rule); 1.0 = as fast as eager, and the seed (ModelNew = Model) scores about 1.0`
    default:
      return `${spec.primaryMetric} as the evaluator reports it, ${dir}${spec.cascade?.length ? `; cascade of ${spec.cascade.length} stage${spec.cascade.length > 1 ? 's' : ''}: the next stage runs only when ${spec.primaryMetric} reaches the stage's threshold, and a program stopped before the last is invalid (only the last stage's score is ranked)` : ''}`
  }
}

export function listBuiltinProblemFolders(dir = BUILTIN_PROBLEMS_DIR): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((d) => !d.startsWith('_') && !d.startsWith('.') && existsSync(join(dir, d, 'problem.json')))
    .sort()
    .map((d) => join(dir, d))
}

/** The built-in problems' ids, read from their problem.json files alone (no bundle, no database). */
export function builtinProblemIds(dir = BUILTIN_PROBLEMS_DIR): string[] {
  return listBuiltinProblemFolders(dir).flatMap((folder) => {
    try {
      const id = (JSON.parse(readFileSync(join(folder, 'problem.json'), 'utf8')) as { id?: unknown }).id
      return typeof id === 'string' ? [id] : []
    } catch {
      return []
    }
  })
}

/** JSON.parse says "at position 24": an editor goes by line and column. */
export function withLineColumn(message: string, text: string): string {
  const m = /at position (\d+)/.exec(message)
  if (!m) return message
  const before = text.slice(0, Number(m[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return message.replace(/ \(line \d+ column \d+\)$/, '').replace(m[0], `${m[0]} (line ${line}, column ${column})`)
}
