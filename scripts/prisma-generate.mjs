// Generates the Prisma client without downloading a native engine: the client uses the
// WASM query compiler (engineType "client"), so the library path only has to exist.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const env = {
  ...process.env,
  PRISMA_QUERY_ENGINE_LIBRARY: fileURLToPath(import.meta.url),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
}
const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  cwd: root,
  env,
  stdio: 'inherit',
})
process.exit(r.status ?? 1)
