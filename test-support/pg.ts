// Throw-away PostgreSQL databases for tests of the server mode. The server comes from
// scripts/test-setup.sh (CI and `npm test`); a test that needs it fails, loudly, without it.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const TEST_PG_URL = process.env.FM_TEST_PG_URL ?? 'postgres://fm:fm@127.0.0.1:5432/fm_test'

export interface TestDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

function withDatabase(url: string, database: string) {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 })
  try {
    await c.connect()
  } catch (e) {
    throw new Error(
      `the test PostgreSQL at ${new URL(TEST_PG_URL).host} is not reachable (${(e as Error).message}); run scripts/test-setup.sh`,
    )
  }
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

/** A new empty database (with pgvector, from template1), dropped by `drop()`. */
export async function createTestDatabase(opts: { template?: 'template1' | 'template0' } = {}): Promise<TestDatabase> {
  const name = `fm_t_${randomBytes(6).toString('hex')}`
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE ${opts.template ?? 'template1'}`))
  return {
    url: withDatabase(TEST_PG_URL, name),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  }
}

/** A role that owns nothing: for testing what a less privileged connection can and cannot do. */
export async function createTestRole(database: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `fm_r_${randomBytes(5).toString('hex')}`
  const password = randomBytes(12).toString('hex')
  await admin(async (c) => {
    await c.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`)
    await c.query(`GRANT CONNECT ON DATABASE "${database}" TO "${name}"`)
  })
  const u = new URL(withDatabase(TEST_PG_URL, database))
  u.username = name
  u.password = password
  return {
    url: u.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP ROLE IF EXISTS "${name}"`)).then(() => undefined),
  }
}

/**
 * A pool of a test's own against a throw-away database: dropping the database ends its sessions
 * (57P01, "terminating connection due to administrator command"), which a pool still closing its
 * last client reports as an `error` event; with no listener that is an uncaught exception in the
 * test run. Any other error is still reported.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config)
  pool.on('error', (e: Error & { code?: string }) => {
    if (e.code !== '57P01') process.stderr.write(`test pool: ${e.message}\n`)
  })
  return pool
}
