import { describe, expect, it } from 'vitest'
import { collectionDue, DEFAULT_PACING, holdHeapPacing, pacedCollections } from './heap-pacer.ts'

const MB = 1024 * 1024
// a small step, so the pacer acts before V8's own collector would on the test process's heap
const SMALL_STEP = { minStepBytes: 8 * MB, stepRatio: 0 }

/**
 * Garbage through a ring of ~20 MB, so objects live long enough to reach the old generation (as a
 * run's in-flight requests do), then die there: `rounds` rounds, or until `stop` says so.
 */
async function churn(rounds: number, stop: () => boolean = () => false) {
  const ring: unknown[] = []
  for (let round = 0; round < rounds && !stop(); round++) {
    for (let i = 0; i < 2000; i++) ring[(round * 2000 + i) % 20_000] = { text: `candidate ${round}:${i} `.repeat(40) }
    await new Promise((r) => setTimeout(r, 1))
  }
}

describe('heap pacing', () => {
  it('asks for a collection after a fixed step on a small heap, a proportional one on a large heap', () => {
    expect(collectionDue(52 * MB, 20 * MB)).toBe(false)
    expect(collectionDue(53 * MB, 20 * MB)).toBe(true)
    expect(collectionDue(500 * MB, 400 * MB)).toBe(false)
    expect(collectionDue(501 * MB, 400 * MB)).toBe(true)
    expect(collectionDue(31 * MB, 20 * MB, { ...DEFAULT_PACING, minStepBytes: 5 * MB, stepRatio: 0.5 })).toBe(true)
  })

  it('collects while anyone holds it, one pacer for several holders, and not after the last release', async () => {
    const releaseA = holdHeapPacing({ env: {}, pacing: SMALL_STEP })
    const releaseB = holdHeapPacing({ env: {} })
    // driven by what is observed: each phase ends at its first collection
    let before = pacedCollections()
    await churn(5000, () => pacedCollections() > before)
    expect(pacedCollections()).toBeGreaterThan(before)
    releaseA()
    releaseA() // a second release of the same hold changes nothing: B still holds it
    before = pacedCollections()
    await churn(5000, () => pacedCollections() > before)
    expect(pacedCollections()).toBeGreaterThan(before)
    releaseB()
    before = pacedCollections()
    await churn(300)
    expect(pacedCollections()).toBe(before)
  })

  it('is off when FM_HEAP_PACING=off, whatever the step', async () => {
    const release = holdHeapPacing({ env: { FM_HEAP_PACING: 'off' }, pacing: SMALL_STEP })
    const before = pacedCollections()
    await churn(300)
    expect(pacedCollections()).toBe(before)
    release()
  })
})
