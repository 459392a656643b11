// GET /api/runs/<runId>/export: a run's export (what `fm-agent export` writes) as a file download,
// for the console's Export button and for `fm-agent export` sent to a running server. The same rule
// as the runs.export procedure: viewers may download it, the problem's files (evaluator, held-out
// data) go only to admins. Written as it is read (exportChunks), so a large run never sits whole in
// the server's memory.
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppServices } from '../app.ts'
import { type Actor, roleAtLeast } from '../auth/roles.ts'
import { NotFoundError } from '../errors.ts'
import { exportChunks } from '../runs/service.ts'
import { audit } from '../services/audit.ts'
import { accessRefusal, createContext } from './trpc.ts'

export const EXPORT_ROUTE = /^\/api\/runs\/([0-9a-f-]{36})\/export$/

export async function serveRunExport(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Headers,
): Promise<void> {
  if (!exportedRun(req, res)) return
  const ctx = await createContext(app, headers)
  const refusal = accessRefusal(ctx, { access: 'viewer' })
  if (refusal) return fail(res, refusal.code === 'UNAUTHORIZED' ? 401 : 403, refusal.message)
  return streamRunExport(app, req, res, ctx.actor!)
}

function fail(res: ServerResponse, code: number, error: string) {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
}

/** the run a GET of the route names; null when the request is answered with why not */
function exportedRun(req: IncomingMessage, res: ServerResponse): string | null {
  const m = EXPORT_ROUTE.exec((req.url ?? '').split('?')[0]!)
  if (req.method !== 'GET') fail(res, 405, 'method not allowed')
  else if (!m) fail(res, 404, 'not found')
  else return m[1]!
  return null
}

/** The export of the run the request's path names, to an actor already let in. */
export async function streamRunExport(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  actor: Actor,
): Promise<void> {
  const runId = exportedRun(req, res)
  if (!runId) return
  const pieces = exportChunks(app.db, runId, { withProblem: roleAtLeast(actor.role, 'admin') })
  let first: IteratorResult<string>
  try {
    first = await pieces.next()
  } catch (e) {
    if (e instanceof NotFoundError) return fail(res, 404, e.message)
    throw e
  }
  // every candidate's code and prompt leave with it: who took them is on record
  await auditExport(app, actor, runId)
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-disposition': `attachment; filename="fm-agent-run-${runId.slice(0, 8)}.json"`,
    'cache-control': 'no-store',
  })
  try {
    for (let p = first; !p.done; p = await pieces.next()) {
      if (res.destroyed) return void (await pieces.return(undefined))
      if (!res.write(p.value)) await Promise.race([once(res, 'drain'), once(res, 'close')])
    }
    res.end()
  } catch (e) {
    // the status is sent: a download cut short is what the client can be told
    app.log.error(`export of run ${runId}: ${(e as Error).message}`)
    res.destroy(e as Error)
  }
}

/** An export on the audit log: a run's every program and prompt, to whom. */
export function auditExport(app: AppServices, actor: Actor, runId: string) {
  return audit(app.db.prisma, actor, {
    action: 'run.export',
    targetType: 'run',
    targetId: runId,
    runId,
    before: null,
    after: { withProblem: roleAtLeast(actor.role, 'admin') },
  })
}
