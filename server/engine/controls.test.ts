import { describe, expect, it } from 'vitest'
import { withholdForControl } from './controls.ts'
import { Rng } from './rng.ts'

describe('concurrent controls', () => {
  it('withholds each intervention with the configured probability, reproducibly', () => {
    const rng = new Rng(7)
    let withheld = 0
    const n = 20_000
    for (let i = 0; i < n; i++) withheld += withholdForControl(['hint'], 0.2, rng).withheld.length
    // binomial(20000, 0.2): sd ≈ 57, so ±4 sd
    expect(Math.abs(withheld - 0.2 * n)).toBeLessThan(4 * Math.sqrt(n * 0.2 * 0.8))
    const a = new Rng(3)
    const b = new Rng(3)
    const draws = (r: Rng) => Array.from({ length: 50 }, () => withholdForControl(['x', 'y'], 0.3, r).withheld.join())
    expect(draws(a)).toEqual(draws(b))
  })

  it('keeps everything at share 0 and draws nothing when there is nothing to withhold', () => {
    const rng = new Rng(1)
    expect(withholdForControl(['a', 'b'], 0, rng)).toEqual({ given: ['a', 'b'], withheld: [] })
    const before = rng.getState()
    withholdForControl([], 0.5, rng)
    expect(rng.getState()).toEqual(before)
  })
})
