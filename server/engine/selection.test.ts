import { describe, expect, it } from 'vitest'
import { adaptivePressure, IslandSelector, selectParent, type SelectionMember } from './selection.ts'
import { Rng } from './rng.ts'
import { analyzeCode } from './novelty.ts'

/** n members in 4 spatial groups; score = index (max is best) */
function population(n: number, rng = new Rng(1)): SelectionMember[] {
  const centres = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]
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
    expect(adaptivePressure({ diversity: 0.3, exploration: 0.7 }).explore).toBeGreaterThan(
      adaptivePressure({ diversity: 0.3, exploration: 0.2 }).explore,
    )
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
    for (let i = 0; i < 300; i++)
      expect(s.select(rng, { strategy: 'top-k', topK: 1, exclude: 'm299' })!.id).toBe('m298')
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

describe('expert ratings in selection', () => {
  const uniform = (n: number) => {
    const s = new IslandSelector({ direction: 'max' })
    for (const m of population(n)) s.add(m)
    return s
  }

  it('changes nothing, not even the random stream, when no rating is in play', () => {
    const a = uniform(60)
    const b = uniform(60)
    b.setRating('m5', 1)
    b.setRating('m5', 0) // withdrawn
    b.setRating('ghost', -1) // not on this island
    const ra = new Rng(3)
    const rb = new Rng(3)
    for (let i = 0; i < 200; i++) expect(b.select(rb, { ratingWeight: 1 })!.id).toBe(a.select(ra, {})!.id)
    expect(rb.next()).toBe(ra.next())
    // a weight of 0 ignores ratings
    b.setRating('m5', 1)
    const rc = new Rng(4)
    const rd = new Rng(4)
    for (let i = 0; i < 100; i++) expect(b.select(rc, { ratingWeight: 0 })!.id).toBe(a.select(rd, {})!.id)
  })

  it('multiplies the odds by exactly (1 + w) per rating step under uniform selection', () => {
    const s = uniform(20)
    s.setRating('m3', 1)
    s.setRating('m7', -1)
    const counts = draw(s, { strategy: 'uniform', ratingWeight: 1 }, 40_000)
    const unrated = [...counts].filter(([id]) => id !== 'm3' && id !== 'm7').map(([, c]) => c)
    const mean = unrated.reduce((a, b) => a + b, 0) / unrated.length
    expect(counts.get('m3')! / mean).toBeGreaterThan(1.8)
    expect(counts.get('m3')! / mean).toBeLessThan(2.2)
    expect(counts.get('m7')! / mean).toBeGreaterThan(0.42)
    expect(counts.get('m7')! / mean).toBeLessThan(0.58)
    // a smaller weight, a smaller effect
    const half = draw(s, { strategy: 'uniform', ratingWeight: 0.25 }, 40_000)
    const hm = [...half].filter(([id]) => id !== 'm3' && id !== 'm7').reduce((a, [, c]) => a + c, 0) / 18
    expect(half.get('m3')! / hm).toBeGreaterThan(1.1)
    expect(half.get('m3')! / hm).toBeLessThan(1.4)
  })

  it('is a bounded bonus under adaptive selection: a weak member rated up is drawn more, but at most (1 + w) times as often', () => {
    const plain = uniform(80)
    const rated = uniform(80)
    rated.setRating('m10', 1)
    const before = draw(plain, { strategy: 'adaptive', exploration: 0.5, ratingWeight: 1 }, 30_000).get('m10') ?? 0
    const after = draw(rated, { strategy: 'adaptive', exploration: 0.5, ratingWeight: 1 }, 30_000).get('m10') ?? 0
    expect(after).toBeGreaterThan(before * 1.3)
    expect(after).toBeLessThan(before * 2 * 1.2)
    // the best member rated down stays the most drawn under exploitation: a penalty, not a ban
    const down = uniform(80)
    down.setRating('m79', -1)
    const c = draw(down, { strategy: 'adaptive', exploration: 0.1, ratingWeight: 1 }, 20_000)
    const baseline = draw(plain, { strategy: 'adaptive', exploration: 0.1, ratingWeight: 1 }, 20_000)
    expect(c.get('m79')!).toBeGreaterThan(baseline.get('m79')! / 2 / 1.2)
    expect(c.get('m79')!).toBeLessThan(baseline.get('m79')!)
  })

  it('keeps a rating through re-adds and reweights the crossover mate too', () => {
    const s = uniform(30)
    s.setRating('m4', 1)
    s.remove('m4')
    expect(s.rating('m4')).toBe(1)
    s.add({ id: 'm4', score: 4, vector: [0, 0] })
    const mates = new Map<string, number>()
    const rng = new Rng(8)
    for (let i = 0; i < 20_000; i++) {
      const m = s.mate(rng, 'm0', { ratingWeight: 1 })!
      mates.set(m, (mates.get(m) ?? 0) + 1)
    }
    const plainMates = new Map<string, number>()
    const p = uniform(30)
    const rp = new Rng(8)
    for (let i = 0; i < 20_000; i++) {
      const m = p.mate(rp, 'm0')!
      plainMates.set(m, (plainMates.get(m) ?? 0) + 1)
    }
    expect(mates.get('m4')!).toBeGreaterThan(plainMates.get('m4')! * 1.3)
  })
})

describe('the island diversity estimate', () => {
  const sketchOf = (code: string) => analyzeCode(code, 'python').sketch
  it('follows the members within a quarter of the island’s changes, and exactly after a refresh', () => {
    const sel = new IslandSelector({ direction: 'max' })
    const same = 'def f(x):\n    return x + 1\n'
    for (let i = 0; i < 40; i++) sel.add({ id: `a${i}`, score: i, sketch: sketchOf(same) })
    expect(sel.diversity()).toBe(0)
    // members with unrelated code replace the clones, one at a time
    let changes = 0
    let seen = 0
    for (let i = 0; i < 20 && seen === 0; i++) {
      sel.remove(`a${i}`)
      sel.add({
        id: `b${i}`,
        score: 100 + i,
        sketch: sketchOf(
          `import math\nclass C${i}:\n    def g(self, y):\n        return math.sqrt(y) * ${i} - sum(range(${i}))\n`,
        ),
      })
      changes += 2
      seen = sel.diversity()
    }
    expect(seen).toBeGreaterThan(0)
    expect(changes).toBeLessThanOrEqual(40 / 4 + 1)
  })
})
