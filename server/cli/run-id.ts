// A run named on the command line: its full id, or the start of it as progress lines print it.
import { type ApiClient, connectApi } from '../api/client.ts'
import type { Env } from '../env.ts'
import type { Logger } from '../log.ts'
import { existingDataDir, InputError } from './args.ts'

const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The run id `text` names: itself when whole, else the one run whose id starts with it. */
export async function resolveRunId(api: ApiClient, text: string): Promise<string> {
  const t = text.trim().toLowerCase()
  if (FULL_ID.test(t) || !/^[0-9a-f-]{4,35}$/.test(t)) return text
  const rows = await api.query<Array<{ id: string }>>('runs.list', { idPrefix: t, limit: 2 })
  if (rows.length === 1) return rows[0]!.id
  if (rows.length === 0) throw new InputError(`no run "${text}" (fm-agent runs lists them)`)
  throw new InputError(`"${text}" is the start of more than one run id; give more of it (fm-agent runs lists them)`)
}

/** The API for a command about runs already made: a data folder that is there, no problems synced. */
export function connectToRuns(ctx: { env: Env; log: Logger }, dir: string): Promise<ApiClient> {
  return connectApi({
    dataDir: existingDataDir(dir, ctx.env.DATABASE_URL),
    databaseUrl: ctx.env.DATABASE_URL,
    log: ctx.log,
    syncProblems: false,
  })
}
