// A problem folder travels as a content-addressed bundle: stored once in the database, fetched
// and cached by workers by hash. Format: gzip of a JSON list of files (path, mode, base64 data).
// The hash covers paths, modes and contents, so any change to any file is a new bundle.
import { createHash } from 'node:crypto'
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'

export interface BundleFile {
  path: string
  mode: number
  data: Buffer
}

export interface Bundle {
  hash: string
  files: BundleFile[]
  size: number
}

export const MAX_BUNDLE_BYTES = 200 * 1024 * 1024
const SKIP = new Set(['__pycache__', '.git', 'node_modules', '.DS_Store', '.pytest_cache'])

export class BundleError extends Error {}

/**
 * A problem folder's files. A symbolic link is followed when it stays inside the folder (a dataset
 * linked from a sibling folder); one that leads out is left out, with a note saying so, as is a
 * broken one: a link out could expose any file of the importing machine to every evaluation.
 */
export function readFolder(
  root: string,
  extra: Record<string, string | Buffer> = {},
  notes: string[] = [],
): BundleFile[] {
  const base = resolve(root)
  const realBase = realpathSync(base)
  const files: BundleFile[] = []
  const sizes: Array<{ path: string; size: number }> = []
  let total = 0
  const walk = (dir: string, ancestors: string[]) => {
    for (const name of readdirSync(dir).sort()) {
      if (SKIP.has(name) || name.endsWith('.pyc')) continue
      const abs = join(dir, name)
      const path = relative(base, abs).split(sep).join('/')
      let st = lstatSync(abs)
      if (st.isSymbolicLink()) {
        let real: string
        try {
          real = realpathSync(abs)
        } catch {
          notes.push(`${path}: a broken symbolic link, left out`)
          continue
        }
        if (real !== realBase && !real.startsWith(realBase + sep)) {
          notes.push(
            `${path} is a symbolic link to ${real}, outside the problem folder: left out (evaluations only see the folder's own files; copy it in)`,
          )
          continue
        }
        st = statSync(abs)
      }
      if (st.isDirectory()) {
        const real = realpathSync(abs)
        if (!ancestors.includes(real)) walk(abs, [...ancestors, real]) // a link back up the tree: once is enough
      } else if (st.isFile()) {
        total += st.size
        sizes.push({ path, size: st.size })
        if (total > MAX_BUNDLE_BYTES) {
          const largest = sizes
            .sort((a, b) => b.size - a.size)
            .slice(0, 3)
            .map((f) => `${f.path} ${(f.size / 2 ** 20).toFixed(1)} MiB`)
          throw new BundleError(
            `problem folder ${root} is larger than ${MAX_BUNDLE_BYTES >> 20} MiB (largest: ${largest.join(', ')}): the folder travels to every worker as one bundle, so keep large data out of it (generate it in the evaluator, or shrink it)`,
          )
        }
        files.push({ path, mode: st.mode & 0o755, data: readFileSync(abs) })
      }
    }
  }
  walk(base, [realBase])
  for (const [path, data] of Object.entries(extra)) {
    const i = files.findIndex((f) => f.path === path)
    const file = { path, mode: 0o644, data: Buffer.isBuffer(data) ? data : Buffer.from(data) }
    if (i >= 0) files[i] = file
    else files.push(file)
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return files
}

export function hashFiles(files: BundleFile[]): string {
  const h = createHash('sha256')
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    h.update(f.path).update('\0').update(String(f.mode)).update('\0')
    h.update(createHash('sha256').update(f.data).digest()).update('\0')
  }
  return h.digest('hex')
}

export function packBundle(files: BundleFile[]): { hash: string; data: Buffer; size: number } {
  const json = JSON.stringify(files.map((f) => ({ path: f.path, mode: f.mode, data: f.data.toString('base64') })))
  const size = files.reduce((n, f) => n + f.data.length, 0)
  return { hash: hashFiles(files), data: gzipSync(json), size }
}

export function unpackBundle(data: Buffer, expectedHash?: string): Bundle {
  const raw = JSON.parse(gunzipSync(data, { maxOutputLength: MAX_BUNDLE_BYTES * 2 }).toString('utf8')) as Array<{
    path: string
    mode: number
    data: string
  }>
  const files = raw.map((f) => ({ path: f.path, mode: f.mode, data: Buffer.from(f.data, 'base64') }))
  const hash = hashFiles(files)
  if (expectedHash && hash !== expectedHash)
    throw new BundleError(`bundle content does not match its hash ${expectedHash}`)
  return { hash, files, size: files.reduce((n, f) => n + f.data.length, 0) }
}

/** Writes the files under `dir`, refusing paths that would escape it. */
export function writeBundle(bundle: Pick<Bundle, 'files'>, dir: string) {
  const base = resolve(dir)
  for (const f of bundle.files) {
    const target = resolve(base, f.path)
    if (!target.startsWith(base + sep)) throw new BundleError(`bundle path escapes its folder: ${f.path}`)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, f.data)
    chmodSync(target, f.mode & 0o755)
  }
}
