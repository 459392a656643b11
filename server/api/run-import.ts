// POST /api/runs/import: a run's export (what `fm-agent export` and the Export button write) as the
// request body, imported as `fm-agent import` imports it. The console's Import button and
// `fm-agent import` while a server holds the data folder (through its local socket) both send it
// here. Admins only: an export may carry its problem's evaluator, which later runs execute.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Actor } from '../auth/roles.ts'
import type { AppServices } from '../app.ts'
import { BadInputError, ConflictError } from '../errors.ts'
import { importRun } from '../runs/service.ts'
import { accessRefusal, createContext } from './trpc.ts'

export const IMPORT_ROUTE = '/api/runs/import'
/** An export of ~100,000 candidates; the whole body is parsed in memory. */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024
const MIB = 1024 * 1024

type Reply = (code: number, body: Record<string, unknown>) => void

/** Reads a body up to `limit` bytes; null once it is over (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        resolve(null)
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export async function serveRunImport(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  actor: Actor,
  limit = MAX_IMPORT_BYTES,
): Promise<void> {
  const reply: Reply = (code, body) =>
    void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  if (req.method !== 'POST') return reply(405, { error: 'method not allowed: POST the export file' })
  const tooLarge = () =>
    reply(413, {
      error: `the file is larger than the ${limit / MIB} MiB an import may be; import it with the console stopped: fm-agent import <file>`,
    })
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (declared > limit) {
    // the client is told before it sends the rest
    res.setHeader('connection', 'close')
    return tooLarge()
  }
  const body = await readBody(req, limit)
  if (!body) return tooLarge()
  let data: unknown
  try {
    data = JSON.parse(body.toString('utf8'))
  } catch (e) {
    return reply(400, { error: `not an export: the file is not JSON (${(e as Error).message})` })
  }
  try {
    const r = await importRun(app.db, actor, data)
    app.log.info(`${actor.label} imported run ${r.runId} (${r.candidates} candidates)`)
    return reply(200, { ...r })
  } catch (e) {
    if (e instanceof BadInputError) return reply(400, { error: e.message })
    if (e instanceof ConflictError) return reply(409, { error: e.message })
    throw e
  }
}

/** The console's route: whoever the session or token is, by the rule of an admin procedure. */
export async function serveRunImportFor(app: AppServices, req: IncomingMessage, res: ServerResponse, headers: Headers) {
  const ctx = await createContext(app, headers)
  const refusal = accessRefusal(ctx, { access: 'admin' })
  if (refusal)
    return void res
      .writeHead(refusal.code === 'UNAUTHORIZED' ? 401 : 403, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: refusal.message }))
  return serveRunImport(app, req, res, ctx.actor!)
}
