import { describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor, maxCursor, START_CURSOR } from './cursor.ts'

describe('live cursor', () => {
  it('round-trips and refuses anything else', () => {
    const c = { c: 1234, m: 99_000_000_001, e: 17 }
    expect(decodeCursor(encodeCursor(c))).toEqual(c)
    expect(decodeCursor(encodeCursor(START_CURSOR))).toEqual(START_CURSOR)
    for (const bad of ['', 'c1.m2', 'c1.m2.e3;DROP', 'cx.m1.e1', 'c-5.m1.e1', null, undefined])
      expect(decodeCursor(bad)).toBeNull()
  })
  it('takes the later position of each part', () => {
    expect(maxCursor({ c: 5, m: 1, e: 9 }, { c: 3, m: 4, e: 9 })).toEqual({ c: 5, m: 4, e: 9 })
  })
})
