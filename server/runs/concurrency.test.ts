import { describe, expect, it } from 'vitest'
import { Ewma, waitingLimit } from './concurrency.ts'

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
