// Queue-side tables (server mode), in their own schema so a worker's role can be limited to the
// queue: graphile-worker's schema (its own migrations) plus `fm_queue`:
//   fm_queue.workers  registry + heartbeats of server workers (the console's worker list)
//   fm_queue.jobs     one row per submitted (jobId, attempt): a resubmit is a no-op, the worker that
//                     took it is known (dead-worker recovery), a result is delivered once, to the
//                     engine its result_task names
import type { Logger } from 'graphile-worker'
import type pg from 'pg'

export const QUEUE_SCHEMA = 'fm_queue'
export const GRAPHILE_SCHEMA = 'graphile_worker'
// one key for the whole set-up so concurrent engines/tests do not race on CREATE
const INSTALL_LOCK = 72707370

export const QUEUE_DDL = `
CREATE SCHEMA IF NOT EXISTS fm_queue;
CREATE TABLE IF NOT EXISTS fm_queue.workers (
  id text PRIMARY KEY,
  name text NOT NULL,
  host text NOT NULL,
  capabilities jsonb NOT NULL,
  isolation jsonb,
  concurrency int NOT NULL,
  running int NOT NULL DEFAULT 0,
  completed int NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'online',
  graphile_worker_ids text[] NOT NULL DEFAULT '{}',
  pid int,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_heartbeat timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz
);
CREATE TABLE IF NOT EXISTS fm_queue.jobs (
  job_id text NOT NULL,
  attempt int NOT NULL,
  run_id text NOT NULL,
  task text NOT NULL,
  submitted_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  worker_id text,
  runs int NOT NULL DEFAULT 0,
  delivered_at timestamptz,
  PRIMARY KEY (job_id, attempt)
);
-- the engine waiting for the job's result (an engine taking a run over moves it to itself)
ALTER TABLE fm_queue.jobs ADD COLUMN IF NOT EXISTS result_task text;
-- why a worker is in its status (a back-off's last error and when it takes jobs again)
ALTER TABLE fm_queue.workers ADD COLUMN IF NOT EXISTS status_detail text;
CREATE INDEX IF NOT EXISTS jobs_open_by_worker ON fm_queue.jobs (worker_id) WHERE delivered_at IS NULL;
`

/** graphile-worker's job key of an evaluation job */
export const evalJobKey = (jobId: string, attempt: number) => `eval:${jobId}:${attempt}`
export const resultJobKey = (jobId: string, attempt: number) => `result:${jobId}:${attempt}`

/** Installs (or upgrades) graphile-worker's schema and fm_queue. Idempotent; needs a role that may create schemas. */
export async function installQueue(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [INSTALL_LOCK])
    try {
      const { runMigrations } = await graphileWorker()
      await runMigrations({ pgPool: pool, logger: await quietLogger() })
      await client.query(QUEUE_DDL)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [INSTALL_LOCK])
    }
  } finally {
    client.release()
  }
}

/** graphile-worker, imported by server mode's queue only: the embedded mode never loads it */
export const graphileWorker = () => import('graphile-worker')

/** graphile-worker's logger, quiet below warnings (it logs every job at info level otherwise). */
export async function quietLogger(
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  keep: (line: string) => boolean = () => true,
): Promise<Logger> {
  const { Logger } = await graphileWorker()
  return new Logger(() => (level, message) => {
    if (process.env.FM_QUEUE_DEBUG || ((level === 'error' || level === 'warning') && keep(message)))
      write(`[queue] ${level}: ${message}`)
  })
}
