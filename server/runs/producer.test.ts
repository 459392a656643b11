// The offline producer honours the run's operator weights: an arm whose operator does not apply
// gives way only to arms the run allows, and the child is credited to the arm that made it.
import { describe, expect, it } from 'vitest'
import { StepAdapter } from '../engine/operators-local.ts'
import { Rng } from '../engine/rng.ts'
import { LOCAL_ARMS, produceLocal } from './producer.ts'

// literals to cross and perturb, but no function blocks to swap between parents
const PARENT = { id: 'p', code: 'A = 1.5\nB = 2.25\nprint(A * B)\n' }
const MATE = { id: 'm', code: 'A = 3.5\nB = 0.25\nprint(A * B)\n' }
const crossoverOnly = LOCAL_ARMS.map((a) => ({ id: a.id, weight: a.operator.startsWith('crossover') ? 1 : 0 }))

describe('produceLocal', () => {
  it('gives way from an arm that does not apply to another the run allows, and credits that one', () => {
    const operators = new Set<string>()
    for (let seed = 0; seed < 40; seed++) {
      const r = produceLocal(
        'crossover-blocks',
        PARENT,
        MATE,
        'python',
        new Rng(seed),
        new StepAdapter(),
        crossoverOnly,
      )
      if ('rejected' in r) continue
      operators.add(r.operator)
      // the arm the bandit learns from is the one that made the child
      expect(`local:${r.arm}`).toBe(r.operator)
      expect(r.operatorParams).toMatchObject({ arm: r.arm })
      if (r.arm !== 'crossover-blocks') expect(r.operatorParams).toMatchObject({ insteadOf: 'crossover-blocks' })
    }
    // weight 0 takes perturb and swap out of the fallback too
    expect([...operators]).toEqual(['local:crossover-literals'])
  })

  it('without a mate, a run of crossovers only has nothing that applies: rejected, not perturbed', () => {
    const r = produceLocal('crossover-literals', PARENT, null, 'python', new Rng(1), new StepAdapter(), crossoverOnly)
    expect(r).toMatchObject({ rejected: true, reason: 'no offline operator applies to this program' })
  })

  it('with every arm allowed (the cold start), a perturbation variant is credited by its own id', () => {
    const r = produceLocal('crossover-blocks', PARENT, null, 'python', new Rng(2), new StepAdapter())
    expect('rejected' in r).toBe(false)
    if ('rejected' in r) return
    const spec = LOCAL_ARMS.find((a) => a.id === r.arm)!
    expect(`local:${spec.operator}`).toBe(r.operator)
  })
})
