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

describe('StagnationDetector at a proven optimum', () => {
  const run = (d: StagnationDetector, island: number, scores: (number | null)[]) =>
    scores.flatMap((x) => d.observe(island, x)).map((e) => `${e.kind}@${e.at}:${e.level}`)

  it('an island at the optimum raises no stagnation however long it stays there (min and max)', () => {
    // tsp-berlin52: the seed's tour, then the proven optimal length, held for many windows
    const tsp = new StagnationDetector({ direction: 'min', window: 5, optimum: 7542 })
    expect(run(tsp, 0, [8000, 7542, ...Array(40).fill(7542), null, null, 7600])).toEqual([])
    expect(tsp.isStagnant(0)).toBe(false)
    expect(tsp.boost(0)).toBe(0)
    const max = new StagnationDetector({ direction: 'max', window: 5, optimum: 1 })
    expect(run(max, 0, Array(30).fill(1))).toEqual([])
  })

  it('counts a best within a relative 1e-9 of the optimum, or beyond it, as reached; not one 1e-6 short', () => {
    const within = new StagnationDetector({ direction: 'min', window: 3, optimum: 7542 })
    expect(run(within, 0, Array(10).fill(7542 * (1 + 5e-10)))).toEqual([])
    const beyond = new StagnationDetector({ direction: 'min', window: 3, optimum: 7542 })
    expect(run(beyond, 0, Array(10).fill(7541))).toEqual([])
    const short = new StagnationDetector({ direction: 'min', window: 3, optimum: 7542 })
    expect(run(short, 0, Array(10).fill(7542 * (1 + 1e-6)))).toEqual([
      'stagnant@4:1',
      'escalated@7:2',
      'escalated@10:3',
    ])
  })

  it('a stagnant island that reaches the optimum leaves stagnation, even by a step below the exit threshold', () => {
    const d = new StagnationDetector({ direction: 'min', window: 5, optimum: 7542 })
    // 7545 → 7542 is a relative gain of 4e-4: below epsilon, it would not end a plateau anywhere else
    expect(run(d, 0, Array(6).fill(7545))).toEqual(['stagnant@6:1'])
    const [ev, ...rest] = d.observe(0, 7542)
    expect(rest).toEqual([])
    expect(ev).toMatchObject({ kind: 'recovered', level: 0, best: 7542, suggestions: [], boost: 0 })
    expect(ev!.message).toBe('island 0 reached the proven optimum 7542 (best 7542) and is no longer stagnant')
    expect(run(d, 0, Array(30).fill(7542))).toEqual([])
    // other islands are judged on their own best
    expect(run(d, 1, Array(6).fill(7545))).toEqual(['stagnant@6:1'])
  })

  it('an island restored stagnant at the optimum (a run stored before it was known) leaves on its next evaluation', () => {
    const before = new StagnationDetector({ direction: 'min', window: 3 })
    run(before, 0, Array(8).fill(7542))
    expect(before.isStagnant(0)).toBe(true)
    const d = StagnationDetector.fromJSON(
      { direction: 'min', window: 3, optimum: 7542 },
      JSON.parse(JSON.stringify(before.toJSON())),
    )
    expect(d.boost(0)).toBe(0)
    // a failed evaluation is enough: the best is already the optimum
    expect(run(d, 0, [null])).toEqual(['recovered@9:0'])
    expect(run(d, 0, Array(10).fill(7542))).toEqual([])
  })

  it('a reference that is not reached, or no optimum at all, changes nothing', () => {
    const scores = [10, 9, 9.5, ...Array(12).fill(9), 8, null, ...Array(20).fill(8.5), 7, ...Array(8).fill(7)]
    const plain = run(new StagnationDetector({ direction: 'min', window: 5 }), 0, scores)
    expect(plain.length).toBeGreaterThan(3)
    expect(run(new StagnationDetector({ direction: 'min', window: 5, optimum: 6 }), 0, scores)).toEqual(plain)
    expect(run(new StagnationDetector({ direction: 'min', window: 5, optimum: undefined }), 0, scores)).toEqual(plain)
  })
})
