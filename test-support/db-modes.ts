// Tests against a real migrated database, in both modes (embedded PGlite in a
// temporary folder, and a throw-away PostgreSQL database), as server/db.test.ts opens them.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from './pg.ts'
import { openDatabase, type Db } from '../server/db.ts'

export type OpenDb = () => Promise<{ db: Db; cleanup: () => Promise<void> }>

export const embedded: OpenDb = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-console-'))
  const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  return { db, cleanup: async () => (await db.close(), rmSync(dir, { recursive: true, force: true })) }
}

export const server: OpenDb = async () => {
  const t = await createTestDatabase()
  const db = await openDatabase({ databaseUrl: t.url, dataDir: tmpdir() })
  return { db, cleanup: async () => (await db.close(), await t.drop()) }
}

export function dbModes(): Array<[string, OpenDb]> {
  return [
    ['embedded (PGlite)', embedded],
    ['server (PostgreSQL)', server],
  ]
}
