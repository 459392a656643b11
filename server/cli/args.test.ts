// The command line's shape: strict options, negative numbers as values, a value given twice.
import { describe, expect, it } from 'vitest'
import { parse, UsageError } from './args.ts'

const OPTIONS = {
  'max-evals': { type: 'string' },
  json: { type: 'boolean' },
  tag: { type: 'string', multiple: true },
} as const

describe('parse', () => {
  it('refuses a value given twice, naming it; a repeated flag or a list option is fine', () => {
    expect(() => parse('run', ['--max-evals', '50', '--max-evals', '12'], OPTIONS)).toThrow(
      new UsageError('run: --max-evals is given twice; give it once'),
    )
    expect(() => parse('run', ['--max-evals=50', '--max-evals', '12'], OPTIONS)).toThrow(/given twice/)
    expect(parse('run', ['--json', '--json', '--tag', 'a', '--tag', 'b'], OPTIONS).values).toEqual({
      json: true,
      tag: ['a', 'b'],
    })
  })

  it('reads a negative number as a value, and refuses an unknown flag', () => {
    expect(parse('run', ['--max-evals', '-5'], OPTIONS).values['max-evals']).toBe('-5')
    expect(() => parse('run', ['--nope'], OPTIONS)).toThrow(UsageError)
  })
})
