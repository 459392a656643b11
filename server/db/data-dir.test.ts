// The data folder's lock: held while open, gone when released, and no listener left behind.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { acquireLock, DataDirLockedError, LOCK_FILE, readLock, unusableFolder } from './data-dir.ts'

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

describe('a lock left by a process that is gone', () => {
  const folder = (lock: object) => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-lock-'))
    dirs.push(dir)
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(lock))
    return dir
  }
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString()

  it('is taken over when its pid now names a process that started after it (a reused pid, this one included)', async () => {
    // a container's PID 1, killed and restarted: the lock names this very process's pid, written before it started
    const own = acquireLock(folder({ pid: process.pid, host: hostname(), startedAt: ago(3_600_000) }))
    expect(own.uncleanStop).toBe(true)
    own.release()
    const child = spawn('sleep', ['600'])
    await new Promise((r) => child.once('spawn', r))
    try {
      // a lock from before the child existed: its pid was reused
      const reused = acquireLock(folder({ pid: child.pid, host: hostname(), startedAt: ago(3_600_000) }))
      expect(reused.uncleanStop).toBe(true)
      reused.release()
      // the child's own lock (written after it started) holds
      const held = folder({ pid: child.pid, host: hostname(), startedAt: new Date(Date.now() + 2000).toISOString() })
      expect(() => acquireLock(held)).toThrow(`is in use by process ${child.pid}`)
    } finally {
      child.kill()
    }
  })

  it('from another host is named with that host and how to break it', () => {
    const dir = folder({ pid: 12345, host: 'old-pod-7f9c', startedAt: '2026-12-01T10:00:00.000Z' })
    expect(() => acquireLock(dir)).toThrow(
      `is in use by process 12345 on host old-pod-7f9c (since 2026-12-01T10:00:00.000Z); stop it there, or use another --data-dir. If nothing runs there any more (a container or machine that was replaced), remove ${join(dir, LOCK_FILE)}`,
    )
  })
})

describe('a data folder that cannot be one', () => {
  it('is named for what it is: a file, or a folder this user cannot write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-lock-'))
    dirs.push(dir)
    const file = join(dir, 'a-file')
    writeFileSync(file, 'x')
    expect(() => acquireLock(file)).toThrow(
      `the data folder ${file} is a file, or inside one: give --data-dir (or FM_DATA_DIR) a folder`,
    )
    expect(() => acquireLock(join(file, 'below'))).toThrow('is a file, or inside one')
    expect(unusableFolder('/backup', Object.assign(new Error('x'), { code: 'EROFS' }))).toBe(
      'the data folder /backup cannot be written by this user (a read-only file system): the database writes there, so give a folder this user owns (a read-only backup: copy it first)',
    )
  })
})
