import { describe, expect, it } from 'vitest'
import { adaptivePressure, IslandSelector, selectParent, type SelectionMember } from './selection.ts'
import { Rng } from './rng.ts'

/** n members in 4 spatial groups; score = index (max is best) */
function population(n: number, rng = new Rng(1)): SelectionMember[] {
  const centres = [[0, 0], [1, 0], [0, 1], [1, 1]]
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % 4]!
    return { id: `m${i}`, score: i, vector: c.map((x) => x + rng.normal() * 0.05) }
  })
}

function draw(sel: IslandSelector, opts: Parameters<IslandSelector['select']>[1], n = 3000, seed = 9) {
  const rng = new Rng(seed)
  const counts = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const s = sel.select(rng, opts)!
    counts.set(s.id, (counts.get(s.id) ?? 0) + 1)
  }
  return counts
}

const rank = (id: string) => Number(id.slice(1))

describe('adaptivePressure', () => {
  it('explores more when diversity is low and exploits when it is high', () => {
    const low = adaptivePressure({ diversity: 0.02, exploration: 0.4 })
    const high = adaptivePressure({ diversity: 0.9, exploration: 0.4 })
    expect(low.explore).toBeGreaterThan(high.explore)
    expect(low.temperature).toBeGreaterThan(high.temperature)
    expect(low.tournament).toBeLessThan(high.tournament)
  })

  it('honours the expert knob: 0 and 1 are not overridden by diversity', () => {
    expect(adaptivePressure({ diversity: 0, exploration: 0 }).explore).toBe(0)
    expect(adaptivePressure({ diversity: 1, exploration: 1 }).explore).toBe(1)
    expect(adaptivePressure({ diversity: 0.3, exploration: 0.7 }).explore).toBeGreaterThan(adaptivePressure({ diversity: 0.3, exploration: 0.2 }).explore)
  })
})

describe('IslandSelector', () => {
  it('clusters members by their vectors', () => {
    const sel = new IslandSelector({ direction: 'max', maxClusters: 4 })
    for (const m of population(400)) sel.add(m)
    expect(sel.clusterCount).toBe(4)
    for (const ids of sel.clusterMembers()) {
      const groups = new Set(ids.map((id) => rank(id) % 4))
      expect(groups.size).toBe(1)
    }
  })

  it('selection pressure adapts with diversity: low diversity spreads picks, high diversity concentrates them', () => {
    const sel = new IslandSelector({ direction: 'max' })
    for (const m of population(400)) sel.add(m)
    const topShare = (counts: Map<string, number>) => {
      let top = 0
      let all = 0
      for (const [id, c] of counts) {
        all += c
        if (rank(id) >= 360) top += c
      }
      return top / all
    }
    const distinct = (counts: Map<string, number>) => counts.size
    const lowDiv = draw(sel, { diversity: 0.0, exploration: 0.5 })
    const highDiv = draw(sel, { diversity: 0.9, exploration: 0.5 })
    expect(topShare(highDiv)).toBeGreaterThan(topShare(lowDiv) + 0.2)
    expect(distinct(lowDiv)).toBeGreaterThan(distinct(highDiv))
    // and the expert knob moves it the same way
    const explore = draw(sel, { diversity: 0.3, exploration: 1 })
    const exploit = draw(sel, { diversity: 0.3, exploration: 0 })
    expect(topShare(exploit)).toBeGreaterThan(0.5)
    expect(topShare(explore)).toBeLessThan(0.3)
  })

  it('top-k picks only among the k best (plus pinned); uniform covers everyone', () => {
    const sel = new IslandSelector({ direction: 'min' })
    for (const m of population(100)) sel.add(m)
    const tk = draw(sel, { strategy: 'top-k', topK: 3 }, 600)
    expect([...tk.keys()].sort()).toEqual(['m0', 'm1', 'm2'])
    sel.update('m50', { pinned: true })
    const tk2 = draw(sel, { strategy: 'top-k', topK: 3, pinnedShare: 0 }, 800)
    expect(tk2.get('m50')).toBeGreaterThan(100)
    const un = draw(sel, { strategy: 'uniform', pinnedShare: 0 }, 20000)
    expect(un.size).toBe(100)
    for (const c of un.values()) expect(c).toBeGreaterThan(100)
  })

  it('pinned members are always eligible (even invalid), banned never', () => {
    const sel = new IslandSelector({ direction: 'max' })
    for (const m of population(50)) sel.add(m)
    sel.add({ id: 'bad', score: null, vector: [0, 0] })
    sel.add({ id: 'pinnedBad', score: null, vector: [0, 0], pinned: true })
    sel.update('m49', { banned: true })
    for (const strategy of ['adaptive', 'top-k', 'uniform'] as const) {
      const c = draw(sel, { strategy, exploration: 0.5 }, 2000)
      expect(c.has('bad')).toBe(false)
      expect(c.has('m49')).toBe(false)
      expect(c.get('pinnedBad') ?? 0).toBeGreaterThan(200)
    }
  })

  it('is deterministic for a given rng and excludes the given id', () => {
    const mk = () => {
      const s = new IslandSelector({ direction: 'max' })
      for (const m of population(300)) s.add(m)
      return s
    }
    const a = draw(mk(), {}, 500, 3)
    const b = draw(mk(), {}, 500, 3)
    expect([...a.entries()]).toEqual([...b.entries()])
    const s = mk()
    const rng = new Rng(1)
    for (let i = 0; i < 300; i++) expect(s.select(rng, { strategy: 'top-k', topK: 1, exclude: 'm299' })!.id).toBe('m298')
  })

  it('inspirations: elites first, then members of other clusters; mates come from other clusters', () => {
    const sel = new IslandSelector({ direction: 'max', maxClusters: 4 })
    for (const m of population(200)) sel.add(m)
    const rng = new Rng(2)
    const insp = sel.inspirations(rng, 'm199', { elites: 2, diverse: 2 })
    expect(insp.slice(0, 2)).toEqual([
      { id: 'm198', kind: 'elite' },
      { id: 'm197', kind: 'elite' },
    ])
    const parentCluster = sel.clusterOf('m199')
    for (const d of insp.slice(2)) {
      expect(d.kind).toBe('diverse')
      expect(sel.clusterOf(d.id)).not.toBe(parentCluster)
    }
    let other = 0
    for (let i = 0; i < 200; i++) if (sel.clusterOf(sel.mate(rng, 'm199')!) !== parentCluster) other++
    expect(other).toBeGreaterThan(100)
  })

  it('removal keeps structures consistent', () => {
    const sel = new IslandSelector({ direction: 'max' })
    const pop = population(120)
    for (const m of pop) sel.add(m)
    for (let i = 0; i < 120; i += 2) sel.remove(`m${i}`)
    expect(sel.size).toBe(60)
    const c = draw(sel, { strategy: 'uniform' }, 3000)
    for (const id of c.keys()) expect(rank(id) % 2).toBe(1)
    expect(sel.top(1)[0]!.id).toBe('m119')
    expect(selectParent(pop, new Rng(1), { direction: 'max', strategy: 'top-k', topK: 1 })!.id).toBe('m119')
  })
})
