// How the pool starts a child worker. A child only relays jobs to the sandbox, so it should cost as
// little memory as it can: run through tsx, a child holds ~95 MB (the TypeScript loader and its
// compile cache); as one plain ES module bundled with esbuild (bin/bundle.mjs, cached until a
// source changes), ~60 MB (~30 MB of it its own, the rest shared with the engine's Node). Should
// bundling fail, the child runs through tsx as before.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { bundle } from '../bin/bundle.mjs'
import { WORKERS_DIR } from './sandbox.ts'

export interface ChildEntry {
  path: string
  execArgv: string[]
}

/**
 * A child allocates little and briefly (a job message in, a result out): V8's young generation
 * grown to its default 16 MB semi-spaces was ~11 MB of each child's resident memory; at 1 MB the
 * child's CPU per job measured the same (two runs each of 1,000 evaluations).
 */
const CHILD_FLAGS = ['--max-semi-space-size=1']

const require = createRequire(import.meta.url)
let cached: Promise<ChildEntry> | null = null

export function tsxChildEntry(): ChildEntry {
  return {
    path: join(WORKERS_DIR, 'child.ts'),
    execArgv: [...CHILD_FLAGS, '--import', pathToFileURL(require.resolve('tsx')).href],
  }
}

export function defaultChildEntry(): Promise<ChildEntry> {
  cached ??= bundle(join(WORKERS_DIR, 'child.ts'), 'worker-child').then(
    (path): ChildEntry => ({ path, execArgv: CHILD_FLAGS }),
    () => tsxChildEntry(),
  )
  return cached
}
