// vitest globalSetup: one migrated PGlite folder that every test's new embedded database starts
// from (FM_PGLITE_TEMPLATE, inherited by the CLI processes tests spawn), instead of running
// PGlite's initdb hundreds of times.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../server/db.ts'

export default async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'fm-template-'))
  const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  await db.close()
  process.env.FM_PGLITE_TEMPLATE = join(dir, 'pgdata')
  return () => rmSync(dir, { recursive: true, force: true })
}
