import { describe, expect, it } from 'vitest'
import { configDiff } from './compare.ts'
import { ModelConfig } from './model-config.ts'
import { configSummary, modelsWithoutPrice, RunConfig, spendText } from './run-config.ts'

const model = (weight: number) => ({ provider: 'openai' as const, model: 'gpt-4.1-mini', weight })

describe('RunConfig weights', () => {
  it('refuses an LLM run whose every model has weight 0, saying why', () => {
    const r = RunConfig.safeParse({ mutator: 'llm', models: [model(0), model(0)] })
    expect(r.success).toBe(false)
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ['models'], message: expect.stringContaining('weight above 0') }),
    ])
  })

  it('takes a run where some model keeps a weight', () => {
    expect(RunConfig.safeParse({ mutator: 'llm', models: [model(0), model(0.5)] }).success).toBe(true)
  })

  it('refuses a local run whose every operator has weight 0; unset ones count as 1', () => {
    const off = { perturb: 0, 'crossover-literals': 0, 'crossover-blocks': 0, swap: 0 }
    const r = RunConfig.safeParse({ mutator: 'local', localOperators: off })
    expect(r.success).toBe(false)
    expect(r.error?.issues[0]?.path).toEqual(['localOperators'])
    const { swap: _unset, ...threeOff } = off
    expect(RunConfig.safeParse({ mutator: 'local', localOperators: threeOff }).success).toBe(true)
  })
})

describe('configSummary', () => {
  it('writes out the weights the engine uses, so equal settings given differently compare equal', () => {
    const cli = configSummary(RunConfig.parse({ mutator: 'local' }))
    const form = configSummary(
      RunConfig.parse({
        mutator: 'local',
        localOperators: { perturb: 1, 'crossover-literals': 1, 'crossover-blocks': 1, swap: 1 },
        llmOperators: { diff: 0.6, rewrite: 0.2, crossover: 0.2 },
      }),
    )
    expect(configDiff([cli, form]).filter((r) => r.differs)).toEqual([])
    const partial = configSummary(
      RunConfig.parse({ mutator: 'local', localOperators: { swap: 0 }, llmOperators: { diff: 1 } }),
    )
    expect(partial.localOperators).toEqual({ perturb: 1, 'crossover-literals': 1, 'crossover-blocks': 1, swap: 0 })
    expect(partial.llmOperators).toEqual({ diff: 1, rewrite: 0, crossover: 0 })
    expect(
      configDiff([cli, partial])
        .filter((r) => r.differs)
        .map((r) => r.path),
      // an offline run never reads the model operators' weights: "not used", no difference
    ).toEqual(['localOperators.swap'])
  })
})

describe('spend without prices', () => {
  it('is unknown, not $0.00, where a model the run calls has no price', () => {
    const m = (model: string, priced: boolean) =>
      ModelConfig.parse({ provider: 'openai', model, ...(priced ? { pricePer1kIn: 1, pricePer1kOut: 2 } : {}) })
    const usd = (v: number) => `$${v.toFixed(2)}`
    expect(modelsWithoutPrice({ mutator: 'llm', models: [m('a', true), m('b', false)] })).toEqual(['openai:b'])
    expect(modelsWithoutPrice({ mutator: 'local', models: [m('b', false)] })).toEqual([])
    expect(
      modelsWithoutPrice({ mutator: 'llm', models: [m('a', true)], judge: { model: m('j', false) } as never }),
    ).toEqual(['openai:j'])
    expect(spendText(0, ['openai:b'], usd)).toBe('unknown')
    expect(spendText(1.5, ['openai:b'], usd)).toBe('$1.50 + unknown')
    expect(spendText(0, [], usd)).toBe('$0.00')
  })
})
