import { describe, expect, it } from 'vitest'
import { binOf, buildGrid, resolveAxis, type HeatCell } from '../../client-safe/heatmap.ts'
import type { FeatureSpec } from '../contracts/problem.ts'
import { islandDiversity, meanPairwiseDistance, runDiversity, unionCoverage } from './diversity.ts'
import { Evolution } from './evolution.ts'
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
    const g2 = new MapElitesGrid([{ name: 'x', min: 0, max: 1, bins: 4 }], 'max')
    g2.insert('b', 1, { x: 0.9 })
    const r = runDiversity([
      { sketches: [same, same], grid: g },
      { sketches: [sketchCode(prog(rng), 'python')], grid: g2 },
    ])
    expect(r.codeDistance).toBe(0)
    expect(r.interIslandDistance).toBeGreaterThan(0.5)
    expect(r.coverage).toBe(0.5)
    expect(runDiversity([{ sketches: [same] }]).coverage).toBeNull()
  })
})

describe('run-level MAP-Elites coverage', () => {
  const fixed: FeatureSpec[] = [
    { name: 'x', min: 0, max: 1, bins: 10 },
    { name: 'y', min: 0, max: 1, bins: 10 },
  ]
  const gridWith = (specs: FeatureSpec[], pts: Array<[string, number, number]>) => {
    const g = new MapElitesGrid(specs, 'max')
    for (const [id, x, y] of pts) g.insert(id, 1, { x, y })
    return g
  }

  it('is the union of the islands’ cells: not their mean, not their sum', () => {
    const a = gridWith(fixed, [
      ['a1', 0.05, 0.05],
      ['a2', 0.15, 0.05],
      ['a3', 0.25, 0.05],
    ])
    // two cells shared with island a (one through a migrant copy, one through another program), one of its own
    const b = gridWith(fixed, [
      ['a2', 0.15, 0.05],
      ['b1', 0.25, 0.06],
      ['b2', 0.35, 0.05],
    ])
    const c = gridWith(fixed, [['c1', 0.95, 0.95]])
    const u = unionCoverage([a, b, c])
    expect(u).toEqual({ coverage: 0.05, cells: 5, total: 100 })
    expect(u!.coverage).not.toBeCloseTo((a.coverage() + b.coverage() + c.coverage()) / 3)
    expect(u!.coverage).not.toBeCloseTo(a.coverage() + b.coverage() + c.coverage())
    expect(runDiversity([a, b, c].map((grid) => ({ sketches: [], grid }))).coverage).toBe(0.05)
    // an island with nothing placed yet adds no cell
    expect(unionCoverage([a, new MapElitesGrid(fixed, 'max')])).toMatchObject({ cells: 3 })
  })

  it('re-bins auto-ranged features under one range when the islands ranged them differently', () => {
    const a = gridWith(
      ['x', 'y'],
      [
        ['a1', 0.1, 0.1],
        ['a2', 0.9, 0.9],
      ],
    )
    const b = gridWith(
      ['x', 'y'],
      [
        ['b1', 80, 80],
        ['b2', 0.11, 0.1],
      ],
    )
    // the same cell index means different values on the two islands: counting indices would be wrong
    expect(a.dims()[0]!.max).not.toBe(b.dims()[0]!.max)
    // under one range 0–100: a1, a2 and b2 share the first cell, b1 has its own
    expect(unionCoverage([a, b])).toEqual({ coverage: 0.02, cells: 2, total: 100 })
    // islands that ranged a feature alike keep their cells
    const c = gridWith(
      ['x', 'y'],
      [
        ['c1', 0.1, 0.1],
        ['c2', 0.9, 0.9],
        ['c3', 0.5, 0.5],
      ],
    )
    expect(c.dims()).toEqual(a.dims())
    expect(unionCoverage([a, c])).toMatchObject({ cells: 3 })
  })

  it('agrees with the dashboard grid of all islands on the same run', () => {
    const ev = new Evolution({
      language: 'python',
      direction: 'max',
      features: fixed,
      islands: 4,
      islandCapacity: 8,
      migrationInterval: 25,
      seed: 'cov',
    })
    const rng = new Rng('cov')
    const evaluated: Array<{ id: string; score: number; x: number; y: number }> = []
    for (let i = 0; i < 300; i++) {
      // islands drift to different corners, so their grids overlap in part
      const island = i % 4
      const x = Math.min(0.999, (island % 2) * 0.4 + rng.next() * 0.5)
      const y = Math.min(0.999, Math.floor(island / 2) * 0.4 + rng.next() * 0.5)
      const score = i % 7 === 0 ? null : rng.next()
      const out = ev.ingest({ id: `c${i}`, island, codeHash: `h${i}`, sketch: null, score, features: { x, y } })
      if (score !== null) evaluated.push({ id: `c${i}`, score, x, y })
      if (out.migrationDue) ev.applyMigration(ev.planMigration())
    }
    // what runs.heatmap does with the run's valid evaluations: bin them on the problem's axes, count the cells
    const axes: [ReturnType<typeof resolveAxis>, ReturnType<typeof resolveAxis>] = [
      resolveAxis(fixed[0]!, undefined),
      resolveAxis(fixed[1]!, undefined),
    ]
    const cells = new Map<string, HeatCell>()
    for (const e of evaluated) {
      const x = binOf(e.x, axes[0])
      const y = binOf(e.y, axes[1])
      const cur = cells.get(`${x},${y}`)
      cells.set(`${x},${y}`, {
        x,
        y,
        best: Math.max(e.score, cur?.best ?? -1),
        count: (cur?.count ?? 0) + 1,
        candidateId: e.id,
      })
    }
    const heat = buildGrid(axes, [...cells.values()], 'max')
    const perIsland = ev.islands.map((i) => i.diversity().coverage as number)
    const mean = perIsland.reduce((s, c) => s + c, 0) / perIsland.length
    expect(heat.filled).toBeGreaterThan(20)
    expect(ev.diversity().coverage).toBe(heat.coverage)
    expect(mean).toBeLessThan(heat.coverage * 0.8)
  })
})
