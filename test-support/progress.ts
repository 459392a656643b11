// Waiting for a run to reach a state, driven by the run's own progress rather than by a clock: the
// condition is checked once, then again after each event the engines of this process publish (every
// candidate, status change, acknowledgement…). So a test holds on a machine twice as fast or twice
// as slow; what bounds the wait is progress (a number of events without the condition, or the
// given run ending), not time. The test runner's own timeout stays the guard against a hang.
import type { EventBus, LiveEvent } from '../server/events.ts'

const ENDED = new Set(['completed', 'failed', 'stopped', 'paused'])

export function untilProgress<T>(
  events: EventBus,
  check: () => Promise<T | null | undefined | false>,
  what: string,
  /** runId: the run whose end (completed, failed, stopped, paused) without the condition fails the wait */
  opts: { maxEvents?: number; runId?: string } = {},
): Promise<T> {
  const maxEvents = opts.maxEvents ?? 20_000
  return new Promise<T>((resolve, reject) => {
    let seen = 0
    let running = false
    let again = false
    let ended = false
    let done = false
    const finish = (f: () => void) => {
      done = true
      off()
      f()
    }
    const run = async () => {
      if (running) {
        again = true
        return
      }
      running = true
      try {
        do {
          again = false
          const v = await check()
          if (done) return
          if (v) return finish(() => resolve(v))
        } while (again)
        if (ended) finish(() => reject(new Error(`the run ended without ${what}`)))
        else if (seen >= maxEvents) finish(() => reject(new Error(`${seen} events without ${what}`)))
      } catch (e) {
        if (!done) finish(() => reject(e))
      } finally {
        running = false
      }
    }
    const off = events.subscribe('any', (e: LiveEvent) => {
      seen++
      const status = e.type === 'status' ? (e.payload as { status?: unknown } | undefined)?.status : undefined
      if (opts.runId && e.runId === opts.runId && ENDED.has(String(status))) ended = true
      void run()
    })
    void run()
  })
}
