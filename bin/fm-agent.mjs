#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4
// fm-agent: the command line of FM Agent. The sources are TypeScript: run from a cached esbuild
// bundle of them (bin/bundle.mjs), or through the tsx loader when FM_CLI_SOURCE=1 (stack traces in
// the sources) or when the bundle cannot be built (say, a read-only node_modules).
// The first line's settings, read only at a process's start (`node bin/fm-agent.mjs` runs without
// them): a run allocates fast and keeps little, and V8's default young generation (2 × 16 MB
// semi-spaces, both resident) was ~18 MB of `fm-agent run`'s memory, glibc's arena per thread ~10 MB
// more, for no CPU measurable against these (bench/README.md).
import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

// A schema newer than its generated client (a pull that changed it, with no install since) would
// leave the ORM out of step with the database: the client is generated again first.
function ensureClient() {
  const mtime = (path) => {
    try {
      return statSync(new URL(path, import.meta.url)).mtimeMs
    } catch {
      return 0
    }
  }
  const schema = mtime('../prisma/schema.prisma')
  if (!schema || mtime('../server/generated/prisma/client.ts') >= schema) return
  process.stderr.write('fm-agent: the database schema changed: generating its client again\n')
  spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/prisma-generate.mjs', import.meta.url))], {
    stdio: ['ignore', 2, 2],
  })
}

async function load() {
  if (process.env.FM_CLI_SOURCE !== '1') {
    try {
      const { bundle } = await import('./bundle.mjs')
      const path = await bundle(fileURLToPath(new URL('../server/cli/main.ts', import.meta.url)), 'cli')
      return (await import(pathToFileURL(path).href)).main
    } catch (e) {
      process.stderr.write(`fm-agent: running from the TypeScript sources (no bundle: ${e?.message ?? e})\n`)
    }
  }
  const { register } = await import('tsx/esm/api')
  register()
  return (await import('../server/cli/main.ts')).main
}

ensureClient()
const main = await load()
process.exitCode = await main(process.argv.slice(2))
