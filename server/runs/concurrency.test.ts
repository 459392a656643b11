import { describe, expect, it } from 'vitest'
import { AdaptiveLimit, Ewma, waitingLimit } from './concurrency.ts'
import { GenerationPool } from './generation.ts'

describe('waitingLimit', () => {
  it('is a few candidates per worker until both times are known', () => {
    expect(waitingLimit({ capacity: 2, maxRequests: 16, latencyMs: null, serviceMs: 20 })).toBe(4)
    expect(waitingLimit({ capacity: 2, maxRequests: 16, latencyMs: 1000, serviceMs: null })).toBe(4)
    expect(waitingLimit({ capacity: 0, maxRequests: 16, latencyMs: null, serviceMs: null })).toBe(2)
  })

  it('a model as fast as the workers: a few per worker (parents stay fresh)', () => {
    expect(waitingLimit({ capacity: 2, maxRequests: 16, latencyMs: 5, serviceMs: 20 })).toBe(4)
  })

  it('a slow model: what the workers drain during one model latency, at most a pool more', () => {
    // 1 s answers, 100 ms evaluations on 2 workers: 20 drained meanwhile, capped at 4 + 16
    expect(waitingLimit({ capacity: 2, maxRequests: 16, latencyMs: 1000, serviceMs: 100 })).toBe(20)
    expect(waitingLimit({ capacity: 2, maxRequests: 16, latencyMs: 1000, serviceMs: 10 })).toBe(20)
    expect(waitingLimit({ capacity: 4, maxRequests: 16, latencyMs: 300, serviceMs: 100 })).toBe(12)
    expect(waitingLimit({ capacity: 4, maxRequests: 16, latencyMs: 300, serviceMs: 50 })).toBe(24)
  })
})

describe('Ewma', () => {
  it('starts at the first sample, then moves a tenth of the way', () => {
    const e = new Ewma()
    expect(e.value).toBeNull()
    e.add(100)
    expect(e.value).toBe(100)
    e.add(200)
    expect(e.value).toBeCloseTo(110)
    e.add(Number.NaN)
    expect(e.value).toBeCloseTo(110)
  })
})

describe('AdaptiveLimit.regrow', () => {
  const backedOffToOne = () => {
    const limit = new AdaptiveLimit(16)
    for (let i = 0; i < 4; i++) {
      limit.backOff()
      for (let j = 0; j < limit.current; j++) limit.fail()
    }
    return limit
  }
  it('grows back by doubling after push-backs that came from a member now left out', () => {
    const regrown = backedOffToOne()
    const plain = backedOffToOne()
    expect(regrown.current).toBe(1)
    regrown.regrow()
    for (let i = 0; i < 8; i++) regrown.succeed(), plain.succeed()
    expect(regrown.current).toBe(9)
    // one more per window of successes
    expect(plain.current).toBeLessThan(5)
  })
})

describe('GenerationPool.park', () => {
  it('leaves a member out until its time, then plans for it again', () => {
    const pool = new GenerationPool({ max: 16, onSettled: () => {}, onError: () => {} })
    pool.park('m', 60_000, 1_000)
    expect(pool.isParked('m', 30_000)).toBe(true)
    expect(pool.saturated(30_000).has('m')).toBe(true)
    expect(pool.saturated(61_001).has('m')).toBe(false)
    expect(pool.isParked('m', 61_001)).toBe(false)
  })
})
