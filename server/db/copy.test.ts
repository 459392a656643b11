// A data folder's embedded database copied into an empty PostgreSQL database with `fm-agent
// copy-to`, as a team moving to a server does: every table's rows arrive as they were (doubles to
// the last digit, bytes, JSON, vectors), the knowledge base answers there, new rows get new ids, and
// a target that is not empty is refused with nothing written.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { createTestDatabase, type TestDatabase } from '../../test-support/pg.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import type { Actor } from '../auth/roles.ts'
import { openDatabase, type Db } from '../db.ts'
import { createDocument } from '../knowledge/documents.ts'
import { searchKnowledge } from '../knowledge/search.ts'
import { exportRun } from '../runs/service.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { createUser } from '../services/users.ts'
import { copyOrder } from './copy.ts'

const { tempDir } = scratchDirs('fm-copy-')
const SYSTEM: Actor = { id: null, label: 'copy test', role: 'admin', via: 'system' }
const AWKWARD = 3.7174721189591082

let target: TestDatabase
let dataDir = ''
let runId = ''

async function counts(db: Db): Promise<Record<string, number>> {
  const tables = await db.sql<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY 1`,
  )
  const out: Record<string, number> = {}
  for (const { t } of tables)
    out[t] = Number((await db.sql<{ n: string }>(`SELECT count(*)::text AS n FROM "${t}"`))[0]!.n)
  return out
}

beforeAll(async () => {
  target = await createTestDatabase()
  dataDir = tempDir()
  const db = await openDatabase({ dataDir, databaseUrl: '' })
  try {
    const p = await importProblem(db, join(FIXTURES, 'curve-fit'))
    ;({ runId } = await seedSyntheticRun(db, { candidates: 700, islands: 2, direction: 'min', problemId: p.id }))
    await db.sql(`UPDATE candidates SET cost_usd = $2::float8, code = code || $3 WHERE run_id = $1 AND seq % 7 = 0`, [
      runId,
      String(AWKWARD),
      '\n# quotes " \' \\ and {braces}, "NULL", ünïcödé 半径\n',
    ])
    const [first] = await db.sql<{ id: string }>('SELECT id FROM candidates WHERE run_id = $1 ORDER BY seq LIMIT 1', [
      runId,
    ])
    await db.sql(
      `INSERT INTO candidate_images (candidate_id, name, mime, data, size) VALUES ($1, 'plot.png', 'image/png', $2, 4)`,
      [first!.id, new Uint8Array([0, 255, 92, 39])],
    )
    await createDocument(
      db,
      {
        title: 'Hexagonal rows',
        content: '# Hexagonal rows\n\nShift every other row by half a circle.\n',
        format: 'markdown',
      },
      { actor: SYSTEM },
    )
    await createUser(db, SYSTEM, { email: 'ada@example.com', role: 'expert', password: 'a long password 1' })
  } finally {
    await db.close()
  }
}, 180_000)

afterAll(async () => {
  await target?.drop()
})

describe('fm-agent copy-to', () => {
  it('puts the tables in an order where every row finds the rows it refers to', () => {
    expect(
      copyOrder(
        ['runs', 'candidates', 'problems', 'images', 'users'],
        [
          { child: 'candidates', parent: 'runs' },
          { child: 'runs', parent: 'problems' },
          { child: 'images', parent: 'candidates' },
          { child: 'users', parent: 'users' },
        ],
      ),
    ).toEqual(['problems', 'runs', 'candidates', 'images', 'users'])
    expect(() =>
      copyOrder(
        ['a', 'b'],
        [
          { child: 'a', parent: 'b' },
          { child: 'b', parent: 'a' },
        ],
      ),
    ).toThrow(/cycle/)
  })

  it('copies every row of a data folder into an empty PostgreSQL database, exactly', async () => {
    let copied: Record<string, number> = {}
    const r = await cli(['copy-to', target.url, '--json', '--data-dir', dataDir])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`copying embedded PGlite in ${join(dataDir, 'pgdata')}`)
    const from = await openDatabase({ dataDir, databaseUrl: '' })
    const to = await openDatabase({ databaseUrl: target.url, dataDir: tempDir() })
    try {
      const [a, b] = [await counts(from), await counts(to)]
      expect(b).toEqual(a)
      copied = b
      expect(a.candidates).toBe(700)
      expect(r.json.rows).toBe(Object.values(a).reduce((s, n) => s + n, 0))
      // the whole run, doubles, bytes and text included, reads the same on both sides
      const [x, y] = [await exportRun(from, runId), await exportRun(to, runId)]
      expect({ ...y, exportedAt: null }).toEqual({ ...x, exportedAt: null })
      expect(y.candidates.some((c) => c.costUsd === AWKWARD)).toBe(true)
      expect(y.images).toEqual([
        expect.objectContaining({ name: 'plot.png', data: Buffer.from([0, 255, 92, 39]).toString('base64') }),
      ])
      // the knowledge base answers there, through its vector index and its text index
      const found = await searchKnowledge(to, { text: 'hexagonal rows shifted', k: 3 })
      expect(found.hits[0]?.title).toBe('Hexagonal rows')
      // the user can sign in with the same password hash; new rows get new ids
      expect(await to.prisma.user.findUnique({ where: { email: 'ada@example.com' }, select: { role: true } })).toEqual({
        role: 'expert',
      })
      const [{ max }] = await to.sql<{ max: number }>('SELECT max(id)::int AS max FROM run_metrics')
      const [{ id }] = await to.sql<{ id: number }>(
        `INSERT INTO run_metrics (run_id, island, eval_count, diversity, population, evals_per_sec, failure_rate, spend_usd)
         SELECT run_id, island, eval_count, diversity, population, evals_per_sec, failure_rate, spend_usd FROM run_metrics LIMIT 1
         RETURNING id::int`,
      )
      expect(id).toBeGreaterThan(max)
    } finally {
      await from.close()
      await to.close()
    }
    // a second copy would merge two folders: refused, and nothing is written
    const again = await cli(['copy-to', target.url, '--data-dir', dataDir])
    expect(again.code).toBe(2)
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(
      /^fm-agent: the target database is not empty \(table \w+ has rows\): copy into a new, empty database \(fm-agent copies a whole data folder, it does not merge\)$/,
    )
    const after = await openDatabase({ databaseUrl: target.url, dataDir: tempDir() })
    try {
      // as the copy left it, with the one row this test added
      expect(await counts(after)).toEqual({ ...copied, run_metrics: copied.run_metrics! + 1 })
    } finally {
      await after.close()
    }
    const bad = await cli(['copy-to', 'mysql://x', '--data-dir', dataDir])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('mysql://x: not a postgres:// URL')
  }, 240_000)
})
