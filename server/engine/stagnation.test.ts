import { describe, expect, it } from 'vitest'
import { StagnationDetector } from './stagnation.ts'

describe('StagnationDetector', () => {
  it('fires once after a window without improvement, escalates, then recovers with hysteresis', () => {
    const d = new StagnationDetector({ direction: 'max', window: 10, epsilon: 0.01 })
    const events: string[] = []
    const feed = (score: number | null, times = 1) => {
      for (let i = 0; i < times; i++) for (const e of d.observe(0, score)) events.push(`${e.kind}@${e.at}:${e.level}`)
    }
    feed(1)
    feed(1.005, 10) // gains below epsilon do not count: 10 evaluations after the last improvement
    expect(events).toEqual(['stagnant@11:1'])
    expect(d.boost(0)).toBeCloseTo(0.15)
    feed(null, 10) // failures count toward the window
    expect(events.at(-1)).toBe('escalated@21:2')
    expect(d.boost(0)).toBeCloseTo(0.3)
    // an improvement above epsilon but below the exit threshold (2 × epsilon over the plateau) keeps it stagnant
    feed(1.005 * 1.015)
    expect(d.isStagnant(0)).toBe(true)
    feed(1.005 * 1.03)
    expect(events.at(-1)).toBe('recovered@23:0')
    expect(d.boost(0)).toBe(0)
    const ev = d.observe(1, 5)
    expect(ev).toEqual([])
  })

  it('an escalation after a small gain on the plateau counts from the plateau, against the exit threshold', () => {
    const d = new StagnationDetector({ direction: 'max', window: 5, epsilon: 0.01 })
    let last = ''
    const feed = (score: number, times = 1) => {
      for (let i = 0; i < times; i++) for (const e of d.observe(0, score)) last = e.message
    }
    feed(1, 6)
    expect(last).toBe('island 0: no improvement above 0.01 (relative) for 5 evaluations (best 1); level 1')
    feed(1.015) // above epsilon, below the exit threshold: still on the plateau
    feed(1.015, 4)
    expect(last).toBe(
      "island 0: still no improvement above 0.02 (relative) over its plateau's best 1, 10 evaluations in (best 1.015); level 2",
    )
  })

  it('suggests knowledge retrieval and exploration first, restarts later; works for min problems', () => {
    const d = new StagnationDetector({ direction: 'min', window: 5 })
    const all = []
    d.observe(2, 10)
    for (let i = 0; i < 20; i++) all.push(...d.observe(2, 10 + i))
    expect(all[0]!.suggestions).toEqual(['raise-exploration', 'retrieve-knowledge'])
    expect(all.at(-1)!.suggestions[0]).toBe('restart-from-elites')
    const r = d.observe(2, 5)
    expect(r[0]!.kind).toBe('recovered')
  })

  it('serializes', () => {
    const opts = { direction: 'max' as const, window: 3 }
    const d = new StagnationDetector(opts)
    for (let i = 0; i < 4; i++) d.observe(0, 1)
    const e = StagnationDetector.fromJSON(opts, JSON.parse(JSON.stringify(d.toJSON())))
    expect(e.isStagnant(0)).toBe(true)
    expect(e.observe(0, 1)).toEqual(d.observe(0, 1))
  })
})
