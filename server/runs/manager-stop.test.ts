// A stop asked for while a run's driver is still being made (its lease being claimed) reaches the
// driver once it exists: a Ctrl-C in a run's first moments had been lost and the run went on.
import { describe, expect, it, vi } from 'vitest'
import { EngineManager, type ManagerDeps } from './manager.ts'

const made: Array<{ stops: string[] }> = []
vi.mock('./driver.ts', () => ({
  RunDriver: class {
    stops: string[] = []
    constructor() {
      made.push(this)
    }
    stop(reason: string) {
      this.stops.push(reason)
    }
    async run() {
      return { status: this.stops.length ? 'stopped' : 'completed', reason: this.stops[0] ?? null }
    }
  },
}))

describe('EngineManager.stop', () => {
  it('stops a run whose driver did not exist yet when asked, as soon as it does', async () => {
    let claimed!: () => void
    const claim = new Promise<void>((r) => {
      claimed = r
    })
    const deps = {
      backend: { onResult: () => undefined },
      db: { mode: 'embedded', prisma: { run: { update: () => claim, updateMany: async () => ({ count: 1 }) } } },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    } as unknown as ManagerDeps
    const manager = new EngineManager(deps)
    const done = manager.launch('run-1')
    // the lease is being claimed: no driver yet
    expect(manager.get('run-1')).toBeUndefined()
    manager.stop('run-1', 'interrupted from the command line')
    claimed()
    expect(await done).toEqual({ status: 'stopped', reason: 'interrupted from the command line' })
    expect(made.map((d) => d.stops)).toEqual([['interrupted from the command line']])
    await manager.stopAll()
  })
})
