import { describe, expect, it } from 'vitest'
import { evalsExpiryEstimate, hintExpiry } from './hint-form.ts'
import { decimalNumber } from './run-form.ts'

describe("a hint's expiry", () => {
  it('takes a whole number of evaluations or minutes within the API’s bounds, and none when withdrawn by hand', () => {
    expect(hintExpiry('evals', '100')).toEqual({ expiresAfterEvals: 100, expiresInMinutes: null })
    expect(hintExpiry('minutes', '2.5')).toEqual({ expiresAfterEvals: null, expiresInMinutes: 2.5 })
    expect(hintExpiry('none', 'anything')).toEqual({ expiresAfterEvals: null, expiresInMinutes: null })
  })
  it('says in words what is wrong, before anything is sent', () => {
    for (const bad of ['0', '-5', 'abc', '2.5', '', '1e9', '0x10'])
      expect(hintExpiry('evals', bad)).toEqual({ error: 'a whole number of evaluations, 1 to 10,000,000' })
    for (const bad of ['0.01', '1e9', 'soon'])
      expect(hintExpiry('minutes', bad)).toEqual({ error: 'minutes: 0.1 to 43,200 (30 days)' })
  })
})

describe('evalsExpiryEstimate', () => {
  it("says how long N evaluations last at the run's rate, where a rate is known", () => {
    expect(evalsExpiryEstimate(hintExpiry('evals', '100'), 200)).toBe("≈ 1 s at the run's current 200 evaluations/s")
    expect(evalsExpiryEstimate(hintExpiry('evals', '100'), 0.25)).toBe(
      "≈ 6 min 40 s at the run's current 0.25 evaluations/s",
    )
    expect(evalsExpiryEstimate(hintExpiry('evals', '100'), null)).toBeNull()
    expect(evalsExpiryEstimate(hintExpiry('evals', '100'), 0)).toBeNull()
    expect(evalsExpiryEstimate(hintExpiry('minutes', '5'), 200)).toBeNull()
    expect(evalsExpiryEstimate(hintExpiry('evals', 'abc'), 200)).toBeNull()
  })
})

describe('decimalNumber', () => {
  it('reads numbers as people write them, and nothing else', () => {
    expect([decimalNumber('42'), decimalNumber(' -1.5 '), decimalNumber('.5'), decimalNumber('1e3')]).toEqual([
      42, -1.5, 0.5, 1000,
    ])
    for (const s of ['0x10', '', ' ', '1,000', 'Infinity', '1e999', '12abc']) expect(decimalNumber(s), s).toBeNull()
  })
})
