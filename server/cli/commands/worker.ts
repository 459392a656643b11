import { runWorkerCli } from '../../../workers/server-worker.ts'
import type { Command } from '../main.ts'

export const worker: Command = {
  summary: 'server mode: evaluate candidates from the PostgreSQL job queue (any machine; --gpu for GPU jobs)',
  usage:
    'fm-agent worker [--concurrency N] [--gpu] [--name NAME]   (needs DATABASE_URL: a role that can use the queue)',
  async run({ argv }) {
    // a worker keeps no data folder: its only state is a bundle cache
    const args = argv.filter(
      (a, i) => a !== '--data-dir' && argv[i - 1] !== '--data-dir' && !a.startsWith('--data-dir='),
    )
    return runWorkerCli(args)
  },
}
