import { existsSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import type { Db, Prisma } from '../db.ts'
import type { ProblemSpec } from '../contracts/problem.ts'
import { listBuiltinProblemFolders, loadProblemFolder, type LoadedProblem } from '../problems/load.ts'
import { localReadiness } from '../setup/check.ts'
import { completeRequires, type Readiness } from '../../client-safe/needs.ts'

const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue

/** The problem's row as stored, from its loaded folder. */
function problemRow(p: LoadedProblem, opts: { builtin: boolean }) {
  // what its Python files import counts as declared: an imported folder gets the same prerequisite check
  const spec = { ...p.spec, requires: completeRequires(p.spec, p.files) }
  return {
    id: spec.id,
    name: spec.name,
    description: p.description,
    format: spec.format,
    language: spec.language,
    direction: spec.direction,
    primaryMetric: spec.primaryMetric,
    spec: json(spec),
    seedCode: p.seedCode,
    runDefaults: json(p.runDefaults),
    warnings: p.warnings,
    sourcePath: p.folder,
    bundleHash: p.bundle.hash,
    builtin: opts.builtin,
  }
}

/** JSON with object keys sorted: a stored row (jsonb reorders keys) compares equal to a fresh one. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  )
}

/** Stores the problem and its bundle (once per content hash). */
export async function saveProblem(db: Db, p: LoadedProblem, opts: { builtin: boolean }) {
  // the bundle by its hash: never read back, inserted only when missing (a start saves every problem)
  const bundle = await db.prisma.problemBundle.findUnique({ where: { hash: p.bundle.hash }, select: { hash: true } })
  if (!bundle)
    await db.prisma.problemBundle.createMany({
      data: [
        { hash: p.bundle.hash, data: new Uint8Array(p.bundle.data), size: p.bundle.size, fileCount: p.files.length },
      ],
      skipDuplicates: true,
    })
  const { id, ...data } = problemRow(p, opts)
  return db.prisma.problem.upsert({
    where: { id },
    create: { id, ...data },
    update: data,
    select: { id: true, bundleHash: true },
  })
}

/** A problem row's content: what a folder gives (problemRow), less where it came from. */
export const PROBLEM_CONTENT = {
  id: true,
  name: true,
  description: true,
  format: true,
  language: true,
  direction: true,
  primaryMetric: true,
  spec: true,
  seedCode: true,
  runDefaults: true,
  warnings: true,
  bundleHash: true,
} as const

/**
 * Loads every folder under problems/ into the database; a broken folder is reported, not fatal.
 * The server and every command that may name a built-in problem sync them at start: a problem whose
 * stored row is already what its folder gives is not written again.
 */
export async function syncBuiltinProblems(db: Db, log: (msg: string) => void = () => undefined) {
  const stored = new Map(
    (
      await db.prisma.problem.findMany({
        where: { builtin: true },
        select: { ...PROBLEM_CONTENT, sourcePath: true, builtin: true },
      })
    ).map((r) => [r.id, canonical(r)]),
  )
  const loaded: string[] = []
  for (const folder of listBuiltinProblemFolders()) {
    try {
      const p = loadProblemFolder(folder)
      if (stored.get(p.spec.id) !== canonical(problemRow(p, { builtin: true })))
        await saveProblem(db, p, { builtin: true })
      loaded.push(p.spec.id)
    } catch (e) {
      log(`problem folder ${folder} skipped: ${(e as Error).message}`)
    }
  }
  return loaded
}

/** A folder whose problem id is already another folder's (or a built-in problem's). */
export class ProblemIdConflictError extends Error {}

/** How to give a problem another id, in the terms of its format. */
function renameHint(p: LoadedProblem) {
  if (p.spec.format === 'native') return `change "id" in ${join(p.folder, 'problem.json')}`
  // the other formats take their id from the name of the folder (of the file, for KernelBench)
  return `rename ${p.folder} (its id comes from its name)`
}

const samePath = (a: string, b: string) => {
  try {
    return a === b || realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}

/** Whether the folder a problem was stored from still holds that problem (by its id). */
function stillHolds(folder: string, id: string) {
  if (!existsSync(folder)) return false
  try {
    return loadProblemFolder(folder).spec.id === id
  } catch {
    // there, but not loadable as it is (being edited): still that problem's folder
    return true
  }
}

/**
 * Stores a problem from a folder. The same folder again (edited) replaces its stored problem; another
 * folder with the same id is refused (the two would silently replace each other, and a run of the
 * id would run whichever was imported last), unless the stored problem's folder is gone or no
 * longer has that id: then it was moved or renamed, and the new folder takes over (said in `notices`).
 */
export async function importProblem(db: Db, folder: string) {
  const p = loadProblemFolder(folder)
  const id = p.spec.id
  const existing = await db.prisma.problem.findUnique({ where: { id }, select: { builtin: true, sourcePath: true } })
  if (existing?.builtin) throw new ProblemIdConflictError(`"${id}" is a built-in problem id; ${renameHint(p)}`)
  const notices: string[] = []
  const before = existing?.sourcePath
  if (before && !samePath(before, p.folder)) {
    if (stillHolds(before, id))
      throw new ProblemIdConflictError(
        `problem id "${id}" is already the problem of ${before}; ${p.folder} has the same id. ` +
          `To import it as a problem of its own, ${renameHint(p)}; to replace the stored one, move or remove ${before} first`,
      )
    notices.push(
      `problem "${id}" was stored from ${before}, which ${existsSync(before) ? `no longer has the id "${id}"` : 'no longer exists'}: it now comes from ${p.folder}`,
    )
  }
  await saveProblem(db, p, { builtin: false })
  return { id, warnings: [...p.warnings, ...notices], bundleHash: p.bundle.hash }
}

export interface ProblemSummary {
  id: string
  name: string
  language: string
  direction: 'max' | 'min'
  primaryMetric: string
  format: string
  builtin: boolean
  gpu: boolean
  tags: string[]
  reference: ProblemSpec['reference'] | null
  /** whether runs of it can start on this machine (embedded mode); null where remote workers evaluate */
  runnable: Readiness | null
}

export function summarize(
  row: {
    id: string
    name: string
    language: string
    direction: string
    primaryMetric: string
    format: string
    builtin: boolean
    spec: unknown
  },
  runnable: Readiness | null = null,
): ProblemSummary {
  const spec = row.spec as ProblemSpec
  return {
    id: row.id,
    name: row.name,
    language: row.language,
    direction: row.direction as 'max' | 'min',
    primaryMetric: row.primaryMetric,
    format: row.format,
    builtin: row.builtin,
    gpu: !!spec.limits?.gpu,
    tags: spec.tags ?? [],
    reference: spec.reference ?? null,
    runnable,
  }
}

/** Readiness on this machine where this process's workers evaluate (embedded mode), else null. */
export const readinessHere = (db: Db, spec: unknown) =>
  db.mode === 'embedded' ? localReadiness(spec as ProblemSpec) : Promise.resolve(null)

const summarySelect = {
  id: true,
  name: true,
  language: true,
  direction: true,
  primaryMetric: true,
  format: true,
  builtin: true,
  spec: true,
} as const

export async function listProblems(db: Db): Promise<ProblemSummary[]> {
  const rows = await db.prisma.problem.findMany({ select: summarySelect, orderBy: { id: 'asc' } })
  return Promise.all(rows.map(async (r) => summarize(r, await readinessHere(db, r.spec))))
}

export async function getProblem(db: Db, id: string) {
  return db.prisma.problem.findUnique({
    where: { id },
    select: {
      ...summarySelect,
      description: true,
      seedCode: true,
      runDefaults: true,
      warnings: true,
      sourcePath: true,
      bundleHash: true,
    },
  })
}
