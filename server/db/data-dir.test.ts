// The data folder's lock: held while open, gone when released, and no listener left behind.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { acquireLock, DataDirLockedError, readLock } from './data-dir.ts'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('acquireLock', () => {
  it('a process that opens and closes many data folders keeps no exit listener per folder', () => {
    const before = process.listenerCount('exit')
    for (let i = 0; i < 20; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'fm-lock-'))
      dirs.push(dir)
      const lock = acquireLock(dir)
      expect(readLock(dir)?.pid).toBe(process.pid)
      expect(() => acquireLock(dir)).toThrow(DataDirLockedError)
      lock.release()
      expect(readLock(dir)).toBeNull()
    }
    expect(process.listenerCount('exit')).toBe(before)
  })
})
