// Entry for a worker process: `node --import tsx workers/bin.ts worker --concurrency N [--gpu]`.
// (`fm-agent worker` calls runWorkerCli from workers/server-worker.ts the same way.)
import { runWorkerCli } from './server-worker.ts'

const [cmd, ...rest] = process.argv.slice(2)
if (cmd !== 'worker') {
  process.stderr.write(
    'usage: node --import tsx workers/bin.ts worker [--concurrency N] [--gpu] [--name NAME] [--cache-dir DIR]\n',
  )
  process.exit(2)
}
process.exitCode = await runWorkerCli(rest)
