// The pure result helpers: result line, lenient JSON, artifact bounds, failure classification.
import { describe, expect, it } from 'vitest'
import {
  boundArtifacts,
  classifyExit,
  findResultLine,
  jsonTextBounded,
  limitNesting,
  MAX_ARTIFACT_CHARS,
  MAX_ARTIFACT_DEPTH,
  MAX_ARTIFACTS_TOTAL_CHARS,
  MAX_METRICS,
  MAX_RESULT_BYTES,
  NO_REASON_FEEDBACK,
  nonFiniteMembers,
  normalizeEvaluatorObject,
  parseJsonLenient,
  passesThreshold,
  resultArtifacts,
  resultFileTooBig,
  resultLineTooBig,
} from './result.ts'

const ctx = { timeoutS: 10, cpuS: 10, memoryMb: 512, stderrTail: '' }
const exit = (o: Partial<Parameters<typeof classifyExit>[0]>) => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  cpuMs: 0,
  ...o,
})

describe('findResultLine', () => {
  it('takes the last line that parses as a JSON object and keeps the rest', () => {
    const out = 'start\n{"valid": false}\nnoise {not json}\n{"valid": true, "metrics": {"a": 1}}\n[1, 2]\ntrailing\n'
    const r = findResultLine(out)
    expect(r.result).toEqual({ valid: true, metrics: { a: 1 } })
    expect(r.rest).toBe('start\n{"valid": false}\nnoise {not json}\n[1, 2]\ntrailing\n')
  })
  it('none: null and the whole output', () => {
    expect(findResultLine('a\nb\n')).toEqual({ result: null, rest: 'a\nb\n' })
  })
  it("accepts Python's NaN and Infinity, outside strings only", () => {
    expect(parseJsonLenient('{"a": NaN, "b": -Infinity, "c": "NaN stays", "d": Infinity}')).toEqual({
      a: null,
      b: null,
      c: 'NaN stays',
      d: null,
    })
    expect(() => parseJsonLenient('{"a": nan}')).toThrow()
  })
  it('remembers which member was NaN or infinite, per object, and never a string that says so', () => {
    const v = parseJsonLenient(
      '{"metrics": {"loss": NaN, "up": Infinity, "down": -Infinity, "n": null, "s": "NaN"}, "list": [NaN]}',
    ) as { metrics: object; list: unknown[] }
    expect(nonFiniteMembers(v.metrics)).toEqual({ loss: 'NaN', up: 'Infinity', down: '-Infinity' })
    expect(nonFiniteMembers(v.list)).toEqual({ 0: 'NaN' })
    expect(nonFiniteMembers(v)).toEqual({})
    // an evaluator's string shaped like the marker stays a string: the marker is fresh per parse
    const w = parseJsonLenient('{"a": NaN, "b": "\\u0000x:NaN"}') as Record<string, unknown>
    expect(w.b).toBe('\u0000x:NaN')
    expect(nonFiniteMembers(w)).toEqual({ a: 'NaN' })
  })
})

describe('normalizeEvaluatorObject', () => {
  it('numbers stay metrics, booleans become 0/1, the rest moves to artifacts; valid defaults to true', () => {
    const r = normalizeEvaluatorObject({
      metrics: { a: 1.5, ok: true, name: 'x', n: null },
      features: { f: 2, g: [1] },
      artifacts: { feedback: 'hi' },
    })
    expect(r).toEqual({
      valid: true,
      metrics: { a: 1.5, ok: 1, n: null },
      features: { f: 2 },
      artifacts: { feedback: 'hi', 'metric:name': 'x', 'feature:g': [1] },
    })
    expect(normalizeEvaluatorObject({ valid: false }).valid).toBe(false)
  })

  const many = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`instance_${String(i).padStart(3, '0')}`, i]))

  it('past the metric bound the primary metric is kept, the rest left out with a note that counts them', () => {
    const metrics = { ...many(250), loss: 0.5 }
    const r = normalizeEvaluatorObject({ valid: true, metrics }, { primaryMetric: 'loss' })
    expect(r.metrics.loss).toBe(0.5)
    expect(Object.keys(r.metrics)).toHaveLength(MAX_METRICS)
    expect(r.metrics.instance_198).toBe(198)
    expect(r.metrics.instance_199).toBeUndefined()
    expect(r.artifacts.metrics_dropped).toBe(
      '51 of 251 metrics left out: a result keeps at most 200 metrics ("loss" always); report fewer, or the rest as one artifact',
    )
    // without a primary metric to keep, the evaluator's order decides (what the tester saw)
    expect(normalizeEvaluatorObject({ metrics }).metrics.loss).toBeUndefined()
    // at the bound nothing is left out and nothing is said
    const exact = normalizeEvaluatorObject({ metrics: many(200) }, { primaryMetric: 'loss' })
    expect(Object.keys(exact.metrics)).toHaveLength(200)
    expect(exact.artifacts.metrics_dropped).toBeUndefined()
  })

  it('declared features are kept past their bound too', () => {
    const r = normalizeEvaluatorObject({ features: { ...many(300), size: 3 } }, { features: ['size', 'absent'] })
    expect(r.features.size).toBe(3)
    expect(Object.keys(r.features)).toHaveLength(MAX_METRICS)
    expect(r.artifacts.features_dropped).toMatch(/^101 of 301 features left out: .*\("size", "absent" always\)/)
  })

  it('a string primary metric is the first artifact; NaN and infinities are named', () => {
    const arts = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`a${i}`, i]))
    const r = normalizeEvaluatorObject({ metrics: { loss: '0.5' }, artifacts: arts }, { primaryMetric: 'loss' })
    expect(r.metrics).toEqual({})
    expect(Object.keys(r.artifacts)[0]).toBe('metric:loss')
    expect(boundArtifacts(r.artifacts)['metric:loss']).toBe('0.5')
    const nan = normalizeEvaluatorObject(
      parseJsonLenient('{"metrics": {"loss": NaN, "big": 1e999, "ok": 1, "none": null}}') as Record<string, unknown>,
    )
    expect(nan.metrics).toEqual({ loss: null, big: null, ok: 1, none: null })
    expect(nan.artifacts.metrics_not_finite).toEqual({ loss: 'NaN', big: 'Infinity' })
  })

  it('"valid": false without a reason gets one that says how to give it; a reason given stays', () => {
    expect(normalizeEvaluatorObject({ valid: false }).artifacts.feedback).toBe(NO_REASON_FEEDBACK)
    expect(NO_REASON_FEEDBACK).toMatch(/"valid": false without a reason \(add "feedback" .*"error"/)
    expect(normalizeEvaluatorObject({ valid: false, artifacts: { feedback: '' } }).artifacts.feedback).toBe(
      NO_REASON_FEEDBACK,
    )
    expect(normalizeEvaluatorObject({ valid: false, error: 'too slow' }).artifacts.feedback).toBe('too slow')
    expect(normalizeEvaluatorObject({ valid: false, artifacts: { feedback: 'wrong' } }).artifacts.feedback).toBe(
      'wrong',
    )
    expect(normalizeEvaluatorObject({ valid: true }).artifacts.feedback).toBeUndefined()
  })

  it('a wrong kind of valid, metrics or features is malformed, and invalid', () => {
    const r = normalizeEvaluatorObject({ valid: 'yes', metrics: [1, 2] })
    expect(r.valid).toBe(false)
    expect(r.malformed).toBe(
      'the evaluator\'s result is malformed: "valid" is a string ("yes"): it must be true or false; "metrics" is an array ([1,2]): it must be an object of numbers, {"name": number, …}',
    )
    // 0 had read as valid
    expect(normalizeEvaluatorObject({ valid: 0 }).malformed).toMatch(/"valid" is a number \(0\)/)
    expect(normalizeEvaluatorObject({ features: 'big' }).malformed).toMatch(/"features" is a string \("big"\)/)
    // absent or null metrics are no metrics, not a wrong kind
    expect(normalizeEvaluatorObject({ valid: true, metrics: null }).malformed).toBeUndefined()
    expect(normalizeEvaluatorObject({}).malformed).toBeUndefined()
  })
})

describe('result size', () => {
  it('a result line or file over the bound says its size, the bound, and what to do', () => {
    expect(MAX_RESULT_BYTES).toBe(8 * 1024 * 1024)
    expect(resultLineTooBig({ bytes: 9_437_300 })).toBe(
      "the evaluator's result line is 9,437,300 bytes, over the 8 MiB (8,388,608 bytes) a result line may have, so it was not read: keep it small: a result keeps at most 200 metrics and its artifacts are cut to 16,000 characters each (96,000 in all) anyway, so report a summary (totals, a sample) rather than the raw data",
    )
    expect(resultLineTooBig({ bytes: 60_000_000 }, 'evaluate.py')).toMatch(
      /^evaluate\.py's result line is 60,000,000 bytes, over/,
    )
    expect(resultFileTooBig(9_000_000)).toMatch(/^\$FM_RESULT_FILE holds 9,000,000 bytes, over the 8 MiB/)
  })
})

describe('boundArtifacts', () => {
  it('bounds each artifact and the total; output tails keep their end', () => {
    const big = 'a'.repeat(50_000) + 'END'
    const r = boundArtifacts({ stdout: big, feedback: 'b'.repeat(50_000), obj: { x: 'c'.repeat(50_000) }, small: 1 })
    expect(String(r.stdout).endsWith('END')).toBe(true)
    expect(String(r.stdout).length).toBeLessThanOrEqual(8_000)
    expect(String(r.feedback).length).toBeLessThanOrEqual(16_000)
    expect(typeof r.obj).toBe('string')
    expect(r.small).toBe(1)
    const many = boundArtifacts(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'z'.repeat(15_000)])))
    const total = Object.values(many).reduce<number>((n, v) => n + String(v).length, 0)
    expect(total).toBeLessThanOrEqual(MAX_ARTIFACTS_TOTAL_CHARS + 500)
    expect(many.artifacts_dropped).toMatch(/left out/)
  })
})

describe('deeply nested results', () => {
  const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth)
  const deep = nested(10_000)

  it('a 10,000-level artifact keeps the score and the rest of the result; the artifact is bounded text with a note', () => {
    // as the worker reads it: the result line, normalized, its artifacts bounded (runner.ts interpret, finish)
    const line = `{"valid": true, "metrics": {"score": 7, "deepmetric": ${nested(9_000)}}, "artifacts": {"deep": ${deep}, "deepobj": ${'{"a":'.repeat(9_000)}1${'}'.repeat(9_000)}, "feedback": "fine", "shallow": [[1, 2], {"b": [3]}]}}`
    const { result } = findResultLine(`noise\n${line}\n`)
    expect(result).not.toBeNull()
    const n = normalizeEvaluatorObject(result!, { primaryMetric: 'score' })
    expect(n.valid).toBe(true)
    expect(n.metrics).toEqual({ score: 7 })
    const { artifacts } = resultArtifacts(n.artifacts)
    expect(artifacts.feedback).toBe('fine')
    expect(artifacts.shallow).toEqual([[1, 2], { b: [3] }])
    for (const key of ['deep', 'deepobj', 'metric:deepmetric']) {
      const text = artifacts[key] as string
      expect(typeof text, key).toBe('string')
      expect(text.length, key).toBeLessThanOrEqual(MAX_ARTIFACT_CHARS)
      expect(text.endsWith('…'), key).toBe(true)
    }
    expect((artifacts.deep as string).startsWith('[[[[')).toBe(true)
    expect(artifacts.artifacts_too_deep).toMatch(/"deep", "deepobj", "metric:deepmetric" nested deeper than 64 levels/)
    // what the worker sends and the server stores is ordinary JSON again
    expect(JSON.parse(JSON.stringify(artifacts))).toEqual(artifacts)
  })

  it('a deep artifact whose text fits is kept whole as text; one at the depth bound stays data', () => {
    const r = boundArtifacts({
      over: JSON.parse(nested(MAX_ARTIFACT_DEPTH + 1)),
      at: JSON.parse(nested(MAX_ARTIFACT_DEPTH)),
    })
    expect(r.over).toBe(nested(MAX_ARTIFACT_DEPTH + 1))
    expect(r.at).toEqual(JSON.parse(nested(MAX_ARTIFACT_DEPTH)))
    expect(r.artifacts_too_deep).toMatch(/^"over" nested/)
  })

  it("reads a deep result that also holds Python's NaN, and a deep malformed member is described, not thrown", () => {
    const v = parseJsonLenient(
      `{"metrics": {"score": NaN, "x": 2}, "artifacts": {"deep": ${nested(10_000, 'Infinity')}}}`,
    ) as any
    expect(v.metrics).toEqual({ score: null, x: 2 })
    expect(nonFiniteMembers(v.metrics)).toEqual({ score: 'NaN' })
    let inner = v.artifacts.deep
    for (let i = 0; i < 10_000; i++) inner = inner[0]
    expect(inner).toBeNull()
    const n = normalizeEvaluatorObject({ valid: JSON.parse(deep), metrics: JSON.parse(deep) })
    expect(n.valid).toBe(false)
    expect(n.malformed).toMatch(/"valid" is an array \(\[\[\[\[.*…\): it must be true or false; "metrics" is an array/)
  })

  it('jsonTextBounded and limitNesting: the JSON text of any depth, cut where asked', () => {
    const doc = { a: [1, 'two', null, { b: true }], c: { d: [] }, e: undefined, when: new Date(0) }
    expect(jsonTextBounded(doc, 1_000)).toBe(JSON.stringify(doc))
    expect(jsonTextBounded(JSON.parse(deep), 10)).toBe('[[[[[[[[[…')
    const proto = JSON.parse('{"__proto__": [[1]], "k": [[[2]]]}')
    const { value, cut } = limitNesting(proto, 2, 100)
    expect(cut).toBe(2)
    expect(Object.keys(value as object)).toEqual(['__proto__', 'k'])
    expect(JSON.stringify(value)).toBe('{"__proto__":["[1]"],"k":["[[2]]"]}')
    expect(limitNesting(proto, 3, 100).cut).toBe(1)
  })
})

describe('classifyExit', () => {
  it('ok, timeout, CPU limit, memory in several languages, crash, infra', () => {
    expect(classifyExit(exit({}), ctx)).toBeNull()
    expect(classifyExit(exit({ timedOut: true, exitCode: null, signal: 'SIGKILL' }), ctx)?.kind).toBe('timeout')
    expect(classifyExit(exit({ exitCode: null, signal: 'SIGXCPU' }), ctx)?.message).toMatch(/CPU-time/)
    expect(classifyExit(exit({ exitCode: null, signal: 'SIGKILL', cpuMs: 10_000 }), ctx)?.kind).toBe('timeout')
    for (const text of [
      'Traceback…\nMemoryError',
      "terminate called after throwing an instance of 'std::bad_alloc'",
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    ]) {
      expect(classifyExit(exit({ exitCode: 1 }), { ...ctx, stderrTail: text })?.kind).toBe('memory')
    }
    expect(classifyExit(exit({ exitCode: 3 }), { ...ctx, stderrTail: 'ValueError: x' })).toEqual({
      kind: 'crash',
      message: 'the evaluator exited with code 3: ValueError: x',
    })
    expect(classifyExit(exit({ exitCode: null, signal: 'SIGSEGV' }), ctx)?.kind).toBe('crash')
    expect(classifyExit(exit({ infra: 'launcher died' }), ctx)).toEqual({ kind: 'infra', message: 'launcher died' })
  })
})

describe('passesThreshold', () => {
  it('follows the direction; a missing value fails; no threshold passes', () => {
    expect(passesThreshold(0.6, 0.5, 'max')).toBe(true)
    expect(passesThreshold(0.4, 0.5, 'max')).toBe(false)
    expect(passesThreshold(4, 5, 'min')).toBe(true)
    expect(passesThreshold(null, 5, 'min')).toBe(false)
    expect(passesThreshold(undefined, undefined, 'max')).toBe(true)
  })
})
