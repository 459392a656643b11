// How the pool starts a child worker. A child only relays jobs to the sandbox, so it should cost as
// little memory as it can: run through tsx, a child holds ~95 MB (the TypeScript loader and its
// compile cache); as one plain ES module bundled with esbuild (bin/bundle.mjs, cached until a
// source changes), ~60 MB. Should bundling fail, the child runs through tsx as before.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { bundle } from '../bin/bundle.mjs'
import { WORKERS_DIR } from './sandbox.ts'

export interface ChildEntry {
  path: string
  execArgv: string[]
}

const require = createRequire(import.meta.url)
let cached: Promise<ChildEntry> | null = null

export function tsxChildEntry(): ChildEntry {
  return { path: join(WORKERS_DIR, 'child.ts'), execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href] }
}

export function defaultChildEntry(): Promise<ChildEntry> {
  cached ??= bundle(join(WORKERS_DIR, 'child.ts'), 'worker-child').then(
    (path): ChildEntry => ({ path, execArgv: [] }),
    () => tsxChildEntry(),
  )
  return cached
}
