import { describe, expect, it } from 'vitest'
import { Rng } from './rng.ts'

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42)
    const b = new Rng(42)
    const c = new Rng(43)
    const xa = Array.from({ length: 20 }, () => a.nextU32())
    const xb = Array.from({ length: 20 }, () => b.nextU32())
    const xc = Array.from({ length: 20 }, () => c.nextU32())
    expect(xa).toEqual(xb)
    expect(xa).not.toEqual(xc)
    expect(new Rng('run-1').next()).not.toBe(new Rng('run-2').next())
  })

  it('resumes from a serialized state exactly', () => {
    const a = new Rng('seed')
    for (let i = 0; i < 100; i++) a.next()
    const state = JSON.parse(JSON.stringify(a.getState()))
    const b = Rng.fromState(state)
    for (let i = 0; i < 50; i++) expect(b.next()).toBe(a.next())
  })

  it('draws uniform values, ints, normals with the right moments', () => {
    const r = new Rng(7)
    const N = 20000
    let s = 0
    let s2 = 0
    const counts = [0, 0, 0, 0, 0]
    let lo = 1
    let hi = 0
    for (let i = 0; i < N; i++) {
      const u = r.next()
      lo = Math.min(lo, u)
      hi = Math.max(hi, u)
      counts[r.int(5)]!++
      const z = r.normal()
      s += z
      s2 += z * z
    }
    expect(lo).toBeGreaterThanOrEqual(0)
    expect(hi).toBeLessThan(1)
    for (const c of counts) expect(Math.abs(c / N - 0.2)).toBeLessThan(0.02)
    expect(Math.abs(s / N)).toBeLessThan(0.05)
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.05)
  })

  it('weightedIndex follows weights, ignores non-positive ones, falls back to uniform', () => {
    const r = new Rng(1)
    const c = [0, 0, 0]
    for (let i = 0; i < 10000; i++) c[r.weightedIndex([1, 0, 3])]!++
    expect(c[1]).toBe(0)
    expect(c[2]! / c[0]!).toBeGreaterThan(2.5)
    expect(c[2]! / c[0]!).toBeLessThan(3.5)
    const d = [0, 0]
    for (let i = 0; i < 1000; i++) d[r.weightedIndex([0, -1])]!++
    expect(d[0]).toBeGreaterThan(400)
    expect(d[1]).toBeGreaterThan(400)
  })

  it('shuffle is a permutation; sample gives distinct items', () => {
    const r = new Rng(3)
    const a = Array.from({ length: 50 }, (_, i) => i)
    const s = r.shuffle(a.slice())
    expect(s.slice().sort((x, y) => x - y)).toEqual(a)
    expect(s).not.toEqual(a)
    for (const [n, k] of [
      [1000, 10],
      [10, 8],
      [5, 9],
    ] as const) {
      const idx = r.sampleIndices(n, k)
      expect(new Set(idx).size).toBe(Math.min(n, k))
      for (const i of idx) expect(i).toBeLessThan(n)
    }
  })

  it('fork gives an independent stream without advancing the parent', () => {
    const a = new Rng(9)
    const before = a.getState()
    const f1 = a.fork('x')
    expect(a.getState()).toEqual(before)
    const f2 = a.fork('y')
    expect(f1.next()).not.toBe(f2.next())
  })
})
