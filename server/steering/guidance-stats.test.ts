import { describe, expect, it } from 'vitest'
import { compareByParentGain, compareGroups, groupStats, guidanceState } from './guidance-stats.ts'

describe('guidance state', () => {
  const base = { island: null, startEval: 100, expiresAfterEvals: null, expiresAt: null, withdrawnAt: null }
  it('follows the engine: evaluations, time, withdrawal', () => {
    expect(guidanceState(base, { evaluations: 5000 }).state).toBe('active')
    expect(guidanceState({ ...base, expiresAfterEvals: 50 }, { evaluations: 149 })).toMatchObject({
      state: 'active',
      evalsLeft: 1,
    })
    expect(guidanceState({ ...base, expiresAfterEvals: 50 }, { evaluations: 150 }).state).toBe('expired')
    expect(guidanceState({ ...base, expiresAt: 2000 }, { evaluations: 0, now: 1000 })).toMatchObject({
      state: 'active',
      msLeft: 1000,
    })
    expect(guidanceState({ ...base, expiresAt: new Date(1000) }, { evaluations: 0, now: 1000 }).state).toBe('expired')
    expect(guidanceState({ ...base, withdrawnAt: new Date() }, { evaluations: 0 }).state).toBe('withdrawn')
  })
})

describe('hint effect', () => {
  const row = (score: number | null, parentScore: number | null = null) => ({
    score,
    valid: score !== null,
    parentScore,
  })
  it('summarises a group', () => {
    const s = groupStats([row(1, 2), row(3, 2), row(null, 2), row(5)], 'max')
    expect(s).toMatchObject({ n: 4, valid: 3, mean: 3, median: 3, best: 5, improved: 1 })
    expect(s.improvedRate).toBeCloseTo(1 / 3)
    expect(groupStats([row(1, 2), row(3, 2)], 'min')).toMatchObject({ best: 1, improved: 1 })
  })

  it('says better only when the difference is clear, in the problem direction', () => {
    const under = Array.from({ length: 20 }, (_, i) => row(10 + (i % 3)))
    const without = Array.from({ length: 20 }, (_, i) => row(5 + (i % 3)))
    expect(compareGroups(under, without, 'max')).toMatchObject({ verdict: 'better', meanGain: expect.closeTo(5, 9) })
    expect(compareGroups(under, without, 'min')).toMatchObject({ verdict: 'worse', meanGain: expect.closeTo(-5, 9) })
    const noisy = Array.from({ length: 20 }, (_, i) => row(i % 2 ? 100 : -100))
    expect(compareGroups(noisy, without, 'max').verdict).toBe('no clear difference')
    expect(compareGroups(under.slice(0, 3), without, 'max').verdict).toBe('too few candidates')
  })
})

describe('compareByParentGain', () => {
  it('does not call children of top parents better for their parents’ head start', () => {
    // children of rated (top) parents: high scores, none beats its parent; the others: lower scores, each a gain
    const top = Array.from({ length: 8 }, (_, i) => ({ score: 9 + i * 0.01, valid: true, parentScore: 10 }))
    const rest = Array.from({ length: 40 }, (_, i) => ({ score: 5 + (i % 4) * 0.1, valid: true, parentScore: 4 }))
    expect(compareGroups(top, rest, 'max').verdict).toBe('better') // raw scores: the head start
    const c = compareByParentGain(top, rest, 'max')
    expect(c.verdict).toBe('worse')
    expect(c.meanGain!).toBeLessThan(0)
    // the description stays in scores
    expect(c.under.mean).toBeCloseTo(9.035, 9)
    expect(c.under.improvedRate).toBe(0)
  })
  it('says better when the children improve on their own parents more', () => {
    const rated = Array.from({ length: 8 }, (_, i) => ({ score: 12 + i * 0.01, valid: true, parentScore: 10 }))
    const rest = Array.from({ length: 40 }, (_, i) => ({ score: 4 + (i % 4) * 0.1, valid: true, parentScore: 4 }))
    expect(compareByParentGain(rated, rest, 'max')).toMatchObject({ verdict: 'better' })
    // minimizing: a drop below the parent is the gain
    const lower = rated.map((r) => ({ ...r, score: 8 - (r.score - 12) }))
    expect(compareByParentGain(lower, rest, 'min')).toMatchObject({ verdict: 'better' })
  })
})
