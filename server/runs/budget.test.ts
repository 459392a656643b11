import { describe, expect, it } from 'vitest'
import { Budget } from './budget.ts'
import { AdaptiveLimit, GaugeMean, INITIAL_REQUESTS } from './concurrency.ts'

describe('Budget', () => {
  it('never lets what is in flight and what is done exceed the evaluation budget', () => {
    const b = new Budget({ maxEvals: 5 }, { evaluations: 2, spendUsd: 0, activeS: 0 }, () => 0)
    expect(b.reserve()).toBe(true)
    expect(b.reserve()).toBe(true)
    expect(b.reserve()).toBe(true)
    expect(b.reserve()).toBe(false)
    expect(b.blocked()).toMatch(/evaluation budget reached \(5\)/)
    b.release() // a rejected answer gives its slot back
    expect(b.left()).toBe(1)
    expect(b.reserve()).toBe(true)
    b.evaluated()
    b.evaluated()
    b.evaluated()
    expect(b.evaluations).toBe(5)
    expect(b.held).toBe(0)
    expect(b.exhausted()).toMatch(/evaluation budget/)
  })

  it('counts requests in flight at their expected cost, so the cap is crossed by one request at most', () => {
    const b = new Budget({ maxEvals: 100, maxSpendUsd: 1 }, { evaluations: 0, spendUsd: 0.5, activeS: 0 }, () => 0)
    expect(b.reserve(0.2)).toBe(true)
    expect(b.reserve(0.2)).toBe(true)
    // 0.5 spent + 0.4 expected: one more may start (it may cross the cap), not two
    expect(b.reserve(0.2)).toBe(true)
    expect(b.reserve(0.2)).toBe(false)
    expect(b.blocked()).toMatch(/spend budget/)
    b.settle(0.2, 0.25)
    b.settle(0.2, 0.25)
    b.settle(0.2, 0.25)
    expect(b.spendUsd).toBeCloseTo(1.25)
    expect(b.expectedInFlight).toBeCloseTo(0)
    expect(b.exhausted()).toMatch(/spend budget/)
  })

  it('ends on wall time from the run start, whatever is in flight', () => {
    let t = 0
    const b = new Budget({ maxEvals: 100, maxWallS: 10 }, { evaluations: 0, spendUsd: 0, activeS: 0 }, () => t)
    expect(b.reserve()).toBe(true)
    t = 10_001
    expect(b.reserve()).toBe(false)
    expect(b.exhausted()).toMatch(/time budget reached \(10 s\)/)
  })

  it('counts the time run in earlier sessions, not the time between them', () => {
    // 4 s run before a stop; resumed hours later (the clock reads a large value at construction)
    let t = 9_000_000
    const b = new Budget({ maxEvals: 100, maxWallS: 10 }, { evaluations: 3, spendUsd: 0, activeS: 4 }, () => t)
    expect(b.activeS()).toBe(4)
    expect(b.reserve()).toBe(true)
    t += 5_999
    expect(b.blocked()).toBeNull()
    t += 1
    expect(b.activeS()).toBe(10)
    expect(b.blocked()).toMatch(/time budget reached \(10 s\)/)
  })
})

describe('AdaptiveLimit', () => {
  it('starts with the initial window and doubles it per window of successes', () => {
    const l = new AdaptiveLimit(4 * INITIAL_REQUESTS, 1)
    expect(l.current).toBe(INITIAL_REQUESTS)
    for (let i = 0; i < INITIAL_REQUESTS; i++) l.succeed()
    expect(l.current).toBe(2 * INITIAL_REQUESTS)
    for (let i = 0; i < 2 * INITIAL_REQUESTS; i++) l.succeed()
    expect(l.current).toBe(4 * INITIAL_REQUESTS)
    l.succeed()
    expect(l.current).toBe(4 * INITIAL_REQUESTS)
    expect(new AdaptiveLimit(4, 1).current).toBe(4)
  })

  it('halves on push-back, grows back one per window of successes, stays within bounds', () => {
    const l = new AdaptiveLimit(16, 1, 16)
    expect(l.current).toBe(16)
    l.backOff()
    expect(l.current).toBe(8)
    // the other requests sent at 16 push back too: still 8 until a window of 8 has finished
    l.backOff()
    l.backOff()
    expect(l.current).toBe(8)
    for (let i = 0; i < 8; i++) l.fail()
    l.backOff()
    expect(l.current).toBe(4)
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 8; i++) l.fail()
      l.backOff()
    }
    expect(l.current).toBe(1)
    // from 1: one success → 2; two more → 3; three more → 4
    l.succeed()
    expect(l.current).toBe(2)
    l.succeed()
    l.succeed()
    expect(l.current).toBe(3)
    for (let i = 0; i < 1000; i++) l.succeed()
    expect(l.current).toBe(16)
  })
})

describe('GaugeMean', () => {
  it('weights each value by how long it held', () => {
    let t = 0
    const g = new GaugeMean(() => t)
    g.set(4)
    t = 1000
    g.set(0)
    t = 3000
    expect(g.take()).toBeCloseTo(4 / 3)
    t = 4000
    expect(g.take()).toBe(0)
  })
})

describe('spend without a slot (judge calls)', () => {
  it('reserves the expected cost under the spend cap and counts the real one', () => {
    const b = new Budget({ maxEvals: 10, maxSpendUsd: 1 }, { evaluations: 0, spendUsd: 0.5, activeS: 0 }, () => 0)
    expect(b.reserveSpend(0.3)).toBe(true)
    expect(b.left()).toBe(10)
    expect(b.reserveSpend(0.3)).toBe(false)
    b.settle(0.3, 0.2)
    expect(b.spendUsd).toBeCloseTo(0.7)
    expect(b.reserveSpend(0.3)).toBe(true)
    b.settle(0.3, 0.3)
    expect(b.blocked()).toMatch(/spend budget reached/)
  })
})
