import { describe, expect, it } from 'vitest'
import { ISLAND_MEMBERS, populationWords } from './population.ts'

const base = {
  population: [1],
  populationSavedAt: null,
  populationUnknown: null,
  banned: false,
  status: 'evaluated',
  runStatus: 'evolving',
}
const time = (iso: string) => iso.slice(11, 19)

describe('populationWords', () => {
  it('live: where it is and what that means', () => {
    expect(populationWords(base, time)).toEqual({ value: 'in island 1', note: 'eligible as a parent' })
    expect(populationWords({ ...base, population: [] }, time)).toEqual({
      value: 'not a member',
      note: 'evicted or never admitted',
    })
    expect(populationWords({ ...base, population: [], status: 'pending' }, time).note).toBe('not evaluated yet')
    expect(populationWords({ ...base, population: [], banned: true }, time).note).toBe('banned')
  })

  it('saved: an ended run says the populations are those it ended with', () => {
    const ended = { ...base, population: [0, 2], populationSavedAt: '2026-12-05T01:02:03.000Z', runStatus: 'completed' }
    expect(populationWords(ended, time)).toEqual({
      value: 'in island 0, 2',
      note: 'was eligible as a parent when the run completed',
    })
    expect(populationWords({ ...ended, population: [] }, time).note).toBe(
      'evicted or never admitted when the run completed',
    )
  })

  it("saved: a run driven elsewhere or interrupted says when the engine's save was", () => {
    const elsewhere = { ...base, populationSavedAt: '2026-12-05T01:02:03.000Z', runStatus: 'evolving' }
    expect(populationWords(elsewhere, time).note).toBe("was eligible as a parent at the engine's last save, 01:02:03")
  })

  it('rejected before evaluation: never a member, and why, not "not evaluated yet" (live, saved or unknown)', () => {
    const rejected = {
      ...base,
      population: [],
      status: 'rejected',
      rejectReason: 'answer not applied: no edit found in the answer',
    }
    const said = {
      value: 'never a member',
      note: 'rejected before evaluation: answer not applied: no edit found in the answer',
    }
    expect(populationWords(rejected, time)).toEqual(said)
    const ended = { ...rejected, populationSavedAt: '2026-12-05T01:02:03.000Z', runStatus: 'completed' }
    expect(populationWords(ended, time)).toEqual(said)
    expect(populationWords({ ...ended, population: null, populationUnknown: 'the run is completed' }, time)).toEqual(
      said,
    )
    expect(populationWords({ ...rejected, rejectReason: null }, time).note).toBe(
      'rejected before evaluation: no reason was recorded',
    )
    const long = populationWords({ ...rejected, rejectReason: `${'x'.repeat(300)}\nsecond line` }, time).note
    expect(long).toBe(`rejected before evaluation: ${'x'.repeat(120)} …`)
  })

  it('an ended run promises no evaluation: "not evaluated", without "yet"', () => {
    const pending = { ...base, population: [], status: 'pending', populationSavedAt: '2026-12-05T01:02:03.000Z' }
    expect(populationWords({ ...pending, runStatus: 'completed' }, time).note).toBe(
      'not evaluated when the run completed',
    )
    expect(populationWords({ ...pending, runStatus: 'evolving' }, time).note).toBe(
      "not evaluated yet at the engine's last save, 01:02:03",
    )
  })

  it('nothing saved: unknown, and why', () => {
    expect(
      populationWords(
        { ...base, population: null, populationUnknown: 'the run is completed', runStatus: 'completed' },
        time,
      ),
    ).toEqual({ value: 'unknown', note: 'the run is completed: the engine had saved no populations' })
  })
})

describe('the Islands table’s member count', () => {
  it('is not called a population, and says it holds failed programs and migrant copies too', () => {
    expect(ISLAND_MEMBERS.heading).toBe('members')
    expect(ISLAND_MEMBERS.title).toMatch(/valid ones, failed ones not yet evicted and copies migrated in/)
    expect(ISLAND_MEMBERS.title).toMatch(/more than the run evaluated/)
  })
})
