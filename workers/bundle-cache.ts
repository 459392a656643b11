// Problem bundles unpacked on disk, by hash: <cacheDir>/bundles/<hash>/. Shared by the processes of
// one machine (the embedded pool's parent writes, its children read): each bundle is written to a
// temporary folder and renamed into place, so a reader never sees half a bundle.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ProblemSpec } from '../server/contracts/problem.ts'
import { unpackBundle, writeBundle } from '../server/problems/bundle.ts'

export interface CachedBundle {
  hash: string
  dir: string
  spec: ProblemSpec
  /** relative paths, folders before the files inside them (for fast copies) */
  dirs: string[]
  files: { path: string; mode: number }[]
}

export class BundleCache {
  private readonly memo = new Map<string, CachedBundle>()
  private readonly inflight = new Map<string, Promise<CachedBundle>>()
  readonly root: string

  constructor(readonly cacheDir: string) {
    this.root = join(cacheDir, 'bundles')
    mkdirSync(this.root, { recursive: true, mode: 0o700 })
  }

  dirFor(hash: string) {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a bundle hash: ${hash}`)
    return join(this.root, hash)
  }

  has(hash: string) {
    return this.memo.has(hash) || existsSync(join(this.dirFor(hash), 'problem.json'))
  }

  /** The unpacked bundle; `fetch` is called only when it is not on disk yet. */
  async ensure(hash: string, fetch?: (hash: string) => Promise<Buffer>): Promise<CachedBundle> {
    const hit = this.memo.get(hash)
    if (hit) return hit
    const running = this.inflight.get(hash)
    if (running) return running
    const p = this.load(hash, fetch).finally(() => this.inflight.delete(hash))
    this.inflight.set(hash, p)
    return p
  }

  /** Writes a bundle given as bytes (checked against its hash). */
  put(hash: string, data: Buffer): void {
    const dir = this.dirFor(hash)
    if (existsSync(join(dir, 'problem.json'))) return
    const bundle = unpackBundle(data, hash)
    const tmp = join(this.root, `.tmp-${hash.slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`)
    try {
      writeBundle(bundle, tmp)
      try {
        renameSync(tmp, dir)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e // else another process won the race
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }

  private async load(hash: string, fetch?: (hash: string) => Promise<Buffer>): Promise<CachedBundle> {
    const dir = this.dirFor(hash)
    if (!existsSync(join(dir, 'problem.json'))) {
      if (!fetch) throw new Error(`problem bundle ${hash.slice(0, 12)}… is not in the worker's cache`)
      this.put(hash, await fetch(hash))
    }
    const spec = ProblemSpec.parse(JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8')))
    const dirs: string[] = []
    const files: { path: string; mode: number }[] = []
    const walk = (rel: string) => {
      for (const name of readdirSync(rel ? join(dir, rel) : dir).sort()) {
        const r = rel ? `${rel}/${name}` : name
        const st = statSync(join(dir, r))
        if (st.isDirectory()) {
          dirs.push(r)
          walk(r)
        } else if (st.isFile()) files.push({ path: r, mode: st.mode & 0o755 })
      }
    }
    walk('')
    const cached = { hash, dir, spec, dirs, files }
    this.memo.set(hash, cached)
    return cached
  }
}
