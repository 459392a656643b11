import { describe, expect, it } from 'vitest'
import { normalizeEvaluatorObject, parseJsonLenient } from '../../workers/result.ts'
import { clipReason, fitnessStats, improvement, noScoreReason, scoreFromMetrics } from './fitness.ts'

describe('fitness', () => {
  it('reads the primary metric, null when invalid, missing or non-finite', () => {
    const spec = { primaryMetric: 'score', direction: 'max' as const }
    expect(scoreFromMetrics({ score: 3 }, spec)).toBe(3)
    expect(scoreFromMetrics({ score: 3 }, spec, false)).toBeNull()
    expect(scoreFromMetrics({ other: 3 }, spec)).toBeNull()
    expect(scoreFromMetrics({ score: null }, spec)).toBeNull()
    expect(scoreFromMetrics({ score: Number.NaN }, spec)).toBeNull()
  })

  it('says why a valid result has no score: the metric missing (and what was reported) or not finite', () => {
    expect(noScoreReason({ costs: 1, time: 2 }, 'cost')).toBe(
      'the evaluator reported no "cost" metric (it reported costs, time)',
    )
    expect(noScoreReason({}, 'cost')).toBe('the evaluator reported no "cost" metric (it reported no metrics)')
    expect(noScoreReason({ cost: null }, 'cost')).toBe(
      'the evaluator\'s "cost" is null, not a finite number (a NaN or an infinity written by JSON.stringify arrives as null too)',
    )
    const many = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`m${i}`, i]))
    expect(noScoreReason(many, 'cost')).toMatch(/it reported m0, m1, .*, m11, … \(15 in all\)\)$/)
  })

  // the worker's artifacts (workers/result.ts) as they reach the engine: what the metrics alone cannot say
  const reasonFor = (line: string, primaryMetric: string) => {
    const r = normalizeEvaluatorObject(parseJsonLenient(line) as Record<string, unknown>, { primaryMetric })
    expect(scoreFromMetrics(r.metrics, { primaryMetric, direction: 'min' }, r.valid)).toBeNull()
    return noScoreReason(r.metrics, primaryMetric, r.artifacts)
  }

  it('a metric that is a string, or NaN, says so', () => {
    expect(reasonFor('{"valid": true, "metrics": {"loss": "0.5"}}', 'loss')).toBe(
      'the evaluator\'s "loss" is a string ("0.5"), not a number: metrics must be numbers (true and false count as 1 and 0), anything else moves to the artifacts (here "metric:loss")',
    )
    expect(reasonFor('{"valid": true, "metrics": {"loss": [0.5]}}', 'loss')).toMatch(/"loss" is an array \(\[0\.5\]\)/)
    expect(reasonFor('{"valid": true, "metrics": {"loss": NaN, "t": 1}}', 'loss')).toBe(
      'the evaluator\'s "loss" is NaN, not a finite number (metrics must be finite numbers)',
    )
    expect(reasonFor('{"valid": true, "metrics": {"loss": -Infinity}}', 'loss')).toMatch(
      /"loss" is -Infinity, not a finite/,
    )
  })

  it('a missing metric counts what the evaluator reported, not what was kept, and names the bound', () => {
    const metrics = Object.fromEntries(
      Array.from({ length: 251 }, (_, i) => [`instance_${String(i).padStart(3, '0')}`, i]),
    )
    expect(reasonFor(JSON.stringify({ valid: true, metrics }), 'loss')).toBe(
      'the evaluator reported no "loss" metric (it reported instance_000, instance_001, instance_002, instance_003, instance_004, instance_005, instance_006, instance_007, instance_008, instance_009, instance_010, instance_011, … (251 in all; a result keeps at most 200))',
    )
    // reported past the bound, it is kept and scores
    const kept = normalizeEvaluatorObject({ metrics: { ...metrics, loss: 0.5 } }, { primaryMetric: 'loss' })
    expect(scoreFromMetrics(kept.metrics, { primaryMetric: 'loss', direction: 'min' })).toBe(0.5)
  })

  it('clips a reason at a line boundary, keeping the exception at the end of a traceback', () => {
    const traceback = [
      'Traceback (most recent call last):',
      '  File "/work/evaluator.py", line 12, in <module>',
      '    spec.loader.exec_module(m)',
      '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
      '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
      ...Array.from({ length: 8 }, (_, i) => `  File "/work/candidate.py", line ${i + 1}, in f${i}`),
      "ModuleNotFoundError: No module named 'scipy'",
    ].join('\n')
    const c = clipReason(traceback, 300)
    expect(c.length).toBeLessThanOrEqual(300)
    expect(c.endsWith("ModuleNotFoundError: No module named 'scipy'")).toBe(true)
    expect(c.startsWith('…\n  File ')).toBe(true)
    for (const line of c.split('\n').slice(1)) expect(traceback.split('\n')).toContain(line)
    // one long line: its start, cut at a word
    const words = 'the evaluator could not import the candidate because '.repeat(10)
    const w = clipReason(words, 100)
    expect(w.length).toBeLessThanOrEqual(100)
    expect(w).toMatch(/ (the|evaluator|could|not|import|candidate|because)…$/)
    expect(clipReason('  short  ', 300)).toBe('short')
    // other text with several lines keeps its first lines, whole
    const report = Array.from({ length: 20 }, (_, i) => `case ${i}: wrong answer`).join('\n')
    expect(clipReason(report, 60)).toBe('case 0: wrong answer\ncase 1: wrong answer\n…')
    // a traceback whose exception line alone is longer than the room: the line's end
    const long = clipReason(`Traceback (most recent call last):\nValueError: ${'x '.repeat(400)}end`, 100)
    expect(long.length).toBeLessThanOrEqual(100)
    expect(long.endsWith('x end')).toBe(true)
  })

  it('falls back to the mean of numeric metrics for combined_score (OpenEvolve)', () => {
    const spec = { primaryMetric: 'combined_score', direction: 'max' as const }
    expect(scoreFromMetrics({ a: 1, b: 3, c: null }, spec)).toBe(2)
    expect(scoreFromMetrics({ combined_score: 0.5, a: 1 }, spec)).toBe(0.5)
  })

  it('improvement is signed relative gain in either direction', () => {
    expect(improvement(11, 10, 'max')).toBeCloseTo(0.1)
    expect(improvement(9, 10, 'min')).toBeCloseTo(0.1)
    expect(improvement(11, 10, 'min')).toBeCloseTo(-0.1)
    expect(improvement(null, 10, 'max')).toBe(-1)
    expect(improvement(1, null, 'max')).toBe(1)
  })

  it('stats: best follows direction, median of valid scores', () => {
    const s = fitnessStats([1, 5, null, 3, 2], 'min')
    expect(s).toMatchObject({ count: 5, valid: 4, best: 1, worst: 5, median: 2.5 })
    expect(s.mean).toBeCloseTo(2.75)
    expect(fitnessStats([null], 'max').best).toBeNull()
  })
})
