import { describe, expect, it } from 'vitest'
import { bucketIndex, bucketWidth, lttb, lttbIndices, minMaxBuckets } from './downsample.ts'

describe('lttb', () => {
  it('keeps everything below the threshold and the ends above it', () => {
    expect(lttbIndices([0, 1, 2], [1, 2, 3], 10)).toEqual([0, 1, 2])
    const xs = Array.from({ length: 1000 }, (_, i) => i)
    const ys = xs.map((x) => Math.sin(x / 50))
    const idx = lttbIndices(xs, ys, 100)
    expect(idx.length).toBeLessThanOrEqual(100)
    expect(idx.length).toBeGreaterThan(90)
    expect(idx[0]).toBe(0)
    expect(idx[idx.length - 1]).toBe(999)
    expect([...idx].sort((a, b) => a - b)).toEqual(idx)
  })

  it('keeps a lone spike that decimation would drop', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ x: i, y: i === 4321 ? 100 : 0 }))
    const kept = lttb(
      items,
      50,
      (p) => p.x,
      (p) => p.y,
    )
    expect(kept.some((p) => p.x === 4321)).toBe(true)
    // every 200th point (what naive decimation keeps) misses it
    expect(items.filter((_, i) => i % 200 === 0).some((p) => p.y === 100)).toBe(false)
  })

  it('skips non-finite values as representatives', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i)
    const ys = xs.map((x) => (x % 2 ? NaN : x))
    const idx = lttbIndices(xs, ys, 20)
    expect(idx.slice(1, -1).every((i) => Number.isFinite(ys[i]))).toBe(true)
  })
})

describe('minMaxBuckets', () => {
  it('keeps the extremes of every bucket, in x order', () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ x: i, y: (i * 7919) % 101 }))
    const kept = minMaxBuckets(
      items,
      10,
      (p) => p.x,
      (p) => p.y,
    )
    expect(kept.length).toBeLessThanOrEqual(20)
    for (let b = 0; b < 10; b++) {
      const group = items.slice(b * 100, b * 100 + 100)
      const max = Math.max(...group.map((p) => p.y))
      const min = Math.min(...group.map((p) => p.y))
      const inBucket = kept.filter((p) => p.x >= b * 100 && p.x < b * 100 + 100)
      expect(inBucket.map((p) => p.y).sort((a, c) => a - c)).toEqual([min, max])
    }
    expect(kept.map((p) => p.x)).toEqual([...kept.map((p) => p.x)].sort((a, c) => a - c))
  })

  it('keeps one invalid representative per bucket when asked', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ x: i, y: i < 50 ? null : i }))
    const kept = minMaxBuckets(
      items,
      2,
      (p) => p.x,
      (p) => p.y,
      { keepInvalid: true },
    )
    expect(kept.filter((p) => p.y === null)).toHaveLength(1)
    expect(kept.filter((p) => p.y !== null).map((p) => p.y)).toEqual([50, 99])
  })

  it('maps values to buckets at the edges', () => {
    expect(bucketIndex(-5, 0, 10, 4)).toBe(0)
    expect(bucketIndex(39.99, 0, 10, 4)).toBe(3)
    expect(bucketIndex(40, 0, 10, 4)).toBe(3)
    expect(bucketWidth(0, 99_999, 500)).toBe(200)
    expect(bucketWidth(0, 0, 500)).toBe(1)
  })
})
