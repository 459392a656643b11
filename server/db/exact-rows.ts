// Rows written as one JSON text parameter that PostgreSQL turns into the table's own row type.
// Why not Prisma's createMany: its query compiler reads every number it is handed again, in Float
// and Json values alike, with a parser that lands one unit in the last place off for some doubles
// (prisma/prisma#11096): 3.7174721189591082 was stored as 3.717472118959108. A text parameter
// reaches the database untouched, and PostgreSQL's text-to-double conversion is correctly rounded.
// Reads need nothing of the kind: Prisma hands the driver's doubles and JSON through as they are.
import { setImmediate } from 'node:timers/promises'
import type { Prisma } from '../db.ts'

type Sql = Pick<Prisma.TransactionClient, '$executeRawUnsafe' | '$queryRawUnsafe'>

/** The schema maps every field to its snake_case name (prisma/schema.prisma). */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/**
 * Inserts rows keyed by Prisma field names, as Prisma reads them. A field no row gives (or gives as
 * undefined) takes its column's default; a field the table has no column for is left out (an export
 * written by a later version); JSON null is SQL NULL. The rows of one call should give the same
 * fields: one that gives fewer gets NULL, not the default, for the others.
 */
export async function insertRowsExactly(tx: Sql, table: string, rows: Array<Record<string, unknown>>, batch = 500) {
  if (!rows.length) return
  const known = new Set(
    (
      await tx.$queryRawUnsafe<Array<{ c: string }>>(
        'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
        table,
      )
    ).map((r) => r.c),
  )
  if (!known.size) throw new Error(`no table "${table}"`)
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => r[k] !== undefined)))].filter((f) =>
    known.has(columnOf(f)),
  )
  const cols = fields.map((f) => `"${columnOf(f)}"`).join(', ')
  const sql = `INSERT INTO "${table}" (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb)`
  for (let i = 0; i < rows.length; i += batch) {
    const text = JSON.stringify(
      rows.slice(i, i + batch).map((r) => Object.fromEntries(fields.map((f) => [columnOf(f), r[f] ?? null]))),
      (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
    )
    await tx.$executeRawUnsafe(sql, text)
    // the embedded database answers without a turn of the event loop: a long import would hold
    // every other request (a health check, a page) for its duration
    await setImmediate()
  }
}
