// OpenEvolve task folders (initial_program.*, evaluator.py, optional config.yaml) run unchanged: the
// worker adapts the evaluator (workers/python/fm_openevolve.py, with an `openevolve` package in the
// sandbox), and config.yaml is mapped where its settings mean something here. Every key is either
// mapped (listed in `mapped`) or named as ignored, with the reason when there is one.
import { existsSync, readFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import YAML from 'yaml'
import { ProblemSpec, type ProblemSpecInput } from '../contracts/problem.ts'
import { ModelConfig, type ModelConfigInput } from '../../client-safe/model-config.ts'
import { readFolder } from './bundle.ts'
import { EXT_LANG, finish, type LoadedProblem, ProblemLoadError, type RunDefaults, slug } from './common.ts'

/** OpenEvolve's defaults where they differ from FM Agent's and matter for running a task unchanged. */
export const OPENEVOLVE_DEFAULTS = { timeoutS: 300, cascadeThresholds: [0.5, 0.75, 0.9] }

/** Keys OpenEvolve has that do nothing here, with why. */
const IGNORED_WITH_REASON: Record<string, string> = {
  checkpoint_interval: 'every step is stored in the database as it happens',
  log_level: 'FM Agent has its own logging (FM_LOG)',
  log_dir: 'FM Agent has its own logging (FM_LOG)',
  language: 'the language comes from the extension of initial_program.*',
  file_suffix: 'the language comes from the extension of initial_program.*',
  max_code_length: 'programs are bounded at 256 KiB',
  diff_pattern: 'answers are parsed in the SEARCH/REPLACE format and its common variants',
  early_stopping_patience: 'runs stop at their budget; a stagnant island retrieves knowledge and explores more instead',
  convergence_threshold: 'runs stop at their budget',
  early_stopping_metric: 'runs stop at their budget',
  enforce_evolve_blocks: 'edits outside EVOLVE-BLOCK regions are always refused',
  'prompt.num_top_programs': 'the engine picks elite and diverse inspirations itself',
  'prompt.num_diverse_programs': 'the engine picks elite and diverse inspirations itself',
  'prompt.template_dir': "OpenEvolve's prompt templates are its own; FM Agent builds its prompts itself",
  'prompt.use_template_stochasticity': "OpenEvolve's prompt templates are its own",
  'prompt.evaluator_system_message': 'LLM feedback on programs is not used here',
  'llm.evaluator_models': 'LLM feedback on programs is not used here',
  'llm.top_p': 'not a model setting here',
  'llm.retries': 'model calls are retried by the engine',
  'llm.retry_delay': 'model calls are retried by the engine',
  'evaluator.max_retries': 'only infrastructure failures are retried here; a failing evaluation is a result',
  'evaluator.use_llm_feedback': 'LLM feedback on programs is not used here',
  'evaluator.llm_feedback_weight': 'LLM feedback on programs is not used here',
  'evaluator.distributed': 'workers are FM Agent’s own (fm-agent worker)',
  'database.db_path': 'programs are stored in FM Agent’s database',
  'database.in_memory': 'programs are stored in FM Agent’s database',
  'database.log_prompts': 'every prompt and answer is stored with its candidate',
  'database.archive_size': 'each island keeps its own elite archive',
  'database.elite_selection_ratio': 'selection pressure adapts to each island’s diversity',
  'database.exploitation_ratio':
    'selection pressure adapts to each island’s diversity (database.exploration_ratio is used)',
  'database.diversity_metric': 'diversity is measured here on code and behaviour',
}

type Cfg = Record<string, unknown>
const isObj = (v: unknown): v is Cfg => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const int = (v: unknown, lo: number, hi: number) => {
  const n = num(v)
  return n !== undefined && Number.isInteger(n) && n >= lo && n <= hi ? n : undefined
}

export interface ConfigMapping {
  defaults: RunDefaults
  mapped: string[]
  warnings: string[]
}

/**
 * Maps OpenEvolve's config.yaml. Changes `spec` (limits, cascade, features, prompt settings,
 * evaluator arguments) and returns run defaults; `hasStages` says whether evaluator.py defines
 * evaluate_stage1 (OpenEvolve's cascade is on by default and needs it).
 */
export function mapOpenEvolveConfig(
  cfg: Cfg,
  spec: ProblemSpecInput,
  opts: { stageFunctions: number; hasReadme: boolean },
): ConfigMapping {
  const d: RunDefaults = {}
  const mapped: string[] = []
  const warnings: string[] = []
  const used = new Set<string>()
  const get = (path: string): unknown => {
    used.add(path)
    return path.split('.').reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), cfg)
  }
  const peek = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), cfg)
  const bad = (path: string, why: string) => warnings.push(`config.yaml: "${path}" ${why}; ignored`)
  const note = (path: string, value: unknown, to: string) =>
    mapped.push(
      `${path}: ${typeof value === 'string' ? JSON.stringify(value.length > 60 ? value.slice(0, 57) + '…' : value) : JSON.stringify(value)} → ${to}`,
    )

  const setInt = (path: string, lo: number, hi: number, apply: (n: number) => void, to: (n: number) => string) => {
    const v = get(path)
    if (v === undefined) return
    const n = int(v, lo, hi)
    if (n === undefined) return bad(path, `must be a whole number from ${lo} to ${hi}`)
    apply(n)
    note(path, v, to(n))
  }
  setInt(
    'max_iterations',
    1,
    10_000_000,
    (n) => (d.maxEvals = n),
    (n) => `budget.maxEvals ${n}`,
  )
  // OpenEvolve's database.random_seed defaults to random_seed
  setInt(
    peek('random_seed') !== undefined ? 'random_seed' : 'database.random_seed',
    0,
    2 ** 31 - 1,
    (n) => (d.seed = n),
    (n) => `seed ${n}`,
  )
  if (peek('random_seed') !== undefined && peek('database.random_seed') !== undefined) {
    used.add('database.random_seed')
    if (peek('random_seed') !== peek('database.random_seed'))
      warnings.push('config.yaml: "database.random_seed" is ignored: one seed (random_seed) drives a run here')
  }
  setInt(
    'database.num_islands',
    1,
    64,
    (n) => (d.islands = n),
    (n) => `islands ${n}`,
  )
  setInt(
    'database.population_size',
    2,
    1_000_000,
    (n) => (d.populationSize = n),
    (n) => `populationPerIsland = ${n} / islands${d.islands ? ` = ${Math.max(2, Math.floor(n / d.islands))}` : ''}`,
  )
  setInt(
    'database.migration_interval',
    1,
    1_000_000,
    (n) => (d.migrationInterval = n),
    (n) => `migrationInterval ${n}`,
  )
  const rate = get('database.migration_rate')
  if (rate !== undefined) {
    const r = num(rate)
    if (r === undefined || r < 0 || r > 1) bad('database.migration_rate', 'must be a number from 0 to 1')
    else (d.migrationRate = r), note('database.migration_rate', rate, `migrationRate ${r}`)
  }
  const explore = get('database.exploration_ratio')
  if (explore !== undefined) {
    const r = num(explore)
    if (r === undefined || r < 0 || r > 1) bad('database.exploration_ratio', 'must be a number from 0 to 1')
    else (d.exploration = r), note('database.exploration_ratio', explore, `exploration ${r}`)
  }
  setInt(
    'evaluator.parallel_evaluations',
    1,
    1024,
    (n) => (d.concurrency = n),
    (n) => `concurrency ${n} (evaluations in flight)`,
  )

  // MAP-Elites: OpenEvolve's own dimensions (complexity, diversity, score) are computed by OpenEvolve;
  // custom dimensions are metrics the evaluator returns, which is what features are here
  const dims = get('database.feature_dimensions')
  const bins = get('database.feature_bins')
  if (dims !== undefined) {
    if (!Array.isArray(dims) || !dims.every((x) => typeof x === 'string'))
      bad('database.feature_dimensions', 'must be a list of names')
    else {
      const builtin = dims.filter((x) => ['complexity', 'diversity', 'score'].includes(x))
      if (builtin.length)
        warnings.push(
          `config.yaml: database.feature_dimensions ${builtin.join(', ')} are computed by OpenEvolve itself; FM Agent's grid uses evaluator metrics only, so ${builtin.length > 1 ? 'they are' : 'it is'} ignored`,
        )
      const custom = dims.filter((x) => !builtin.includes(x)).slice(0, 4)
      if (custom.length) {
        const binsOf = (name: string) => int(isObj(bins) ? bins[name] : bins, 1, 100)
        spec.features = custom.map((name) => (binsOf(name) ? { name, bins: binsOf(name) } : name))
        note(
          'database.feature_dimensions',
          custom,
          `features ${custom.join(', ')} (MAP-Elites grid${bins !== undefined ? ', with database.feature_bins' : ''})`,
        )
      }
    }
  }

  const timeout = get('evaluator.timeout')
  let timeoutS = OPENEVOLVE_DEFAULTS.timeoutS
  if (timeout !== undefined) {
    const t = num(timeout)
    if (t === undefined || t <= 0) bad('evaluator.timeout', 'must be a positive number of seconds')
    else timeoutS = t
  }
  const memory = get('evaluator.memory_limit_mb')
  if (memory !== undefined && memory !== null) {
    const m = int(memory, 64, 1024 * 1024)
    if (m === undefined) bad('evaluator.memory_limit_mb', 'must be a whole number of MB from 64')
    else
      (spec.limits = { ...(spec.limits ?? {}), memoryMb: m } as ProblemSpecInput['limits']),
        note('evaluator.memory_limit_mb', memory, `limits.memoryMb ${m} (enforced here)`)
  }

  // cascade: on by default in OpenEvolve, where evaluator.py has evaluate_stage1
  const cascadeOn = get('evaluator.cascade_evaluation')
  const thresholds = get('evaluator.cascade_thresholds')
  let stages = 1
  if (cascadeOn !== false && opts.stageFunctions > 0) {
    const t =
      Array.isArray(thresholds) && thresholds.every((x) => num(x) !== undefined)
        ? (thresholds as number[])
        : OPENEVOLVE_DEFAULTS.cascadeThresholds
    if (thresholds !== undefined && t !== thresholds)
      bad('evaluator.cascade_thresholds', 'must be a list of numbers (OpenEvolve’s defaults are used)')
    stages = opts.stageFunctions
    spec.cascade = Array.from({ length: stages }, (_, i) => ({ function: `evaluate_stage${i + 1}`, threshold: t[i] }))
    const gates = t.slice(0, stages - 1)
    note(
      'evaluator.cascade_thresholds',
      t,
      `cascade of evaluate_stage1${stages > 1 ? `..${stages}` : ''}${gates.length ? `, the next stage when combined_score ≥ ${gates.join(', then ≥ ')}` : ''}${thresholds === undefined ? ' (OpenEvolve’s default thresholds)' : ''}`,
    )
    if (cascadeOn !== undefined) note('evaluator.cascade_evaluation', cascadeOn, 'cascade on')
  } else if (cascadeOn === true) {
    warnings.push(
      'config.yaml: evaluator.cascade_evaluation is on but evaluator.py defines no evaluate_stage1: evaluate() runs alone (as in OpenEvolve)',
    )
  } else if (cascadeOn === false) note('evaluator.cascade_evaluation', false, 'evaluate() alone')
  // without a cascade the thresholds mean nothing, which is said rather than passed over
  if (spec.cascade === undefined && thresholds !== undefined)
    warnings.push(
      `config.yaml: evaluator.cascade_thresholds is ignored: ${cascadeOn === false ? 'the cascade is off' : 'evaluator.py defines no evaluate_stage1'}`,
    )
  // OpenEvolve's timeout bounds each stage; here one limit bounds the whole cascade
  spec.limits = { ...(spec.limits ?? {}), timeoutS: timeoutS * stages } as ProblemSpecInput['limits']
  if (timeout !== undefined && num(timeout))
    note(
      'evaluator.timeout',
      timeout,
      `limits.timeoutS ${timeoutS * stages}${stages > 1 ? ` (${timeoutS} s per stage × ${stages})` : ''}`,
    )

  const evaluatorArgs = get('evaluator.evaluator_args')
  if (evaluatorArgs !== undefined && evaluatorArgs !== null) {
    if (!isObj(evaluatorArgs)) bad('evaluator.evaluator_args', 'must be a mapping of keyword arguments')
    else
      (spec.evaluatorArgs = evaluatorArgs),
        note('evaluator.evaluator_args', Object.keys(evaluatorArgs), 'keyword arguments of evaluate()')
  }

  // prompts
  const prompt: NonNullable<ProblemSpecInput['prompt']> = {}
  const sysPath = peek('prompt.system_message') !== undefined ? 'prompt.system_message' : 'llm.system_message'
  const sys = get(sysPath)
  get('llm.system_message')
  // OpenEvolve's default value names its built-in template rather than being a message
  if (typeof sys === 'string' && sys.trim() && sys.trim() !== 'system_message') {
    prompt.systemMessage = sys.trim().slice(0, 20_000)
    if (!opts.hasReadme) spec.description = prompt.systemMessage
    note(
      sysPath,
      sys.trim(),
      `the system message of every prompt${opts.hasReadme ? '' : ' (and the problem description: the folder has no README.md)'}`,
    )
  }
  for (const path of ['prompt.include_artifacts', 'evaluator.enable_artifacts']) {
    const v = get(path)
    if (v === undefined) continue
    if (typeof v !== 'boolean') bad(path, 'must be true or false')
    else if (prompt.includeArtifacts !== false)
      (prompt.includeArtifacts = v), note(path, v, v ? 'artifacts in prompts' : 'no artifacts in prompts')
  }
  const maxBytes = get('prompt.max_artifact_bytes')
  if (maxBytes !== undefined) {
    const n = int(maxBytes, 100, 200_000)
    if (n === undefined) bad('prompt.max_artifact_bytes', 'must be a whole number from 100 to 200000')
    else
      (prompt.maxArtifactChars = n),
        note('prompt.max_artifact_bytes', maxBytes, `at most ${n} characters of each artifact in a prompt`)
  }
  if (Object.keys(prompt).length) spec.prompt = prompt

  const diffBased = get('diff_based_evolution')
  if (diffBased !== undefined) {
    if (typeof diffBased !== 'boolean') bad('diff_based_evolution', 'must be true or false')
    else {
      // crossover of two parents is FM Agent's own operator (OpenEvolve has none): it keeps a small share
      d.llmOperators = diffBased ? { diff: 0.8, rewrite: 0, crossover: 0.2 } : { diff: 0, rewrite: 0.8, crossover: 0.2 }
      note(
        'diff_based_evolution',
        diffBased,
        diffBased
          ? 'SEARCH/REPLACE edits (llmOperators diff 0.8, crossover 0.2)'
          : 'full rewrites (llmOperators rewrite 0.8, crossover 0.2)',
      )
    }
  }

  const models = mapModels(cfg, get, warnings)
  if (models.length) {
    d.models = models
    const keyOf = (m: ModelConfigInput) => (m.apiKeyEnv ? `, key from $${m.apiKeyEnv}` : '')
    note(
      'llm.models',
      models.map((m) => `${m.model}×${m.weight ?? 1}`),
      `models ${models.map((m) => `openai:${m.model}${m.baseURL ? ` at ${m.baseURL}` : ''} (weight ${m.weight ?? 1}${keyOf(m)})`).join(', ')}, used when a run names neither --model nor --operators`,
    )
  }

  const walk = (o: Cfg, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k
      if (used.has(p)) continue
      if (IGNORED_WITH_REASON[p]) warnings.push(`config.yaml: "${p}" is ignored: ${IGNORED_WITH_REASON[p]}`)
      else if (isObj(v)) walk(v, p)
      else warnings.push(`config.yaml: "${p}" has no equivalent here and is ignored`)
    }
  }
  walk(cfg, '')
  return {
    defaults: Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as RunDefaults,
    mapped,
    warnings,
  }
}

/** llm.models (or primary_model / secondary_model), with the shared llm.* settings, as model configs. */
function mapModels(_cfg: Cfg, get: (p: string) => unknown, warnings: string[]): ModelConfigInput[] {
  const shared = {
    api_base: get('llm.api_base'),
    api_key: get('llm.api_key'),
    temperature: get('llm.temperature'),
    max_tokens: get('llm.max_tokens'),
    timeout: get('llm.timeout'),
  }
  const list: Array<Record<string, unknown>> = []
  const models = get('llm.models')
  if (Array.isArray(models)) list.push(...models.filter(isObj))
  else if (models !== undefined) warnings.push('config.yaml: "llm.models" must be a list; ignored')
  for (const which of ['primary', 'secondary'] as const) {
    const name = get(`llm.${which}_model`)
    const weight = get(`llm.${which}_model_weight`)
    if (typeof name === 'string' && name) list.push({ name, weight: num(weight) ?? (which === 'primary' ? 1 : 0.2) })
  }
  const out: ModelConfigInput[] = []
  for (const m of list) {
    const v = (k: keyof typeof shared) => (m[k] ?? shared[k]) as unknown
    if (typeof m.name !== 'string' || !m.name) {
      warnings.push('config.yaml: an llm.models entry without a name is ignored')
      continue
    }
    const key = v('api_key')
    let apiKeyEnv: string | undefined
    if (typeof key === 'string' && key) {
      const ref = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(key.trim())
      if (ref) apiKeyEnv = ref[1]
      else
        warnings.push(
          `config.yaml: the api_key of ${m.name} is a literal key: FM Agent never stores keys, so it reads OPENAI_API_KEY instead (write api_key: \${YOUR_VARIABLE} to name another variable)`,
        )
    }
    const candidate = {
      provider: 'openai' as const,
      model: m.name,
      weight: num(m.weight) ?? 1,
      ...(typeof v('api_base') === 'string' && v('api_base') ? { baseURL: String(v('api_base')) } : {}),
      ...(apiKeyEnv ? { apiKeyEnv } : {}),
      ...(num(v('temperature')) !== undefined ? { temperature: num(v('temperature')) } : {}),
      ...(num(v('max_tokens')) !== undefined ? { maxTokens: num(v('max_tokens')) } : {}),
      ...(num(v('timeout')) !== undefined ? { timeoutS: num(v('timeout')) } : {}),
    }
    const parsed = ModelConfig.safeParse(candidate)
    if (!parsed.success) {
      const i = parsed.error.issues[0]
      warnings.push(`config.yaml: model ${m.name} is ignored: ${i.path.join('.')}: ${i.message}`)
      continue
    }
    out.push(candidate)
  }
  return out
}

export function loadOpenEvolve(folder: string, initial: string): LoadedProblem {
  const language = EXT_LANG[extname(initial)]
  if (!language) throw new ProblemLoadError(`${folder}: ${initial} is in a language this system does not run`)
  const evaluatorSource = readFileSync(join(folder, 'evaluator.py'), 'utf8')
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
    limits: { timeoutS: OPENEVOLVE_DEFAULTS.timeoutS, memoryMb: 2048, gpu: false },
  }
  const hasReadme = existsSync(join(folder, 'README.md'))
  let mapping: ConfigMapping = { defaults: {}, mapped: [], warnings: [] }
  const cfgPath = ['config.yaml', 'config.yml'].map((f) => join(folder, f)).find(existsSync)
  // evaluate_stage1, then 2 and 3 as far as they are defined (OpenEvolve stops at the first missing one)
  let stageFunctions = 0
  while (
    stageFunctions < 3 &&
    new RegExp(`^def\\s+evaluate_stage${stageFunctions + 1}\\s*\\(`, 'm').test(evaluatorSource)
  )
    stageFunctions++
  let cfg: unknown = {}
  if (cfgPath) {
    try {
      cfg = YAML.parse(readFileSync(cfgPath, 'utf8')) ?? {}
    } catch (e) {
      throw new ProblemLoadError(`${cfgPath}: not valid YAML: ${(e as Error).message}`)
    }
    if (!isObj(cfg)) throw new ProblemLoadError(`${cfgPath}: expected a mapping of settings`)
  }
  mapping = mapOpenEvolveConfig(cfg as Cfg, spec, { stageFunctions, hasReadme })
  if (hasReadme) spec.description = readFileSync(join(folder, 'README.md'), 'utf8').slice(0, 100_000)
  const parsed = ProblemSpec.safeParse(spec)
  if (!parsed.success) {
    const i = parsed.error.issues[0]
    throw new ProblemLoadError(`${folder}: ${i.path.join('.')}: ${i.message}`)
  }
  mapping.warnings.push('OpenEvolve evaluators import the candidate: they cannot keep held-out data from it')
  // said before the seed's traceback does: a name imported or assigned counts, as Python would find it
  if (
    !stageFunctions &&
    !/^(?:async\s+)?def\s+evaluate\s*\(|^evaluate\s*=|^(?:from\s+\S+\s+)?import\b.*\bevaluate\b/m.test(evaluatorSource)
  )
    mapping.warnings.push(
      'evaluator.py defines no evaluate(program_path) (nor evaluate_stage1): OpenEvolve calls it, and so does every evaluation here',
    )
  const files = readFolder(folder, { 'problem.json': JSON.stringify(parsed.data, null, 2) }, mapping.warnings)
  return finish(folder, parsed.data, files, {
    runDefaults: mapping.defaults,
    mapped: mapping.mapped,
    warnings: mapping.warnings,
  })
}
