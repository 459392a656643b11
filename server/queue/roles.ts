// The Postgres role a remote worker connects with: it can use the queue (graphile-worker's schema
// and fm_queue) and read problem bundles, nothing else: no users, no candidates, no runs.
// (No static import of ../db.ts: the worker and db.ts's error messages read roleStanding below,
// and neither may load the embedded database or the Prisma client for it.)
import { randomBytes } from 'node:crypto'
import { pg } from '../db/pg.ts'
import { installQueue } from './schema.ts'

const policyName = (roleName: string) => `fm_worker_${roleName}`.slice(0, 63)

/** What the connected role is and may do, for advice: one query, readable by any role. */
export interface RoleStanding {
  user: string
  superuser: boolean
  /** made by `fm-agent worker-role create` (its row-level-security policies name it) */
  workerRole: boolean
  /** can read the application's secrets: users or API tokens */
  readsAppTables: boolean
  vectorInstalled: boolean
  /** may run CREATE EXTENSION vector here (a superuser, or a trusted extension and CREATE on the database) */
  canCreateVector: boolean
  /** may create tables in schema public (what migrating needs) */
  createsInPublic: boolean
}

interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>
}

// CASE keeps the privilege functions from being asked about a schema or table that does not exist
const STANDING_SQL = `
SELECT current_user::text AS "user",
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
  EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'graphile_worker' AND policyname LIKE 'fm\\_worker\\_%'
          AND current_user = ANY (roles)) AS "workerRole",
  CASE WHEN to_regclass('public.users') IS NULL THEN false ELSE has_table_privilege('public.users', 'SELECT') END
  OR CASE WHEN to_regclass('public.api_tokens') IS NULL THEN false ELSE has_table_privilege('public.api_tokens', 'SELECT') END
    AS "readsAppTables",
  EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS "vectorInstalled",
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
  OR (coalesce((SELECT v.trusted FROM pg_available_extension_versions v JOIN pg_available_extensions a
                 ON a.name = v.name AND a.default_version = v.version WHERE v.name = 'vector'), false)
      AND has_database_privilege(current_database(), 'CREATE')) AS "canCreateVector",
  has_schema_privilege('public', 'CREATE') AS "createsInPublic"`

export async function roleStanding(db: Queryable): Promise<RoleStanding> {
  return (await db.query(STANDING_SQL)).rows[0] as RoleStanding
}

export interface WorkerRoleResult {
  role: string
  /** the worker's connection string (the admin URL with this role's credentials); the password left out where it was kept */
  databaseUrl: string
  /** the role existed and its password was kept (PostgreSQL keeps only its hash: it cannot be shown) */
  passwordKept: boolean
}

export async function createWorkerRole(
  adminUrl: string,
  roleName: string,
  /** null: a new role gets a random one, an existing role keeps its own (its workers stay connected) */
  password: string | null,
): Promise<WorkerRoleResult> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(roleName))
    throw new Error(`role name ${JSON.stringify(roleName)}: use lower-case letters, digits and _`)
  // the application's tables first: a role made on a fresh database (before any engine or web
  // process started) must still be granted the problem bundles it reads
  const { openDatabase } = await import('../db.ts')
  await (await openDatabase({ databaseUrl: adminUrl })).close()
  const pool = new (pg().Pool)({ connectionString: adminUrl, max: 2 })
  pool.on('error', () => undefined) // an idle connection dropped: the next query reconnects
  pool.on('connect', (c) => c.on('error', () => undefined))
  try {
    await installQueue(pool)
    const client = await pool.connect()
    try {
      const role = client.escapeIdentifier(roleName)
      const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db
      await client.query('BEGIN')
      const exists = !!(await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [roleName])).rowCount
      // a create run again (to see the URL, after an upgrade) renews the grants and keeps the password:
      // a new one would cut off the workers already on it
      const kept = exists && password === null
      const given = password ?? randomBytes(18).toString('base64url')
      const pw = client.escapeLiteral(given)
      // (ALTER of an existing role: only its login and password; its other attributes stay as an admin set them)
      if (kept) await client.query(`ALTER ROLE ${role} LOGIN`)
      else if (exists) await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${pw}`)
      else await client.query(`CREATE ROLE ${role} LOGIN PASSWORD ${pw} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`)
      await client.query(`GRANT CONNECT ON DATABASE ${client.escapeIdentifier(db)} TO ${role}`)
      // the queue engine's own tables and functions (jobs, task ids, queues, migrations)
      await client.query(`GRANT USAGE ON SCHEMA graphile_worker, fm_queue TO ${role}`)
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA graphile_worker TO ${role}`)
      await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA graphile_worker TO ${role}`)
      await client.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA graphile_worker TO ${role}`)
      // graphile-worker's private tables have row-level security with no policy: only their owner passes
      const policy = client.escapeIdentifier(policyName(roleName))
      const rls = await client.query<{ t: string }>(
        `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'graphile_worker' AND c.relkind = 'r' AND c.relrowsecurity`,
      )
      for (const { t } of rls.rows) {
        const table = `graphile_worker.${client.escapeIdentifier(t)}`
        await client.query(`DROP POLICY IF EXISTS ${policy} ON ${table}`)
        await client.query(`CREATE POLICY ${policy} ON ${table} FOR ALL TO ${role} USING (true) WITH CHECK (true)`)
      }
      await client.query(`GRANT SELECT, INSERT, UPDATE ON fm_queue.workers TO ${role}`)
      await client.query(`GRANT SELECT, UPDATE (started_at, worker_id, runs) ON fm_queue.jobs TO ${role}`)
      const bundles = (await client.query("SELECT to_regclass('public.problem_bundles') AS t")).rows[0].t
      if (bundles) await client.query(`GRANT SELECT ON public.problem_bundles TO ${role}`)
      await client.query('COMMIT')
      const url = new URL(adminUrl)
      url.username = encodeURIComponent(roleName)
      url.password = kept ? '' : encodeURIComponent(given)
      return { role: roleName, databaseUrl: url.toString(), passwordKept: kept }
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw e
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
}

/** The sessions a role holds now, grouped by what they said they are (workers name theirs). */
export interface RoleSession {
  /** application_name: "fm-agent worker NAME" for a worker; null where this admin may not see it */
  app: string | null
  from: string | null
  sessions: number
}

/** Dropping a role that running workers use: they would lose the database mid-evaluation. */
export class WorkerRoleInUseError extends Error {
  constructor(
    readonly role: string,
    readonly sessions: RoleSession[],
  ) {
    const n = sessions.reduce((a, s) => a + s.sessions, 0)
    const who = sessions
      .slice(0, 5)
      .map((s) => `${s.app || 'a session'}${s.from ? ` from ${s.from}` : ''}`)
      .join(', ')
    super(
      `the worker role ${role} is in use: ${n} open session(s) (${who}). Stop those workers first (SIGTERM lets ` +
        'them finish their evaluations), or drop it anyway with --force: they then lose the database and stop by themselves',
    )
  }
}

/**
 * Removes a worker role (tests, or an admin retiring a machine). Refused while sessions of the
 * role are open (a worker online on it), unless `force`: connected sessions are what a running
 * worker holds, whether or not its last heartbeat was recent.
 */
export async function dropWorkerRole(
  adminUrl: string,
  roleName: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  const pool = new (pg().Pool)({ connectionString: adminUrl, max: 1 })
  pool.on('error', () => undefined) // an idle connection the server ended: nothing is lost
  try {
    const client = await pool.connect()
    try {
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [roleName])).rowCount
      if (!exists) return
      if (!opts.force) {
        const { rows } = await client.query<RoleSession>(
          `SELECT nullif(application_name, '') AS app, client_addr::text AS "from", count(*)::int AS sessions
             FROM pg_stat_activity WHERE usename = $1 GROUP BY 1, 2 ORDER BY 3 DESC`,
          [roleName],
        )
        if (rows.length) throw new WorkerRoleInUseError(roleName, rows)
      }
      const role = client.escapeIdentifier(roleName)
      // what createWorkerRole granted in this database (DROP OWNED would need the role's own rights)
      const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db
      const revoke = [
        `REVOKE ALL ON ALL TABLES IN SCHEMA graphile_worker FROM ${role}`,
        `REVOKE ALL ON ALL SEQUENCES IN SCHEMA graphile_worker FROM ${role}`,
        `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA graphile_worker FROM ${role}`,
        `REVOKE ALL ON ALL TABLES IN SCHEMA fm_queue FROM ${role}`,
        `REVOKE ALL ON SCHEMA graphile_worker, fm_queue FROM ${role}`,
        `REVOKE ALL ON TABLE public.problem_bundles FROM ${role}`,
        `REVOKE ALL ON DATABASE ${client.escapeIdentifier(db)} FROM ${role}`,
      ]
      for (const q of revoke) await client.query(q).catch(() => undefined) // a schema or table that is not there
      const policies = await client.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_policies WHERE schemaname = 'graphile_worker' AND policyname = $1",
        [policyName(roleName)],
      )
      for (const { t } of policies.rows) {
        await client.query(
          `DROP POLICY ${client.escapeIdentifier(policyName(roleName))} ON graphile_worker.${client.escapeIdentifier(t)}`,
        )
      }
      await client.query(`DROP ROLE ${role}`)
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
}
