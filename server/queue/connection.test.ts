// A database that goes away under a pool of connections (here every one of them cut by the server,
// as a restart cuts them) is said once, and its return once; the queue's own lines repeating it are
// dropped meanwhile. Driven by the pool's own events, against the real PostgreSQL of the tests.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { TEST_PG_URL } from '../../test-support/pg.ts'
import { databaseAway, watchConnection } from './connection.ts'

describe('watchConnection', () => {
  it('says once that the database went away and once that it is back', async () => {
    const app = `fm-conn-${randomBytes(4).toString('hex')}`
    const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: 4, application_name: app })
    const lines: string[] = []
    const cut = new Promise<void>((resolve) => {
      let errors = 0
      pool.on('error', () => ++errors === 4 && resolve())
    })
    const connection = watchConnection(pool, (l) => lines.push(l), '[queue]')
    const admin = new pg.Client({ connectionString: TEST_PG_URL })
    await admin.connect()
    try {
      // four idle connections in the pool
      const held = await Promise.all([0, 1, 2, 3].map(() => pool.connect()))
      for (const c of held) c.release()
      const { rows } = await admin.query(
        'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t',
        [app],
      )
      expect(rows[0].n).toBe(4)
      await cut
      expect(lines).toEqual([
        expect.stringMatching(/^\[queue\] the database went away \(terminating connection.*\); waiting/),
      ])
      expect(connection.away).toBe(true)
      expect(connection.keep("Failed task 7 (fm_evaluate_cpu) with error 'connect ECONNREFUSED 127.0.0.1:5432'")).toBe(
        false,
      )
      expect(connection.keep('Failed task 7 with error: boom')).toBe(true)
      // the next query connects again
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      expect(lines).toHaveLength(2)
      expect(lines[1]).toBe('[queue] the database is back')
      expect(connection.away).toBe(false)
      expect(connection.keep("Failed task 8 with error 'connect ECONNREFUSED 127.0.0.1:5432'")).toBe(true)
    } finally {
      await admin.end()
      await pool.end()
    }
  })

  it('a database refusing new sessions for now is away, not wrong: no slot left, closed to connections', async () => {
    const tag = randomBytes(4).toString('hex')
    const role = `fm_conn_${tag}`
    const closed = `fm_conn_${tag}`
    const admin = new pg.Client({ connectionString: TEST_PG_URL })
    await admin.connect()
    const refusal = async (url: URL) => {
      const c = new pg.Client({ connectionString: url.toString() })
      return c.connect().then(
        () => (c.end(), null),
        (e: Error & { code?: string }) => e,
      )
    }
    let held: pg.Client | null = null
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' CONNECTION LIMIT 1`)
      const asRole = new URL(TEST_PG_URL)
      asRole.username = role
      asRole.password = 'pw'
      held = new pg.Client({ connectionString: asRole.toString() })
      await held.connect()
      const full = await refusal(asRole)
      expect(full?.code).toBe('53300')
      expect(databaseAway(full)).toBe(true)

      await admin.query(`CREATE DATABASE ${closed}`)
      await admin.query(`ALTER DATABASE ${closed} ALLOW_CONNECTIONS false`)
      const other = new URL(TEST_PG_URL)
      other.pathname = `/${closed}`
      const shut = await refusal(other)
      expect(shut?.code).toBe('55000')
      expect(databaseAway(shut)).toBe(true)
      // the same code for a statement in the wrong state is the request's fault, not a wait
      expect(databaseAway({ code: '55000', message: 'cannot refresh materialized view concurrently' })).toBe(false)
    } finally {
      await held?.end().catch(() => undefined)
      await admin.query(`DROP DATABASE IF EXISTS ${closed}`)
      await admin.query(`DROP ROLE IF EXISTS ${role}`)
      await admin.end()
    }
  })
})
