import { describe, expect, it } from 'vitest'
import { ProblemId } from '../contracts/problem.ts'
import { slug } from './problem-slug.ts'

const hashed = (s: string, base: string) => expect(s).toMatch(new RegExp(`^${base}-[0-9a-f]{6}$`))

describe('slug', () => {
  it('keeps plain ASCII names as they were', () => {
    expect(slug('openevolve-sum')).toBe('openevolve-sum')
    expect(slug('My Knapsack')).toBe('my-knapsack')
    expect(slug('19_ReLU')).toBe('19_relu')
    expect(slug('circle_packing.v2')).toBe('circle_packing.v2')
  })

  it('keeps the base letter of accented Latin letters and trims stray dashes', () => {
    expect(slug('ünïcödé')).toBe('unicode')
    expect(slug('Café crème')).toBe('cafe-creme')
    expect(slug('--weird  name!!--')).toBe('weird-name')
    expect(slug('a--b')).toBe('a--b') // as before: ids of folders already run stay the same
    expect(slug('ﬁle')).toBe('file') // a ligature decomposes too (NFKD)
  })

  it('adds a stable hash when characters are lost, so different names get different ids', () => {
    const math = slug('数学')
    hashed(math, 'problem')
    expect(slug('数学')).toBe(math)
    expect(slug('物理')).not.toBe(math)
    const mixed = slug('ünïcödé 問題')
    hashed(mixed, 'unicode')
    expect(slug('ünïcödé 問題2')).not.toBe(mixed)
    hashed(slug('straße'), 'stra-e')
  })

  it('adds a hash to an empty or too short result', () => {
    hashed(slug(''), 'problem')
    hashed(slug('!!!'), 'problem')
    hashed(slug('a'), 'a')
    expect(slug('a')).not.toBe(slug('A!'))
  })

  it('gives the same id for a name composed or decomposed (as macOS stores file names)', () => {
    const composed = 'ünïcödé 問題'.normalize('NFC')
    expect(slug(composed.normalize('NFD'))).toBe(slug(composed))
  })

  it('always gives a valid problem id, at most 64 characters', () => {
    for (const name of ['数学', 'x'.repeat(100), `${'é'.repeat(80)}数`, '.hidden', '-', '___a___', 'ü'.repeat(70)]) {
      const id = slug(name)
      expect(ProblemId.safeParse(id).success, `${name} → ${id}`).toBe(true)
      expect(id.length).toBeLessThanOrEqual(64)
    }
  })
})
