import { describe, expect, it } from 'vitest'
import { ProblemSpec } from '../contracts/problem.ts'
import { closestKey, describeIssues, editDistance, MAX_ISSUES, relevantIssues, unknownKeys } from './spec-issues.ts'

const base = {
  id: 'p',
  name: 'P',
  language: 'python',
  entry: 'seed.py',
  evaluator: 'eval.py',
  direction: 'max',
  primaryMetric: 'score',
}

describe('closestKey', () => {
  it('suggests a near key, ignoring case, and nothing for a word that is not close', () => {
    expect(editDistance('refrence', 'reference')).toBe(1)
    expect(editDistance('heldout', 'heldOut')).toBe(0)
    expect(closestKey('limit', ['limits', 'language'])).toBe('limits')
    expect(closestKey('heldout', ['heldOut', 'judge'])).toBe('heldOut')
    expect(closestKey('primary_metric', ['primaryMetric'])).toBe('primaryMetric')
    expect(closestKey('colour', ['limits', 'reference'])).toBeUndefined()
    expect(closestKey('ab', ['id'])).toBeUndefined()
  })
})

describe('unknownKeys', () => {
  it('names unknown keys at the top level and inside known objects, arrays and unions, with suggestions', () => {
    const raw = {
      ...base,
      limit: { timeoutS: 1 },
      refrence: {},
      heldout: {},
      somethingNew: true,
      limits: { timeoutS: 5, memoryMB: 512 },
      features: ['a', { name: 'b', bin: 4 }],
      cascade: [{ command: 'x', treshold: 1 }],
      reference: { value: 1, source: 's', others: [{ label: 'l', value: 2, note: 'n' }] },
      // records are free-form: their keys are not checked
      evaluatorArgs: { anything: 1 },
      sharedValues: { n: 3 },
    }
    expect(unknownKeys(ProblemSpec, raw)).toEqual([
      { path: 'limit', suggestion: 'limits' },
      { path: 'refrence', suggestion: 'reference' },
      { path: 'heldout', suggestion: 'heldOut' },
      { path: 'somethingNew', suggestion: undefined },
      { path: 'limits.memoryMB', suggestion: 'memoryMb' },
      { path: 'features.1.bin', suggestion: 'bins' },
      { path: 'cascade.0.treshold', suggestion: 'threshold' },
      { path: 'reference.others.0.note', suggestion: undefined },
    ])
    // the schema still parses it: unknown keys are reported, not refused
    expect(ProblemSpec.safeParse(raw).success).toBe(true)
    expect(unknownKeys(ProblemSpec, base)).toEqual([])
    expect(unknownKeys(ProblemSpec, 'not an object')).toEqual([])
  })

  it('leaves strict objects to the parser, whose issue then carries the suggestion', () => {
    const raw = { ...base, heldOut: { topk: 3 } }
    expect(unknownKeys(ProblemSpec, raw)).toEqual([])
    const parsed = ProblemSpec.safeParse(raw)
    expect(parsed.success).toBe(false)
    expect(describeIssues(parsed.error!, ProblemSpec, raw)).toEqual([
      'heldOut: unknown key "topk" (did you mean "topK"?)',
    ])
  })
})

describe('describeIssues', () => {
  it('lists every issue with its path, up to MAX_ISSUES', () => {
    // a string where an array of at most 4 goes: one issue (its type), not also "too big"
    const raw = { ...base, direction: 'up', limits: { timeoutS: '5' }, features: 'abcdef' }
    const parsed = ProblemSpec.safeParse(raw)
    const lines = describeIssues(parsed.error!, ProblemSpec, raw)
    expect(lines).toHaveLength(3)
    expect(lines.map((l) => l.split(':')[0])).toEqual(
      expect.arrayContaining(['direction', 'limits.timeoutS', 'features']),
    )
    const many = ProblemSpec.safeParse({ tags: Array.from({ length: 15 }, () => 5) })
    const bounded = describeIssues(many.error!)
    const total = relevantIssues(many.error!).length
    expect(total).toBeGreaterThan(MAX_ISSUES)
    expect(bounded).toHaveLength(MAX_ISSUES + 1)
    expect(bounded.at(-1)).toBe(`… and ${total - MAX_ISSUES} more`)
  })
})
