// The shared library of evaluator code (problems/_common): helpers every problem may use
// (fm_evalkit.py, fm_draw.py, tsplib.py) and the files of problem families that differ only in
// parameters (the TSP instances, circle packings, bin-packing data sets, GPU kernels). A problem
// names what it uses in problem.json `shared`; loading the problem places each file into its
// bundle at the file's base name, beside its own files, so the stored problem and every sandbox
// copy hold them, while the repository holds each file once. A `.tmpl` file is rendered with the
// problem's `sharedValues` first (`{{name}}` → the value; lists as `[a, b]`).
import { lstatSync, readFileSync, realpathSync } from 'node:fs'
import { basename, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProblemSpec } from '../contracts/problem.ts'
import type { BundleFile } from './bundle.ts'
import { ProblemLoadError } from './common.ts'

export const SHARED_DIR = fileURLToPath(new URL('../../problems/_common', import.meta.url))

const PLACEHOLDER = /\{\{([a-z_][a-z0-9_]*)\}\}/g

/** The name a shared file gets in the bundle. */
export const sharedTarget = (file: string) => basename(file).replace(/\.tmpl$/, '')

function render(text: string, values: NonNullable<ProblemSpec['sharedValues']>, where: string): string {
  return text.replace(PLACEHOLDER, (_, key: string) => {
    const v = values[key]
    if (v === undefined) throw new ProblemLoadError(`${where} needs sharedValues.${key} in problem.json`)
    return Array.isArray(v)
      ? `[${v.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ')}]`
      : String(v)
  })
}

/** The shared files a problem names, read from the library (and rendered). */
export function sharedFiles(spec: Pick<ProblemSpec, 'id' | 'shared' | 'sharedValues'>, dir = SHARED_DIR): BundleFile[] {
  if (!spec.shared?.length) return []
  const root = realpathSync(dir)
  const seen = new Set<string>()
  return (spec.shared ?? []).map((file) => {
    const where = `${spec.id}: shared file ${file}`
    let abs: string
    try {
      abs = realpathSync(join(root, file))
    } catch {
      throw new ProblemLoadError(`${where} is not in the shared library ${dir}`)
    }
    if (!abs.startsWith(root + sep) || !lstatSync(abs).isFile())
      throw new ProblemLoadError(`${where} is not a file of the shared library ${dir}`)
    const path = sharedTarget(file)
    if (seen.has(path)) throw new ProblemLoadError(`${spec.id}: two shared files would both be ${path}`)
    seen.add(path)
    const raw = readFileSync(abs)
    const data = file.endsWith('.tmpl')
      ? Buffer.from(render(raw.toString('utf8'), spec.sharedValues ?? {}, where))
      : raw
    return { path, mode: lstatSync(abs).mode & 0o755, data }
  })
}

/** A problem folder's own files plus the shared ones it names; a name both would use is an error. */
export function withSharedFiles(spec: ProblemSpec, own: BundleFile[], dir = SHARED_DIR): BundleFile[] {
  const shared = sharedFiles(spec, dir)
  const clash = shared.find((s) => own.some((f) => f.path === s.path))
  if (clash)
    throw new ProblemLoadError(
      `${spec.id}: the folder has its own ${clash.path}, and problem.json also names a shared one; keep one of them`,
    )
  return [...own, ...shared].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
