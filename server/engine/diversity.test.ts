import { describe, expect, it } from 'vitest'
import { islandDiversity, meanPairwiseDistance, runDiversity } from './diversity.ts'
import { MapElitesGrid } from './map-elites.ts'
import { sketchCode } from './novelty.ts'
import { Rng } from './rng.ts'

const prog = (rng: Rng, n = 30) =>
  Array.from({ length: n }, (_, i) => `a${i} = b${rng.int(50)} + ${rng.int(100)}`).join('\n')

describe('diversity', () => {
  it('clones have zero distance, unrelated programs high', () => {
    const rng = new Rng(1)
    const p = sketchCode(prog(rng), 'python')
    expect(meanPairwiseDistance([p, p, p])).toBe(0)
    const many = Array.from({ length: 20 }, () => sketchCode(prog(rng), 'python'))
    expect(meanPairwiseDistance(many)).toBeGreaterThan(0.6)
  })

  it('is deterministic when sampled, and the sample tracks the exact value', () => {
    const rng = new Rng(2)
    const base = prog(rng)
    const pop = Array.from({ length: 120 }, (_, i) => sketchCode(i % 2 ? base : prog(rng), 'python'))
    const exact = meanPairwiseDistance(pop, { maxPairs: 1e9 })
    const s1 = meanPairwiseDistance(pop, { maxPairs: 400 })
    const s2 = meanPairwiseDistance(pop, { maxPairs: 400 })
    expect(s1).toBe(s2)
    expect(Math.abs(s1 - exact)).toBeLessThan(0.08)
  })

  it('island and run measures', () => {
    const rng = new Rng(3)
    const g = new MapElitesGrid([{ name: 'x', min: 0, max: 1, bins: 4 }], 'max')
    g.insert('a', 1, { x: 0.1 })
    const members = [
      { score: 1, sketch: sketchCode(prog(rng), 'python') },
      { score: 3, sketch: sketchCode(prog(rng), 'python') },
      { score: null },
    ]
    const d = islandDiversity(members, 'max', g)
    expect(d).toMatchObject({ size: 3, coverage: 0.25, cells: 1 })
    expect(d.fitness).toMatchObject({ best: 3, valid: 2 })
    expect(d.codeDistance).toBeGreaterThan(0.5)
    const same = sketchCode(prog(rng), 'python')
    const r = runDiversity([
      { sketches: [same, same], coverage: 0.5 },
      { sketches: [sketchCode(prog(rng), 'python')], coverage: 0.1 },
    ])
    expect(r.codeDistance).toBe(0)
    expect(r.interIslandDistance).toBeGreaterThan(0.5)
    expect(r.coverage).toBeCloseTo(0.3)
  })
})
