// The "new run" form: what the user fills in, turned into a run config (validated by the same
// schema the server applies), with messages that point at the field to fix. Pure.
import type { z } from 'zod'
import { fmt } from './format.ts'
import { LLM_OPERATORS, LOCAL_OPERATOR_NAMES, RunConfig, type RunConfigInput, unpricedModels } from './run-config.ts'
import { modelId, type PROVIDERS } from './model-config.ts'

export interface ModelRow {
  provider: (typeof PROVIDERS)[number]
  model: string
  baseURL: string
  apiKeyEnv: string
  weight: string
  pricePer1kIn: string
  pricePer1kOut: string
}

export interface RunForm {
  problemId: string
  name: string
  islands: string
  populationPerIsland: string
  maxEvals: string
  maxSpendUsd: string
  maxWallMin: string
  concurrency: string
  seed: string
  exploration: string
  stagnationWindow: string
  mutator: 'local' | 'llm'
  localOperators: Record<(typeof LOCAL_OPERATOR_NAMES)[number], string>
  llmOperators: Record<(typeof LLM_OPERATORS)[number], string>
  models: ModelRow[]
  /** programs an expert uploaded: the cold start evaluates them beside the problem's seed */
  seedPrograms: Array<{ name: string; code: string }>
}

export function defaultRunForm(problemId = ''): RunForm {
  return {
    problemId,
    name: '',
    islands: '4',
    populationPerIsland: '40',
    maxEvals: '300',
    maxSpendUsd: '',
    maxWallMin: '',
    concurrency: '16',
    seed: '0',
    exploration: '0.3',
    stagnationWindow: '40',
    mutator: 'local',
    localOperators: { perturb: '1', 'crossover-literals': '1', 'crossover-blocks': '1', swap: '1' },
    llmOperators: { diff: '0.6', rewrite: '0.2', crossover: '0.2' },
    models: [],
    seedPrograms: [],
  }
}

export function emptyModelRow(): ModelRow {
  return {
    provider: 'openai',
    model: '',
    baseURL: '',
    apiKeyEnv: 'OPENAI_API_KEY',
    weight: '1',
    pricePer1kIn: '',
    pricePer1kOut: '',
  }
}

export type FormErrors = Partial<Record<string, string>>

/**
 * A number as a person writes one: digits with an optional point, sign and exponent. `Number()`
 * also reads "0x10" as 16 and "" as 0; a thousands separator ("1,000") is no number here.
 */
/** a number as people write it: sign, digits, a decimal point, an exponent (no hex, no separators) */
export const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

export function decimalNumber(v: string): number | null {
  const s = v.trim()
  if (!DECIMAL_RE.test(s)) return null
  const n = Number(s)
  return Number.isFinite(n) ? n : null
}

function num(
  v: string,
  field: string,
  errors: FormErrors,
  opts: { int?: boolean; optional?: boolean } = {},
): number | undefined {
  const s = v.trim()
  if (s === '') {
    if (!opts.optional) errors[field] = 'required'
    return undefined
  }
  const n = decimalNumber(s)
  if (n === null) {
    errors[field] = /^\d{1,3}(,\d{3})+(\.\d*)?$/.test(s) ? 'a number, without thousands separators' : 'a number'
    return Number.NaN
  }
  if (opts.int && !Number.isInteger(n)) errors[field] = 'a whole number'
  return n
}

/** The error keys the form can show beside an input, for this form's mutator and model rows. */
export function formFields(f: RunForm): Set<string> {
  const keys = Object.entries(f).flatMap(([k, v]) => (typeof v === 'string' ? [k] : []))
  keys.push('seedPrograms')
  if (f.mutator === 'local') keys.push(...LOCAL_OPERATOR_NAMES.map((o) => `localOperators.${o}`))
  else {
    keys.push('models', ...LLM_OPERATORS.map((o) => `llmOperators.${o}`))
    f.models.forEach((m, i) => {
      keys.push(...['provider', ...Object.keys(m)].map((k) => `models.${i}.${k}`))
    })
  }
  return new Set(keys)
}

/**
 * The form's key for a path of the run config: the budget is shown flat (its time in minutes), the
 * model request limit is the "concurrency" input, seed programs are one list. Null for the root.
 */
export function fieldOfPath(path: readonly PropertyKey[]): string | null {
  if (!path.length) return null
  const p = path.map(String).join('.')
  if (p === 'budget.maxWallS') return 'maxWallMin'
  if (p.startsWith('budget.')) return p.slice('budget.'.length)
  if (p === 'generation.maxInFlight') return 'concurrency'
  if (p.startsWith('seedPrograms')) return 'seedPrograms'
  return p
}

/** What a bound counts, per form key (the model rows' keys without their index); scale: schema unit → form unit. */
const UNITS: Record<string, { unit: string; scale?: number; note?: string }> = {
  islands: { unit: 'islands' },
  populationPerIsland: { unit: 'programs per island' },
  concurrency: { unit: 'requests in flight' },
  maxEvals: { unit: 'evaluations' },
  stagnationWindow: { unit: 'evaluations' },
  maxSpendUsd: { unit: 'USD', note: 'empty: no cap' },
  maxWallMin: { unit: 'minutes', scale: 1 / 60, note: 'empty: no cap' },
  'models.pricePer1kIn': { unit: 'USD per 1,000 tokens' },
  'models.pricePer1kOut': { unit: 'USD per 1,000 tokens' },
}

type Schema = { def: { type: string } & Record<string, unknown> } & Record<string, unknown>

/** The schema at a path of the run config (defaults, optionals, arrays and records looked through). */
function schemaAt(path: readonly PropertyKey[]): Schema | null {
  let s = RunConfig as unknown as Schema
  const inner = () => {
    while (s && ['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(s.def.type))
      s = s.def.innerType as Schema
  }
  for (const seg of path) {
    inner()
    if (!s) return null
    if (s.def.type === 'object') s = (s.shape as Record<string, Schema>)[String(seg)]!
    else if (s.def.type === 'array') s = s.def.element as Schema
    else if (s.def.type === 'record') s = s.def.valueType as Schema
    else return null
  }
  inner()
  return s ?? null
}

/** The number bounds the schema sets at a path (undefined where it sets none). */
export function boundsAt(path: readonly PropertyKey[]): { min?: number; max?: number } {
  const s = schemaAt(path)
  if (s?.def.type !== 'number') return {}
  const finite = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  return { min: finite(s.minValue), max: finite(s.maxValue) }
}

const num2text = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en') : fmt(v, 3))

/**
 * A schema issue in words for the field it is shown beside: a number out of bounds says the range
 * the schema allows ("1 to 1,024 requests in flight"), in the form's units.
 */
export function issueMessage(issue: z.core.$ZodIssue, key: string | null): string {
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number') {
    const u = UNITS[key?.replace(/^models\.\d+\./, 'models.') ?? ''] ?? { unit: '' }
    const b = boundsAt(issue.path)
    const scale = u.scale ?? 1
    const min = b.min ?? (issue.code === 'too_small' ? Number(issue.minimum) : undefined)
    const max = b.max ?? (issue.code === 'too_big' ? Number(issue.maximum) : undefined)
    const exclusive = issue.code === 'too_small' && !issue.inclusive
    const lo = min === undefined ? undefined : num2text(min * scale)
    const hi = max === undefined ? undefined : num2text(max * scale)
    const range =
      lo !== undefined && hi !== undefined && !exclusive
        ? `${lo} to ${hi}`
        : [lo !== undefined && `${exclusive ? 'above' : 'at least'} ${lo}`, hi !== undefined && `at most ${hi}`]
            .filter(Boolean)
            .join(' and ')
    const text = `${range} ${u.unit}`.trim()
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}${u.note ? ` (${u.note})` : ''}`
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'string')
    return issue.code === 'too_small' ? 'required' : `At most ${num2text(Number(issue.maximum))} characters`
  if (issue.code === 'too_big' && issue.origin === 'array') return `At most ${num2text(Number(issue.maximum))}`
  if (issue.code === 'invalid_format' && issue.format === 'url') return 'a full URL, e.g. http://127.0.0.1:8000/v1'
  return issue.message
}

/**
 * The line beside the submit button: what no field shows (a setting the form has no input for),
 * else a pointer to the marked fields. Null without errors.
 */
export function errorSummary(errors: FormErrors): string | null {
  const marked = Object.keys(errors).some((k) => k !== 'form')
  if (errors.form) return marked ? `${errors.form}. Fix the fields marked above too.` : errors.form
  return marked ? 'Fix the fields marked above.' : null
}

/** The config the form describes, or the errors per field (keys are the form's field paths). */
export function formToConfig(
  f: RunForm,
): { ok: true; problemId: string; name?: string; config: RunConfigInput } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {}
  if (!f.problemId) errors.problemId = 'choose a problem'
  const maxWallMin = num(f.maxWallMin, 'maxWallMin', errors, { optional: true })
  const config: RunConfigInput = {
    islands: num(f.islands, 'islands', errors, { int: true }),
    populationPerIsland: num(f.populationPerIsland, 'populationPerIsland', errors, { int: true }),
    generation: { maxInFlight: num(f.concurrency, 'concurrency', errors, { int: true }) },
    seed: num(f.seed, 'seed', errors, { int: true }),
    exploration: num(f.exploration, 'exploration', errors),
    stagnationWindow: num(f.stagnationWindow, 'stagnationWindow', errors, { int: true }),
    mutator: f.mutator,
    budget: {
      maxEvals: num(f.maxEvals, 'maxEvals', errors, { int: true }),
      maxSpendUsd: num(f.maxSpendUsd, 'maxSpendUsd', errors, { optional: true }),
      maxWallS: maxWallMin === undefined ? undefined : Math.round(maxWallMin * 60),
    },
  }
  if (f.mutator === 'local') {
    config.localOperators = Object.fromEntries(
      LOCAL_OPERATOR_NAMES.map((o) => [o, num(f.localOperators[o], `localOperators.${o}`, errors)]),
    )
  } else {
    config.llmOperators = Object.fromEntries(
      LLM_OPERATORS.map((o) => [o, num(f.llmOperators[o], `llmOperators.${o}`, errors)]),
    )
    config.models = f.models.map((m, i) => {
      if (!m.model.trim()) errors[`models.${i}.model`] = 'required'
      return {
        provider: m.provider,
        model: m.model.trim(),
        ...(m.baseURL.trim() ? { baseURL: m.baseURL.trim() } : {}),
        ...(m.apiKeyEnv.trim() ? { apiKeyEnv: m.apiKeyEnv.trim() } : {}),
        weight: num(m.weight, `models.${i}.weight`, errors),
        ...(m.pricePer1kIn.trim() ? { pricePer1kIn: num(m.pricePer1kIn, `models.${i}.pricePer1kIn`, errors) } : {}),
        ...(m.pricePer1kOut.trim() ? { pricePer1kOut: num(m.pricePer1kOut, `models.${i}.pricePer1kOut`, errors) } : {}),
      }
    })
  }
  if (f.seedPrograms.length)
    config.seedPrograms = f.seedPrograms.map((p) => ({ code: p.code, label: p.name.slice(0, 200) }))
  if (f.name.trim().length > RUN_NAME_MAX) errors.name = `at most ${RUN_NAME_MAX} characters`
  // the schema's checks too, in the same round: a field that is not a number keeps that message,
  // and the others' ranges are said at once
  const parsed = RunConfig.safeParse(config)
  if (!parsed.success) {
    const fields = formFields(f)
    const unplaced: string[] = []
    for (const issue of parsed.error.issues) {
      const key = fieldOfPath(issue.path)
      const message = issueMessage(issue, key)
      // an issue of a group of inputs (every operator weight 0) goes beside the group's first
      const field =
        key !== null && fields.has(key)
          ? key
          : key !== null
            ? [...fields].find((f) => f.startsWith(`${key}.`))
            : undefined
      if (field) errors[field] ??= message
      else unplaced.push(issue.path.length ? `${issue.path.join('.')}: ${message}` : message)
    }
    if (unplaced.length) errors.form = unplaced.join('; ')
    return { ok: false, errors }
  }
  if (Object.keys(errors).length) return { ok: false, errors }
  // the server refuses it too; said here, beside the fields that fix it
  parsed.data.models.forEach((m, i) => {
    if (!unpricedModels(parsed.data).includes(modelId(m))) return
    if (m.pricePer1kIn === undefined) errors[`models.${i}.pricePer1kIn`] = 'a spend cap needs prices'
    if (m.pricePer1kOut === undefined) errors[`models.${i}.pricePer1kOut`] = 'a spend cap needs prices'
  })
  if (Object.keys(errors).length) return { ok: false, errors }
  return { ok: true, problemId: f.problemId, name: f.name.trim() || undefined, config }
}

const str = (v: number | undefined | null) => (v === undefined || v === null ? '' : String(v))

/** A stored run config as the form shows it (a fork opens with its source run's settings). */
export function configToForm(problemId: string, name: string, c: RunConfigInput): RunForm {
  const d = defaultRunForm(problemId)
  const local = c.localOperators ?? {}
  const llm = c.llmOperators ?? {}
  return {
    problemId,
    name,
    islands: str(c.islands ?? Number(d.islands)),
    populationPerIsland: str(c.populationPerIsland ?? Number(d.populationPerIsland)),
    maxEvals: str(c.budget?.maxEvals ?? Number(d.maxEvals)),
    maxSpendUsd: str(c.budget?.maxSpendUsd),
    maxWallMin: c.budget?.maxWallS ? String(Math.round((c.budget.maxWallS / 60) * 100) / 100) : '',
    concurrency: str(c.generation?.maxInFlight ?? Number(d.concurrency)),
    seed: str(c.seed ?? Number(d.seed)),
    exploration: str(c.exploration ?? Number(d.exploration)),
    stagnationWindow: str(c.stagnationWindow ?? Number(d.stagnationWindow)),
    mutator: c.mutator ?? 'local',
    localOperators: Object.fromEntries(
      LOCAL_OPERATOR_NAMES.map((o) => [o, str(local[o] ?? 1)]),
    ) as RunForm['localOperators'],
    llmOperators: Object.fromEntries(
      LLM_OPERATORS.map((o) => [o, str(llm[o] ?? Number(d.llmOperators[o]))]),
    ) as RunForm['llmOperators'],
    models: (c.models ?? []).map((m) => ({
      provider: m.provider,
      model: m.model,
      baseURL: m.baseURL ?? '',
      apiKeyEnv: m.apiKeyEnv ?? '',
      weight: str(m.weight ?? 1),
      pricePer1kIn: str(m.pricePer1kIn),
      pricePer1kOut: str(m.pricePer1kOut),
    })),
    // a fork's own seed programs are made from its candidate; uploads are added to them
    seedPrograms: [],
  }
}

/**
 * A fork's config: the source run's settings that the form does not show (migration, selection,
 * novelty, rating weight, model timeouts…) kept, the form's values over them. Models are the
 * form's (matched by position to keep their hidden settings), budget fields the form's.
 */
export function mergeForkConfig(base: Record<string, unknown>, edited: RunConfigInput): RunConfigInput {
  const {
    seedPrograms: _s,
    budget: baseBudget,
    models: baseModels,
    ...rest
  } = base as RunConfigInput & Record<string, unknown>
  const models = edited.models?.map((m, i) => {
    const b = baseModels?.[i]
    return b && b.provider === m.provider && b.model === m.model ? { ...b, ...m } : m
  })
  return {
    ...rest,
    ...edited,
    // the form states the budget in full: a cap it leaves empty is no cap
    budget: { ...edited.budget, maxEvals: edited.budget?.maxEvals ?? baseBudget?.maxEvals },
    ...(models ? { models } : baseModels ? { models: baseModels } : {}),
  }
}

/**
 * The total a Resume asks for: what the user typed, checked (a whole number above the evaluations
 * done), or, when nothing is typed, the run's budget (a completed run's grown by half, 100 at least).
 */
export function resumeTotal(
  typed: string,
  run: { evaluations: number; maxEvals: number; status: string },
): { total: number } | { error: string } {
  const text = typed.trim()
  if (!text) return { total: suggestedTotal(run) }
  const n = decimalNumber(text)
  if (n === null || !Number.isInteger(n) || n > 10_000_000)
    return { error: 'a whole number of evaluations, 10,000,000 at most' }
  if (n <= run.evaluations) return { error: `more than the ${run.evaluations} it has done: this is the new total` }
  return { total: n }
}

/** A run's name: the API takes 200 characters at most. */
export const RUN_NAME_MAX = 200

/** A fork's suggested name, cut to fit: "from <source> · <candidate>". */
export function forkName(source: string, candidate: string): string {
  const tail = ` · ${candidate}`
  const room = RUN_NAME_MAX - 'from '.length - tail.length
  return `from ${source.length > room ? `${source.slice(0, room - 1)}…` : source}${tail}`
}

/** What a Resume asks for when nothing is typed: the budget, a completed run's grown by half (100 at least). */
export function suggestedTotal(run: { evaluations: number; maxEvals: number; status: string }): number {
  const grown = run.maxEvals + Math.max(100, Math.round(run.maxEvals / 2))
  // a run that has spent its budget (completed, or paused or stopped right at it) is given more;
  // one stopped short of it goes on to its budget
  return Math.max(
    run.evaluations + 1,
    run.status === 'completed' || run.evaluations >= run.maxEvals ? grown : run.maxEvals,
  )
}
