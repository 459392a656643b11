import { describe, expect, it } from 'vitest'
import { candidatePollMs, FALLBACK_POLL_MS, isSettled, watchNews, watchWanted } from './candidate-watch.ts'

describe('when the candidate page asks again', () => {
  it('never once the candidate is evaluated or rejected, whatever the subscription does', () => {
    for (const status of ['evaluated', 'rejected'])
      for (const sub of ['idle', 'connecting', 'pending', 'error'] as const) {
        expect(candidatePollMs(status, sub)).toBe(false)
        expect(isSettled(status)).toBe(true)
        expect(watchWanted(status)).toBe(false)
      }
  })

  it('on news alone while the subscription is open; slowly while it is down', () => {
    for (const status of ['queued', 'running', 'pending']) {
      expect(watchWanted(status)).toBe(true)
      expect(candidatePollMs(status, 'pending')).toBe(false)
      for (const sub of ['idle', 'connecting', 'error'] as const)
        expect(candidatePollMs(status, sub)).toBe(FALLBACK_POLL_MS)
    }
    expect(FALLBACK_POLL_MS).toBeGreaterThanOrEqual(30_000)
  })

  it('subscribes only once it has the candidate', () => {
    expect(watchWanted(undefined)).toBe(false)
    expect(watchWanted(null)).toBe(false)
  })

  it('a message that says what the page shows is no reason to refetch', () => {
    expect(watchNews('queued', { status: 'queued' })).toBe(false)
    expect(watchNews('queued', { status: 'running' })).toBe(true)
    expect(watchNews('queued', { status: 'evaluated' })).toBe(true)
    expect(watchNews('queued', { status: null })).toBe(true)
  })
})
