import { describe, expect, it } from 'vitest'
import { fromPixelX, nearest, toPixel } from './plot.ts'

const area = { left: 64, top: 8, right: 584, bottom: 282 }
const dom = { x: [0, 100] as [number, number], y: [0, 1] as [number, number] }

describe('chart geometry', () => {
  it('maps data to pixels and back, and leaves out what is outside', () => {
    expect(toPixel(0, 0, dom, area)).toEqual([64, 282])
    expect(toPixel(100, 1, dom, area)).toEqual([584, 8])
    expect(toPixel(50, 0.5, dom, area)).toEqual([324, 145])
    expect(toPixel(101, 0.5, dom, area)).toBeNull()
    expect(toPixel(50, 7, dom, area)).toBeNull()
    expect(fromPixelX(324, dom, area)).toBe(50)
    expect(fromPixelX(0, dom, area)).toBe(0)
    expect(fromPixelX(10_000, dom, area)).toBe(100)
  })
  it('finds the nearest point within reach', () => {
    const pts = [
      { x: 10, y: 0.5 },
      { x: 11, y: 0.52 },
      { x: 90, y: 0.1 },
    ]
    const at = (p: { x: number; y: number }) => toPixel(p.x, p.y, dom, area)
    const [px, py] = at(pts[1]!)!
    expect(nearest(pts, px + 1, py, at)).toBe(pts[1])
    expect(nearest(pts, px, py + 40, at)).toBeNull()
  })
})
