import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../db.ts'
import { listBuiltinProblemFolders } from '../problems/load.ts'
import { syncBuiltinProblems } from './problem-catalog.ts'

describe('syncBuiltinProblems', () => {
  let dir: string
  let db: Db
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fm-catalog-'))
    db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  })
  afterAll(async () => {
    await db?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const stamps = async () =>
    new Map(
      (await db.prisma.problem.findMany({ where: { builtin: true }, select: { id: true, updatedAt: true } })).map(
        (r) => [r.id, r.updatedAt.getTime()],
      ),
    )

  it('stores every built-in problem, then writes only what differs from its folder', async () => {
    const ids = await syncBuiltinProblems(db)
    expect(ids.length).toBe(listBuiltinProblemFolders().length)
    const bundles = await db.prisma.problemBundle.count()
    expect(bundles).toBeGreaterThan(0)
    const first = await stamps()

    // nothing changed: nothing written
    expect(await syncBuiltinProblems(db)).toEqual(ids)
    expect(await stamps()).toEqual(first)

    // a stored row that differs from its folder (an older version of the project wrote it) is rewritten
    const id = ids[0]!
    await db.prisma.problem.update({ where: { id }, data: { description: 'stale', spec: { old: true } } })
    const edited = (await stamps()).get(id)
    await syncBuiltinProblems(db)
    const row = await db.prisma.problem.findUniqueOrThrow({ where: { id } })
    expect(row.description).not.toBe('stale')
    expect((row.spec as { id?: string }).id).toBe(id)
    const after = await stamps()
    expect(after.get(id)).not.toBe(edited)
    for (const other of ids.slice(1)) expect(after.get(other)).toBe(first.get(other))
    expect(await db.prisma.problemBundle.count()).toBe(bundles)
  })
})
