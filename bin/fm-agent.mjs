#!/usr/bin/env node
// fm-agent: the command line of FM Agent. The sources are TypeScript: run from a cached esbuild
// bundle of them (bin/bundle.mjs), or through the tsx loader when FM_CLI_SOURCE=1 (stack traces in
// the sources) or when the bundle cannot be built (say, a read-only node_modules).
import { fileURLToPath, pathToFileURL } from 'node:url'

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

const main = await load()
process.exitCode = await main(process.argv.slice(2))
