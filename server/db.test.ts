// The data layer, exercised the same way in both modes: embedded PGlite and PostgreSQL.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { createTestDatabase, createTestRole, TEST_PG_URL } from '../test-support/pg.ts'
import { DataDirLockedError, LOCK_FILE } from './db/data-dir.ts'
import { listMigrations } from './db/migrate.ts'
import {
  DatabaseOpenError,
  errorText,
  freeMegabytes,
  openDatabase,
  openFailure,
  unwritablePath,
  type Db,
} from './db.ts'
import { createWorkerRole, dropWorkerRole } from './queue/roles.ts'

const DIMS = 512
const MODEL = 'lexical-hash-512'

/** Clustered unit vectors: a few directions with noise, like real embeddings. */
function vectors(n: number, seed = 1): number[][] {
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const centers = Array.from({ length: 8 }, () => Array.from({ length: DIMS }, rnd))
  return Array.from({ length: n }, (_, i) => {
    const v = centers[i % 8].map((c) => c + 0.3 * rnd())
    const norm = Math.hypot(...v)
    return v.map((x) => x / norm)
  })
}
const lit = (v: number[]) => `[${v.join(',')}]`

/** The real first start: not from the suite's pre-migrated template (test-support/global-setup.ts). */
async function openFromScratch(dataDir: string): Promise<Db> {
  const template = process.env.FM_PGLITE_TEMPLATE
  delete process.env.FM_PGLITE_TEMPLATE
  try {
    return await openDatabase({ dataDir, databaseUrl: '' })
  } finally {
    if (template !== undefined) process.env.FM_PGLITE_TEMPLATE = template
  }
}

function modes(): Array<[string, () => Promise<{ db: Db; cleanup: () => Promise<void> }>]> {
  return [
    [
      'embedded (PGlite)',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'fm-db-'))
        const db = await openFromScratch(dir)
        return { db, cleanup: async () => (await db.close(), rmSync(dir, { recursive: true, force: true })) }
      },
    ],
    [
      'server (PostgreSQL)',
      async () => {
        const t = await createTestDatabase()
        const db = await openDatabase({ databaseUrl: t.url, dataDir: tmpdir() })
        return { db, cleanup: async () => (await db.close(), await t.drop()) }
      },
    ],
  ]
}

describe.each(modes())('data layer, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  beforeAll(async () => ({ db, cleanup } = await open()))
  afterAll(() => cleanup())

  it('applies every migration from empty, once, recorded like prisma migrate', async () => {
    expect(db.migrationsApplied).toEqual(listMigrations().map((m) => m.name))
    const rows = await db.prisma.$queryRaw<Array<{ migration_name: string; finished_at: Date | null }>>`
      SELECT migration_name, finished_at FROM "_prisma_migrations" ORDER BY migration_name`
    expect(rows.map((r) => r.migration_name)).toEqual(db.migrationsApplied)
    expect(rows.every((r) => r.finished_at)).toBe(true)
  })

  it('has pgvector and an HNSW index on the chunk embeddings', async () => {
    const ext = await db.prisma.$queryRaw<Array<{ extname: string }>>`SELECT extname FROM pg_extension`
    expect(ext.map((e) => e.extname)).toContain('vector')
    const idx = await db.prisma.$queryRaw<Array<{ indexdef: string }>>`
      SELECT indexdef FROM pg_indexes WHERE tablename = 'knowledge_chunks' AND indexdef ILIKE '%hnsw%'`
    expect(idx.length).toBeGreaterThanOrEqual(1)
    expect(idx[0].indexdef).toContain('vector_cosine_ops')
  })

  it('stores vectors and finds nearest neighbours through the HNSW index', async () => {
    const doc = await db.prisma.knowledgeDoc.create({
      data: { title: 'vectors', format: 'text', content: 'x', tags: ['t'] },
    })
    const vs = vectors(200)
    for (let i = 0; i < vs.length; i++) {
      await db.prisma.$executeRaw`
        INSERT INTO knowledge_chunks (id, doc_id, ord, content, embedding_model, embedding)
        VALUES (${`c${i}`}, ${doc.id}, ${i}, ${`chunk number ${i}`}, ${MODEL}, ${lit(vs[i])}::vector)`
    }
    const q = vs[42]
    // exact answer first, by brute force in SQL without the index
    const exact = await db.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM knowledge_chunks WHERE embedding_model = ${MODEL}
      ORDER BY ((embedding::vector(512)) <=> ${lit(q)}::vector(512)) + 0 LIMIT 1`
    expect(exact[0].id).toBe('c42')
    const viaIndex = await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off')
      const plan = await tx.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
        `EXPLAIN SELECT id FROM knowledge_chunks WHERE embedding_model = '${MODEL}'
         ORDER BY (embedding::vector(512)) <=> '${lit(q)}'::vector(512) LIMIT 5`,
      )
      const rows = await tx.$queryRaw<Array<{ id: string; distance: number }>>`
        SELECT id, (embedding::vector(512)) <=> ${lit(q)}::vector(512) AS distance FROM knowledge_chunks
        WHERE embedding_model = ${MODEL} ORDER BY (embedding::vector(512)) <=> ${lit(q)}::vector(512) LIMIT 5`
      return { plan: plan.map((p) => p['QUERY PLAN']).join('\n'), rows }
    })
    expect(viaIndex.plan).toMatch(/knowledge_chunks_embedding_lexical_hash_512_idx/)
    expect(viaIndex.rows[0].id).toBe('c42')
    expect(viaIndex.rows[0].distance).toBeLessThan(1e-6)
    // neighbours come from the query's own cluster (i ≡ 42 mod 8)
    expect(viaIndex.rows.every((r) => Number(r.id.slice(1)) % 8 === 42 % 8)).toBe(true)
  })

  it('keeps full-text search in a generated tsvector', async () => {
    const doc = await db.prisma.knowledgeDoc.create({
      data: { title: 'fts', format: 'markdown', content: 'x', tags: [] },
    })
    await db.prisma.knowledgeChunk.create({
      data: { docId: doc.id, ord: 0, heading: 'Packing', content: 'Circles packed in a hexagonal lattice' },
    })
    const hits = await db.prisma.$queryRaw<Array<{ content: string }>>`
      SELECT content FROM knowledge_chunks WHERE tsv @@ plainto_tsquery('english', 'hexagonal circle')`
    expect(hits.map((h) => h.content)).toEqual(['Circles packed in a hexagonal lattice'])
  })

  it('rolls back a failed transaction entirely', async () => {
    const problem = {
      id: 'tx-test',
      name: 'tx',
      description: 'd',
      format: 'native',
      language: 'python',
      direction: 'max',
      primaryMetric: 'score',
      spec: {},
      seedCode: 'x',
      bundleHash: 'h',
    }
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.problem.create({ data: problem })
        await tx.problem.create({ data: problem }) // duplicate id: fails
      }),
    ).rejects.toThrow()
    expect(await db.prisma.problem.count({ where: { id: 'tx-test' } })).toBe(0)
    await db.prisma.$transaction(async (tx) => {
      await tx.problem.create({ data: problem })
    })
    expect(await db.prisma.problem.count({ where: { id: 'tx-test' } })).toBe(1)
  })

  it('round-trips every column type the schema uses', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    await db.prisma.problemBundle.create({ data: { hash: 'b1', data: new Uint8Array(bytes), size: 5, fileCount: 1 } })
    const b = await db.prisma.problemBundle.findUniqueOrThrow({ where: { hash: 'b1' } })
    expect(Buffer.from(b.data)).toEqual(bytes)
    const at = new Date('2026-01-02T03:04:05.678Z')
    const ev = await db.prisma.auditEvent.create({
      data: {
        actorLabel: 'test',
        action: 'a',
        targetType: 't',
        after: { nested: [1, 'two', null, { x: 1.5 }] },
        createdAt: at,
      },
    })
    const back = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id: ev.id } })
    expect(typeof back.id).toBe('bigint')
    expect(back.createdAt.toISOString()).toBe(at.toISOString())
    expect(back.after).toEqual({ nested: [1, 'two', null, { x: 1.5 }] })
    const r = await db.prisma.retrieval.create({
      data: { trigger: 'search', query: 'q', chunkIds: ['a', 'b'], scores: [0.5, 0.25] },
    })
    expect(await db.prisma.retrieval.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({
      chunkIds: ['a', 'b'],
      scores: [0.5, 0.25],
    })
  })
})

describe('server mode and the Prisma CLI', () => {
  it('`prisma migrate deploy` applies the same migrations the server applies at start', async () => {
    const t = await createTestDatabase()
    try {
      const { spawnSync } = await import('node:child_process')
      const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'migrate', 'deploy'], {
        env: { ...process.env, DATABASE_URL: t.url, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      })
      expect(r.status, r.stderr + r.stdout).toBe(0)
      const db = await openDatabase({ databaseUrl: t.url })
      expect(db.migrationsApplied).toEqual([]) // nothing left to apply: both agree on the ledger
      expect(await db.prisma.user.count()).toBe(0)
      await db.close()
    } finally {
      await t.drop()
    }
  })
})

describe('closing a server-mode database', () => {
  it('leaves no connection open, also one that was still being opened to LISTEN', async () => {
    const t = await createTestDatabase()
    const admin = new pg.Client({ connectionString: TEST_PG_URL })
    await admin.connect()
    try {
      for (let round = 0; round < 3; round++) {
        const db = await openDatabase({ databaseUrl: t.url, dataDir: mkdtempSync(join(tmpdir(), 'fm-close-')) })
        // a command that ends at once: its events' LISTEN connection is still connecting when it closes
        const listening = db.listen('fm_close_test', () => undefined)
        await db.close()
        // and quietly: no error for the caller to report ("live events stay in this process: closed")
        await expect(listening).resolves.toBeTypeOf('function')
      }
      // without FORCE, Postgres drops a database only when no session is connected to it (it waits
      // for the backends of closed connections to exit, and refuses one that is still open)
      await expect(admin.query(`DROP DATABASE "${t.name}"`)).resolves.toBeDefined()
    } finally {
      await admin.end()
      await t.drop()
    }
  })
})

describe('opening the database: clear errors', () => {
  it('names a refused connection and its fix', async () => {
    const err = await openDatabase({ databaseUrl: 'postgres://fm:fm@127.0.0.1:1/none' }).catch((e) => e)
    expect(err).toBeInstanceOf(DatabaseOpenError)
    expect(err.message).toMatch(/127\.0\.0\.1:1.*connection refused.*DATABASE_URL/)
  })

  it('names a malformed URL, a wrong password and a missing database', async () => {
    await expect(openDatabase({ databaseUrl: 'mysql://x@y/z' })).rejects.toThrow(/must start with postgres:\/\//)
    await expect(openDatabase({ databaseUrl: 'not a url' })).rejects.toThrow(/not a valid URL/)
    const t = await createTestDatabase()
    try {
      const wrong = new URL(t.url)
      wrong.password = 'wrong-password'
      await expect(openDatabase({ databaseUrl: wrong.toString() })).rejects.toThrow(/password authentication failed/)
      const missing = new URL(t.url)
      missing.pathname = '/fm_no_such_database'
      await expect(openDatabase({ databaseUrl: missing.toString() })).rejects.toThrow(/database does not exist/)
    } finally {
      await t.drop()
    }
  })

  it('refuses a database where pgvector cannot be created, and leaves nothing half-migrated', async () => {
    const t = await createTestDatabase({ template: 'template0' })
    const role = await createTestRole(t.name)
    try {
      const err = await openDatabase({ databaseUrl: role.url }).catch((e) => e)
      expect(err).toBeInstanceOf(DatabaseOpenError)
      // both things it lacks, and how to give them
      expect(err.message).toMatch(/pgvector extension is not created in this database and fm_r_\w+ may not create it/)
      expect(err.message).toContain('as a superuser run CREATE EXTENSION vector in this database')
      expect(err.message).toMatch(/also needs to create tables: .*ALTER DATABASE <database> OWNER TO <role>/)
      // the failed migration was rolled back: no application table exists
      const db = await openDatabase({ databaseUrl: t.url, migrate: false })
      const tables = await db.prisma.$queryRaw<
        Array<{ n: bigint }>
      >`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'runs'`
      expect(Number(tables[0].n)).toBe(0)
      await db.close()
    } finally {
      await t.drop()
      await role.drop()
    }
  })
})

describe('opening the database without the rights to migrate: advice that fits', () => {
  it('a database without pgvector, opened by a role that may create tables: CREATE EXTENSION as a superuser, nothing else', async () => {
    const t = await createTestDatabase({ template: 'template0' })
    const role = await createTestRole(t.name)
    try {
      // what an owner may do, short of creating an extension that is not trusted
      const c = new pg.Client({ connectionString: t.url })
      await c.connect()
      try {
        await c.query(`GRANT CREATE ON SCHEMA public TO "${role.name}"`)
      } finally {
        await c.end()
      }
      const err = await openDatabase({ databaseUrl: role.url }).catch((e) => e)
      expect(err).toBeInstanceOf(DatabaseOpenError)
      expect(err.message).toMatch(new RegExp(`^PostgreSQL at .*/${t.name}: the pgvector extension is not created`))
      expect(err.message).toMatch(/migration \w+ failed and was rolled back/)
      expect(err.message).toContain('as a superuser run CREATE EXTENSION vector in this database')
      expect(err.message).not.toMatch(/OWNER TO|worker role/)
    } finally {
      await t.drop()
      await role.drop()
    }
  }, 60_000)

  it('a worker role used for web or engine: says it is one, and which role to use instead', async () => {
    const t = await createTestDatabase()
    const name = `fm_w_${process.pid}_db`
    try {
      await (await openDatabase({ databaseUrl: t.url, dataDir: mkdtempSync(join(tmpdir(), 'fm-wr-')) })).close()
      const { databaseUrl } = await createWorkerRole(t.url, name, 'pw-db-test')
      const err = await openDatabase({ databaseUrl }).catch((e) => e)
      expect(err).toBeInstanceOf(DatabaseOpenError)
      expect(err.message).toContain(`${name} is a worker role (made by fm-agent worker-role create)`)
      expect(err.message).toContain('use it only for fm-agent worker')
      expect(err.message).toContain('need the application role')
      expect(err.message).not.toMatch(/CREATE EXTENSION/)
    } finally {
      await dropWorkerRole(t.url, name, { force: true }).catch(() => undefined)
      await t.drop()
    }
  }, 60_000)

  it('any other role that may not create tables: ownership advice, not pgvector', async () => {
    const t = await createTestDatabase()
    const role = await createTestRole(t.name)
    try {
      const err = await openDatabase({ databaseUrl: role.url }).catch((e) => e)
      expect(err).toBeInstanceOf(DatabaseOpenError)
      expect(err.message).toMatch(/fm_r_\w+ may not create tables here \(permission denied for schema public\)/)
      expect(err.message).toContain('ALTER DATABASE <database> OWNER TO <role>')
      expect(err.message).not.toMatch(/vector|worker role/)
    } finally {
      await t.drop()
      await role.drop()
    }
  }, 60_000)
})

describe('the embedded data folder lock', () => {
  it('refuses a second process while the first holds the folder, and takes over a stale lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-lock-'))
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
      const { openDatabase } = await import(${JSON.stringify(new URL('./db.ts', import.meta.url).pathname)})
      await openDatabase({ dataDir: ${JSON.stringify(dir)}, databaseUrl: '' })
      console.log('open'); setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DATABASE_URL: '' } },
    )
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d) => d.toString().includes('open') && resolve())
        holder.on('exit', (c) => reject(new Error(`holder exited ${c}`)))
      })
      const err = await openDatabase({ dataDir: dir, databaseUrl: '' }).catch((e) => e)
      expect(err).toBeInstanceOf(DataDirLockedError)
      expect(err.message).toContain(`process ${holder.pid}`)
    } finally {
      holder.kill('SIGKILL')
      await new Promise((r) => holder.once('exit', r))
    }
    // the holder died without releasing: the next open takes over and checks the database
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    expect(db.uncleanStop).toBe(true)
    expect(await db.prisma.user.count()).toBe(0)
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('survives a first start killed while PGlite builds the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-init-'))
    // the real initdb, not the suite's template, so there is something to interrupt
    const env = { ...process.env, DATABASE_URL: '', FM_PGLITE_TEMPLATE: '' }
    const first = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
      const { openDatabase } = await import(${JSON.stringify(new URL('./db.ts', import.meta.url).pathname)})
      await openDatabase({ dataDir: ${JSON.stringify(dir)}, databaseUrl: '' })`,
      ],
      { stdio: 'ignore', env },
    )
    // kill it once the staging folder has files in it: mid-build
    const deadline = Date.now() + 60_000
    let seen = false
    while (!seen && Date.now() < deadline) {
      seen = readdirSync(dir).some((n) => n.startsWith('pgdata.init-') && readdirSync(join(dir, n)).length > 3)
      if (!seen) await new Promise((r) => setTimeout(r, 20))
    }
    first.kill('SIGKILL')
    await new Promise((r) => first.once('exit', r))
    expect(seen).toBe(true)
    expect(readdirSync(dir)).not.toContain('pgdata')
    try {
      const db = await openFromScratch(dir)
      expect(db.migrationsApplied).toEqual(listMigrations().map((m) => m.name))
      expect(await db.prisma.user.count()).toBe(0)
      await db.close()
      expect(readdirSync(dir).filter((n) => n.startsWith('pgdata.init-'))).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('starts new databases from a template with the migrations applied, made once', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'fm-cache-'))
    const env = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, FM_PGLITE_TEMPLATE: process.env.FM_PGLITE_TEMPLATE }
    process.env.XDG_CACHE_HOME = cache
    delete process.env.FM_PGLITE_TEMPLATE
    const dirs = [mkdtempSync(join(tmpdir(), 'fm-new-')), mkdtempSync(join(tmpdir(), 'fm-new-'))]
    try {
      const ledgers: string[][] = []
      for (const dir of dirs) {
        const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
        expect(db.migrationsApplied).toEqual(listMigrations().map((m) => m.name))
        ledgers.push((await db.sql<{ id: string }>('SELECT id FROM "_prisma_migrations" ORDER BY id')).map((r) => r.id))
        // the template holds only the database PGlite serves, and says so when asked for another
        expect(await db.sql('SELECT datname FROM pg_database')).toEqual([{ datname: 'postgres' }])
        await expect(db.sql('CREATE DATABASE another')).rejects.toThrow(/template database "template1" does not exist/)
        await db.close()
      }
      expect(readdirSync(join(cache, 'fm-agent')).filter((n) => n.includes('-migrated-'))).toHaveLength(1)
      // the ledger's ids are drawn when a migration is applied: both copies hold the template's
      expect(ledgers[1]).toEqual(ledgers[0])
      expect(ledgers[0]).toHaveLength(listMigrations().length)
    } finally {
      for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v)
      for (const d of [cache, ...dirs]) rmSync(d, { recursive: true, force: true })
    }
  })

  it('treats a lock left by a dead pid as stale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-lock-'))
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), startedAt: 'then' }),
    )
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    expect(db.uncleanStop).toBe(true)
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
})

describe('an embedded database that does not open', () => {
  it('names a full disk as such (nothing lost), and only otherwise suggests corruption', () => {
    const full = openFailure('/data/pgdata', 'PGlite failed to initialize properly', 0.6)
    expect(full).toContain('the disk holding it has 0.6 MB free')
    expect(full).toContain('free some space and try again. Nothing is lost')
    expect(full).not.toContain('corrupt')
    for (const free of [5000, null])
      expect(openFailure('/data/pgdata', 'PGlite failed to initialize properly', free)).toContain(
        'it may be corrupt: move the folder away',
      )
  })

  it('names a folder this user may not write, not a corrupt database; a file error without a message is read', () => {
    const ro = openFailure('/data/pgdata', 'ErrnoError 2', 5000, '/data/pgdata/postgresql.conf')
    expect(ro).toContain('/data/pgdata/postgresql.conf is not writable by this user')
    expect(ro).not.toContain('corrupt')
    expect(errorText(Object.assign(Object.create(null), { name: 'ErrnoError', errno: 2 }))).toBe('ErrnoError 2')
    expect(errorText(new Error('boom'))).toBe('boom')
    // this process may write its own temporary folder (root may write anything: no refusal to test there)
    expect(unwritablePath(tmpdir())).toBeNull()
  })

  it('reads the free space of the disk a folder is on', () => {
    const free = freeMegabytes(tmpdir())
    expect(free).toBeGreaterThan(0)
    expect(freeMegabytes('/no/such/folder')).toBeNull()
  })
})
