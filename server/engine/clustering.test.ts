import { describe, expect, it } from 'vitest'
import { assignToIslands, kmeans } from './clustering.ts'
import { Rng } from './rng.ts'

function blobs(rng: Rng, centres: number[][], per: number, sd = 0.05) {
  const pts: number[][] = []
  const labels: number[] = []
  centres.forEach((c, l) => {
    for (let i = 0; i < per; i++) {
      pts.push(c.map((x) => x + rng.normal() * sd))
      labels.push(l)
    }
  })
  return { pts, labels }
}

/** fraction of points whose cluster's majority label is their own */
function purity(assign: ArrayLike<number>, labels: number[]): number {
  const by = new Map<number, number[]>()
  labels.forEach((l, i) => {
    const c = assign[i] as number
    if (!by.has(c)) by.set(c, [])
    by.get(c)!.push(l)
  })
  let ok = 0
  for (const ls of by.values()) {
    const counts = new Map<number, number>()
    for (const l of ls) counts.set(l, (counts.get(l) ?? 0) + 1)
    ok += Math.max(...counts.values())
  }
  return ok / labels.length
}

describe('kmeans', () => {
  it('recovers well-separated blobs, deterministically', () => {
    const { pts, labels } = blobs(
      new Rng(1),
      [
        [0, 0],
        [1, 1],
        [0, 1],
        [1, 0],
      ],
      40,
    )
    const a = kmeans(pts, 4, new Rng(7))
    const b = kmeans(pts, 4, new Rng(7))
    expect(Array.from(a.assignment)).toEqual(Array.from(b.assignment))
    expect(purity(a.assignment, labels)).toBe(1)
    expect(new Set(a.assignment).size).toBe(4)
  })

  it('handles k > n, duplicates and empty input', () => {
    expect(kmeans([], 3, new Rng(1)).centroids).toEqual([])
    const r = kmeans(
      [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      5,
      new Rng(1),
    )
    expect(r.centroids.length).toBe(3)
    expect(r.inertia).toBe(0)
  })
})

describe('assignToIslands', () => {
  it('gives every island ≥ 1 member, balanced, each island its own niche', () => {
    const { pts, labels } = blobs(
      new Rng(2),
      [
        [0, 0],
        [5, 5],
        [0, 5],
        [5, 0],
      ],
      10,
    )
    const a = assignToIslands(pts, 4, new Rng(3))
    expect(a.islands.map((i) => i.length)).toEqual([10, 10, 10, 10])
    for (const isl of a.islands) expect(new Set(isl.map((p) => labels[p])).size).toBe(1)
    expect(a.islandOf.every((x) => x >= 0)).toBe(true)
  })

  it('fills every island even when clusters are lopsided', () => {
    const { pts } = blobs(
      new Rng(4),
      [
        [0, 0],
        [9, 9],
      ],
      9,
    ) // 18 points, 2 natural niches, 5 islands
    pts.push([4, 4])
    const a = assignToIslands(pts, 5, new Rng(5))
    for (const isl of a.islands) {
      expect(isl.length).toBeGreaterThanOrEqual(1)
      expect(isl.length).toBeLessThanOrEqual(4)
    }
    expect(a.islands.flat().sort((x, y) => x - y)).toEqual(pts.map((_, i) => i))
  })

  it('replicates by priority when there are fewer points than islands', () => {
    const a = assignToIslands([[0], [1]], 4, new Rng(1), [1, 0])
    expect(a.islands).toEqual([[0], [1], [1], [0]])
  })
})
