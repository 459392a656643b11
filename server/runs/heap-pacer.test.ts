import { describe, expect, it } from 'vitest'
import { collectionDue, DEFAULT_PACING, holdHeapPacing, pacedCollections } from './heap-pacer.ts'

const MB = 1024 * 1024

describe('heap pacing', () => {
  it('asks for a collection after a fixed step on a small heap, a proportional one on a large heap', () => {
    expect(collectionDue(52 * MB, 20 * MB)).toBe(false)
    expect(collectionDue(53 * MB, 20 * MB)).toBe(true)
    expect(collectionDue(500 * MB, 400 * MB)).toBe(false)
    expect(collectionDue(501 * MB, 400 * MB)).toBe(true)
    expect(collectionDue(31 * MB, 20 * MB, { ...DEFAULT_PACING, minStepBytes: 5 * MB, stepRatio: 0.5 })).toBe(true)
  })

  it('collects while held, once however many hold it, and not after the last release', async () => {
    const before = pacedCollections()
    // a small step, so the pacer acts before V8's own collector would on the test process's heap
    const releaseA = holdHeapPacing({ env: {}, pacing: { minStepBytes: 8 * MB, stepRatio: 0 } })
    const releaseB = holdHeapPacing({ env: {} })
    const keep: unknown[] = []
    // garbage until the pacer has collected (observed, not timed): a ring of ~20 MB, so objects live
    // long enough to reach the old generation (as a run's in-flight requests do), then die there
    for (let round = 0; pacedCollections() === before && round < 5000; round++) {
      for (let i = 0; i < 2000; i++) keep[(round * 2000 + i) % 20_000] = { text: `candidate ${round}:${i} `.repeat(40) }
      await new Promise((r) => setImmediate(r))
    }
    expect(pacedCollections()).toBeGreaterThan(before)
    releaseA()
    releaseA() // a second release of the same hold changes nothing
    releaseB()
    const after = pacedCollections()
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 2000; i++) keep[(round * 2000 + i) % 20_000] = { text: `late ${round}:${i} `.repeat(40) }
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(pacedCollections()).toBe(after)
  })

  it('is off when FM_HEAP_PACING=off', () => {
    const before = pacedCollections()
    const release = holdHeapPacing({ env: { FM_HEAP_PACING: 'off' } })
    release()
    expect(pacedCollections()).toBe(before)
  })
})
