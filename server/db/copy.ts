// Every row of one FM Agent database copied into another, fresh one: a data folder's embedded
// database moved to PostgreSQL, when a team that started on one machine sets up a server
// (`fm-agent copy-to`). Both sides are migrated to the same version first, so their tables and
// columns are the same. Each value travels as its text form, as a dump does, and is cast back to
// its column's type on arrival: no value goes through JavaScript's numbers or the ORM.
import type Pg from 'pg'
import type { Db } from '../db.ts'
import { BadInputError } from '../errors.ts'
import { pg } from './pg.ts'

export interface CopyProgress {
  table: string
  /** rows of this table copied so far */
  rows: number
}

export interface CopySummary {
  tables: Array<{ table: string; rows: number }>
  rows: number
}

/** heap blocks read per statement (8 KB each): a bounded read whatever the table's size */
const BLOCKS_PER_READ = 32
/** rows' text sent per statement, at most (a row larger than it goes alone) */
const WRITE_BYTES = 8 << 20

interface Column {
  name: string
  type: string
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`

/** Parent tables before the tables that reference them (a foreign key of a table to itself aside). Pure. */
export function copyOrder(tables: string[], references: Array<{ child: string; parent: string }>): string[] {
  const parents = new Map(tables.map((t) => [t, new Set<string>()]))
  for (const r of references) if (r.child !== r.parent && parents.has(r.parent)) parents.get(r.child)?.add(r.parent)
  const out: string[] = []
  const placed = new Set<string>()
  const visit = (t: string, path: Set<string>) => {
    if (placed.has(t)) return
    if (path.has(t)) throw new Error(`foreign keys form a cycle through ${t}: the tables cannot be copied in order`)
    path.add(t)
    for (const p of [...parents.get(t)!].sort()) visit(p, path)
    path.delete(t)
    placed.add(t)
    out.push(t)
  }
  for (const t of [...tables].sort()) visit(t, new Set())
  return out
}

async function migrationsOf(db: Pick<Db, 'sql'>): Promise<string[]> {
  return (
    await db.sql<{ name: string }>(
      'SELECT migration_name AS name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1',
    )
  ).map((r) => r.name)
}

/**
 * Copies every table of `from` into `to`, in one transaction on `to`: a copy that fails leaves the
 * target as empty as it was. `to` must be a server database (its URL), migrated and empty.
 */
export async function copyDatabase(
  from: Db,
  to: Db,
  opts: { onProgress?: (p: CopyProgress) => void } = {},
): Promise<CopySummary> {
  if (!to.databaseUrl) throw new Error('the target must be a PostgreSQL database (DATABASE_URL)')
  const [a, b] = [await migrationsOf(from), await migrationsOf(to)]
  if (a.join() !== b.join())
    throw new BadInputError(
      `the two databases are at different versions (${a.at(-1) ?? 'none'} and ${b.at(-1) ?? 'none'}): open both with this version of fm-agent first`,
    )
  const tables = (
    await from.sql<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
    )
  ).map((r) => r.t)
  const references = await from.sql<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace`,
  )
  const order = copyOrder(
    tables,
    references.map((r) => ({ child: r.child.replace(/^"|"$/g, ''), parent: r.parent.replace(/^"|"$/g, '') })),
  )
  const client: Pg.Client = new (pg().Client)({ connectionString: to.databaseUrl })
  await client.connect()
  const summary: CopySummary = { tables: [], rows: 0 }
  try {
    for (const t of order) {
      const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${ident(t)}) AS taken`)
      if (rows[0]?.taken)
        throw new BadInputError(
          `the target database is not empty (table ${t} has rows): copy into a new, empty database (fm-agent copies a whole data folder, it does not merge)`,
        )
    }
    await client.query('BEGIN')
    for (const t of order) {
      const rows = await copyTable(from, client, t, (n) => opts.onProgress?.({ table: t, rows: n }))
      summary.tables.push({ table: t, rows })
      summary.rows += rows
    }
    await resetSequences(client)
    await client.query('COMMIT')
    return summary
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw e
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function columnsOf(client: Pg.Client, table: string): Promise<Column[]> {
  const { rows } = await client.query<Column>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [`public.${ident(table)}`],
  )
  return rows
}

async function copyTable(from: Db, client: Pg.Client, table: string, progress: (n: number) => void): Promise<number> {
  const columns = await columnsOf(client, table)
  const list = columns.map((c) => ident(c.name)).join(', ')
  const read = `SELECT ${columns.map((c) => `${ident(c.name)}::text AS ${ident(c.name)}`).join(', ')} FROM ${ident(table)}
                 WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid`
  const write = `INSERT INTO ${ident(table)} (${list})
                 SELECT ${columns.map((c, i) => `u.c${i}::${c.type}`).join(', ')}
                   FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${columns.map((_, i) => `c${i}`).join(', ')})`
  const [{ blocks }] = await from.sql<{ blocks: string }>(
    `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::bigint)::text AS blocks`,
    [`public.${ident(table)}`],
  )
  let copied = 0
  let batch: Array<Record<string, string | null>> = []
  let bytes = 0
  const flush = async () => {
    if (!batch.length) return
    await client.query(
      write,
      columns.map((c) => batch.map((r) => r[c.name] ?? null)),
    )
    copied += batch.length
    progress(copied)
    batch = []
    bytes = 0
  }
  // by ranges of the heap's blocks: each read is bounded and needs no sort, whatever the table's size
  for (let start = 0; start < Number(blocks); start += BLOCKS_PER_READ) {
    const rows = await from.sql<Record<string, string | null>>(read, [start, start + BLOCKS_PER_READ])
    for (const r of rows) {
      batch.push(r)
      for (const c of columns) bytes += r[c.name]?.length ?? 0
      if (bytes >= WRITE_BYTES) await flush()
    }
  }
  await flush()
  return copied
}

/** Each sequence past the largest value its column holds, so new rows get new ids. */
async function resetSequences(client: Pg.Client) {
  const { rows } = await client.query<{ table: string; column: string; seq: string }>(
    `SELECT c.relname AS table, a.attname AS column, s.relname AS seq
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class c ON c.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
      WHERE c.relnamespace = 'public'::regnamespace`,
  )
  for (const r of rows)
    await client.query(
      `SELECT setval($1::regclass, coalesce((SELECT max(${ident(r.column)}) FROM ${ident(r.table)}), 0) + 1, false)`,
      [`public.${ident(r.seq)}`],
    )
}
