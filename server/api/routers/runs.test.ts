// The run config's bound at the API: its settings, and apart from them the seed programs a user
// uploads, which have bounds of their own.
import { describe, expect, it } from 'vitest'
import { SEED_PROGRAM_MAX_CHARS } from '../../../client-safe/run-config.ts'
import { CreateRunInput, ForkInput } from './runs.ts'

describe('a run config at the API', () => {
  it('takes seed programs up to their own bounds, beyond the 100 kB the settings may take', () => {
    const programs = [0, 1, 2].map((i) => ({ code: `x = ${i}\n${'#'.repeat(SEED_PROGRAM_MAX_CHARS - 20)}\n` }))
    expect(CreateRunInput.safeParse({ problemId: 'p', config: { seedPrograms: programs } }).success).toBe(true)
    const settings = CreateRunInput.safeParse({ problemId: 'p', config: { name: 'x'.repeat(100_000) } })
    expect(settings.error?.issues[0]?.message).toBe('the run settings are over 100 kB of JSON')
    const many = Array.from({ length: 40 }, () => ({ code: '"'.repeat(SEED_PROGRAM_MAX_CHARS) }))
    const tooMany = ForkInput.safeParse({ runId: 'r', candidateId: 'c', config: { seedPrograms: many } })
    expect(tooMany.error?.issues[0]?.message).toBe('the seed programs are over 2,000,000 characters in all')
  })
})
