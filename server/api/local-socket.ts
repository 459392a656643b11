// How other CLI processes on this machine reach a running embedded server, without any token: a Unix
// socket in the data folder (or, when that path is too long for a socket, in a folder of this user's
// under the temp folder), mode 0600 inside 0700 folders. Only this user (and root) can connect, so a
// connection is the machine's owner at the keyboard: it acts as the first active admin. Nothing
// secret is written anywhere: there is nothing to steal from the data folder, and nothing to revoke.
// (A candidate never gets here: sandboxes run as another uid or in their own mount namespace, and
// runs at isolation "none" need FM_ALLOW_UNSANDBOXED=1.)
import { createHash } from 'node:crypto'
import { chmodSync, createReadStream, lstatSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, request, type Server } from 'node:http'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { MAX_BATCH_CALLS } from '../../client-safe/api-limits.ts'
import type { AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { appRouter } from './root.ts'
import { EXPORT_ROUTE, streamRunExport } from './run-export.ts'
import { IMPORT_ROUTE, serveRunImport } from './run-import.ts'
import { toHeaders } from './http-server.ts'
import type { Context } from './trpc.ts'

export const SOCKET_NAME = 'api.sock'
const MAX_SOCKET_PATH = 100 // sun_path holds 108 bytes

/** Where a server holding `dataDir` listens (the lock file names it too). */
export function localSocketPath(dataDir: string): string {
  const inside = join(dataDir, SOCKET_NAME)
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  return join(tmpdir(), `fm-agent-${uid}`, `${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`)
}

function cliLabel(): string {
  try {
    return `cli:${userInfo().username} (local socket)`
  } catch {
    return 'cli (local socket)'
  }
}

export interface LocalSocket {
  path: string
  server: Server
  close(): Promise<void>
}

/**
 * What steers runs already going: the engine of the process that serves the socket applies it (a
 * headless `fm-agent run` answers these besides what reads; a new run or an import would outlive it).
 */
export const STEERING_PROCEDURES: ReadonlySet<string> = new Set([
  'runs.stop',
  'runs.pause',
  'runs.setExploration',
  'runs.setWeights',
  'runs.retrieve',
  'runs.escalate',
  'guidance.create',
  'guidance.withdraw',
  'candidates.setPinned',
  'candidates.ban',
  'candidates.rate',
  'candidates.submitEdit',
])

/** The procedures a tRPC request calls (a batch names several, comma-separated). */
export function proceduresOf(url: string): string[] {
  const path = url.split('?')[0]!
  if (!path.startsWith('/api/trpc/')) return []
  return decodeURIComponent(path.slice('/api/trpc/'.length)).split(',')
}

/**
 * `readOnly`: only queries are answered (tRPC sends them as GET), and the mutations in `allow`; any
 * other mutation gets this message as a BAD_REQUEST, in tRPC's own error shape so that the client
 * shows it as any refusal.
 */
export async function startLocalSocket(
  app: AppServices,
  dataDir: string,
  opts: { readOnly?: string; allow?: ReadonlySet<string> } = {},
): Promise<LocalSocket> {
  const path = localSocketPath(dataDir)
  const folder = join(path, '..')
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  // a folder of ours, reachable by nobody else: a shared temp folder must not lend us someone's socket
  const st = lstatSync(folder)
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new Error(`${folder} is not a folder of this user: cannot place the local API socket there`)
  }
  chmodSync(folder, 0o700)
  rmSync(path, { force: true }) // left by a process that died
  const label = cliLabel()
  const actor = async (): Promise<Actor> => {
    const admin = await app.db.prisma.user.findFirst({
      where: { role: 'admin', disabled: false },
      orderBy: { createdAt: 'asc' },
      select: { id: true, email: true },
    })
    return admin
      ? { id: admin.id, label: `${admin.email} (${label})`, role: 'admin' as Role, via: 'token' }
      : { id: null, label, role: 'admin', via: 'system' }
  }
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    createContext: async ({ req }): Promise<Context> => ({
      app,
      actor: await actor(),
      tokenScope: 'cli',
      headers: toHeaders(req),
    }),
    // a new run's seed programs: up to 2,000,000 characters of code, in JSON
    maxBodySize: 8 * 1024 * 1024,
    maxBatchSize: MAX_BATCH_CALLS,
  })
  const server = createServer((req, res) => {
    const allowed = () => {
      const called = proceduresOf(req.url ?? '')
      return called.length > 0 && called.every((p) => opts.allow?.has(p))
    }
    if (opts.readOnly && req.method !== 'GET' && !allowed()) {
      const error = { message: opts.readOnly, code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400 } }
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { json: error } }))
    }
    if ((req.url ?? '').startsWith('/api/trpc/')) return void trpc(req, res)
    // a run's export and import, as the machine's owner (what is not a procedure: a file each way)
    const path = (req.url ?? '').split('?')[0]!
    const serve = EXPORT_ROUTE.test(path) ? streamRunExport : path === IMPORT_ROUTE ? serveRunImport : null
    if (serve)
      return void actor()
        .then((a) => serve(app, req, res, a))
        .catch((e: Error) => {
          app.log.error(`${path} through the local socket: ${e.stack ?? e.message}`)
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: `internal error: ${e.message}` }))
        })
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
  })
  server.requestTimeout = 0
  const previous = process.umask(0o177) // the socket is created 0600, with no window where it is wider
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => resolve())
    })
  } finally {
    process.umask(previous)
  }
  chmodSync(path, 0o600)
  return {
    path,
    server,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      rmSync(path, { force: true })
    },
  }
}

/** A `fetch` that sends every request to the HTTP server on a Unix socket (for tRPC's httpLink). */
export function unixSocketFetch(socketPath: string): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    const headers = new Headers(init?.headers)
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body)
    return await new Promise<Response>((resolve, reject) => {
      const req = request(
        {
          socketPath,
          path: url.pathname + url.search,
          method: init?.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const h = new Headers()
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: h }))
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      init?.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')))
      if (body !== undefined) req.write(body)
      req.end()
    })
  }) as typeof fetch
}

/** POSTs a file, streamed, to the server on a Unix socket; its status and JSON answer. */
export function postFileToSocket(
  socketPath: string,
  path: string,
  file: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': statSync(file).size },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: Record<string, unknown>
          try {
            body = JSON.parse(text)
          } catch {
            body = { error: text.slice(0, 500) }
          }
          resolve({ status: res.statusCode ?? 500, body })
        })
        res.on('error', reject)
      },
    )
    // a server that refuses early (too large) closes before the whole file is sent: its answer counts
    req.on('error', reject)
    createReadStream(file)
      .on('error', (e) => req.destroy(e))
      .pipe(req)
  })
}

/** GETs a path from the server on a Unix socket: the response, streamed; a refusal as an Error with its message. */
export function getFromSocket(socketPath: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      if (res.statusCode === 200) return resolve(res)
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let error = text.slice(0, 500)
        try {
          error = JSON.parse(text).error ?? error
        } catch {
          // not JSON: its text
        }
        reject(new Error(error))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
