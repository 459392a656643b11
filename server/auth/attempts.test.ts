import { describe, expect, it } from 'vitest'
import { AttemptWindow, FailureLock } from './attempts.ts'

describe('AttemptWindow', () => {
  it('allows max events per key in the window, then says how long to wait; other keys are apart', () => {
    let t = 0
    const w = new AttemptWindow(3, 60_000, () => t)
    for (let i = 0; i < 3; i++) {
      expect(w.waitS('alice')).toBeNull()
      w.record('alice')
      t += 1000
    }
    expect(w.waitS('alice')).toBe(57)
    expect(w.waitS('bob')).toBeNull()
    t = 60_001
    expect(w.waitS('alice')).toBeNull()
    w.record('alice')
    w.clear('alice')
    expect(w.waitS('alice')).toBeNull()
  })
})

describe('FailureLock', () => {
  const MIN = 60_000
  const fail = (l: FailureLock, key: string) => {
    expect(l.begin(key), key).toBeNull()
    l.settle(key, 'failure')
  }

  it('locks a key after max failures in the window, longer at each lock in a row, never past the bound', () => {
    let t = 0
    const l = new FailureLock(3, 15 * MIN, MIN, 4 * MIN, () => t)
    for (let i = 0; i < 3; i++) {
      fail(l, 'a@x')
      t += 1000
    }
    expect(l.begin('a@x')).toBe(59)
    expect(l.begin('b@x')).toBeNull()
    const locks: number[] = []
    for (let i = 0; i < 5; i++) {
      t += (l.begin('a@x') ?? 0) * 1000
      // one try per lock once locked: it fails, and the next lock is longer
      fail(l, 'a@x')
      locks.push(l.begin('a@x')!)
    }
    expect(locks).toEqual([120, 240, 240, 240, 240])
  })

  it('forgets failures that left the window, and strikes after a quiet window', () => {
    let t = 0
    const l = new FailureLock(3, 15 * MIN, MIN, 4 * MIN, () => t)
    fail(l, 'a@x')
    fail(l, 'a@x')
    t += 15 * MIN
    fail(l, 'a@x')
    fail(l, 'a@x')
    expect(l.begin('a@x')).toBeNull()
    l.settle('a@x', 'failure')
    expect(l.begin('a@x')).toBe(60)
    t += MIN + 15 * MIN
    // quiet for a window after the lock: a fresh start, not a longer lock
    fail(l, 'a@x')
    expect(l.begin('a@x')).toBeNull()
  })

  it('a success forgets the key; attempts in flight count, so parallel guesses cannot all pass', () => {
    const l = new FailureLock(3, 15 * MIN, MIN, 4 * MIN, () => 0)
    fail(l, 'a@x')
    fail(l, 'a@x')
    expect(l.begin('a@x')).toBeNull()
    l.settle('a@x', 'success')
    fail(l, 'a@x')
    fail(l, 'a@x')
    expect(l.begin('a@x')).toBeNull()
    expect(l.begin('a@x')).toBe(1)
    l.settle('a@x', 'other')
    expect(l.begin('a@x')).toBeNull()
    l.settle('a@x', 'failure')
    expect(l.begin('a@x')).toBe(60)
  })

  it('holds at most maxKeys keys: the one idle longest goes first', () => {
    const l = new FailureLock(1, MIN, MIN, MIN, () => 0, 2)
    fail(l, 'a')
    fail(l, 'b')
    expect(l.begin('a')).toBe(60)
    fail(l, 'c')
    expect(l.begin('b')).toBeNull()
    expect(l.begin('c')).toBe(60)
  })
})
