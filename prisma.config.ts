// Prisma 6.19 CLI with the WASM schema engine (Prisma 7's CLI needs a native engine download
// that this kind of machine cannot reach; see prisma/README.md).
// DATABASE_URL set: PostgreSQL through adapter-pg. Unset: an on-disk PGlite at PGLITE_DIR.
import { randomUUID } from 'node:crypto'
import { defineConfig } from 'prisma/config'

// The WASM engine arms a 60 s timer that keeps `migrate` alive after it finished.
const realSetTimeout = globalThis.setTimeout
;(globalThis as { setTimeout: unknown }).setTimeout = (fn: () => void, ms?: number, ...rest: unknown[]) => {
  const t = realSetTimeout(fn, ms, ...(rest as []))
  if ((ms ?? 0) >= 60_000) t.unref?.()
  return t
}

async function pgAdapter(url: string) {
  const { pg } = await import('./server/db/pg.ts')
  pg() // catalog types as text before the adapter's first query
  const { PrismaPg } = await import('@prisma/adapter-pg')
  const u = new URL(url)
  const pgConfig = {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    idleTimeoutMillis: 200,
    allowExitOnIdle: true,
  }
  // adapter-pg 6.19 drops the shadow database before closing its pool; do it in order.
  class PgMigrate extends PrismaPg {
    async connectToShadowDb() {
      const admin = await new PrismaPg(pgConfig).connect()
      const database = `prisma_shadow_${randomUUID().replaceAll('-', '')}`
      await admin.executeScript(`CREATE DATABASE "${database}"`)
      const shadow = await new PrismaPg({ ...pgConfig, database }).connect()
      const dispose = shadow.dispose.bind(shadow)
      shadow.dispose = async () => {
        await dispose()
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
        await admin.dispose()
      }
      return shadow
    }
  }
  return new PgMigrate(pgConfig)
}

async function pgliteAdapter(dir: string) {
  const { PGlite } = await import('@electric-sql/pglite')
  const { vector } = await import('@electric-sql/pglite-pgvector')
  const { PrismaPGlite } = await import('pglite-prisma-adapter')
  class PGliteMigrate extends PrismaPGlite {
    // the adapter's default shadow database lacks pgvector
    async connectToShadowDb() {
      return new PrismaPGlite(await PGlite.create({ dataDir: 'memory://', extensions: { vector } })).connect()
    }
  }
  // typed against an older @prisma/driver-adapter-utils; the protocol is the same
  return new PGliteMigrate(await PGlite.create({ dataDir: dir, extensions: { vector } })) as unknown as Awaited<
    ReturnType<typeof pgAdapter>
  >
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () =>
    process.env.DATABASE_URL
      ? pgAdapter(process.env.DATABASE_URL)
      : pgliteAdapter(process.env.PGLITE_DIR ?? './.fm-agent/prisma-dev'),
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
})
