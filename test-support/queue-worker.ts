// An `fm-agent worker` process, exactly what a user starts on a worker machine, for server-mode
// tests: the worker role's connection string and nothing else in its environment, a cache folder
// of its own, heartbeats every 300 ms so that the engine sees it join and leave quickly.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export function startQueueWorker(opts: {
  databaseUrl: string
  name: string
  cacheDir: string
  /** what its stderr does: kept (the caller reads it) or dropped */
  stderr?: 'pipe' | 'ignore'
}): ChildProcess {
  return spawn(
    process.execPath,
    ['bin/fm-agent.mjs', 'worker', '--concurrency', '1', '--name', opts.name, '--cache-dir', opts.cacheDir],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME!,
        DATABASE_URL: opts.databaseUrl,
        FM_WORKER_HEARTBEAT_MS: '300',
      } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', opts.stderr ?? 'ignore'],
    },
  )
}
