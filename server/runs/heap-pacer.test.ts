import { describe, expect, it } from 'vitest'
import { collectionDue, DEFAULT_PACING, holdHeapPacing, pacedCollections, paceHeap } from './heap-pacer.ts'

const MB = 1024 * 1024
const SMALL_STEP = { minStepBytes: 8 * MB, stepRatio: 0 }

/** Grows the live heap by 16–32 MB (two steps or more), kept until the caller drops it: a collection is due. */
const grow = () => Array.from({ length: 32 }, (_, i) => new Array(MB / 8).fill(i))

describe('heap pacing', () => {
  it('asks for a collection after a fixed step on a small heap, a proportional one on a large heap', () => {
    expect(collectionDue(52 * MB, 20 * MB)).toBe(false)
    expect(collectionDue(53 * MB, 20 * MB)).toBe(true)
    expect(collectionDue(500 * MB, 400 * MB)).toBe(false)
    expect(collectionDue(501 * MB, 400 * MB)).toBe(true)
    expect(collectionDue(31 * MB, 20 * MB, { ...DEFAULT_PACING, minStepBytes: 5 * MB, stepRatio: 0.5 })).toBe(true)
  })

  it('collects while anyone holds it, one pacer for several holders, and not after the last release', () => {
    const releaseA = holdHeapPacing({ env: {}, pacing: SMALL_STEP })
    const releaseB = holdHeapPacing({ env: {} })
    const kept = [grow()]
    let before = pacedCollections()
    paceHeap()
    expect(pacedCollections()).toBe(before + 1)
    paceHeap() // nothing grew since: not due
    expect(pacedCollections()).toBe(before + 1)
    releaseA()
    releaseA() // a second release of the same hold changes nothing: B still holds it
    kept.push(grow())
    before = pacedCollections()
    paceHeap()
    expect(pacedCollections()).toBe(before + 1)
    releaseB()
    kept.push(grow())
    before = pacedCollections()
    paceHeap()
    expect(pacedCollections()).toBe(before)
    expect(kept).toHaveLength(3)
  })

  it('is off when FM_HEAP_PACING=off, whatever the step', () => {
    const release = holdHeapPacing({ env: { FM_HEAP_PACING: 'off' }, pacing: SMALL_STEP })
    const kept = grow()
    const before = pacedCollections()
    paceHeap()
    expect(pacedCollections()).toBe(before)
    expect(kept).toHaveLength(32)
    release()
  })
})
