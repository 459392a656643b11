// Server mode's connections to PostgreSQL going away and coming back (a restart, a failover): which
// errors mean "away for now", and one line each way in the log where a restart would otherwise
// give one per pooled connection and per queue listener.
import type Pg from 'pg'

/** network failures reaching PostgreSQL (the others with a code are SQLSTATEs: five characters, a digit among them) */
export const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH'])
/**
 * PostgreSQL going away or coming back: shutting down, starting up, a connection cut, and refusing
 * new sessions for now (53300: every connection slot, or the role's limit, taken)
 */
const DATABASE_AWAY = new Set([
  ...NETWORK,
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
])

/** Whether an error means the database is away for now (a restart, a failover), not that the request is wrong. */
export function databaseAway(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | null
  return (
    !!err &&
    ((!!err.code && DATABASE_AWAY.has(err.code)) ||
      // 55000 is every "wrong state" error: only its "not accepting connections" (a database closed
      // for maintenance, ALTER DATABASE … ALLOW_CONNECTIONS false) is a wait
      /Connection terminated|terminating connection|the database system is (shutting down|starting up)|is not currently accepting connections/.test(
        err.message ?? '',
      ))
  )
}

/**
 * Says once that the database went away and once that it is back, for every connection of `pool`
 * together (a restart cuts each one, each with its own error); other connection errors are logged
 * as before. `keep` tells graphile-worker's lines that only repeat it while it is away.
 */
export function watchConnection(pool: Pg.Pool, say: (line: string) => void, label: string) {
  let away = false
  const failed = (e: Error, idle: boolean) => {
    if (!databaseAway(e)) return say(`${label} ${idle ? 'idle ' : ''}connection error: ${e.message}`)
    if (away) return
    away = true
    say(`${label} the database went away (${e.message}); waiting for it to come back`)
  }
  pool.on('error', (e) => failed(e, true))
  pool.on('connect', (client) => {
    client.on('error', (e) => failed(e, false))
    if (!away) return
    away = false
    say(`${label} the database is back`)
  })
  return {
    get away() {
      return away
    },
    keep: (line: string) => !(away && databaseAway({ message: line, code: NETWORK_IN_TEXT.exec(line)?.[0] })),
  }
}

/** a network failure's code where a line quotes the error's text */
const NETWORK_IN_TEXT = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH)\b/
