import { describe, expect, it } from 'vitest'
import { defaultRunForm, emptyModelRow, formToConfig } from './run-form.ts'

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
    expect(r.errors).toMatchObject({ problemId: 'choose a problem', islands: 'a number', maxEvals: 'required' })
    const schema = formToConfig({ ...defaultRunForm('p'), exploration: '3', maxWallMin: '0' })
    expect(schema.ok).toBe(false)
    if (schema.ok) return
    expect(Object.keys(schema.errors).sort()).toEqual(['exploration', 'maxWallMin'])
    const llm = formToConfig({ ...defaultRunForm('p'), mutator: 'llm' })
    expect(llm.ok === false && llm.errors.models).toMatch(/at least one model/)
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
