import { describe, expect, it } from 'vitest'
import { Rng } from './rng.ts'
import { chooseStrategies, cueScore, passageStrategy, STRATEGIES } from './strategies.ts'

const byId = (id: string) => STRATEGIES.find((s) => s.id === id)!

describe('cold-start strategies', () => {
  it('has a larger pool than four sentences, with distinct ids and texts', () => {
    expect(STRATEGIES.length).toBeGreaterThanOrEqual(12)
    expect(new Set(STRATEGIES.map((s) => s.id)).size).toBe(STRATEGIES.length)
    expect(new Set(STRATEGIES.map((s) => s.text)).size).toBe(STRATEGIES.length)
  })

  it('draws the strategies that fit the problem first', () => {
    const tsp = chooseStrategies(
      'Travelling salesman: find the shortest tour through 52 cities (TSPLIB berlin52).',
      [],
      new Rng(1),
      6,
    )
    expect(tsp[0]!.id).toBe('tour-heuristics')
    const kernel = chooseStrategies(
      'A CUDA kernel for softmax: minimize the runtime on the GPU; memory bandwidth bound.',
      [],
      new Rng(1),
      6,
    )
    expect(
      kernel
        .slice(0, 2)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['tiling', 'vectorize'])
    const ml = chooseStrategies(
      'Classify handwritten digits: maximize the accuracy on a held-out dataset.',
      [],
      new Rng(1),
      6,
    )
    expect(ml[0]!.id).toMatch(/^ml-/)
    expect(cueScore(byId('geometric'), 'Pack 26 circles in a unit square')).toBeGreaterThan(
      cueScore(byId('ml-features'), 'Pack 26 circles in a unit square'),
    )
  })

  it('interleaves knowledge passages early, each once, and is deterministic for a seed', () => {
    const passages = [
      { id: 'c1', title: 'Lattices', text: 'Start from a hexagonal lattice.' },
      { id: 'c2', text: 'Use 2-opt moves.' },
    ]
    const a = chooseStrategies('circle packing', passages, new Rng(7), 8)
    expect(a).toHaveLength(8)
    expect(a[1]!.id).toBe('knowledge:c1')
    expect(a[3]!.id).toBe('knowledge:c2')
    expect(a[1]!.text).toContain('("Lattices")')
    expect(a[1]!.text).toContain('Start from a hexagonal lattice.')
    expect(new Set(a.map((s) => s.id)).size).toBe(8)
    expect(chooseStrategies('circle packing', passages, new Rng(7), 8)).toEqual(a)
    // ties are drawn: another seed may order the general strategies differently, never the fitting ones
    expect(a[0]!.id).toBe('geometric')
  })

  it('cuts a long passage', () => {
    expect(passageStrategy({ id: 'x', text: 'a'.repeat(5000) }, 100).text.length).toBeLessThan(200)
  })
})
