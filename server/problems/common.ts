// What every problem loader (native, OpenEvolve, ShinkaEvolve, KernelBench) shares: the loaded
// problem's shape, the run settings a task's own config suggests, language detection, and the last
// step that checks the entry and evaluator and packs the bundle.
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { ProblemSpec } from '../contracts/problem.ts'
import type { Language } from '../contracts/evaluation.ts'
import type { ModelConfigInput } from '../../client-safe/model-config.ts'
import { type BundleFile, packBundle } from './bundle.ts'
import type { UnknownKey } from './spec-issues.ts'

/** Run settings a problem suggests (OpenEvolve's config.yaml); a run's own config wins. */
export interface RunDefaults {
  maxEvals?: number
  islands?: number
  populationSize?: number
  seed?: number
  migrationInterval?: number
  migrationRate?: number
  exploration?: number
  concurrency?: number
  /** OpenEvolve's diff_based_evolution as operator weights */
  llmOperators?: { diff?: number; rewrite?: number; crossover?: number }
  /** models a run uses when it names neither models nor the offline operators */
  models?: ModelConfigInput[]
}

export interface LoadedProblem {
  spec: ProblemSpec
  description: string
  seedCode: string
  /** the folder (or, for a KernelBench task file, the file) the problem was loaded from */
  folder: string
  files: BundleFile[]
  bundle: { hash: string; data: Buffer; size: number }
  runDefaults: RunDefaults
  /** what a peer format's own settings were mapped to here ("config.yaml: database.num_islands 3 → islands 3") */
  mapped: string[]
  warnings: string[]
  /** keys of problem.json the schema does not know (each also in `warnings`) */
  unknownKeys: UnknownKey[]
}

export class ProblemLoadError extends Error {}

export const EXT_LANG: Record<string, Language> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.ts': 'typescript',
  '.cpp': 'cpp',
  '.cc': 'cpp',
  '.cxx': 'cpp',
  '.c': 'c',
  '.cu': 'cuda',
  '.rs': 'rust',
  '.go': 'go',
  '.jl': 'julia',
  '.f': 'fortran',
  '.f90': 'fortran',
  '.f95': 'fortran',
  '.f03': 'fortran',
  '.f08': 'fortran',
}

export { slug } from './problem-slug.ts'

/**
 * An evaluator (or a cascade stage) given as a command rather than a file: one with a space or a
 * {candidate} placeholder, unless it names a file of the problem folder ("év al.py" is that file).
 */
export function isEvaluatorCommand(evaluator: string, isFile: (path: string) => boolean) {
  return !isFile(evaluator) && /\s|\{candidate\}/.test(evaluator)
}

export function finish(
  folder: string,
  spec: ProblemSpec,
  files: BundleFile[],
  extra: {
    runDefaults?: RunDefaults
    mapped?: string[]
    warnings?: string[]
    unknownKeys?: UnknownKey[]
    seedCode?: string
    description?: string
  } = {},
): LoadedProblem {
  const fromBundle = (path: string) => files.find((f) => f.path === path)?.data.toString('utf8')
  let seedCode =
    extra.seedCode ??
    fromBundle(spec.entry) ??
    (existsSync(join(folder, spec.entry)) ? readFileSync(join(folder, spec.entry), 'utf8') : undefined)
  // no seed program: fine when the problem says what the evaluator calls (the cold start writes one)
  if (seedCode === undefined && spec.signature) seedCode = ''
  if (seedCode === undefined)
    throw new ProblemLoadError(
      linkedOut(folder, spec.entry) ??
        `${spec.id}: the entry program ${spec.entry} does not exist (a problem without one says what the evaluator calls in "signature")`,
    )
  const isFile = (path: string) => files.some((f) => f.path === path)
  if (!isFile(spec.evaluator) && !isEvaluatorCommand(spec.evaluator, isFile)) {
    throw new ProblemLoadError(
      linkedOut(folder, spec.evaluator) ?? `${spec.id}: the evaluator ${spec.evaluator} does not exist`,
    )
  }
  let description = extra.description ?? spec.description ?? ''
  if (!description) description = fromBundle('README.md') ?? ''
  const warnings = [...(extra.warnings ?? [])]
  // decoding replaces what is not UTF-8: in a string literal that would change the program
  const seedFile = files.find((f) => f.path === spec.entry)
  if (seedFile && extra.seedCode === undefined && !isUtf8(seedFile.data))
    warnings.push(
      `${spec.entry} is not valid UTF-8: the bytes that are not became U+FFFD in the seed the search starts from; save it as UTF-8`,
    )
  warnings.push(...privacyWarnings(spec, files))
  const bytes = files.reduce((n, f) => n + f.data.length, 0)
  if (bytes > LARGE_FOLDER_BYTES) {
    const largest = [...files].sort((a, b) => b.data.length - a.data.length)[0]!
    warnings.push(
      `the folder holds ${mib(bytes)} MiB (largest: ${largest.path} ${mib(largest.data.length)} MiB): it is stored in the database and sent to every worker, and each load hashes and packs it (seconds at this size); generate large data in the evaluator where you can`,
    )
  }
  return {
    spec,
    description: description || spec.name,
    seedCode,
    folder,
    files,
    bundle: packBundle(files),
    runDefaults: extra.runDefaults ?? {},
    mapped: extra.mapped ?? [],
    warnings,
    unknownKeys: extra.unknownKeys ?? [],
  }
}

/** a folder past this is said to be large (the bound, MAX_BUNDLE_BYTES, is 200 MiB) */
const LARGE_FOLDER_BYTES = 50 * 2 ** 20
const mib = (n: number) => (n / 2 ** 20).toFixed(1)

/** what an evaluator calls to run the candidate in the child sandbox (fm_evalkit, fm_sandbox) */
const CHILD_SANDBOX_CALLS = /\b(call_candidate|run_untrusted|run_candidate|fork_candidate)\b/

/**
 * What `private` promises and the folder does not keep: an entry naming nothing (a typo leaves the
 * real file readable), and private files beside an evaluator that never runs the candidate in the
 * child sandbox (one that imports or executes it shares its process: the candidate reads the files
 * and can print its own result).
 */
export function privacyWarnings(spec: ProblemSpec, files: BundleFile[]): string[] {
  if (spec.format !== 'native') return [] // the other formats' own warnings say what they keep
  const warnings: string[] = []
  const declared = (spec.private ?? []).map((p) => p.replace(/^\.\//, '').replace(/\/+$/, ''))
  for (const p of declared)
    if (!files.some((f) => f.path === p || f.path.startsWith(`${p}/`)))
      warnings.push(`private: "${p}" names no file of the folder: nothing is kept from the candidate under that name`)
  const kept = files.some(
    (f) => f.path.startsWith('private/') || declared.some((p) => f.path === p || f.path.startsWith(`${p}/`)),
  )
  const evaluator = files.find((f) => f.path === spec.evaluator)
  if (kept && evaluator && !CHILD_SANDBOX_CALLS.test(evaluator.data.toString('utf8'))) {
    const python = spec.evaluator.endsWith('.py')
    warnings.push(
      `private files are kept from the candidate only while the evaluator runs it in the child sandbox, and ${spec.evaluator} never does: a candidate it imports or runs itself can read them and print its own result. ${python ? 'Run the candidate with fm_evalkit.call_candidate or run_untrusted (problems/README.md)' : 'Only Python evaluators have the helpers for it (fm_evalkit.call_candidate, run_untrusted): write the evaluator in Python, or leave held-out data out of the folder'}`,
    )
  }
  return warnings
}

/** Why a file the problem names is not in its bundle when it is a link out of the folder (bundle.ts). */
function linkedOut(folder: string, path: string): string | null {
  const abs = join(folder, path)
  try {
    if (!lstatSync(abs).isSymbolicLink()) return null
  } catch {
    return null
  }
  return `${path} is a symbolic link out of the problem folder (to ${readlinkSync(abs)}): evaluations only see the folder's own files, so copy it in`
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
function isUtf8(data: Uint8Array): boolean {
  try {
    utf8.decode(data)
    return true
  } catch {
    return false
  }
}
