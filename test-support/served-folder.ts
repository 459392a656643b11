// A console (its engine, two workers) holding a data folder, as `fm-agent start` holds one: the
// CLI's commands then go to it through the folder's socket.
import { readEnv } from '../server/env.ts'
import { createLogger } from '../server/log.ts'
import { startServer } from '../server/server-process.ts'

export async function servedFolder(dataDir: string) {
  const server = await startServer({
    env: readEnv({ FM_ADMIN_PASSWORD: 'admin-password-1', FM_WORKERS: '2' } as unknown as NodeJS.ProcessEnv),
    dataDir,
    port: 0,
    host: '127.0.0.1',
    pages: false,
    log: createLogger('test', 'warn'),
  })
  return { dataDir, server }
}
