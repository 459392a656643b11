import { afterEach, describe, expect, it, vi } from 'vitest'
import { EngineManager, type ManagerDeps } from './manager.ts'

afterEach(() => vi.useRealTimers())

describe('EngineManager.stopAll', () => {
  // its grace timer had outlived the drivers and kept every stopping process alive for 20 s
  it('leaves no timer behind once its runs have let go', async () => {
    vi.useFakeTimers()
    const deps = { backend: { onResult: () => undefined }, db: { mode: 'embedded' } } as unknown as ManagerDeps
    const manager = new EngineManager(deps)
    await manager.stopAll()
    expect(vi.getTimerCount()).toBe(0)
  })
})
