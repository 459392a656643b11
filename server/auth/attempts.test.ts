import { describe, expect, it } from 'vitest'
import { AttemptWindow } from './attempts.ts'

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
