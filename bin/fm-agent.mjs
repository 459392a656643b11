#!/usr/bin/env node
// fm-agent: the command line of FM Agent. The sources are TypeScript, loaded through tsx.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../server/cli/main.ts')
const code = await main(process.argv.slice(2))
process.exitCode = code
