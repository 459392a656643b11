import { describe, expect, it } from 'vitest'
import {
  forkName,
  resumeTotal,
  RUN_NAME_MAX,
  boundsAt,
  defaultRunForm,
  emptyModelRow,
  errorSummary,
  fieldOfPath,
  formFields,
  formToConfig,
  type RunForm,
} from './run-form.ts'

describe('new-run form', () => {
  it('turns the defaults into a valid local run config', () => {
    const r = formToConfig({ ...defaultRunForm('circle-packing-26'), maxWallMin: '1.5', name: ' demo ' })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r).toMatchObject({ problemId: 'circle-packing-26', name: 'demo' })
    expect(r.config).toMatchObject({
      islands: 4,
      mutator: 'local',
      budget: { maxEvals: 300, maxWallS: 90 },
      localOperators: { perturb: 1, swap: 1 },
    })
    expect(r.config.models).toBeUndefined()
  })

  it('a spend cap asks for the prices of the models it would count', () => {
    const f = {
      ...defaultRunForm('p'),
      mutator: 'llm' as const,
      maxSpendUsd: '2',
      models: [
        { ...emptyModelRow(), model: 'priced', pricePer1kIn: '0.4', pricePer1kOut: '1.6' },
        { ...emptyModelRow(), model: 'half', pricePer1kIn: '0.4' },
      ],
    }
    const r = formToConfig(f)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.errors).toEqual({ 'models.1.pricePer1kOut': 'a spend cap needs prices' })
    // without the cap the same models are fine: a missing price only means cost 0
    expect(formToConfig({ ...f, maxSpendUsd: '' }).ok).toBe(true)
    // a free local model says so with 0
    const free = { ...f, models: [{ ...f.models[0]!, pricePer1kIn: '0', pricePer1kOut: '0' }] }
    expect(formToConfig(free).ok).toBe(true)
  })

  it('builds model rows without empty optional fields', () => {
    const f = {
      ...defaultRunForm('p'),
      mutator: 'llm' as const,
      models: [
        { ...emptyModelRow(), model: 'coder', baseURL: 'http://127.0.0.1:9/v1', weight: '2', pricePer1kIn: '0.5' },
      ],
    }
    const r = formToConfig(f)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.config.models).toEqual([
      {
        provider: 'openai',
        model: 'coder',
        baseURL: 'http://127.0.0.1:9/v1',
        apiKeyEnv: 'OPENAI_API_KEY',
        weight: 2,
        pricePer1kIn: 0.5,
      },
    ])
  })

  it('points at the fields to fix', () => {
    const r = formToConfig({ ...defaultRunForm(''), islands: 'x', maxEvals: '', exploration: '3' })
    expect(r.ok).toBe(false)
    if (r.ok) return
    // in one round: what is not a number, and what is out of range (exploration 3)
    expect(r.errors).toMatchObject({
      problemId: 'choose a problem',
      islands: 'a number',
      maxEvals: 'required',
      exploration: expect.any(String),
    })
    const named = formToConfig({ ...defaultRunForm('p'), name: 'n'.repeat(201) })
    expect(named.ok === false && named.errors.name).toBe('at most 200 characters')
    const schema = formToConfig({ ...defaultRunForm('p'), exploration: '3', maxWallMin: '0' })
    expect(schema.ok).toBe(false)
    if (schema.ok) return
    expect(Object.keys(schema.errors).sort()).toEqual(['exploration', 'maxWallMin'])
    const llm = formToConfig({ ...defaultRunForm('p'), mutator: 'llm' })
    expect(llm.ok === false && llm.errors.models).toMatch(/at least one model/)
  })
})

describe('new-run form: every schema issue reaches a visible place', () => {
  const errorsOf = (f: RunForm) => {
    const r = formToConfig(f)
    if (r.ok) throw new Error('expected the form to be refused')
    return r.errors
  }

  it('marks the model request limit on its own input, with the range the schema allows', () => {
    const { max } = boundsAt(['generation', 'maxInFlight'])
    expect(errorsOf({ ...defaultRunForm('p'), concurrency: '0' })).toEqual({
      concurrency: `1 to ${max!.toLocaleString('en')} requests in flight`,
    })
    expect(errorsOf({ ...defaultRunForm('p'), islands: '0' })).toEqual({
      islands: `1 to ${boundsAt(['islands']).max} islands`,
    })
  })

  it('puts an issue of all the operator weights beside the first weight, without the schema’s path', () => {
    const zero = { perturb: '0', 'crossover-literals': '0', 'crossover-blocks': '0', swap: '0' }
    const errors = errorsOf({ ...defaultRunForm('p'), localOperators: zero })
    expect(errors).toEqual({
      'localOperators.perturb': expect.stringContaining('at least one operator needs a weight'),
    })
  })

  it('says the time cap in the form’s minutes', () => {
    const e = errorsOf({ ...defaultRunForm('p'), maxWallMin: String(31 * 24 * 60) })
    expect(e.maxWallMin).toMatch(/^0\.0167 to 43,200 minutes \(empty: no cap\)$/)
  })

  it('marks every number input of the form, local and LLM, when it is out of bounds', () => {
    const local = defaultRunForm('p')
    const llm: RunForm = {
      ...local,
      mutator: 'llm',
      models: [{ ...emptyModelRow(), model: 'm', pricePer1kIn: '0.1', pricePer1kOut: '0.1' }],
    }
    let refused = 0
    for (const base of [local, llm]) {
      const fields = formFields(base)
      const numeric = [...fields].filter((k) => {
        const v = k.split('.').reduce<unknown>((o, s) => (o as Record<string, unknown>)?.[s], base)
        return typeof v === 'string' && v !== '' && Number.isFinite(Number(v))
      })
      expect(numeric.length).toBeGreaterThan(8)
      for (const key of numeric) {
        for (const bad of ['-5', '1e12']) {
          const f = structuredClone(base)
          const path = key.split('.')
          const last = path.pop()!
          const holder = path.reduce<Record<string, unknown>>((o, s) => o[s] as Record<string, unknown>, f as never)
          holder[last] = bad
          const r = formToConfig(f)
          // a seed of 1e12 and the like are refused; -5 may be fine (none is today)
          if (r.ok) continue
          refused++
          expect(Object.keys(r.errors), `${key}=${bad}`).toEqual([key])
          expect(r.errors[key], `${key}=${bad}`).not.toMatch(/expected/)
        }
      }
    }
    expect(refused).toBeGreaterThan(20)
  })

  it('says what no input shows in the summary line, not only "fix the fields"', () => {
    expect(fieldOfPath(['generation', 'maxInFlight'])).toBe('concurrency')
    expect(fieldOfPath(['budget', 'maxWallS'])).toBe('maxWallMin')
    expect(fieldOfPath(['seedPrograms', 3, 'code'])).toBe('seedPrograms')
    expect(fieldOfPath([])).toBeNull()
    expect(formFields(defaultRunForm('p')).has('generation.minInFlight')).toBe(false)
    expect(errorSummary({})).toBeNull()
    expect(errorSummary({ islands: 'x' })).toBe('Fix the fields marked above.')
    expect(errorSummary({ form: 'generation.minInFlight: At least 1' })).toBe('generation.minInFlight: At least 1')
    expect(errorSummary({ form: 'a', islands: 'x' })).toBe('a. Fix the fields marked above too.')
  })
})

describe('forks: the form from a stored config and back', () => {
  it('opens with the source run’s settings and keeps the ones the form does not show', async () => {
    const { configToForm, mergeForkConfig } = await import('./run-form.ts')
    const { RunConfig } = await import('./run-config.ts')
    const source = RunConfig.parse({
      islands: 3,
      populationPerIsland: 25,
      exploration: 0.6,
      migrationInterval: 17,
      ratingWeight: 0.9,
      selection: 'top-k',
      mutator: 'llm',
      models: [{ provider: 'openai', model: 'm1', apiKeyEnv: 'MY_KEY', weight: 2, timeoutS: 30, pricePer1kIn: 0.1 }],
      generation: { maxInFlight: 6 },
      budget: { maxEvals: 500, maxWallS: 5400 },
      seed: 9,
      seedPrograms: [{ code: 'x = 1', sourceRunId: 'r0' }],
    })
    const f = configToForm('p', 'again', source)
    expect(f).toMatchObject({
      problemId: 'p',
      name: 'again',
      islands: '3',
      populationPerIsland: '25',
      exploration: '0.6',
      maxEvals: '500',
      maxWallMin: '90',
      maxSpendUsd: '',
      seed: '9',
      mutator: 'llm',
      concurrency: '6',
    })
    expect(f.models).toEqual([
      {
        provider: 'openai',
        model: 'm1',
        baseURL: '',
        apiKeyEnv: 'MY_KEY',
        weight: '2',
        pricePer1kIn: '0.1',
        pricePer1kOut: '',
      },
    ])
    // the user edits islands and the budget, then submits
    const r = formToConfig({ ...f, islands: '5', maxEvals: '800', maxWallMin: '' })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const merged = RunConfig.parse(mergeForkConfig(source, r.config))
    expect(merged).toMatchObject({
      islands: 5,
      populationPerIsland: 25,
      migrationInterval: 17,
      ratingWeight: 0.9,
      selection: 'top-k',
      exploration: 0.6,
      seed: 9,
    })
    expect(merged.budget).toEqual({ maxEvals: 800 })
    expect(merged.models[0]).toMatchObject({ model: 'm1', timeoutS: 30, weight: 2 })
    expect(merged.seedPrograms).toBeUndefined()
  })

  it('sends uploaded seed programs with the config, named by their files, and points at them when they break the bounds', async () => {
    const { mergeForkConfig } = await import('./run-form.ts')
    const f = {
      ...defaultRunForm('p'),
      seedPrograms: [
        { name: 'mine.py', code: 'x = 1\n' },
        { name: 'theirs.py', code: 'x = 2\n' },
      ],
    }
    const r = formToConfig(f)
    expect(r.ok && r.config.seedPrograms).toEqual([
      { code: 'x = 1\n', label: 'mine.py' },
      { code: 'x = 2\n', label: 'theirs.py' },
    ])
    // a fork keeps them (after the candidate's, added by the server)
    if (r.ok) expect(mergeForkConfig({ seedPrograms: [{ code: 'old' }] }, r.config).seedPrograms).toHaveLength(2)
    const big = formToConfig({
      ...defaultRunForm('p'),
      seedPrograms: Array.from({ length: 11 }, (_, i) => ({ name: `${i}.py`, code: 'x'.repeat(190_000) })),
    })
    expect(!big.ok && big.errors.seedPrograms).toMatch(/characters of code in all/)
  })
})

describe('the total a Resume asks for', () => {
  const run = { evaluations: 60, maxEvals: 60, status: 'completed' }
  it('checks what was typed against what the run has done, and suggests one when nothing is', () => {
    expect(resumeTotal('', run)).toEqual({ total: 160 })
    expect(resumeTotal('', { ...run, maxEvals: 400, evaluations: 120, status: 'stopped' })).toEqual({ total: 400 })
    // paused right at its budget: more, not one more
    expect(resumeTotal('', { ...run, maxEvals: 430, evaluations: 430, status: 'paused' })).toEqual({ total: 645 })
    expect(resumeTotal(' 200 ', run)).toEqual({ total: 200 })
    expect(resumeTotal('10', run)).toEqual({ error: 'more than the 60 it has done: this is the new total' })
    expect(resumeTotal('abc', run)).toEqual({ error: 'a whole number of evaluations, 10,000,000 at most' })
    expect(resumeTotal('2.5', run)).toMatchObject({ error: expect.any(String) })
  })
})

describe("a fork's suggested name", () => {
  it('fits the 200 characters a run name may have, the candidate kept', () => {
    expect(forkName('short run', 'abcd1234')).toBe('from short run · abcd1234')
    const long = forkName('x'.repeat(300), 'abcd1234')
    expect(long).toHaveLength(RUN_NAME_MAX)
    expect(long.endsWith('x… · abcd1234')).toBe(true)
  })
})
