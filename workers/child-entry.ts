// How the pool starts a child worker. A child only relays jobs to the sandbox, so it should cost as
// little memory as it can: run through tsx, a child holds ~95 MB (the TypeScript loader and its
// compile cache); as one plain ES module bundled with esbuild, ~60 MB. The bundle is built once per
// content (a few hundred ms), next to the project's node_modules so its packages resolve, and each
// module's import.meta.url is kept pointing at its source file, so paths relative to it (the Python
// launcher, problems/) stay right. Should bundling fail, the child runs through tsx as before.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
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
  cached ??= bundleChild().then(
    (path): ChildEntry => ({ path, execArgv: [] }),
    () => tsxChildEntry(),
  )
  return cached
}

async function bundleChild(): Promise<string> {
  const esbuild = require('esbuild') as typeof import('esbuild')
  const r = await esbuild.build({
    entryPoints: [join(WORKERS_DIR, 'child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }))
        },
      },
    ],
  })
  const code = r.outputFiles[0]!.contents
  const dir = join(WORKERS_DIR, '..', 'node_modules', '.cache', 'fm-agent')
  const path = join(dir, `worker-child-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`)
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true })
    const tmp = `${path}.${process.pid}.tmp`
    writeFileSync(tmp, code)
    renameSync(tmp, path) // atomic: pools starting at once never fork a half-written file
  }
  return path
}
