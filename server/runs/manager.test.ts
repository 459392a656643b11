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

describe('EngineManager.resumeActive', () => {
  it('says which runs it resumes and which start here for the first time', async () => {
    const lines: string[] = []
    const rows = [
      { id: 'aaaaaaaa-1', startedAt: new Date() },
      { id: 'bbbbbbbb-2', startedAt: null },
    ]
    const deps = {
      backend: { onResult: () => undefined },
      db: { mode: 'server', prisma: { run: { findMany: async () => rows } } },
      log: { info: (m: string) => lines.push(m), warn: () => undefined, error: () => undefined },
    } as unknown as ManagerDeps
    const manager = new EngineManager(deps)
    // the drivers themselves are not this test's subject
    vi.spyOn(manager as any, 'launch').mockResolvedValue(undefined)
    expect(await manager.resumeActive()).toEqual(['aaaaaaaa-1', 'bbbbbbbb-2'])
    expect(lines).toEqual([
      'resuming 1 run(s) that were active: aaaaaaaa',
      'starting 1 run(s) that were waiting for an engine: bbbbbbbb',
    ])
  })
})
