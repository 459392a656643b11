import { describe, expect, it } from 'vitest'
import { applyLive, drivenByNow, ENGINE_GRACE_MS, engineMissing, initialLive } from './live-store.ts'
import type { MetricPoint, ScorePoint } from './types.ts'

const point = (evalIndex: number, island = 0): ScorePoint => ({
  id: `c${evalIndex}`,
  evalIndex,
  island,
  score: evalIndex,
  valid: true,
  origin: 'mutation',
  t: evalIndex,
})
const metric = (id: number, evalCount: number, island = -1): MetricPoint => ({
  id,
  island,
  evalCount,
  t: evalCount,
  best: evalCount,
  mean: evalCount,
  median: null,
  code: 0.5,
  coverage: 0.1,
  interIsland: null,
  population: 1,
  evalsPerSec: 1,
  failureRate: 0,
  spendUsd: 0,
})

describe('live store', () => {
  const snap = {
    cursor: 'c1.m1.e0',
    range: null,
    evaluations: 2,
    metrics: [metric(1, 2)],
    points: [point(0), point(1)],
    totals: { metrics: 1, points: 2 },
  }

  it('appends batches, ignores replays and keeps the cursor', () => {
    let s = initialLive(snap)
    s = applyLive(
      s,
      {
        type: 'batch',
        cursor: 'c3.m2.e1',
        points: [point(2), point(3)],
        metrics: [metric(2, 4)],
        events: [{ id: 1, type: 'status', payload: {}, t: 0 }],
        run: null,
        more: false,
      },
      100,
    )
    expect(s.points.map((p) => p.evalIndex)).toEqual([0, 1, 2, 3])
    expect(s.metrics.map((m) => m.id)).toEqual([1, 2])
    expect(s).toMatchObject({ cursor: 'c3.m2.e1', received: 2, lastMessageAt: 100 })
    // the same batch again (a reconnect that overlapped) changes nothing but the cursor
    const again = applyLive(
      s,
      {
        type: 'batch',
        cursor: 'c3.m2.e1',
        points: [point(3)],
        metrics: [metric(2, 4)],
        events: [{ id: 1, type: 'status', payload: {}, t: 0 }],
        run: null,
        more: false,
      },
      200,
    )
    expect(again.points).toHaveLength(4)
    expect(again.events).toHaveLength(1)
  })

  it('bounds what it holds, and asks for a reload after a reset', () => {
    let s = initialLive(snap)
    const many = Array.from({ length: 5000 }, (_, i) => point(i + 2, i % 2))
    s = applyLive(s, { type: 'batch', cursor: 'x', points: many, metrics: [], events: [], run: null, more: false }, 1, {
      metricCounts: 100,
      pointsPerIsland: 300,
      events: 10,
    })
    expect(s.points.length).toBeLessThan(700)
    expect(s.points[s.points.length - 1]!.evalIndex).toBe(5001)
    expect(s.received).toBe(5000)
    const r = applyLive(s, { type: 'reset', cursor: 'c9.m9.e9', run: null }, 2)
    expect(r).toMatchObject({ needsReload: true, cursor: 'c9.m9.e9' })
    expect(applyLive(r, { type: 'heartbeat', cursor: 'c9.m9.e9', at: 5 }, 3).lastMessageAt).toBe(3)
  })
})

describe('who drives the run, for the header', () => {
  const lease = { owner: 'vm:41', until: 2_000 }
  it('is the live head’s answer once it came, the holding lease until then', () => {
    expect(drivenByNow({ drivenBy: 'vm:42' }, lease, 1_000)).toBe('vm:42')
    expect(drivenByNow({ drivenBy: null }, lease, 1_000)).toBeNull()
    expect(drivenByNow(null, lease, 1_000)).toBe('vm:41')
    expect(drivenByNow({}, lease, 1_000)).toBe('vm:41')
    // an expired lease (a finished run, a dead engine) drives nothing
    expect(drivenByNow(null, lease, 3_000)).toBeNull()
    expect(drivenByNow(null, null)).toBeNull()
  })
})

describe('an active run without an engine', () => {
  const since = { createdAt: 0, leaseUntil: null }
  it('is said once the grace has passed, for active runs no engine drives', () => {
    expect(engineMissing('created', null, since, ENGINE_GRACE_MS - 1)).toBe(false)
    expect(engineMissing('created', null, since, ENGINE_GRACE_MS + 1)).toBe(true)
    expect(engineMissing('evolving', 'vm:1', since, ENGINE_GRACE_MS * 10)).toBe(false)
    expect(engineMissing('paused', null, since, ENGINE_GRACE_MS * 10)).toBe(false)
    // an engine that stopped: counted from the end of its lease
    expect(engineMissing('evolving', null, { createdAt: 0, leaseUntil: 100_000 }, 100_000 + ENGINE_GRACE_MS - 1)).toBe(
      false,
    )
  })
})
