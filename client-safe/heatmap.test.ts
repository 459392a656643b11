import { describe, expect, it } from 'vitest'
import { binLabel, binOf, buildGrid, chooseAxes, heatColor, resolveAxis } from './heatmap.ts'

describe('heatmap axes', () => {
  it('takes the problem bounds, else the observed extent, and widens a degenerate one', () => {
    expect(resolveAxis({ name: 'a', min: -3, max: 3, bins: 6 }, { min: -10, max: 10 })).toEqual({
      name: 'a',
      min: -3,
      max: 3,
      bins: 6,
      auto: false,
    })
    expect(resolveAxis('b', { min: 2, max: 4 })).toMatchObject({ min: 2, max: 4, bins: 10, auto: true })
    const flat = resolveAxis('c', { min: 1, max: 1 })
    expect(flat.min).toBeLessThan(1)
    expect(flat.max).toBeGreaterThan(1)
    expect(resolveAxis('d', undefined)).toMatchObject({ min: 0, max: 1 })
  })

  it('bins values and clamps the outside ones to the edges', () => {
    const ax = resolveAxis({ name: 'a', min: 0, max: 1, bins: 4 }, undefined)
    expect([-1, 0, 0.24, 0.25, 0.99, 1, 7].map((v) => binOf(v, ax))).toEqual([0, 0, 0, 1, 3, 3, 3])
    expect(binLabel(ax, 1)).toBe('0.25–0.5')
  })

  it('chooses two axes, the requested ones first', () => {
    expect(chooseAxes(['a', { name: 'b' }, 'c'], ['c'])).toEqual(['c', 'a'])
    expect(chooseAxes(['a'], ['zz'])).toEqual(['a'])
    expect(chooseAxes([], undefined)).toEqual([])
  })
})

describe('heatmap grid', () => {
  it('colours by score in the problem direction', () => {
    const ax = resolveAxis({ name: 'x', min: 0, max: 2, bins: 2 }, undefined)
    const ay = resolveAxis({ name: 'y', min: 0, max: 2, bins: 2 }, undefined)
    const cells = [
      { x: 0, y: 0, best: 1, count: 3, candidateId: 'a' },
      { x: 1, y: 1, best: 5, count: 1, candidateId: 'b' },
    ]
    const max = buildGrid([ax, ay], cells, 'max')
    expect(max.filled).toBe(2)
    expect(max.coverage).toBe(0.5)
    expect(max.cells[1]![1]).toMatchObject({ candidateId: 'b', t: 1 })
    expect(max.cells[0]![0]!.t).toBe(0)
    expect(max.cells[0]![1]).toBeNull()
    const min = buildGrid([ax, ay], cells, 'min')
    expect(min.cells[0]![0]!.t).toBe(1)
    expect(buildGrid([ax], [{ x: 1, y: 0, best: 2, count: 1, candidateId: null }], 'max').cells).toHaveLength(1)
    expect(heatColor(0)).toBe('rgb(32, 46, 92)')
    expect(heatColor(1)).toBe('rgb(246, 211, 70)')
  })
})
