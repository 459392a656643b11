import { describe, expect, it } from 'vitest'
import { RunConfig } from './run-config.ts'

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
