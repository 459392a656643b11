// A throw-away Postgres database per test file (from template1, which has pgvector), dropped after.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const ADMIN_URL = process.env.FM_TEST_PG_URL ?? 'postgres://fm:fm@127.0.0.1:5432/fm_test'

export async function createTestDatabase(
  prefix = 'fm_test_q',
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE template1`)
  } finally {
    await admin.end()
  }
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      try {
        await c.query(
          // client sessions only: an autovacuum worker there is the superuser's (not ours to end)
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
          [name],
        )
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`)
      } finally {
        await c.end()
      }
    },
  }
}
