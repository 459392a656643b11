// The server worker's back-off schedule after infra errors of its own (the worker itself, on real
// PostgreSQL beside a healthy one: server/queue/backoff.test.ts).
import { describe, expect, it } from 'vitest'
import { BACKOFF, backoffDelayMs } from './server-worker.ts'

describe('backoffDelayMs', () => {
  it('doubles from 5 s with each back-off in a row, and never exceeds 5 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(n))).toEqual([
      5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ])
    expect(backoffDelayMs(10_000)).toBe(BACKOFF.maxMs)
    expect(BACKOFF.afterFailures).toBe(3)
  })

  it('follows the policy it is given (tests shorten it)', () => {
    const p = { afterFailures: 1, firstMs: 10, maxMs: 35 }
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, p))).toEqual([10, 20, 35, 35])
  })
})
