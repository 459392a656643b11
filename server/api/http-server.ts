// The console's HTTP server: Next.js pages, the tRPC API (queries, mutations and SSE
// subscriptions) and Better Auth's routes, all in one process that holds the app's services.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { MAX_BATCH_CALLS } from '../../client-safe/api-limits.ts'
import type { AppServices } from '../app.ts'
import { appRouter } from './root.ts'
import { createContext } from './trpc.ts'
import { authNodeHandler, CLIENT_ADDRESS_HEADER } from '../auth/auth.ts'
import { clientAddress, isCrossSiteWrite, setSecurityHeaders } from './security.ts'
import { safeNextPath } from '../../client-safe/safe-next.ts'
import { serveImage } from './images.ts'
import { serveRunExport } from './run-export.ts'
import { IMPORT_ROUTE, serveRunImportFor } from './run-import.ts'

export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url))

export function toHeaders(req: IncomingMessage): Headers {
  const h = new Headers()
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue
    if (Array.isArray(v))
      v.forEach((x) => {
        h.append(k, x)
      })
    else h.set(k, v)
  }
  return h
}

/**
 * The Better Auth routes the console uses (the login page, signing out, the session). Its other
 * routes (change-password, update-user, list-sessions…) would bypass this app's rules: the audit,
 * ending every session on a password change, input bounds, never showing session tokens. The
 * account's changes go through tRPC instead. Allowed while a password change is due as well.
 */
const AUTH_ROUTES = /^\/api\/auth\/(sign-in\/email|sign-out|get-session)(\?|$)/
const PUBLIC_PAGES = [/^\/login(\/|$|\?)/, /^\/_next\//, /^\/favicon/, /^\/monaco\//, /^\/api\//]

export interface HttpServerOptions {
  app: AppServices
  host: string
  port: number
  dev?: boolean
  /** serve pages with Next.js (false: API only, e.g. for API tests) */
  pages?: boolean
  /** a proxy in front appends the client's address to X-Forwarded-For (FM_TRUST_PROXY) */
  trustProxy?: boolean
}

export interface RunningHttpServer {
  server: Server
  url: string
  close(): Promise<void>
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const { app } = opts
  const dev = !!opts.dev
  type PageHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>
  let nextHandle: PageHandler | null = null
  let nextApp: { close?: () => Promise<void> } | null = null
  if (opts.pages !== false) {
    const { default: next } = await import('next')
    const n = next({ dev, dir: ROOT_DIR, hostname: opts.host, port: opts.port })
    await n.prepare()
    nextApp = n as unknown as { close?: () => Promise<void> }
    nextHandle = n.getRequestHandler() as unknown as PageHandler
  }
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    createContext: ({ req }) => createContext(app, toHeaders(req)),
    // a new run's seed programs: up to 2,000,000 characters of code, in JSON
    maxBodySize: 8 * 1024 * 1024,
    maxBatchSize: MAX_BATCH_CALLS,
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR')
        app.log.error(`api ${path ?? '?'}: ${error.cause?.message ?? error.message}`)
    },
  })
  // auth is attached once the server knows its own address (port 0 picks one)
  let authHandler: Awaited<ReturnType<typeof authNodeHandler>> | null = null
  let authFor: AppServices['auth'] = null

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res, dev)
    const url = req.url ?? '/'
    req.headers[CLIENT_ADDRESS_HEADER] = clientAddress(req, !!opts.trustProxy)
    // the origins Better Auth trusts (public URL, loopback addresses) are this console's own
    const trusted = (app.auth?.options.trustedOrigins as string[] | undefined) ?? []
    if (isCrossSiteWrite(req, trusted)) {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'cross-site request refused' }))
      return
    }
    if (url.startsWith('/api/trpc/')) return trpc(req, res)
    if (url.startsWith('/api/auth/')) {
      if (!app.auth) return void res.writeHead(503).end()
      if (!AUTH_ROUTES.test(url))
        return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      if (authFor !== app.auth) (authHandler = await authNodeHandler(app.auth)), (authFor = app.auth)
      return authHandler!(req, res)
    }
    if (url === '/api/health') {
      // what a load balancer or an uptime check asks: a process that cannot reach its database
      // serves nothing, so it says so (503) instead of a constant "ok"
      const database = await databaseAnswers(app)
      res
        .writeHead(database ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: database, mode: app.db.mode, database: database ? 'ok' : 'unreachable' }))
      return
    }
    if (url.startsWith('/api/images/')) return serveImage(app, req, res, toHeaders(req))
    if (url.split('?')[0] === IMPORT_ROUTE) return serveRunImportFor(app, req, res, toHeaders(req))
    if (url.startsWith('/api/runs/')) return serveRunExport(app, req, res, toHeaders(req))
    if (url.startsWith('/api/'))
      return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    // the login page sends the browser to `next` after sign-in: only ever a page of this console
    if (/^\/login(\/|\?|$)/.test(url)) {
      const next = new URL(url, 'http://console.invalid').searchParams.get('next')
      if (next !== null && safeNextPath(next) === null) return void res.writeHead(302, { location: '/login' }).end()
    }
    if (!nextHandle) return void res.writeHead(404).end()
    // pages need a session; send the browser to the login page otherwise
    if ((req.method === 'GET' || req.method === 'HEAD') && app.auth && !PUBLIC_PAGES.some((r) => r.test(url))) {
      const session = await app.auth.api.getSession({ headers: toHeaders(req) }).catch(() => null)
      if (!session) {
        res.writeHead(302, { location: `/login?next=${encodeURIComponent(url)}` }).end()
        return
      }
    }
    return nextHandle(req, res)
  }

  const server = createServer((req, res) => {
    handler(req, res).catch((e) => {
      app.log.error(`http ${req.method} ${req.url}: ${(e as Error).stack ?? e}`)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error')
    })
  })
  // SSE subscriptions are long-lived; never time them out at the socket
  server.requestTimeout = 0
  server.headersTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`
  return {
    server,
    url,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      await nextApp?.close?.().catch(() => undefined)
    },
  }
}

/** Whether the database answers a trivial query within HEALTH_DB_MS. */
async function databaseAnswers(app: AppServices): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), HEALTH_DB_MS)
  })
  try {
    return await Promise.race([app.db.sql('SELECT 1', []).then(() => true as const), late])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

const HEALTH_DB_MS = 3_000
