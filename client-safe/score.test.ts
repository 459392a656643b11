import { describe, expect, it } from 'vitest'
import { againstParent, bestOf, compareScores, improvesBy, isBetter } from './score.ts'

describe('scores', () => {
  it('compares in the problem direction with null always worst', () => {
    expect(isBetter(2, 1, 'max')).toBe(true)
    expect(isBetter(2, 1, 'min')).toBe(false)
    expect(isBetter(-100, null, 'max')).toBe(true)
    expect(isBetter(null, 5, 'min')).toBe(false)
    expect([3, null, 1, 2].sort(compareScores('min'))).toEqual([1, 2, 3, null])
    expect([3, null, 1, 2].sort(compareScores('max'))).toEqual([3, 2, 1, null])
  })

  it('the best of scores ignores invalid ones', () => {
    expect(bestOf([3, null, Number.NaN, 1, 2], 'min')).toBe(1)
    expect(bestOf([null, Number.POSITIVE_INFINITY], 'max')).toBeNull()
  })

  it('an improvement must beat a relative epsilon with a floor near 0', () => {
    expect(improvesBy(10.001, 10, 'max', 1e-3)).toBe(false)
    expect(improvesBy(10.02, 10, 'max', 1e-3)).toBe(true)
    expect(improvesBy(9.98, 10, 'min', 1e-3)).toBe(true)
    expect(improvesBy(1e-13, 0, 'max', 1e-3)).toBe(false)
    expect(improvesBy(null, 10, 'max', 1e-3)).toBe(false)
  })
})

describe('againstParent', () => {
  it('says why there is nothing to compare: no parent, an unscored parent, or no score of its own', () => {
    expect(againstParent({ score: 1, valid: true }, null, 'max').words).toBe('no parent (a seed)')
    expect(againstParent({ score: 1, valid: true }, { score: null }, 'max').words).toBe('no scored parent')
    expect(againstParent({ score: null, valid: false }, { score: 2.6 }, 'max')).toEqual({
      delta: null,
      better: null,
      words: 'no score of its own to compare',
    })
    expect(againstParent({ score: 3, valid: true }, { score: 2 }, 'min')).toEqual({
      delta: 1,
      better: false,
      words: 'not better than the parent',
    })
    expect(againstParent({ score: 3, valid: true }, { score: 2 }, 'max').better).toBe(true)
  })
})
