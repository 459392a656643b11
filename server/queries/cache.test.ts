import { describe, expect, it } from 'vitest'
import { keepFor, TtlCache } from './cache.ts'

describe('ttl cache', () => {
  it('shares an answer while fresh, recomputes after, forgets failures and stays bounded', async () => {
    const c = new TtlCache<number>(1000, 2)
    let calls = 0
    const make = async () => ++calls
    expect(await c.get('a', make, 0)).toBe(1)
    expect(await c.get('a', make, 500)).toBe(1)
    expect(await c.get('a', make, 1500)).toBe(2)
    await expect(c.get('b', () => Promise.reject(new Error('x')), 1500)).rejects.toThrow('x')
    await Promise.resolve()
    expect(await c.get('b', make, 1600)).toBe(3)
    await c.get('c', make, 1600)
    await c.get('d', make, 1600)
    expect(await c.get('a', make, 1600)).toBe(6) // evicted: only 2 kept
  })

  it("keeps a finished run's answer for minutes: it never changes, and a big run's takes seconds", async () => {
    const c = new TtlCache<number>(3000)
    let calls = 0
    const make = async () => ++calls
    expect(keepFor('live:123')).toBeUndefined()
    expect(await c.get('final', make, 0, keepFor('final:100000'))).toBe(1)
    expect(await c.get('final', make, 120_000, keepFor('final:100000'))).toBe(1)
    expect(await c.get('live', make, 0, keepFor('live:1'))).toBe(2)
    expect(await c.get('live', make, 4000, keepFor('live:1'))).toBe(3)
  })
})
