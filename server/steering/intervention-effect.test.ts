import { describe, expect, it } from 'vitest'
import {
  concurrentEffect,
  effectVerdict,
  proportionDiffInterval,
  t975,
  welchInterval,
  wilson,
} from './intervention-effect.ts'

const row = (score: number | null, parentScore: number | null = 0) => ({ score, valid: score !== null, parentScore })

describe('interval arithmetic', () => {
  it('gives Student t quantiles close to the tables', () => {
    const table: Array<[number, number]> = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [1000, 1.962],
    ]
    for (const [df, t] of table) expect(t975(df)).toBeCloseTo(t, df === 3 ? 1 : 2)
  })

  it('computes the Welch interval of a difference of means', () => {
    // n 10 each, sd 1, difference 1: se √0.2, df 18, t 2.101
    const i = welchInterval({ n: 10, mean: 5, sd: 1 }, { n: 10, mean: 4, sd: 1 })!
    expect(i.low).toBeCloseTo(1 - 2.101 * Math.sqrt(0.2), 2)
    expect(i.high).toBeCloseTo(1 + 2.101 * Math.sqrt(0.2), 2)
    expect(welchInterval({ n: 1, mean: 5, sd: 0 }, { n: 10, mean: 4, sd: 1 })).toBeNull()
    expect(welchInterval({ n: 3, mean: 2, sd: 0 }, { n: 3, mean: 1, sd: 0 })).toEqual({ low: 1, high: 1 })
  })

  it('computes Wilson and Newcombe intervals as published (Newcombe 1998, example 56/70 vs 48/80)', () => {
    const w = wilson(81, 263)
    expect(w.low).toBeCloseTo(0.2553, 3)
    expect(w.high).toBeCloseTo(0.3662, 3)
    const d = proportionDiffInterval(56, 70, 48, 80)!
    expect(d.low).toBeCloseTo(0.0524, 3)
    expect(d.high).toBeCloseTo(0.3339, 3)
    expect(proportionDiffInterval(1, 0, 1, 2)).toBeNull()
  })
})

describe('the verdict', () => {
  it('follows the intervals: an interval off zero decides unless the other contradicts it', () => {
    expect(effectVerdict({ low: 0.1, high: 2 }, { low: -0.1, high: 0.3 })).toBe('better')
    expect(effectVerdict({ low: -1, high: 2 }, { low: 0.05, high: 0.3 })).toBe('better')
    expect(effectVerdict({ low: -2, high: -0.1 }, null)).toBe('worse')
    expect(effectVerdict({ low: 0.1, high: 2 }, { low: -0.5, high: -0.1 })).toBe('not yet clear')
    expect(effectVerdict({ low: -0.1, high: 2 }, { low: -0.5, high: 0.1 })).toBe('not yet clear')
    expect(effectVerdict(null, null)).toBe('not yet clear')
  })

  it('says better or worse in the problem direction, only when the difference is clear', () => {
    const treated = Array.from({ length: 20 }, (_, i) => row(10 + (i % 3), 9))
    const control = Array.from({ length: 20 }, (_, i) => row(5 + (i % 3), 9))
    const max = concurrentEffect(treated, control, 'max')
    expect(max).toMatchObject({
      verdict: 'better',
      meanGain: expect.closeTo(5, 9),
      bestGain: expect.closeTo(5, 9),
      improvedRateGain: 1,
    })
    expect(max.meanInterval!.low).toBeGreaterThan(4)
    const min = concurrentEffect(treated, control, 'min')
    expect(min).toMatchObject({ verdict: 'worse', meanGain: expect.closeTo(-5, 9) })
    expect(min.meanInterval!.high).toBeLessThan(-4)
    const noisy = Array.from({ length: 20 }, (_, i) => row(i % 2 ? 100 : -100, -1000))
    expect(
      concurrentEffect(
        noisy,
        control.map((r) => ({ ...r, parentScore: -1000 })),
        'max',
      ).verdict,
    ).toBe('not yet clear')
  })

  it('counts an invalid child as not beating its parent', () => {
    const treated = Array.from({ length: 40 }, (_, i) => row(i % 4 ? null : 2, 1))
    const control = Array.from({ length: 40 }, () => row(2, 1))
    const e = concurrentEffect(treated, control, 'max')
    expect(e.improvedRateGain).toBeCloseTo(-0.75)
    expect(e.verdict).toBe('worse')
  })

  it('is not yet clear without a control group or with too few candidates, and says why', () => {
    const treated = Array.from({ length: 10 }, () => row(3))
    expect(concurrentEffect(treated, [], 'max')).toMatchObject({
      verdict: 'not yet clear',
      reason: expect.stringMatching(/control group is empty/),
    })
    expect(concurrentEffect(treated, [row(1), row(1)], 'max')).toMatchObject({
      verdict: 'not yet clear',
      reason: expect.stringMatching(/too few/),
    })
  })
})
