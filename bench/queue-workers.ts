// `fm-agent worker` processes for the benchmarks' server-mode cases (engine-overhead.ts,
// queue-throughput.ts): N workers of one slot each on the job queue, started and stopped the same way.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { EvaluationBackend } from '../server/contracts/evaluation.ts'
import { processEnv } from '../workers/sandbox.ts'
import { tempDir } from '../workers/test-helpers.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** generous: each worker pre-starts its sandbox and builds its bundle before it registers */
const REGISTER_TIMEOUT_MS = 60_000

/** Starts `count` queue workers on `databaseUrl` and resolves once `backend` sees them all. */
export async function startQueueWorkers(
  databaseUrl: string,
  count: number,
  backend: Pick<EvaluationBackend, 'capacity' | 'workers'>,
): Promise<{ stop(): Promise<void> }> {
  const procs: ChildProcess[] = Array.from({ length: count }, (_, i) =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'workers/bin.ts',
        'worker',
        '--concurrency',
        '1',
        '--name',
        `bench-${i}`,
        '--cache-dir',
        tempDir('fm-bench-w-'),
      ],
      {
        cwd: ROOT,
        env: processEnv({
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          DATABASE_URL: databaseUrl,
          FM_WORKER_HEARTBEAT_MS: '1000',
        }),
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  )
  const stop = async () => {
    for (const p of procs) p.kill('SIGTERM')
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))))
  }
  const until = Date.now() + REGISTER_TIMEOUT_MS
  while (backend.capacity() < count) {
    if (Date.now() > until || procs.some((p) => p.exitCode !== null)) {
      await stop()
      throw new Error(`${count} queue workers did not all register (capacity ${backend.capacity()})`)
    }
    await new Promise((r) => setTimeout(r, 100))
    await backend.workers()
  }
  return { stop }
}
