// Who drives a run: the process holding its lease (manager.ts takes and renews it).
import { hostname } from 'node:os'
import { ACTIVE_STATUSES } from '../../client-safe/run-config.ts'
import type { Db } from '../db.ts'

/** This process, as a lease names it. */
export const THIS_PROCESS = `${hostname()}:${process.pid}`

/**
 * The driver of an active run now: the holder of an unexpired lease. Embedded, the data folder's
 * lock lets only the process that opened it drive runs, so a lease of another process is one that
 * ended without letting go (killed, or a second Ctrl-C) and drives nothing.
 */
export function drivenBy(
  db: Pick<Db, 'mode'>,
  run: { status: string; leaseOwner: string | null; leaseUntil: Date | null },
): string | null {
  if (!(ACTIVE_STATUSES as string[]).includes(run.status) || !run.leaseOwner || !run.leaseUntil) return null
  if (run.leaseUntil.getTime() <= Date.now()) return null
  if (db.mode === 'embedded' && run.leaseOwner !== THIS_PROCESS) return null
  return run.leaseOwner
}

/**
 * Why a process without the run's engine cannot show its live state (island populations, the
 * bandit's figures as they are now): said where those figures would be.
 */
export function notDrivenHere(
  db: Pick<Db, 'mode'>,
  run: { status: string; leaseOwner: string | null; leaseUntil: Date | null },
): string {
  if (!(ACTIVE_STATUSES as string[]).includes(run.status)) return `the run is ${run.status}`
  const owner = drivenBy(db, run)
  return owner ? `its engine runs in another process (${owner})` : 'no engine drives it now'
}
