// For the knowledge base's tests only: a fresh database in each mode (embedded PGlite in a temp
// folder, or a throw-away PostgreSQL database), the same way server/db.test.ts does it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from '../../test-support/pg.ts'
import { openDatabase, type Db } from '../db.ts'

export type OpenMode = () => Promise<{ db: Db; cleanup: () => Promise<void> }>

export function dbModes(): Array<[string, OpenMode]> {
  return [
    [
      'embedded (PGlite)',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'fm-kb-'))
        const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
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

/** A problem row for scoping documents (the knowledge base checks that a problem exists). */
export async function addProblem(db: Db, id: string, direction: 'max' | 'min' = 'max') {
  await db.prisma.problem.create({
    data: {
      id,
      name: id,
      description: `problem ${id}`,
      format: 'native',
      language: 'python',
      direction,
      primaryMetric: 'score',
      spec: {},
      seedCode: 'x = 1\n',
      bundleHash: `h-${id}`,
    },
  })
}
