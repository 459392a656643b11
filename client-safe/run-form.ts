// The "new run" form: what the user fills in, turned into a run config (validated by the same
// schema the server applies), with messages that point at the field to fix. Pure.
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
  const n = Number(s)
  if (!Number.isFinite(n)) errors[field] = 'a number'
  else if (opts.int && !Number.isInteger(n)) errors[field] = 'a whole number'
  return n
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
  if (Object.keys(errors).length) return { ok: false, errors }
  const parsed = RunConfig.safeParse(config)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join('.')
      // budget fields are shown flat in the form
      const key = path.startsWith('budget.')
        ? path === 'budget.maxWallS'
          ? 'maxWallMin'
          : path.slice(7)
        : path.startsWith('seedPrograms')
          ? 'seedPrograms'
          : path || 'form'
      errors[key] ??= issue.message
    }
    return { ok: false, errors }
  }
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
