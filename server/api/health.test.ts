// /api/health is what a load balancer or an uptime check asks: it answers 503 while the process
// cannot reach its database (here a real PostgreSQL database closed to connections), 200 again after.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, TEST_PG_URL, type TestDatabase } from '../../test-support/pg.ts'
import { createAppServices } from '../app.ts'
import { type Db, openDatabase } from '../db.ts'
import { silentLogger } from '../log.ts'
import { type RunningHttpServer, startHttpServer } from './http-server.ts'

describe('/api/health', () => {
  let t: TestDatabase
  let db: Db
  let server: RunningHttpServer
  beforeAll(async () => {
    t = await createTestDatabase()
    db = await openDatabase({ databaseUrl: t.url })
    server = await startHttpServer({
      app: createAppServices(db, null, silentLogger),
      host: '127.0.0.1',
      port: 0,
      pages: false,
    })
  })
  afterAll(async () => {
    await server?.close()
    await db?.close().catch(() => undefined)
    await t?.drop()
  })

  const health = async () => {
    const r = await fetch(`${server.url}/api/health`)
    return { status: r.status, body: await r.json() }
  }
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: TEST_PG_URL })
    await c.connect()
    try {
      await c.query(sql)
    } finally {
      await c.end()
    }
  }

  it('says when the database cannot be reached, and when it can again', async () => {
    expect(await health()).toEqual({ status: 200, body: { ok: true, mode: 'server', database: 'ok' } })
    await admin(`ALTER DATABASE "${t.name}" ALLOW_CONNECTIONS false`)
    // client sessions only: an autovacuum worker in that database is the superuser's, and ends by itself
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${t.name}' AND backend_type = 'client backend'`,
    )
    expect(await health()).toEqual({ status: 503, body: { ok: false, mode: 'server', database: 'unreachable' } })
    await admin(`ALTER DATABASE "${t.name}" ALLOW_CONNECTIONS true`)
    // the pool connects again on the next query
    let again = await health()
    for (let i = 0; i < 20 && again.status !== 200; i++) again = await health()
    expect(again).toEqual({ status: 200, body: { ok: true, mode: 'server', database: 'ok' } })
  })
})
