// Applies prisma/migrations/*/migration.sql in order, each in its own transaction, and records
// them in Prisma's own `_prisma_migrations` table, so `prisma migrate deploy` and this runner
// agree on what is applied (the embedded mode cannot run the Prisma CLI at start-up cheaply).
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

/** The two things a migration needs from a driver: run a script, run a query. */
export interface SqlRunner {
  exec(sql: string): Promise<unknown>
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>
}

export interface Migration {
  name: string
  sql: string
  checksum: string
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'migration.sql')))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

const LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

export class MigrationError extends Error {}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`

/**
 * Applies what is missing. A migration that fails rolls back entirely (nothing half-migrated);
 * a migration whose file changed after it was applied is refused rather than silently skipped.
 */
export async function applyMigrations(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  await db.exec(LEDGER)
  const rows = (
    await db.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    )
  ).rows
  const done = new Map(
    rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r.checksum]),
  )
  const failed = rows.find((r) => !r.finished_at && !r.rolled_back_at)
  if (failed) {
    throw new MigrationError(
      `migration ${failed.migration_name} was started but never finished; resolve it (prisma migrate resolve) before starting`,
    )
  }
  const mine = listMigrations(dir)
  // a database a newer version migrated (a downgrade, or two versions on one folder): this version
  // would misread or overwrite what the newer one wrote
  const known = new Set(mine.map((m) => m.name))
  const newer = [...done.keys()].filter((name) => !known.has(name)).sort()
  if (newer.length)
    throw new MigrationError(
      `this database was upgraded by a newer fm-agent (its migration ${newer.at(-1)} is not in this version): run the newer version, or update this one (git pull, then npm install)`,
    )
  const applied: string[] = []
  for (const m of mine) {
    const seen = done.get(m.name)
    if (seen !== undefined) {
      if (seen !== m.checksum) throw new MigrationError(`migration ${m.name} was modified after it was applied`)
      continue
    }
    try {
      await db.exec(
        `BEGIN;\n${m.sql}\n;INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) ` +
          `VALUES (${quote(randomUUID())}, ${quote(m.checksum)}, now(), ${quote(m.name)}, 1);\nCOMMIT;`,
      )
    } catch (e) {
      await db.exec('ROLLBACK').catch(() => undefined)
      throw new MigrationError(`migration ${m.name} failed and was rolled back: ${(e as Error).message}`)
    }
    applied.push(m.name)
  }
  return applied
}
