// A problem folder travels as a content-addressed bundle: stored once in the database, fetched
// and cached by workers by hash. Format: gzip of a magic line, a JSON line listing the files
// (path, mode, size) and their bytes one after another. Bundles stored before it (gzip of a JSON
// list of files with base64 data) still read: base64 in JSON took ~10× a folder's size in memory
// to pack and unpack (1.5 GB and 9 s for a 150 MB data file). The hash covers paths, modes and
// contents, whatever the format, so any change to any file is a new bundle.
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

const MAGIC = Buffer.from('fm-agent-bundle/2\n')

export function packBundle(files: BundleFile[]): { hash: string; data: Buffer; size: number } {
  const head = Buffer.from(
    `${JSON.stringify(files.map((f) => ({ path: f.path, mode: f.mode, size: f.data.length })))}\n`,
  )
  const size = files.reduce((n, f) => n + f.data.length, 0)
  const raw = Buffer.concat([MAGIC, head, ...files.map((f) => f.data)])
  return { hash: hashFiles(files), data: gzipSync(raw, { level: compressionLevel(raw) }), size }
}

export function unpackBundle(data: Buffer, expectedHash?: string): Bundle {
  const raw = gunzipSync(data, { maxOutputLength: MAX_BUNDLE_BYTES * 2 })
  const files = raw.subarray(0, MAGIC.length).equals(MAGIC) ? binaryFiles(raw) : jsonFiles(raw)
  const hash = hashFiles(files)
  if (expectedHash && hash !== expectedHash)
    throw new BundleError(`bundle content does not match its hash ${expectedHash}`)
  return { hash, files, size: files.reduce((n, f) => n + f.data.length, 0) }
}

/**
 * 1 (a data file compresses nearly as well as at the default level, several times faster), or 0
 * when a sample does not compress (data already compressed: .npz, .parquet, images), where
 * compressing is all cost.
 */
function compressionLevel(raw: Buffer): number {
  if (raw.length < 4 << 20) return 1
  const sample = raw.subarray(raw.length >> 1, (raw.length >> 1) + (1 << 20))
  return gzipSync(sample, { level: 1 }).length > sample.length * 0.9 ? 0 : 1
}

function binaryFiles(raw: Buffer): BundleFile[] {
  const end = raw.indexOf(0x0a, MAGIC.length)
  if (end < 0) throw new BundleError('bundle has no file list')
  const list = JSON.parse(raw.subarray(MAGIC.length, end).toString('utf8')) as Array<{
    path: string
    mode: number
    size: number
  }>
  let at = end + 1
  const files = list.map((f) => {
    const data = raw.subarray(at, at + f.size)
    if (data.length !== f.size) throw new BundleError(`bundle is cut short in ${f.path}`)
    at += f.size
    return { path: f.path, mode: f.mode, data }
  })
  if (at !== raw.length) throw new BundleError('bundle holds more bytes than its file list says')
  return files
}

/** a bundle stored before the binary format */
function jsonFiles(raw: Buffer): BundleFile[] {
  const list = JSON.parse(raw.toString('utf8')) as Array<{ path: string; mode: number; data: string }>
  return list.map((f) => ({ path: f.path, mode: f.mode, data: Buffer.from(f.data, 'base64') }))
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
