import { describe, expect, it } from 'vitest'
import { pipelineVerdict } from './pipeline.ts'
import type { MetricPoint } from './types.ts'
import { recentBusy, workersLine } from './workers-load.ts'

/** A run-level metric row a second apart, as the engine writes them. */
function row(i: number, o: Partial<MetricPoint> = {}): MetricPoint {
  return {
    id: i,
    island: -1,
    evalCount: i * 100,
    t: 1_000_000 + i * 1000,
    best: 1,
    mean: null,
    median: null,
    code: null,
    coverage: null,
    interIsland: null,
    population: 40,
    evalsPerSec: 100,
    failureRate: 0,
    spendUsd: 0,
    requests: 1,
    waiting: 9,
    busy: 1.98,
    capacity: 2,
    requestLimit: 4,
    ...o,
  }
}

describe('workers panel load', () => {
  it('says how busy a live run kept its workers, as the pipeline panel does, where the instant count reads 0', () => {
    // evaluations of ~10 ms: the workers' heartbeat almost never catches one running
    const metrics = [
      row(0, { busy: 0.5 }),
      ...Array.from({ length: 8 }, (_, i) => row(i + 1)),
      row(9, { island: 0, busy: null }),
    ]
    const recent = recentBusy(metrics)!
    expect(recent.busy).toBeCloseTo(1.98)
    expect(recent).toMatchObject({ capacity: 2, seconds: 5 })
    const line = workersLine({ online: 1, running: 0 }, 2, recent)
    expect(line).toBe('1 online · busy 99% of the last 5 s (2.0 of 2 evaluations running on average) · capacity 2')
    expect(pipelineVerdict(metrics)!.text).toContain('busy 99% of the time')
  })

  it('names the instant count for what it is when there is no live run to average', () => {
    expect(workersLine({ online: 1, running: 0 }, 2, null)).toBe(
      '1 online · 0 evaluations running at this instant · capacity 2',
    )
    expect(workersLine({ online: 2, running: 1 }, null, null)).toBe(
      '2 online · 1 evaluation running at this instant · capacity –',
    )
    // no pipeline figures yet, or no worker capacity: nothing to average
    expect(recentBusy([])).toBeNull()
    expect(recentBusy([row(1, { requests: null })])).toBeNull()
    expect(recentBusy([row(1, { capacity: 0 })])).toBeNull()
    // a single row: the interval it closes is the last second
    expect(workersLine({ online: 1, running: 0 }, 2, recentBusy([row(1, { busy: 1 })]))).toBe(
      '1 online · busy 50% of the last second (1.0 of 2 evaluations running on average) · capacity 2',
    )
  })
})
