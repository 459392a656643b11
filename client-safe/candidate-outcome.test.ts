import { describe, expect, it } from 'vitest'
import { codeView, evaluatorFeedback, failureReason, oneLine } from './candidate-outcome.ts'

const invalid = {
  status: 'evaluated',
  valid: false,
  error: null,
  artifacts: { feedback: "NameError: name 'offset' is not defined" },
  rejectReason: null,
}

describe('failureReason', () => {
  it("an invalid result: the evaluator's feedback when there is no error, not 'no reason'", () => {
    expect(failureReason(invalid)).toBe("NameError: name 'offset' is not defined")
  })

  it('an error comes first, with its kind', () => {
    expect(failureReason({ ...invalid, error: { kind: 'timeout', message: 'ran past 10 s' } })).toBe(
      'timeout: ran past 10 s',
    )
    expect(failureReason({ ...invalid, error: { kind: 'invalid', message: 'no metrics' } })).toBe('no metrics')
  })

  it('an invalid result with neither says where to look', () => {
    expect(failureReason({ ...invalid, artifacts: { feedback: '  ' } })).toBe(
      'the evaluator gave no reason (see its artifacts)',
    )
    expect(failureReason({ ...invalid, artifacts: null })).toBe('the evaluator gave no reason (see its artifacts)')
  })

  it('a rejection: its reason; a valid or unfinished one: none', () => {
    const rejected = { ...invalid, status: 'rejected', valid: null, artifacts: null, rejectReason: 'duplicate' }
    expect(failureReason(rejected)).toBe('duplicate')
    expect(failureReason({ ...rejected, rejectReason: null })).toBe('no reason was recorded')
    expect(failureReason({ ...invalid, valid: true })).toBeNull()
    expect(failureReason({ ...invalid, status: 'running', valid: null })).toBeNull()
  })

  it('evaluatorFeedback: a non-empty string only', () => {
    expect(evaluatorFeedback({ artifacts: { feedback: 3 } })).toBeNull()
    expect(evaluatorFeedback({ artifacts: { feedback: 'ok' } })).toBe('ok')
  })
})

describe('oneLine', () => {
  it('the first non-empty line, marked when more was left out', () => {
    expect(oneLine('short')).toBe('short')
    expect(oneLine('\nTraceback (most recent call last):\n  File "x"')).toBe('Traceback (most recent call last): …')
    expect(oneLine('abcdef', 3)).toBe('abc …')
  })
})

describe('codeView', () => {
  it('a candidate without a program has no diff: none, with why, whatever was asked', () => {
    const rejected = { status: 'rejected', code: '' }
    for (const asked of ['diff', 'code'] as const)
      expect(codeView(rejected, 'x = 1\n', asked)).toEqual({
        show: 'none',
        words: 'No program was made: it was rejected before evaluation.',
      })
    expect(codeView({ status: 'evaluated', code: '' }, null, 'code')).toEqual({
      show: 'none',
      words: 'No code was kept for this candidate.',
    })
  })

  it('a program: its diff when asked and a parent has code, else the code', () => {
    // a duplicate or a run that ended first is rejected with its program: that one still diffs
    const dup = { status: 'rejected', code: 'x = 2\n' }
    expect(codeView(dup, 'x = 1\n', 'diff')).toEqual({ show: 'diff' })
    expect(codeView(dup, null, 'diff')).toEqual({ show: 'code' })
    expect(codeView(dup, 'x = 1\n', 'code')).toEqual({ show: 'code' })
  })
})
