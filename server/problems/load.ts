// Reads a problem folder: the native format (problem.json) or an OpenEvolve task
// (initial_program.*, evaluator.py, optional config.yaml), which runs unchanged.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { ProblemSpec, type ProblemSpecInput } from '../contracts/problem.ts'
import type { Language } from '../contracts/evaluation.ts'
import { type BundleFile, packBundle, readFolder } from './bundle.ts'

export const BUILTIN_PROBLEMS_DIR = fileURLToPath(new URL('../../problems', import.meta.url))

/** Run settings a problem folder suggests (OpenEvolve's config.yaml); a run's own config wins. */
export interface RunDefaults {
  maxEvals?: number
  islands?: number
  populationSize?: number
  seed?: number
  migrationInterval?: number
  migrationRate?: number
  models?: Array<{ provider: string; model: string; weight: number; baseURL?: string; temperature?: number }>
}

export interface LoadedProblem {
  spec: ProblemSpec
  description: string
  seedCode: string
  folder: string
  files: BundleFile[]
  bundle: { hash: string; data: Buffer; size: number }
  runDefaults: RunDefaults
  warnings: string[]
}

export class ProblemLoadError extends Error {}

const EXT_LANG: Record<string, Language> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.ts': 'typescript',
  '.cpp': 'cpp',
  '.cc': 'cpp',
  '.c': 'c',
  '.cu': 'cuda',
}

/** An evaluator given as a command (has spaces or a placeholder) rather than a file. */
export function isEvaluatorCommand(evaluator: string) {
  return /\s|\{candidate\}/.test(evaluator)
}

export function loadProblemFolder(folderIn: string): LoadedProblem {
  const folder = resolve(folderIn)
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new ProblemLoadError(`${folderIn}: no such folder`)
  if (existsSync(join(folder, 'problem.json'))) return loadNative(folder)
  const initial = readdirSync(folder).find((f) => /^initial_program\.[a-z]+$/.test(f))
  if (initial && existsSync(join(folder, 'evaluator.py'))) return loadOpenEvolve(folder, initial)
  throw new ProblemLoadError(
    `${folderIn} is not a problem folder: expected problem.json, or initial_program.* with evaluator.py (OpenEvolve format)`,
  )
}

function finish(folder: string, spec: ProblemSpec, files: BundleFile[], runDefaults: RunDefaults, warnings: string[]): LoadedProblem {
  const entry = join(folder, spec.entry)
  if (!existsSync(entry)) throw new ProblemLoadError(`${spec.id}: the entry program ${spec.entry} does not exist`)
  if (!isEvaluatorCommand(spec.evaluator) && !existsSync(join(folder, spec.evaluator))) {
    throw new ProblemLoadError(`${spec.id}: the evaluator ${spec.evaluator} does not exist`)
  }
  let description = spec.description ?? ''
  if (!description && existsSync(join(folder, 'README.md'))) description = readFileSync(join(folder, 'README.md'), 'utf8')
  return {
    spec,
    description: description || spec.name,
    seedCode: readFileSync(entry, 'utf8'),
    folder,
    files,
    bundle: packBundle(files),
    runDefaults,
    warnings,
  }
}

function loadNative(folder: string): LoadedProblem {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(join(folder, 'problem.json'), 'utf8'))
  } catch (e) {
    throw new ProblemLoadError(`${folder}/problem.json is not valid JSON: ${(e as Error).message}`)
  }
  const parsed = ProblemSpec.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ProblemLoadError(`${folder}/problem.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  return finish(folder, parsed.data, readFolder(folder), {}, [])
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64) || 'problem'

/** Fields of OpenEvolve's config.yaml that have an equivalent here; the rest get a warning. */
function mapOpenEvolveConfig(cfg: Record<string, any>, spec: ProblemSpecInput, warnings: string[]): RunDefaults {
  const d: RunDefaults = {}
  const used = new Set<string>()
  const take = (path: string) => {
    used.add(path)
    return path.split('.').reduce<any>((o, k) => (o == null ? undefined : o[k]), cfg)
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  d.maxEvals = num(take('max_iterations'))
  d.seed = num(take('random_seed'))
  d.islands = num(take('database.num_islands'))
  d.populationSize = num(take('database.population_size'))
  d.migrationInterval = num(take('database.migration_interval'))
  d.migrationRate = num(take('database.migration_rate'))
  const timeout = num(take('evaluator.timeout'))
  if (timeout) spec.limits = { ...(spec.limits ?? {}), timeoutS: timeout } as ProblemSpecInput['limits']
  const sys = take('prompt.system_message')
  if (typeof sys === 'string' && sys.trim()) spec.description = sys.trim()
  const cascadeOn = take('evaluator.cascade_evaluation')
  const thresholds = take('evaluator.cascade_thresholds')
  if (cascadeOn && Array.isArray(thresholds)) spec.cascade = thresholds.map((t: number, i: number) => ({ function: `evaluate_stage${i + 1}`, threshold: t }))
  const models = take('llm.models')
  const apiBase = take('llm.api_base')
  if (Array.isArray(models)) {
    d.models = models
      .filter((m: any) => typeof m?.name === 'string')
      .map((m: any) => ({
        provider: 'openai',
        model: String(m.name),
        weight: num(m.weight) ?? 1,
        ...(typeof (m.api_base ?? apiBase) === 'string' ? { baseURL: m.api_base ?? apiBase } : {}),
        ...(num(m.temperature ?? cfg.llm?.temperature) !== undefined ? { temperature: m.temperature ?? cfg.llm.temperature } : {}),
      }))
  }
  take('llm.api_base')
  take('llm.temperature')
  take('evaluator.parallel_evaluations')
  const walk = (o: any, prefix: string) => {
    for (const [k, v] of Object.entries(o ?? {})) {
      const p = prefix ? `${prefix}.${k}` : k
      if (used.has(p)) continue
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, p)
      else warnings.push(`config.yaml: "${p}" has no equivalent here and is ignored`)
    }
  }
  walk(cfg, '')
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as RunDefaults
}

function loadOpenEvolve(folder: string, initial: string): LoadedProblem {
  const warnings: string[] = []
  const language = EXT_LANG[extname(initial)]
  if (!language) throw new ProblemLoadError(`${folder}: ${initial} is in a language this system does not run`)
  const spec: ProblemSpecInput = {
    id: slug(basename(folder)),
    name: basename(folder),
    format: 'openevolve',
    language,
    entry: initial,
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'combined_score',
    features: [],
  }
  let runDefaults: RunDefaults = {}
  const cfgPath = ['config.yaml', 'config.yml'].map((f) => join(folder, f)).find(existsSync)
  if (cfgPath) {
    try {
      const cfg = YAML.parse(readFileSync(cfgPath, 'utf8')) ?? {}
      runDefaults = mapOpenEvolveConfig(cfg, spec, warnings)
    } catch (e) {
      throw new ProblemLoadError(`${cfgPath}: not valid YAML: ${(e as Error).message}`)
    }
  }
  if (existsSync(join(folder, 'README.md')) && !spec.description) spec.description = readFileSync(join(folder, 'README.md'), 'utf8')
  const parsed = ProblemSpec.parse(spec)
  warnings.push('OpenEvolve evaluators import the candidate: they cannot keep held-out data from it')
  const files = readFolder(folder, { 'problem.json': JSON.stringify(parsed, null, 2) })
  return finish(folder, parsed, files, runDefaults, warnings)
}

export function listBuiltinProblemFolders(dir = BUILTIN_PROBLEMS_DIR): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((d) => !d.startsWith('_') && !d.startsWith('.') && existsSync(join(dir, d, 'problem.json')))
    .sort()
    .map((d) => join(dir, d))
}
