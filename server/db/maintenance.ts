// VACUUM (ANALYZE) of the run tables for the embedded database, where nothing else ever runs it:
// PGlite has no autovacuum. Every candidate is written twice (queued, then evaluated: not a HOT
// update), so a run leaves a dead row version and dead index entries per candidate, no visibility
// map (no index-only scans) and no column statistics. Measured on runs of 10,000 and 30,000
// evaluations (session 27, bench/history.md): the candidates table's pages 40-90 % faster afterwards,
// the chart's series 45-70 %. Server mode needs none of this: PostgreSQL's autovacuum does it.
import type { Db } from '../db.ts'

/** the tables a run writes to; what the console reads a run from */
export const RUN_TABLES = ['candidates', 'run_metrics', 'run_events', 'islands', 'runs', 'retrievals'] as const

/**
 * Like autovacuum's threshold, but by size: PGlite's row counters start from zero at every open,
 * whereas pg_class.relpages (set by the last VACUUM or ANALYZE) is stored. A table never processed
 * (reltuples < 0) or grown by a fifth plus a few pages since is due.
 */
const GROWTH = 0.2
const MIN_NEW_PAGES = 8

export interface MaintenanceResult {
  tables: string[]
  ms: number
}

/** The run tables that grew enough since their last VACUUM or ANALYZE to be worth one. */
export async function tablesDue(db: Db): Promise<string[]> {
  const rows = await db.sql<{ relname: string; reltuples: number; relpages: number; pages: number }>(
    `SELECT relname, reltuples, relpages,
            (pg_relation_size(oid) / current_setting('block_size')::int)::int AS pages
     FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname = ANY($1::text[])`,
    [[...RUN_TABLES]],
  )
  return rows
    .filter((r) => r.pages > 0 && (r.reltuples < 0 || r.pages >= r.relpages * (1 + GROWTH) + MIN_NEW_PAGES))
    .map((r) => r.relname)
    .sort()
}

/**
 * Runs VACUUM (ANALYZE) on the run tables that are due, embedded mode only. It holds PGlite's one
 * connection while it works, so the caller runs it where no run is being driven (a run's end);
 * its cost follows what grew since the last one (VACUUM skips the pages its visibility map marks).
 */
export async function maintainEmbedded(db: Db): Promise<MaintenanceResult> {
  if (db.mode !== 'embedded') return { tables: [], ms: 0 }
  const t0 = performance.now()
  const tables = await tablesDue(db)
  for (const t of tables) await db.sql(`VACUUM (ANALYZE) ${t}`)
  return { tables, ms: performance.now() - t0 }
}
