import { describe, expect, it } from 'vitest'
import { TtlCache } from './cache.ts'

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
})
