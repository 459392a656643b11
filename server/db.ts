// The one Prisma client module. Two modes, one schema:
//  - embedded (no DATABASE_URL): PGlite with pgvector in <data dir>/pgdata, guarded by a lock file;
//  - server (DATABASE_URL=postgres://…): PostgreSQL with pgvector through a pg pool.
// Migrations are applied at open in both modes (server mode: under an advisory lock).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  accessSync,
  constants as fsConstants,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import type { PrismaPg } from '@prisma/adapter-pg'
import type Pg from 'pg'
import { pg } from './db/pg.ts'
import { PrismaClient } from './generated/prisma/client.ts'
import { acquireLock, type DataDirLock, PGDATA_DIR, resolveDataDir } from './db/data-dir.ts'
import { createPgliteAdapter } from './db/pglite-adapter.ts'
import { applyMigrations, listMigrations, MigrationError, type SqlRunner } from './db/migrate.ts'
import { raiseWasmTieringBudget } from './db/wasm-tiering.ts'
import { whenReady } from './db/ready.ts'
import { DatabaseOpenError, describeUrl, explainPgError } from './db/pg-errors.ts'

export { PrismaClient }
export { DatabaseOpenError, describeUrl, explainPgError }
export type { Prisma } from './generated/prisma/client.ts'

export type DbMode = 'embedded' | 'server'

export interface Db {
  prisma: PrismaClient
  mode: DbMode
  /** human description for logs and errors, never containing a password */
  label: string
  dataDir: string
  /** server mode only: the connection string (not for logs) */
  databaseUrl?: string
  lock?: DataDirLock
  /** the previous process died holding the data folder; the database was checked at open */
  uncleanStop: boolean
  migrationsApplied: string[]
  /**
   * Raw SQL on the driver itself, for the engine's hot path (one candidate written and one result
   * ingested per iteration): Prisma's query pipeline costs more CPU than the statements themselves.
   */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  /**
   * LISTEN on a channel: `onNotify` gets each payload. Server mode keeps one connection for all
   * channels and reconnects (with backoff) when it drops; `onReconnect` lets a listener re-read
   * what it may have missed. Returns the unlisten function.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>
  /** NOTIFY a channel (delivered to every listener, this process's included) */
  notify(channel: string, payload: string): Promise<void>
  close(): Promise<void>
}

export interface OpenOptions {
  databaseUrl?: string
  dataDir?: string
  /** apply pending migrations (default true) */
  migrate?: boolean
  /** pool size in server mode */
  poolSize?: number
  /**
   * Server mode: when the server is not reachable yet (still starting, a network not up, a database
   * not created yet), wait and retry with backoff instead of failing; `wait` hears the reason once.
   */
  wait?: (reason: string) => void
}

/**
 * One connection that LISTENs for this process (LISTEN needs a session of its own). When it drops
 * (the server restarted, a network hiccup) it reconnects with backoff and LISTENs again; listeners
 * are told, since notifications sent meanwhile are lost and they should re-read the stored rows.
 */
class PgListener {
  private client: Pg.Client | null = null
  private connecting: Promise<Pg.Client> | null = null
  private readonly channels = new Map<string, Set<{ onNotify: (p: string) => void; onReconnect?: () => void }>>()
  private closed = false
  private failures = 0
  /** ends the wait before the next connection attempt */
  private wake: (() => void) | null = null

  constructor(private readonly config: Pg.ClientConfig) {}

  async listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void) {
    const entry = { onNotify, onReconnect }
    let set = this.channels.get(channel)
    const fresh = !set
    if (!set) this.channels.set(channel, (set = new Set()))
    set.add(entry)
    try {
      const client = await this.connect()
      if (fresh) await client.query(`LISTEN ${quoteIdent(channel)}`)
    } catch (e) {
      // the database closed while this was connecting (a short CLI command): nothing to listen to, no fault
      if (this.closed) return async () => undefined
      throw e
    }
    return async () => {
      set!.delete(entry)
      if (set!.size === 0 && this.channels.get(channel) === set) {
        this.channels.delete(channel)
        await this.client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined)
      }
    }
  }

  private connect(): Promise<Pg.Client> {
    if (this.client) return Promise.resolve(this.client)
    this.connecting ??= (async () => {
      for (;;) {
        if (this.closed) throw new Error('closed')
        const c = new (pg().Client)(this.config)
        try {
          await c.connect()
          c.on('notification', (n) => {
            for (const l of this.channels.get(n.channel) ?? []) l.onNotify(n.payload ?? '')
          })
          c.on('error', () => this.dropped(c))
          c.on('end', () => this.dropped(c))
          for (const ch of this.channels.keys()) await c.query(`LISTEN ${quoteIdent(ch)}`)
          // closed while connecting: a connection kept now would keep the process alive for good
          if (this.closed) throw new Error('closed')
          this.client = c
          this.failures = 0
          return c
        } catch {
          await c.end().catch(() => undefined)
          if (this.closed) throw new Error('closed')
          await new Promise<void>((r) => {
            const t = setTimeout(r, Math.min(10_000, 250 * 2 ** this.failures++))
            this.wake = () => {
              clearTimeout(t)
              r()
            }
          })
        }
      }
    })().finally(() => (this.connecting = null))
    return this.connecting
  }

  private dropped(c: Pg.Client) {
    if (this.client !== c || this.closed) return
    this.client = null
    void this.connect().then(
      () => {
        for (const set of this.channels.values()) for (const l of set) l.onReconnect?.()
      },
      () => undefined,
    )
  }

  async close() {
    this.closed = true
    this.wake?.()
    // a connection being opened ends itself once open (connect() sees closed)
    await this.connecting?.catch(() => undefined)
    const c = this.client
    this.client = null
    await c?.end().catch(() => undefined)
  }
}

function quoteIdent(s: string) {
  return `"${s.replace(/"/g, '""')}"`
}

export async function openDatabase(opts: OpenOptions = {}): Promise<Db> {
  const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL
  const dataDir = resolveDataDir(opts.dataDir)
  if (!databaseUrl) return openEmbedded(dataDir, opts)
  return opts.wait
    ? whenReady(() => openServer(databaseUrl, dataDir, opts), opts.wait)
    : openServer(databaseUrl, dataDir, opts)
}

/** PGlite writes a 16 MB write-ahead log segment as it opens, with some room besides. */
const OPEN_NEEDS_MB = 24

/** Free space on the disk holding `dir`, in MB (for an unprivileged user); null where it cannot be read. */
export function freeMegabytes(dir: string): number | null {
  try {
    const st = statfsSync(dir)
    return (st.bavail * st.bsize) / 2 ** 20
  } catch {
    return null
  }
}

/** The first of the database's folder and files this user may not write, or null. */
export function unwritablePath(pgdata: string): string | null {
  for (const path of [pgdata, join(pgdata, 'postgresql.conf'), join(pgdata, 'global', 'pg_control')]) {
    try {
      accessSync(path, fsConstants.W_OK)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return path
    }
  }
  return null
}

/** PGlite's file errors are objects with an errno and no message. */
export function errorText(e: unknown): string {
  if (e instanceof Error && e.message) return e.message
  if (e && typeof e === 'object' && 'errno' in e)
    return `${(e as { name?: string }).name ?? 'file error'} ${(e as { errno: unknown }).errno}`
  return String(e)
}

/**
 * Why the embedded database did not open, and what to do. A full disk or a folder this user may not
 * write looks like a broken database to PGlite: each is named as such before anyone is told to move
 * the folder away.
 */
export function openFailure(
  pgdata: string,
  error: string,
  freeMb: number | null,
  unwritable: string | null = null,
): string {
  const what = `the embedded database in ${pgdata} could not be opened (${error})`
  if (unwritable)
    return `${what}: ${unwritable} is not writable by this user, and the database writes as it opens, even to be read; run fm-agent as the folder's owner or give this user write access (copy the folder to read it elsewhere). Nothing is lost`
  if (freeMb !== null && freeMb < OPEN_NEEDS_MB)
    return `${what}: the disk holding it has ${freeMb.toFixed(1)} MB free, and opening it needs about ${OPEN_NEEDS_MB} MB (a new write-ahead log segment); free some space and try again. Nothing is lost`
  return `${what}; it may be corrupt: move the folder away to start fresh, or restore it from a backup`
}

async function openEmbedded(dataDir: string, opts: OpenOptions): Promise<Db> {
  raiseWasmTieringBudget()
  const lock = acquireLock(dataDir)
  const pgdata = join(dataDir, PGDATA_DIR)
  const label = `embedded PGlite in ${pgdata}`
  let pglite: PGlite
  let premigrated: string[] = []
  try {
    premigrated = await initializeIfNew(pgdata, opts.migrate !== false)
    pglite = await PGlite.create({ dataDir: pgdata, extensions: { vector }, postgresqlconf: PGLITE_CONF })
    // an unclean stop is recovered by Postgres' own WAL replay inside PGlite; check it answers
    await pglite.query('SELECT 1')
  } catch (e) {
    lock.release()
    throw new DatabaseOpenError(openFailure(pgdata, errorText(e), freeMegabytes(dataDir), unwritablePath(pgdata)))
  }
  const runner = pgliteRunner(pglite)
  let migrationsApplied: string[] = []
  try {
    await pglite.exec('CREATE EXTENSION IF NOT EXISTS vector')
    if (opts.migrate !== false) migrationsApplied = [...premigrated, ...(await applyMigrations(runner))]
    if (lock.uncleanStop) await checkIntegrity(runner)
  } catch (e) {
    await pglite.close().catch(() => undefined)
    lock.release()
    throw e instanceof MigrationError ? new DatabaseOpenError(`${label}: ${e.message}`) : e
  }
  // pglite-prisma-adapter 0.6 is typed against an older @prisma/driver-adapter-utils; same protocol
  const adapter = (await createPgliteAdapter(pglite)) as unknown as PrismaPg
  const prisma = new PrismaClient({ adapter })
  return {
    prisma,
    mode: 'embedded',
    label,
    dataDir,
    lock,
    uncleanStop: lock.uncleanStop,
    migrationsApplied,
    sql: async <T>(text: string, params?: unknown[]) => (await pglite.query<T>(text, params)).rows,
    listen: async (channel, onNotify) => {
      const unlisten = await pglite.listen(channel, onNotify)
      return async () => unlisten()
    },
    notify: async (channel, payload) => {
      await pglite.query('SELECT pg_notify($1, $2)', [channel, payload])
    },
    async close() {
      await prisma.$disconnect().catch(() => undefined)
      await pglite.close().catch(() => undefined)
      lock.release()
    },
  }
}

/** what the migrations need of a PGlite database */
function pgliteRunner(pglite: PGlite): SqlRunner {
  return {
    exec: (sql) => pglite.exec(sql),
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await pglite.query<T>(sql, params)).rows }),
  }
}

/**
 * Embedded PostgreSQL settings. Postgres' default 128 MB of shared buffers live in PGlite's
 * WebAssembly memory, which never shrinks; the data files are read through the OS's page cache
 * anyway, so a small buffer pool costs a few reads and saves ~150 MB of resident memory.
 */
const PGLITE_CONF = ['shared_buffers = 16MB', 'wal_buffers = 1MB']

/**
 * An initialized, empty PGlite cluster to copy new databases from (FM_PGLITE_TEMPLATE, or one made
 * once per PGlite version in the user's cache). Copying takes milliseconds; initdb takes seconds
 * and its memory.
 */
function templateDir(): string | null {
  if (process.env.FM_PGLITE_TEMPLATE) return process.env.FM_PGLITE_TEMPLATE
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  // the package exports no package.json: read it beside its entry point
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  const pkg = join(
    entry.slice(
      0,
      entry.lastIndexOf('/node_modules/@electric-sql/pglite/') + '/node_modules/@electric-sql/pglite/'.length,
    ),
    'package.json',
  )
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version
  return join(cache, 'fm-agent', `pglite-${version}`)
}

/** initdb in a child process (see initdb-child.mjs), into `dir` */
function initdb(dir: string) {
  const script = fileURLToPath(new URL('./db/initdb-child.mjs', import.meta.url))
  execFileSync(process.execPath, [script, dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  if (!existsSync(join(dir, 'PG_VERSION'))) throw new Error(`initdb made no cluster in ${dir}`)
}

/**
 * A new database is built beside its final place and renamed into it, so a first start killed
 * halfway (during PGlite's initdb or the copy) leaves no half-made folder that later starts would
 * take for a corrupt database. It starts as a copy of the template cluster (templateDir()), made
 * first when there is none, or, when the caller migrates, of that template with the current
 * migrations applied (migratedTemplate()); pending migrations apply on top at open. Returns the
 * migrations the copy came with.
 */
async function initializeIfNew(pgdata: string, migrate: boolean): Promise<string[]> {
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) return []
  const parent = dirname(pgdata)
  // leftovers of starts that died while building (the data-folder lock is ours, so none is live)
  for (const name of readdirSync(parent)) {
    if (name.startsWith(`${basename(pgdata)}.init-`)) rmSync(join(parent, name), { recursive: true, force: true })
  }
  const staging = `${pgdata}.init-${process.pid}`
  const template = templateDir()
  if (template && !existsSync(join(template, 'PG_VERSION'))) {
    // made once, beside its place and renamed in (another process may be making it too)
    const making = `${template}.init-${process.pid}`
    try {
      mkdirSync(dirname(template), { recursive: true })
      initdb(making)
      renameSync(making, template)
    } catch {
      // no cache to write to, or another process won the rename: fine either way
    } finally {
      rmSync(making, { recursive: true, force: true })
    }
  }
  let came: string[] = []
  if (template && existsSync(join(template, 'PG_VERSION'))) {
    const migrated = migrate && !process.env.FM_PGLITE_TEMPLATE ? await migratedTemplate(template) : null
    cpSync(migrated?.dir ?? template, staging, { recursive: true })
    came = migrated?.names ?? []
  } else initdb(staging)
  rmSync(pgdata, { recursive: true, force: true })
  renameSync(staging, pgdata)
  return came
}

/**
 * The template with the current migrations applied and only the database PGlite opens, made once
 * per set of migrations: a new database then starts ready instead of running every migration
 * (~2.5 s of a first start here).
 * Null when it cannot be made (no cache to write to): the migrations then run at open as before.
 */
async function migratedTemplate(base: string): Promise<{ dir: string; names: string[] } | null> {
  const migrations = listMigrations()
  const key = createHash('sha256')
    .update(['postgres only', ...migrations.map((m) => `${m.name}:${m.checksum}`)].join('\n'))
    .digest('hex')
    .slice(0, 16)
  const dir = `${base}-migrated-${key}`
  const names = migrations.map((m) => m.name)
  if (existsSync(join(dir, 'PG_VERSION'))) return { dir, names }
  const making = `${dir}.init-${process.pid}`
  try {
    cpSync(base, making, { recursive: true })
    const pglite = await PGlite.create({ dataDir: making, extensions: { vector }, postgresqlconf: PGLITE_CONF })
    try {
      await pglite.exec('CREATE EXTENSION IF NOT EXISTS vector')
      await applyMigrations(pgliteRunner(pglite))
      // PGlite serves one database, `postgres`; the template databases are 2/3 of the cluster's
      // ~1,100 files, and creating files is most of what a first start spends copying this folder
      // (0.1-0.8 s here). Dropped through Postgres, so the catalog agrees: CREATE DATABASE says why.
      for (const name of ['template1', 'template0']) {
        await pglite.exec(`ALTER DATABASE ${name} IS_TEMPLATE false`)
        await pglite.exec(`DROP DATABASE ${name}`)
      }
      await pglite.exec('CHECKPOINT')
    } finally {
      await pglite.close()
    }
    renameSync(making, dir)
    return { dir, names }
  } catch {
    // another process won the rename, or no cache to write to
    return existsSync(join(dir, 'PG_VERSION')) ? { dir, names } : null
  } finally {
    rmSync(making, { recursive: true, force: true })
  }
}

/** After an unclean stop: every table must be readable and the vector index usable. */
async function checkIntegrity(db: SqlRunner) {
  const tables = (await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    .rows
  for (const t of tables) await db.query(`SELECT count(*) FROM "${t.tablename.replace(/"/g, '""')}"`)
  await db.query('REINDEX TABLE knowledge_chunks')
}

function pgConfig(url: string, max: number): Pg.PoolConfig {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new DatabaseOpenError('DATABASE_URL is not a valid URL; expected postgres://user:password@host:5432/database')
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) {
    throw new DatabaseOpenError(
      `DATABASE_URL must start with postgres:// (got ${u.protocol}//); unset it to use the embedded database`,
    )
  }
  if (!u.pathname.slice(1))
    throw new DatabaseOpenError('DATABASE_URL names no database; add /<database> after the host')
  return { connectionString: url, max, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 }
}

/**
 * Why migrating was refused, from what the connected role is rather than from the error's words
 * (they depend on the server's language): a worker role used for web or engine, or a database
 * without pgvector that this role may not create. Null when neither explains it.
 */
async function permissionAdvice(client: Pg.Client, message: string, migrating: boolean): Promise<string | null> {
  const { roleStanding } = await import('./queue/roles.ts')
  const r = await roleStanding(client)
  if (r.workerRole)
    return (
      `${r.user} is a worker role (made by fm-agent worker-role create): use it only for fm-agent worker; ` +
      'web and engine processes need the application role (the DATABASE_URL worker-role create was run with)'
    )
  const owner = r.createsInPublic ? '' : `; ${r.user} also needs to create tables: ${OWNER_ADVICE}`
  if (!r.vectorInstalled && !r.canCreateVector)
    return (
      `the pgvector extension is not created in this database and ${r.user} may not create it (${message}); ` +
      `as a superuser run CREATE EXTENSION vector in this database once (psql -d <database> -c "CREATE EXTENSION vector")${owner}`
    )
  if (r.createsInPublic) return null
  // a migration may have failed for its own reason: its words first, the missing right after them
  return migrating
    ? `${message}; note that ${r.user} may not create tables here: ${OWNER_ADVICE}`
    : `${r.user} may not create tables here (${message}): ${OWNER_ADVICE}`
}

const OWNER_ADVICE =
  'the first web or engine process creates the tables, so its role must own the database ' +
  '(ALTER DATABASE <database> OWNER TO <role>) or be granted CREATE ON SCHEMA public'

// Same key as Prisma's migrate, so `prisma migrate deploy` and this process never interleave.
const MIGRATE_LOCK_KEY = 72707369

async function openServer(databaseUrl: string, dataDir: string, opts: OpenOptions): Promise<Db> {
  const label = describeUrl(databaseUrl)
  const config = pgConfig(databaseUrl, opts.poolSize ?? 10)
  const client = new (pg().Client)(config)
  // a connection the server ends between two queries (a restart, a dropped database) fails the next
  // query; as an unheard 'error' event it would end the process
  client.on('error', () => undefined)
  let migrationsApplied: string[] = []
  try {
    await client.connect()
  } catch (e) {
    throw explainPgError(e, label)
  }
  try {
    const hasVector = await client.query(
      "SELECT (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed, (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available",
    )
    const { installed, available } = hasVector.rows[0]
    if (!installed && !available) {
      throw new DatabaseOpenError(
        `${label} has no pgvector extension; install it on the server (scripts/test-setup.sh builds it on Debian) and retry`,
      )
    }
    if (opts.migrate !== false) {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY])
      try {
        const runner: SqlRunner = {
          exec: (sql) => client.query(sql),
          query: async <T>(sql: string, params?: unknown[]) => ({
            rows: (await client.query(sql, params)).rows as T[],
          }),
        }
        migrationsApplied = await applyMigrations(runner)
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined)
      }
    }
  } catch (e) {
    if (e instanceof DatabaseOpenError) throw e
    const code = (e as { code?: string }).code
    if (e instanceof MigrationError || code === '42501') {
      const advice = await permissionAdvice(client, (e as Error).message, e instanceof MigrationError).catch(() => null)
      if (advice) throw new DatabaseOpenError(`${label}: ${advice}`, code)
      if (e instanceof MigrationError) throw new DatabaseOpenError(`${label}: ${e.message}`)
      throw new DatabaseOpenError(
        `${label}: permission denied while migrating (${(e as Error).message}); ${OWNER_ADVICE}`,
        code,
      )
    }
    throw explainPgError(e, label)
  } finally {
    await client.end().catch(() => undefined)
  }
  // server mode's adapter, imported here: the embedded database never loads it
  const { PrismaPg } = await import('@prisma/adapter-pg')
  const prisma = new PrismaClient({ adapter: new PrismaPg(config) })
  const raw = new (pg().Pool)({ ...config, max: 4 })
  raw.on('error', () => undefined) // a dropped idle connection is replaced on the next query
  const listener = new PgListener(config)
  return {
    prisma,
    mode: 'server',
    label,
    dataDir,
    databaseUrl,
    uncleanStop: false,
    migrationsApplied,
    sql: async <T>(text: string, params?: unknown[]) => (await raw.query(text, params)).rows as T[],
    listen: (channel, onNotify, onReconnect) => listener.listen(channel, onNotify, onReconnect),
    notify: async (channel, payload) => {
      await raw.query('SELECT pg_notify($1, $2)', [channel, payload])
    },
    async close() {
      await listener.close()
      await prisma.$disconnect().catch(() => undefined)
      await raw.end().catch(() => undefined)
    },
  }
}
