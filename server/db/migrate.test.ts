import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { describe, expect, it } from 'vitest'
import { applyMigrations, listMigrations } from './migrate'

describe('migrations', () => {
  // The Prisma CLI's driver-adapter engine splits a script at every `;`, comments included, so a
  // `;` in a comment applies here but fails `prisma migrate deploy` on a server.
  it('have no `;` inside a comment', () => {
    const bad = listMigrations().flatMap((m) =>
      m.sql
        .split('\n')
        .map((line, i) => ({ line, at: `${m.name}:${i + 1}` }))
        .filter(({ line }) => /--.*;/.test(line))
        .map(({ at }) => at),
    )
    expect(bad).toEqual([])
  })

  it('are refused on a database a newer version migrated, with what to do', async () => {
    const newer = mkdtempSync(join(tmpdir(), 'fm-migrations-'))
    const older = mkdtempSync(join(tmpdir(), 'fm-migrations-'))
    const write = (dir: string, name: string, sql: string) => {
      mkdirSync(join(dir, name))
      writeFileSync(join(dir, name, 'migration.sql'), sql)
    }
    write(newer, '20260101000000_a', 'CREATE TABLE a (id int)')
    write(newer, '20260201000000_b', 'CREATE TABLE b (id int)')
    write(older, '20260101000000_a', 'CREATE TABLE a (id int)')
    const pg = new PGlite()
    const runner = {
      exec: (sql: string) => pg.exec(sql),
      query: <T>(sql: string, p?: unknown[]) => pg.query<T>(sql, p),
    }
    try {
      expect(await applyMigrations(runner, older)).toEqual(['20260101000000_a'])
      expect(await applyMigrations(runner, newer)).toEqual(['20260201000000_b'])
      await expect(applyMigrations(runner, older)).rejects.toThrow(
        'this database was upgraded by a newer fm-agent (its migration 20260201000000_b is not in this version)',
      )
    } finally {
      await pg.close()
      rmSync(newer, { recursive: true, force: true })
      rmSync(older, { recursive: true, force: true })
    }
  })
})
