import { describe, expect, it } from 'vitest'
import { noWorkerOnline, pipelineRows, pipelineVerdict } from './pipeline.ts'
import type { MetricPoint } from './types.ts'

const at = (i: number, p: Partial<MetricPoint>, island = -1): MetricPoint => ({
  id: i,
  island,
  evalCount: i * 10,
  t: 1000 * i,
  best: null,
  mean: null,
  median: null,
  code: null,
  coverage: null,
  interIsland: null,
  population: 0,
  evalsPerSec: 0,
  failureRate: 0,
  spendUsd: 0,
  ...p,
})

describe('pipelineRows', () => {
  it('keeps the run rows that carry the pipeline, on the chosen axis and range', () => {
    const m = [
      at(1, { requests: 3, waiting: 1, busy: 2, capacity: 2 }),
      at(2, { requests: 4 }, 0),
      at(3, { requests: 5, waiting: 0, busy: 1, capacity: 2 }),
      at(4, {}),
    ]
    expect(pipelineRows(m)).toEqual([
      { x: 10, requests: 3, waiting: 1, busy: 2, capacity: 2 },
      { x: 30, requests: 5, waiting: 0, busy: 1, capacity: 2 },
    ])
    expect(pipelineRows(m, { x: 'time', range: { lo: 20, hi: 40 } }).map((r) => r.x)).toEqual([3000])
  })
})

describe('pipelineVerdict', () => {
  it('names the workers when they are busy and candidates wait', () => {
    const v = pipelineVerdict([at(1, { requests: 1, waiting: 3, busy: 1.95, capacity: 2, requestLimit: 16 })])
    expect(v?.limit).toBe('workers')
    expect(v?.text).toMatch(/busy 98%/)
  })
  it('names the model when requests fill their limit and workers idle', () => {
    const v = pipelineVerdict([at(1, { requests: 15.5, waiting: 0, busy: 0.4, capacity: 2, requestLimit: 16 })])
    expect(v?.limit).toBe('model')
    expect(v?.text).toMatch(/15\.5 requests in flight \(limit 16\)/)
  })
  it('says the provider pushes back when the request limit is down from the configured one', () => {
    const rows = [at(1, { requests: 1, waiting: 0, busy: 0, capacity: 2, requestLimit: 1 })]
    const v = pipelineVerdict(rows, 5, false, 16)
    expect(v?.limit).toBe('model')
    expect(v?.text).toMatch(/^The provider is pushing back .*down to 1 of 16/)
    expect(v?.text).not.toMatch(/faster model/)
    // at the configured limit, it is the model's speed
    expect(pipelineVerdict(rows, 5, false, 1)?.text).toMatch(/A faster model or a higher request limit/)
  })
  it('on an offline run, speaks of the operators and their proposals, not of a model', () => {
    const v = pipelineVerdict([at(1, { requests: 2, waiting: 0, busy: 1, capacity: 2, requestLimit: 16 })], 5, true)
    expect(v?.text).toBe('Operators and workers keep pace: 2.0 proposals in flight, workers busy 50% of the time.')
    const full = pipelineVerdict([at(1, { requests: 16, waiting: 0, busy: 1, capacity: 2, requestLimit: 16 })], 5, true)
    expect(full?.text).toMatch(/^The offline operators limit this run: 16\.0 proposals in flight \(limit 16\)/)
    expect(full?.text).not.toMatch(/model/)
  })
  it('says when no worker is there to take the jobs', () => {
    expect(pipelineVerdict([at(1, { requests: 2, waiting: 2, busy: 0, capacity: 0, requestLimit: 16 })])?.limit).toBe(
      'no-workers',
    )
  })
  it('says nothing before the first pipeline figures', () => {
    expect(pipelineVerdict([at(1, {})])).toBeNull()
    expect(pipelineVerdict([at(1, { requests: 2, waiting: 0, busy: 1, capacity: 2, requestLimit: 16 })])?.limit).toBe(
      'balanced',
    )
  })
})

describe('noWorkerOnline', () => {
  it('an active run, cold start included, with no worker online where workers are known', () => {
    const none = { source: 'queue' as const, summary: { online: 0 } }
    expect(noWorkerOnline('cold-start', none)).toBe(true)
    expect(noWorkerOnline('evolving', none)).toBe(true)
    expect(noWorkerOnline('evolving', { ...none, summary: { online: 1 } })).toBe(false)
    expect(noWorkerOnline('paused', none)).toBe(false)
    // a web-only process has no workers to count
    expect(noWorkerOnline('evolving', { source: 'none', summary: { online: 0 } })).toBe(false)
    expect(noWorkerOnline('evolving', undefined)).toBe(false)
  })
})
