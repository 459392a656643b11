// GET /api/runs/<runId>/export: a run's export (what `fm-agent export` writes) as a file download,
// for the console's Export button. The same rule as the runs.export procedure: viewers may download
// it, the problem's files (evaluator, held-out data) go only to admins.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppServices } from '../app.ts'
import { roleAtLeast } from '../auth/roles.ts'
import { NotFoundError } from '../errors.ts'
import { exportText } from '../runs/export-file.ts'
import { exportRun } from '../runs/service.ts'
import { accessRefusal, createContext } from './trpc.ts'

export const EXPORT_ROUTE = /^\/api\/runs\/([0-9a-f-]{36})\/export$/

export async function serveRunExport(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Headers,
): Promise<void> {
  const m = EXPORT_ROUTE.exec((req.url ?? '').split('?')[0]!)
  const fail = (code: number, error: string) =>
    void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
  if (req.method !== 'GET') return fail(405, 'method not allowed')
  if (!m) return fail(404, 'not found')
  const ctx = await createContext(app, headers)
  const refusal = accessRefusal(ctx, { access: 'viewer' })
  if (refusal) return fail(refusal.code === 'UNAUTHORIZED' ? 401 : 403, refusal.message)
  let data: unknown
  try {
    data = await exportRun(app.db, m[1]!, { withProblem: roleAtLeast(ctx.actor!.role, 'admin') })
  } catch (e) {
    if (e instanceof NotFoundError) return fail(404, e.message)
    throw e
  }
  // as `fm-agent export` writes it
  const body = Buffer.from(exportText(data), 'utf8')
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'content-disposition': `attachment; filename="fm-agent-run-${m[1]!.slice(0, 8)}.json"`,
    'cache-control': 'no-store',
  })
  res.end(body)
}
