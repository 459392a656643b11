import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { type Db, openDatabase } from '../db.ts'
import { listBuiltinProblemFolders } from '../problems/load.ts'
import { importProblem, ProblemIdConflictError, syncBuiltinProblems } from './problem-catalog.ts'

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

describe('importProblem: one folder per id', () => {
  let dir: string
  let db: Db
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fm-catalog-import-'))
    db = await openDatabase({ dataDir: join(dir, 'data'), databaseUrl: '' })
  })
  afterAll(async () => {
    await db?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const copy = (name: string, from = join(FIXTURES, 'curve-fit')) => {
    const to = join(dir, name)
    cpSync(from, to, { recursive: true })
    return to
  }
  const stored = (id: string) =>
    db.prisma.problem.findUniqueOrThrow({ where: { id }, select: { sourcePath: true, seedCode: true } })
  const refusal = (folder: string) =>
    importProblem(db, folder).then(
      () => '',
      (e: Error) => {
        expect(e).toBeInstanceOf(ProblemIdConflictError)
        return e.message
      },
    )

  it('takes the same folder again, edited; refuses another folder with its id, naming both', async () => {
    const original = copy('original')
    const first = await importProblem(db, original)
    expect(first.id).toBe('test-curve-fit')
    writeFileSync(join(original, 'initial.py'), `${readFileSync(join(original, 'initial.py'), 'utf8')}\n# edited\n`)
    expect((await importProblem(db, original)).warnings).toEqual([])
    expect((await stored('test-curve-fit')).seedCode).toContain('# edited')
    // the same folder by another path (a link to it) is the same folder
    symlinkSync(original, join(dir, 'link'))
    await importProblem(db, join(dir, 'link'))

    const broken = copy('copy')
    writeFileSync(join(broken, 'initial.py'), 'this is not python\n')
    const message = await refusal(broken)
    expect(message).toContain(`problem id "test-curve-fit" is already the problem of`)
    expect(message).toContain(`${broken} has the same id`)
    expect(message).toContain(`change "id" in ${join(broken, 'problem.json')}`)
    expect(message).toMatch(/(original|link); /)
    // the stored problem is still the original's
    expect((await stored('test-curve-fit')).seedCode).toContain('# edited')
  })

  it('lets a new folder take an id whose folder was moved away or given another id, and says so', async () => {
    const a = copy('moving')
    const spec = JSON.parse(readFileSync(join(a, 'problem.json'), 'utf8'))
    writeFileSync(join(a, 'problem.json'), JSON.stringify({ ...spec, id: 'moving-problem' }))
    await importProblem(db, a)
    const moved = join(dir, 'moved-here')
    renameSync(a, moved)
    const r = await importProblem(db, moved)
    expect(r.warnings).toEqual([
      `problem "moving-problem" was stored from ${a}, which no longer exists: it now comes from ${moved}`,
    ])
    expect((await stored('moving-problem')).sourcePath).toBe(moved)

    // the stored folder still there, but its problem.json now names another id: the id is free
    const twin = copy('twin', moved)
    expect(await refusal(twin)).toContain('is already the problem of')
    writeFileSync(join(moved, 'problem.json'), JSON.stringify({ ...spec, id: 'renamed-problem' }))
    expect((await importProblem(db, twin)).warnings).toEqual([
      `problem "moving-problem" was stored from ${moved}, which no longer has the id "moving-problem": it now comes from ${twin}`,
    ])
  })

  it('says how to rename a folder whose id comes from its name, and keeps built-in ids', async () => {
    const oe = (parent: string) => {
      const folder = join(dir, parent, 'sum-task')
      mkdirSync(folder, { recursive: true })
      cpSync(join(FIXTURES, 'openevolve-sum'), folder, { recursive: true })
      return folder
    }
    await importProblem(db, oe('one'))
    expect(await refusal(oe('two'))).toContain(`rename ${join(dir, 'two', 'sum-task')} (its id comes from its name)`)

    await syncBuiltinProblems(db)
    const fake = copy('fake-builtin')
    const spec = JSON.parse(readFileSync(join(fake, 'problem.json'), 'utf8'))
    writeFileSync(join(fake, 'problem.json'), JSON.stringify({ ...spec, id: 'tsp-berlin52' }))
    expect(await refusal(fake)).toMatch(/^"tsp-berlin52" is a built-in problem id; change "id" in /)
  })
})
