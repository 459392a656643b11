// The embedded database (PGlite) allows one process per data folder. The process that opens it
// holds a lock file; others find the holder's API address there and talk to it instead.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  chmodSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'

export const LOCK_FILE = 'fm-agent.lock'
/** where in a data folder the embedded database lives */
export const PGDATA_DIR = 'pgdata'
/** where versions before the local socket kept a plaintext admin token (removed at start, see below) */
export const LEGACY_TOKEN_FILE = 'local-admin-token'

export interface LockInfo {
  pid: number
  host: string
  startedAt: string
  /** set once the holder serves its API: where other CLI processes should send their commands */
  apiUrl?: string
  /** the Unix socket those commands go through (server/api/local-socket.ts) */
  apiSocket?: string
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      holder.host !== hostname()
        ? `data folder ${dataDir} is in use by process ${holder.pid} on host ${holder.host} (since ${holder.startedAt}); stop it there, or use another --data-dir. If nothing runs there any more (a container or machine that was replaced), remove ${join(dataDir, LOCK_FILE)}`
        : `data folder ${dataDir} is in use by process ${holder.pid}` +
            (holder.apiUrl ? ` (serving ${holder.apiUrl})` : '') +
            `; stop that process or use another --data-dir`,
    )
  }
}

export function resolveDataDir(dir?: string): string {
  return resolve(dir ?? process.env.FM_DATA_DIR ?? './.fm-agent')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** When a process started (ms since the epoch), from /proc; null where that cannot be read. */
export function processStartMs(pid: number): number | null {
  try {
    // the command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const bootS = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    // USER_HZ is 100 on every Linux this runs on
    return Number.isFinite(startTicks) && bootS ? bootS * 1000 + startTicks * 10 : null
  } catch {
    return null
  }
}

/**
 * Whether the process a lock names on this host still holds it: alive, and started before the lock
 * was written. A process that started after it has a reused pid: a container's PID 1 restarted after
 * a kill (this very process, then), or any process after a reboot.
 */
export function holderAlive(holder: LockInfo): boolean {
  if (!alive(holder.pid)) return false
  const started = holder.pid === process.pid ? performance.timeOrigin : processStartMs(holder.pid)
  const locked = Date.parse(holder.startedAt)
  // a second of slack for the clock ticks' rounding
  return started === null || !Number.isFinite(locked) || started <= locked + 1000
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as LockInfo
    return typeof info.pid === 'number' ? info : null
  } catch {
    return null
  }
}

/** The live holder of the folder's lock, if any (a lock left by a dead process does not count). */
export function liveHolder(dataDir: string): LockInfo | null {
  const info = readLock(dataDir)
  if (!info) return null
  if (info.host !== hostname()) return info // another machine on a shared disk: assume alive
  return info.pid !== process.pid && holderAlive(info) ? info : null
}

export interface DataDirLock {
  dataDir: string
  /** true when the previous holder died without releasing the lock: the database is checked on open */
  uncleanStop: boolean
  previous?: LockInfo
  update(patch: Partial<LockInfo>): void
  release(): void
}

/** Why a data folder cannot be used, in words (the system's EEXIST or EROFS named nothing a user set). */
export function unusableFolder(dataDir: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'EEXIST' || e.code === 'ENOTDIR')
    return `the data folder ${dataDir} is a file, or inside one: give --data-dir (or FM_DATA_DIR) a folder`
  if (e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM')
    return `the data folder ${dataDir} cannot be written by this user (${e.code === 'EROFS' ? 'a read-only file system' : 'permission denied'}): the database writes there, so give a folder this user owns (a read-only backup: copy it first)`
  return `the data folder ${dataDir} cannot be used: ${e.message}`
}

export function acquireLock(dataDir: string): DataDirLock {
  // 0700: the folder holds the database, the auth secret and the local API socket; sandboxed
  // candidates run as another user and must not read any of it
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o700)
  } catch (e) {
    throw new Error(unusableFolder(dataDir, e as NodeJS.ErrnoException))
  }
  const path = join(dataDir, LOCK_FILE)
  let previous: LockInfo | undefined
  let info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, JSON.stringify(info))
      closeSync(fd)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 3) throw e
      const holder = readLock(dataDir)
      if (holder && (holder.host !== hostname() || holderAlive(holder))) throw new DataDirLockedError(dataDir, holder)
      // stale: the holder died; take over (only one contender's create succeeds)
      previous = holder ?? { pid: 0, host: hostname(), startedAt: 'unknown' }
      rmSync(path, { force: true })
    }
  }
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release) // a process that opens many data folders keeps no listener per folder
    const current = readLock(dataDir)
    if (current?.pid === process.pid) rmSync(path, { force: true })
  }
  process.once('exit', release)
  return {
    dataDir,
    uncleanStop: previous !== undefined,
    previous,
    update(patch) {
      info = { ...info, ...patch }
      writeFileSync(path, JSON.stringify(info), { mode: 0o600 })
    },
    release,
  }
}

/** The plaintext token an older version left in the folder, removed; returned so its row can be revoked. */
export function removeLegacyLocalToken(dataDir: string): string | null {
  const p = join(dataDir, LEGACY_TOKEN_FILE)
  if (!existsSync(p)) return null
  const token = readFileSync(p, 'utf8').trim()
  rmSync(p, { force: true })
  return token || null
}
