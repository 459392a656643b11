// The evaluation backend of this process: child workers on this machine (embedded mode), or
// the Postgres job queue that remote `fm-agent worker` processes serve (server mode).
import { availableParallelism } from 'node:os'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from '../db.ts'
import type { EvaluationBackend } from '../contracts/evaluation.ts'
import type { Logger } from '../log.ts'
import { createLocalPool } from '../../workers/pool.ts'
import { createQueueBackend } from '../queue/backend.ts'

export interface BackendOptions {
  db: Db
  log: Logger
  /** embedded mode: child worker processes (default FM_WORKERS, else the number of cores) */
  workers?: number
}

export async function createBackend(opts: BackendOptions): Promise<EvaluationBackend> {
  const { db, log } = opts
  if (db.mode === 'server' && db.databaseUrl) {
    const backend = createQueueBackend({ databaseUrl: db.databaseUrl, log: (l) => log.info(l) })
    await backend.start()
    return backend
  }
  const size = opts.workers ?? (Number(process.env.FM_WORKERS) || availableParallelism())
  // candidates must not read the folders problems were imported from (held-out data, private seeds):
  // they get the bundle's copy, where the evaluator decides what the candidate sees
  const sources = await db.prisma.problem.findMany({ where: { builtin: false, sourcePath: { not: null } }, select: { sourcePath: true } })
  const pool = createLocalPool({
    size: Math.max(1, size),
    cacheDir: join(db.dataDir, 'bundles'),
    getBundle: async (hash) => {
      const b = await db.prisma.problemBundle.findUnique({ where: { hash }, select: { data: true } })
      if (!b) throw new Error(`no problem bundle ${hash}`)
      return Buffer.from(b.data)
    },
    // nor the data folder (database, secrets, tokens)
    hide: [db.dataDir, ...sources.map((s) => s.sourcePath!).filter((p) => existsSync(p))],
    log: (l) => log.info(l),
  })
  await pool.start()
  return pool
}
