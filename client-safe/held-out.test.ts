import { describe, expect, it } from 'vitest'
import { gapText, heldOutScored, overfitRule } from './held-out.ts'

describe('held-out verdicts in words', () => {
  it('states the rule in force', () => {
    expect(overfitRule(0.1, true)).toBe('overfit when a candidate keeps less than 90% of its gain over the seed')
    expect(overfitRule(0.05, false)).toBe('overfit when worse than its search score by more than 5%')
    expect(overfitRule(0.001, true)).toBe('overfit when a candidate keeps less than 99.9% of its gain over the seed')
    expect(overfitRule(0.001, false)).toBe('overfit when worse than its search score by more than 0.1%')
  })
  it('reads a gap by what it is a share of', () => {
    expect(gapText(0.25, 'improvement')).toBe('keeps 75% of its gain')
    expect(gapText(-0.1, 'improvement')).toBe('keeps 110% of its gain')
    expect(gapText(0.123, 'score')).toBe('12.3% worse')
    expect(gapText(-0.05, 'score')).toBe('5% better')
    expect(gapText(null, null)).toBe('–')
  })
  it('takes only a valid evaluated score as usable', () => {
    expect(heldOutScored({ status: 'evaluated', valid: true, score: 1 })).toBe(true)
    expect(heldOutScored({ status: 'evaluated', valid: false, score: null })).toBe(false)
    expect(heldOutScored({ status: 'queued' })).toBe(false)
    expect(heldOutScored(null)).toBe(false)
  })
})
