import { describe, expect, it } from 'vitest'
import { configDiff } from './compare.ts'
import { ModelConfig } from './model-config.ts'
import {
  configSummary,
  modelsWithoutPrice,
  RunConfig,
  SPEND_ESTIMATED_NOTE,
  spendNote,
  spendText,
  spendTile,
} from './run-config.ts'

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

describe('spend from estimated token counts', () => {
  const usd = (v: number) => `$${v.toFixed(2)}`

  it('is marked ≈ and says why; an unknown spend stays unknown', () => {
    expect(spendText(3.12, [], usd, true)).toBe('≈ $3.12')
    expect(spendText(3.12, [], usd, false)).toBe('$3.12')
    expect(spendText(1.5, ['openai:b'], usd, true)).toBe('≈ $1.50 + unknown')
    expect(spendText(0, ['openai:b'], usd, true)).toBe('unknown')
    expect(spendNote(3.12, [], true)).toBe(SPEND_ESTIMATED_NOTE)
    expect(SPEND_ESTIMATED_NOTE).toBe('estimated: the model sends no token counts')
    expect(spendNote(3.12, [], false)).toBeNull()
    expect(spendNote(0, ['openai:b'], true)).toBe('no price for openai:b')
    expect(spendNote(1.5, ['openai:b', 'openai:c'], true)).toBe(
      `no price for openai:b, openai:c · ${SPEND_ESTIMATED_NOTE}`,
    )
  })

  it('the dashboard tile: the figure, and under it the cap or why there is none, then the estimate', () => {
    const tile = (o: Partial<Parameters<typeof spendTile>[0]>) =>
      spendTile({ spendUsd: 3.12, unpriced: [], estimated: false, maxSpendUsd: null, offline: false, ...o }, usd)
    expect(tile({ maxSpendUsd: 5 })).toEqual({ value: '$3.12', sub: 'of $5.00' })
    expect(tile({ maxSpendUsd: 5, estimated: true })).toEqual({
      value: '≈ $3.12',
      sub: `of $5.00 · ${SPEND_ESTIMATED_NOTE}`,
    })
    expect(tile({ estimated: true })).toEqual({ value: '≈ $3.12', sub: `no spend cap · ${SPEND_ESTIMATED_NOTE}` })
    expect(tile({ spendUsd: 0, offline: true })).toEqual({ value: '$0.00', sub: 'offline operators cost nothing' })
    expect(tile({ spendUsd: 0, unpriced: ['openai:b'], estimated: true, maxSpendUsd: 5 })).toEqual({
      value: 'unknown',
      sub: 'no price for openai:b',
    })
  })
})
