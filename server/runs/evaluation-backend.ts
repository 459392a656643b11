// The evaluation backend of this process: child workers on this machine (embedded mode), or
// the Postgres job queue that remote `fm-agent worker` processes serve (server mode).
import { availableParallelism } from 'node:os'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from '../db.ts'
import type { EvalJob, EvaluationBackend } from '../contracts/evaluation.ts'
import type { Logger } from '../log.ts'
import { createLocalPool } from '../../workers/pool.ts'
import { detectIsolationAsync } from '../../workers/sandbox.ts'
import { createQueueBackend } from '../queue/backend.ts'
import { withImageStore } from '../images/store.ts'

export interface BackendOptions {
  db: Db
  log: Logger
  /** embedded mode: evaluation slots (default FM_WORKERS, else the number of cores) */
  workers?: number
}

export async function createBackend(opts: BackendOptions): Promise<EvaluationBackend> {
  const { db, log } = opts
  if (db.mode === 'server' && db.databaseUrl) {
    const backend = createQueueBackend({ databaseUrl: db.databaseUrl, log: (l) => log.info(l) })
    await backend.start()
    // results' pictures are stored apart and taken out before the engine sees the result
    return withImageStore(backend, db, log)
  }
  const size = opts.workers ?? (Number(process.env.FM_WORKERS) || availableParallelism())
  // the sandbox probes (~0.1 s of child processes) run while the caller goes on with the database
  const isolation = await detectIsolationAsync()
  const pool = createLocalPool({
    isolation,
    size: Math.max(1, size),
    cacheDir: join(db.dataDir, 'bundles'),
    getBundle: async (hash) => {
      const b = await db.prisma.problemBundle.findUnique({ where: { hash }, select: { data: true } })
      if (!b) throw new Error(`no problem bundle ${hash}`)
      return Buffer.from(b.data)
    },
    // nor the data folder (database, tokens), wherever it is
    hide: [db.dataDir],
    masksFor: problemSources(db),
    log: (l) => log.info(l),
  })
  await pool.start()
  return withImageStore(pool, db, log)
}

/**
 * Per job: the folders every problem was imported from (held-out data, private seeds), also those
 * imported after the pool started. Candidates get the bundle's copy, where the evaluator decides what
 * they see. Read again when a job names a problem not seen yet, and at most every 10 s otherwise.
 */
export function problemSources(db: Db, maxAgeMs = 10_000) {
  let known = new Map<string, string | null>()
  let readAt = 0
  let reading: Promise<void> | null = null
  const read = () =>
    (reading ??= db.prisma.problem
      .findMany({ select: { id: true, sourcePath: true } })
      .then((rows) => {
        known = new Map(rows.map((r) => [r.id, r.sourcePath]))
        readAt = Date.now()
      })
      .finally(() => {
        reading = null
      }))
  return async (job: EvalJob): Promise<string[]> => {
    if (!known.has(job.problem.id) || Date.now() - readAt > maxAgeMs) await read()
    return [...known.values()].filter((p): p is string => !!p && existsSync(p))
  }
}
