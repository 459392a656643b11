import { describe, expect, it } from 'vitest'
import { ago, distinctDigits, duration, fmt, formatNumber, fullNumber } from './format.ts'

describe('number formatting', () => {
  it('fmt: a few significant digits, exponential at the extremes, a dash for nothing', () => {
    expect(fmt(3.14159265)).toBe('3.142')
    expect(fmt(3.14159265, 6)).toBe('3.14159')
    expect(fmt(1200)).toBe('1200')
    expect(fmt(0)).toBe('0')
    expect(fmt(-0.5)).toBe('-0.5')
    expect(fmt(2_500_000)).toBe('2.50e+6')
    expect(fmt(0.000123)).toBe('1.23e-4')
    expect(fmt(null)).toBe('–')
    expect(fmt(undefined)).toBe('–')
    expect(fmt(Number.NaN)).toBe('–')
    expect(fmt(Number.POSITIVE_INFINITY)).toBe('–')
  })

  it('formatNumber: each caller sets its precision and where exponents begin', () => {
    const prompt = { below: 1e-4, atOrAbove: 1e7, digits: 4 }
    expect(formatNumber(0.000123, 8, prompt)).toBe('0.000123')
    expect(formatNumber(0.0000123, 8, prompt)).toBe('1.2300e-5')
    expect(formatNumber(1 / 3, 8, prompt)).toBe('0.33333333')
    expect(formatNumber(12_345_678, 8, prompt)).toBe('1.2346e+7')
    expect(formatNumber(1e-9, 3)).toBe('1e-9')
    expect(formatNumber(0.12345, 3)).toBe('0.123')
  })

  it('fmt: more than four digits asked for are kept in exponential notation too', () => {
    expect(fmt(2_999_939_570_634, 8)).toBe('2.9999396e+12')
    expect(fmt(2_999_939_570_634, 8)).not.toBe(fmt(2_999_940_000_000, 8))
    expect(fmt(2_999_939_570_634, 3)).toBe('3.00e+12')
  })

  it('fullNumber: never fewer digits than the integer part, no fake zeros, no trailing ".0"', () => {
    expect(fullNumber(2_999_939_570_634)).toBe('2999939570634')
    expect(fullNumber(10690)).toBe('10690')
    expect(fullNumber(1234.5678)).toBe('1234.568')
    expect(fullNumber(2.635863)).toBe('2.635863')
    expect(fullNumber(-0.00027368413000017355)).toBe('-0.0002736841')
    expect(fullNumber(0)).toBe('0')
    expect(fullNumber(null)).toBe('–')
    expect(fullNumber(Number.NaN)).toBe('–')
  })

  it('distinctDigits: the fewest digits at which each differing pair reads differently', () => {
    expect(distinctDigits([[1.5, 2.5]])).toBe(3)
    expect(distinctDigits([[2.61707, 2.61712]])).toBe(6)
    const steps: [number, number][] = [
      [2_999_939_404_338, 2_999_939_570_634],
      [2_999_939_570_634, 2_999_940_000_000],
    ]
    const d = distinctDigits(steps)
    for (const [a, b] of steps) expect(fmt(a, d)).not.toBe(fmt(b, d))
    expect(distinctDigits([[1, 1]])).toBe(3)
    expect(distinctDigits([[1, 1 + 1e-12]])).toBe(8)
  })
})

describe('durations', () => {
  it('duration: the two largest units; a dash for a negative or unknown length', () => {
    expect(duration(42.4)).toBe('42 s')
    expect(duration(192)).toBe('3 min 12 s')
    expect(duration(7500)).toBe('2 h 5 min')
    expect(duration(90_000)).toBe('1 d 1 h')
    // rounding carries into the larger unit
    expect(duration(59.6)).toBe('1 min 0 s')
    expect(duration(119.6)).toBe('2 min 0 s')
    expect(duration(3599.7)).toBe('1 h 0 min')
    expect(duration(7199.9)).toBe('2 h 0 min')
    expect(duration(172_799)).toBe('2 d 0 h')
    expect(duration(-1)).toBe('–')
    expect(duration(Number.NaN)).toBe('–')
  })

  it('ago: a moment newer than the reading clock is "just now", never "– ago"', () => {
    expect(ago(-3)).toBe('just now')
    expect(ago(2)).toBe('just now')
    expect(ago(75)).toBe('1 min 15 s ago')
    expect(ago(Number.NaN)).toBe('–')
  })
})
