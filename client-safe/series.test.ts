import { describe, expect, it } from 'vitest'
import {
  islandColor,
  REFERENCE_COLOR,
  boundMetrics,
  boundPoints,
  budgetUse,
  runSeconds,
  gapToReference,
  mergeMetrics,
  mergePoints,
  openStagnationAlerts,
  pivotMetrics,
  paintOrder,
  scatterByIsland,
  throughputTile,
  yDomain,
} from './series.ts'
import type { MetricPoint, ScorePoint } from './types.ts'

function metric(
  id: number,
  island: number,
  evalCount: number,
  best: number | null,
  extra: Partial<MetricPoint> = {},
): MetricPoint {
  return {
    id,
    island,
    evalCount,
    t: 1000 + evalCount,
    best,
    mean: best,
    median: best,
    code: 0.5,
    coverage: 0.2,
    interIsland: island < 0 ? 0.3 : null,
    population: 10,
    evalsPerSec: 2,
    failureRate: 0.1,
    spendUsd: 0,
    ...extra,
  }
}
const point = (evalIndex: number, island: number, score: number | null, id = `c${evalIndex}`): ScorePoint => ({
  id,
  evalIndex,
  island,
  score,
  valid: score !== null,
  origin: 'mutation',
  t: evalIndex,
})

describe('pivotMetrics', () => {
  it('puts each island in its own column at each evaluation count', () => {
    const rows = [
      metric(1, 0, 10, 1),
      metric(2, 1, 10, 2),
      metric(3, -1, 10, 2),
      metric(4, 0, 20, 3),
      metric(5, 1, 20, null),
      metric(6, -1, 20, 3),
    ]
    expect(pivotMetrics(rows, 'best')).toEqual([
      { x: 10, i0: 1, i1: 2, run: 2 },
      { x: 20, i0: 3, i1: null, run: 3 },
    ])
    expect(pivotMetrics(rows, 'best', { x: 'time', islands: [-1] })).toEqual([
      { x: 1010, run: 2 },
      { x: 1020, run: 3 },
    ])
    expect(pivotMetrics(rows, 'interIsland', { islands: [-1], range: { lo: 15, hi: 30 } })).toEqual([
      { x: 20, run: 0.3 },
    ])
  })
})

describe('merging live batches', () => {
  it('appends in order and de-duplicates a replayed batch', () => {
    const a = [metric(1, 0, 1, 1), metric(2, 0, 2, 1)]
    expect(mergeMetrics(a, [metric(3, 0, 3, 2)]).map((m) => m.id)).toEqual([1, 2, 3])
    expect(mergeMetrics(a, [metric(2, 0, 2, 1), metric(3, 0, 3, 2)]).map((m) => m.id)).toEqual([1, 2, 3])
    const p = [point(0, 0, 1), point(1, 1, 2)]
    expect(mergePoints(p, [point(1, 1, 2), point(2, 0, 3)]).map((x) => x.evalIndex)).toEqual([0, 1, 2])
    expect(mergePoints(p, [point(2, 0, 3)])).toHaveLength(3)
  })
})

describe('bounding what the browser holds', () => {
  it('keeps metric rows at chosen evaluation counts for every island, plus the tail', () => {
    const rows: MetricPoint[] = []
    let id = 0
    for (let e = 0; e < 2000; e++) for (const i of [-1, 0, 1]) rows.push(metric(++id, i, e, Math.sin(e / 100)))
    const kept = boundMetrics(rows, 300, 20)
    const counts = new Set(kept.map((m) => m.evalCount))
    expect(counts.size).toBeLessThanOrEqual(300)
    expect(counts.has(1999)).toBe(true)
    expect(counts.has(1980)).toBe(true)
    for (const c of counts) expect(kept.filter((m) => m.evalCount === c)).toHaveLength(3)
  })

  it('keeps per-island extremes and the run best', () => {
    const pts = Array.from({ length: 5000 }, (_, i) => point(i, i % 2, (i * 37) % 1000, i === 1234 ? 'best' : `c${i}`))
    const kept = boundPoints(pts, 400, 'best', 50)
    expect(kept.length).toBeLessThan(900)
    expect(kept.some((p) => p.id === 'best')).toBe(true)
    expect(kept.some((p) => p.evalIndex === 4999)).toBe(true)
    expect(kept.filter((p) => p.island === 0).some((p) => p.score === 999 - 1)).toBe(true)
  })

  it('scatters only valid points', () => {
    const m = scatterByIsland([point(0, 0, 1), point(1, 0, null), point(2, 1, 3)])
    expect(m.get(0)).toEqual([{ x: 0, y: 1, id: 'c0' }])
    expect(m.get(1)).toHaveLength(1)
  })

  it('paints the dots in evaluation order, so the latest lie on top whatever their island', () => {
    const m = scatterByIsland([point(0, 0, 1), point(1, 1, 2), point(2, 0, 3), point(3, 1, 4), point(4, 2, 5)])
    const order = paintOrder(m)
    expect(order.map((d) => d.x)).toEqual([0, 1, 2, 3, 4])
    expect(order.map((d) => d.island)).toEqual([0, 1, 0, 1, 2])
    expect(order[4]).toMatchObject({ id: 'c4', y: 5, island: 2 })
  })
})

describe('dashboard helpers', () => {
  it('lists islands whose last stagnation event is not a recovery', () => {
    const ev = (id: number, island: number, kind: string) => ({
      id,
      type: 'stagnation',
      t: id,
      payload: { island, kind, message: `m${id}`, suggestions: ['give-hint'] },
    })
    const alerts = openStagnationAlerts([
      ev(1, 0, 'stagnant'),
      ev(2, 1, 'stagnant'),
      ev(3, 0, 'recovered'),
      ev(4, 2, 'escalated'),
      { id: 5, type: 'status', t: 5, payload: {} },
    ])
    expect(alerts.map((a) => [a.island, a.kind])).toEqual([
      [2, 'escalated'],
      [1, 'stagnant'],
    ])
    expect(alerts[1]!.suggestions).toEqual(['give-hint'])
  })

  const stag = (id: number, island: number, kind: string, level: number, best: number) => ({
    id,
    type: 'stagnation',
    t: 1000 + id,
    payload: { island, kind, level, best, message: `level ${level}`, suggestions: [] },
  })
  it('folds the escalations of one plateau into one alert', () => {
    const events = [
      stag(1, 0, 'stagnant', 1, 2.61),
      stag(2, 0, 'escalated', 2, 2.61),
      stag(3, 1, 'stagnant', 1, 3),
      stag(4, 0, 'escalated', 3, 2.61),
    ]
    for (let l = 4; l <= 52; l++) events.push(stag(l + 1, 0, 'escalated', l, 2.61))
    const alerts = openStagnationAlerts(events)
    expect(alerts).toHaveLength(2)
    expect(alerts[0]).toMatchObject({
      island: 0,
      kind: 'escalated',
      level: 52,
      firstLevel: 1,
      since: 1001,
      events: 52,
      best: 2.61,
    })
    // a new plateau after a recovery starts a new alert; an episode whose start scrolled away still folds
    const again = openStagnationAlerts([
      stag(1, 0, 'stagnant', 1, 1),
      stag(2, 0, 'recovered', 0, 2),
      stag(3, 0, 'stagnant', 1, 2),
      stag(4, 2, 'escalated', 11, 5),
      stag(5, 2, 'escalated', 12, 5),
    ])
    expect(again.map((a) => [a.island, a.firstLevel, a.level, a.since])).toEqual([
      [2, 11, 12, 1004],
      [0, 1, 1, 1003],
    ])
  })

  it('closes alerts when the run ends or the island improves', () => {
    const events = [stag(1, 0, 'stagnant', 1, 2.61), stag(2, 1, 'escalated', 5, -8e-5)]
    expect(openStagnationAlerts(events, { status: 'completed' })).toEqual([])
    expect(openStagnationAlerts([...events, { id: 3, type: 'status', t: 3, payload: { status: 'stopped' } }])).toEqual(
      [],
    )
    // resumed after it ended: only what was raised since counts
    expect(
      openStagnationAlerts(
        [...events, { id: 3, type: 'status', t: 3, payload: { status: 'completed' } }, stag(4, 1, 'stagnant', 1, 0)],
        { status: 'evolving' },
      ).map((a) => a.island),
    ).toEqual([1])
    const best = new Map([
      [0, 2.62],
      [1, -8e-5],
    ])
    expect(
      openStagnationAlerts(events, { status: 'evolving', islandBest: best, direction: 'max' }).map((a) => a.island),
    ).toEqual([1])
    expect(
      openStagnationAlerts(events, { status: 'evolving', islandBest: new Map([[1, -9e-5]]), direction: 'min' }).map(
        (a) => a.island,
      ),
    ).toEqual([0])
  })

  it('folds a plateau’s escalations in the activity feed', async () => {
    const { foldStagnationEvents } = await import('./series.ts')
    const events = [
      stag(1, 0, 'stagnant', 1, 1),
      stag(2, 0, 'escalated', 2, 1),
      stag(3, 1, 'escalated', 11, 1),
      { id: 4, type: 'intervention', t: 4, payload: {} },
      stag(5, 0, 'escalated', 3, 1),
      stag(6, 1, 'escalated', 12, 1),
      stag(7, 0, 'recovered', 0, 2),
      stag(8, 0, 'escalated', 1, 2),
    ]
    const rows = foldStagnationEvents(events)
    expect(
      rows.map((r) => [r.id, r.folded ? `${r.folded.fromLevel}-${r.folded.toLevel}×${r.folded.count}` : '']),
    ).toEqual([
      [1, ''],
      [4, ''],
      [5, '2-3×2'],
      [6, '11-12×2'],
      [7, ''],
      [8, '1-1×1'],
    ])
  })

  it('measures distance to the best on a log scale that keeps small late gains apart', async () => {
    const { distanceToBest, logDistance, logDistanceFloor } = await import('./series.ts')
    expect(distanceToBest(-8e-5, 0, 'max')).toBeCloseTo(8e-5)
    expect(distanceToBest(0.3, 0.1, 'min')).toBeCloseTo(0.2)
    expect(distanceToBest(0.05, 0.1, 'min')).toBe(0)
    const bests = [-3, -0.5, -8e-5, -1e-6, 0]
    const floor = logDistanceFloor(
      bests.map((b) => distanceToBest(b, 0, 'max')),
      0,
    )
    expect(floor).toBe(-7)
    const ys = bests.map((b) => logDistance(b, 0, 'max', floor))
    // every step is visible: strictly decreasing, the best on the floor
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeLessThan(ys[i - 1]!)
    expect(ys.at(-1)).toBe(-7)
    expect(ys[2]).toBeCloseTo(Math.log10(8e-5))
    expect(logDistanceFloor([0, 0], 2.5)).toBe(-6)
  })

  it('covers the reference in the y domain and signs the gap by direction', () => {
    expect(yDomain([1, 2, null], 4)).toEqual([0.85, 4.15])
    expect(yDomain([], null)).toBeNull()
    expect(gapToReference(2.5, 2.6, 'max')).toBeCloseTo(0.1)
    expect(gapToReference(0.2, 0, 'min')).toBeCloseTo(0.2)
    expect(gapToReference(null, 1, 'min')).toBeNull()
  })

  it('measures budget use', () => {
    const u = budgetUse(
      { evaluations: 50, spendUsd: 0.5, activeS: 30, activeAt: 30_000, running: false },
      { maxEvals: 100, maxSpendUsd: 2, maxWallS: 60 },
    )
    expect(u).toEqual({ evals: 0.5, spend: 0.25, wall: 0.5, wallS: 30 })
  })

  it('counts the time a run ran, live and after it ended, never the time it sat stopped', () => {
    // 40 s run in earlier sessions, written at t = 1,000 s of a session still running
    const live = { activeS: 40, activeAt: 1_000_000, running: true }
    expect(runSeconds(live, 1_005_000)).toBe(45)
    // it ended 2 s after that write (known from the live stream before the row is read again)
    expect(runSeconds({ ...live, running: false, finishedAt: 1_002_000 }, 9_000_000)).toBe(42)
    // stopped, or paused: what was written, however long ago
    expect(runSeconds({ ...live, running: false }, 9_000_000)).toBe(40)
    expect(runSeconds({ activeS: 0, activeAt: null, running: true }, 9_000_000)).toBe(0)
  })
})

describe('the evaluations/s tile', () => {
  // 540 s run (9 min), its clock written when it stopped at t = 1,000 s
  const clock = { activeS: 540, activeAt: 1_000_000, finishedAt: 1_000_000 }
  const tail = { evalsPerSec: 0 }

  it('shows a live run its rate over the last 30 s', () => {
    for (const status of ['evolving', 'cold-start', 'created'])
      expect(
        throughputTile({ status, evaluations: 900, running: true, ...clock }, { evalsPerSec: 2.5 }, 1_060_000),
      ).toEqual({ evalsPerSec: 2.5, sub: 'last 30 s' })
    expect(throughputTile({ status: 'evolving', evaluations: 0, running: true, ...clock }, null)).toEqual({
      evalsPerSec: null,
      sub: 'last 30 s',
    })
  })

  it('shows an ended run its mean over the time it ran, not its last 30 s', () => {
    for (const status of ['completed', 'stopped', 'failed'])
      expect(throughputTile({ status, evaluations: 1080, running: false, ...clock }, tail, 1_000_000)).toEqual({
        evalsPerSec: 2,
        sub: 'mean over 9 min 0 s active',
      })
  })

  it('never counts the hours a paused run sat idle', () => {
    // paused at t = 1,000 s and read three hours later: still 1080 evaluations over 540 s
    const paused = { status: 'paused', evaluations: 1080, running: false, ...clock, finishedAt: null }
    expect(throughputTile(paused, tail, 1_000_000 + 3 * 3600_000)).toEqual({
      evalsPerSec: 2,
      sub: 'mean over 9 min 0 s active',
    })
    // a run resumed and stopped again: the clock already holds both sessions, the gap between them is not in it
    const twice = { status: 'stopped', evaluations: 1500, running: false, activeS: 600, activeAt: 9_000_000 }
    expect(throughputTile(twice, tail, 9_000_000).evalsPerSec).toBe(2.5)
  })

  it('says so when an ended run has no recorded active time', () => {
    const old = { status: 'completed', evaluations: 400, running: false, activeS: 0, activeAt: null }
    expect(throughputTile(old, tail)).toEqual({ evalsPerSec: null, sub: 'no active time recorded' })
  })
})

describe('robust y domain', () => {
  it('keeps the lines and the reference, and leaves the worst outliers out', async () => {
    const { robustDomain } = await import('./series.ts')
    const pts = [...Array.from({ length: 95 }, (_, i) => 0.1 + i / 100), 1e9, 2e9, 3e9, 4e9, 5e9]
    const d = robustDomain([0.2, 0.15], pts, 0, 'min')!
    expect(d[0]).toBeLessThan(0)
    expect(d[1]).toBeLessThan(2)
    const m = robustDomain([5], [-1e9, ...Array.from({ length: 50 }, (_, i) => i / 10)], null, 'max')!
    expect(m[0]).toBeGreaterThan(-1)
    expect(m[1]).toBeGreaterThan(5)
  })

  it('leaves out a reference far from every score, which would flatten the lines against one edge', async () => {
    const { robustDomain, referenceNear } = await import('./series.ts')
    // scores -91 … 97,700 against a published 1e15
    const far = robustDomain([-91, 97_700], [1e-12, 5, 97_700], 1e15, 'max')!
    expect(far[1]).toBeLessThan(200_000)
    expect(referenceNear([-91, 97_700], 1e15)).toBe(false)
    // circle packing: 2.617 … 2.628 against 2.636, within reach: shown
    const near = robustDomain([2.617, 2.628], [2.6, 2.62], 2.636, 'max')!
    expect(near[1]).toBeGreaterThan(2.636)
    expect(referenceNear([2.617, 2.628], 2.636)).toBe(true)
  })
})

describe('the fitness chart in words', () => {
  it("says the run's best and each island's as of the last row", async () => {
    const { fitnessSummary } = await import('./series.ts')
    const rows = [
      { x: 10, run: 1, i0: 1, i1: null },
      { x: 40, run: 2.6310912, i0: 2.6310912, i1: 2.5 },
    ]
    expect(fitnessSummary(rows, 2, 'score', 'evals')).toBe(
      'Best score so far after 40 evaluations: run 2.63109; island 0 2.63109, island 1 2.5.',
    )
    expect(fitnessSummary([], 2, 'score', 'evals')).toBe('Best score so far: no evaluation yet.')
  })
})

describe('colours', () => {
  it("no island is drawn in the reference line's colour", () => {
    const colours = Array.from({ length: 64 }, (_, i) => islandColor(i))
    expect(colours).not.toContain(REFERENCE_COLOR)
    expect(new Set(colours.slice(0, 12)).size).toBe(12)
  })
})
