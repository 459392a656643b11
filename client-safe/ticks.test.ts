import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { axisTicks, logTicks, niceStep, niceTicks, tickFormatter, timeTicks } from './ticks.ts'

describe('axis ticks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(10, 5)).toBe(2)
    expect(niceStep(0.03, 5)).toBeCloseTo(0.01)
    expect(niceStep(7, 5)).toBe(2)
    expect(niceStep(100_000, 5)).toBe(20_000)
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10])
    expect(niceTicks(2.6095, 2.6305, 5)).toEqual([2.61, 2.615, 2.62, 2.625, 2.63])
    expect(niceTicks(0, 3, 6, { integer: true })).toEqual([0, 1, 2, 3])
    expect(niceTicks(5, 5)).toEqual([5])
  })

  it('labels the run from the issue without repeating a value', () => {
    // the best moved in the third decimal: 2.63, 2.63, 2.62, 2.62… was what the axis printed
    const { ticks, format } = axisTicks([2.6081, 2.6312], 6)
    const labels = ticks.map(format)
    expect(new Set(labels).size).toBe(labels.length)
    expect(labels).toEqual(['2.610', '2.615', '2.620', '2.625', '2.630'])
    expect(axisTicks([0, 100], 5).ticks.map(axisTicks([0, 100], 5).format)).toEqual([
      '0',
      '20',
      '40',
      '60',
      '80',
      '100',
    ])
    const big = axisTicks([1.2e7, 1.21e7], 5)
    expect(new Set(big.ticks.map(big.format)).size).toBe(big.ticks.length)
    expect(big.format(1.2e7)).toMatch(/e\+7$/)
    const tiny = axisTicks([-8e-5, 0], 4)
    expect(tiny.ticks.map(tiny.format)).toEqual(['-8e-5', '-6e-5', '-4e-5', '-2e-5', '0'])
  })

  it('never repeats a label, whatever the range', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        (lo, s, count) => {
          // a range a chart can hold: wider than a billionth of its magnitude (doubles resolve 1e-16)
          const span = Math.max(s, Math.abs(lo) * 1e-9)
          const { ticks, format } = axisTicks([lo, lo + span], count)
          const labels = ticks.map(format)
          expect(new Set(labels).size).toBe(labels.length)
          expect(ticks.length).toBeLessThanOrEqual(2 * count + 2)
          for (const t of ticks) expect(t >= lo - span * 1e-6 && t <= lo + span * (1 + 1e-6)).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('formats with the fewest digits that keep labels apart', () => {
    expect(tickFormatter([1, 2, 3])(2)).toBe('2')
    expect(tickFormatter([0.1, 0.15, 0.2])(0.15)).toBe('0.15')
    expect(tickFormatter([0.1, 0.2])(0.2)).toBe('0.2')
  })

  it('labels time axes with round, distinct clock times', () => {
    const t0 = new Date(2026, 10, 27, 14, 3, 17).getTime()
    const a = timeTicks([t0, t0 + 10 * 60_000], 5)
    expect(a.ticks.map(a.format)).toEqual(['14:04', '14:06', '14:08', '14:10', '14:12'])
    const b = timeTicks([t0, t0 + 20_000], 5)
    expect(new Set(b.ticks.map(b.format)).size).toBe(b.ticks.length)
    expect(b.format(b.ticks[0]!)).toMatch(/^14:03:\d\d$/)
  })

  it('labels log axes by decade', () => {
    const a = logTicks([-7.2, 0.4], 8)
    expect(a.ticks.map(a.format)).toEqual(['1e-7', '1e-6', '1e-5', '1e-4', '0.001', '0.01', '0.1', '1'])
    const b = logTicks([-4.9, -4.1], 5)
    expect(b.ticks.map(b.format)).toEqual(['2e-5', '5e-5'])
  })
})

describe('chart-specific formats', () => {
  it('keeps a chart’s own format while it keeps labels apart', async () => {
    const { distinctFormat, rowsExtent } = await import('./ticks.ts')
    const pct = (v: number) => `${Math.round(v * 100)}%`
    expect(distinctFormat([0, 0.2, 0.4], pct, String)(0.2)).toBe('20%')
    expect(distinctFormat([0.001, 0.002, 0.003], pct, String)(0.002)).toBe('0.002')
    expect(
      rowsExtent([
        { x: 3, a: 1, b: null },
        { x: 1, a: -2 },
      ]),
    ).toEqual({ x: [1, 3], y: [-2, 1] })
    expect(rowsExtent([])).toEqual({ x: null, y: null })
  })
})

describe('duration axes', () => {
  it('picks seconds, minutes or hours by the range', async () => {
    const { durationTicks } = await import('./ticks.ts')
    const s = durationTicks([0, 50], 5)
    expect(s.ticks.map(s.format)).toEqual(['0 s', '10 s', '20 s', '30 s', '40 s', '50 s'])
    const m = durationTicks([0, 600], 5)
    expect(m.ticks.map(m.format)).toEqual(['0 min', '2 min', '4 min', '6 min', '8 min', '10 min'])
    const h = durationTicks([0, 3 * 3600 + 60], 4)
    expect(new Set(h.ticks.map(h.format)).size).toBe(h.ticks.length)
    expect(h.format(3600)).toBe('1 h')
  })
})
