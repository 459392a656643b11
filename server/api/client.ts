// How the CLI reaches the API: in-process (it opens the database itself) or, when a running
// server holds the embedded data folder, over HTTP on that server's local socket (local-socket.ts).
// Both go through the same tRPC router, so a command behaves the same either way.
import { hostname, userInfo } from 'node:os'
import superjson from 'superjson'
import { ZodError } from 'zod'
import { createAppServices, type AppServices } from '../app.ts'
import { openDatabase } from '../db.ts'
import { DataDirLockedError, holderAlive, liveHolder } from '../db/data-dir.ts'
import { unixSocketFetch } from './local-socket.ts'
import type { Logger } from '../log.ts'
import { syncBuiltinProblems } from '../services/problem-catalog.ts'
import { appRouter, type AppRouter } from './root.ts'
import { createCallerFactory, zodMessage } from './trpc.ts'

export interface ApiClient {
  /** true when the commands go to a running server */
  remote: boolean
  query<T = unknown>(path: string, input?: unknown): Promise<T>
  mutate<T = unknown>(path: string, input?: unknown): Promise<T>
  /** remote only: the running server's local socket, for what is not a procedure (a file upload) */
  socketPath?: string
  /** remote only: whether the server process is still alive (a busy one may refuse connections a while) */
  serverAlive?: () => boolean
  /** in-process only: the services, for commands that do more than call the API (runs, workers) */
  app?: AppServices
  close(): Promise<void>
}

const walk = (obj: unknown, path: string) =>
  path.split('.').reduce<any>((o, k) => {
    if (o == null || (!(k in Object(o)) && typeof o !== 'function')) throw new Error(`no API procedure "${path}"`)
    return o[k]
  }, obj)

export function localActorLabel() {
  try {
    return `cli:${userInfo().username}`
  } catch {
    return 'cli'
  }
}

/** How long a command waits for a starting holder of its data folder to serve its API. */
const HOLDER_START_WAIT_MS = 60_000

export async function connectApi(opts: {
  dataDir: string
  databaseUrl?: string
  log: Logger
  syncProblems?: boolean
}): Promise<ApiClient> {
  if (!opts.databaseUrl) {
    let holder = liveHolder(opts.dataDir)
    // a run or server that has just started holds the folder before it serves its API, and another
    // command holds it while it works: a script that starts one in the background and asks about it
    // at once waits for the API, or for the other command to end, instead of failing
    if (holder && holder.host === hostname() && !holder.apiSocket) {
      opts.log.info(
        `process ${holder.pid} holds ${opts.dataDir}: waiting for it to serve its API (a run or server starting) or to end`,
      )
      const until = Date.now() + HOLDER_START_WAIT_MS
      while (holder && !holder.apiSocket && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100))
        holder = liveHolder(opts.dataDir)
      }
    }
    if (holder) {
      // a lock written on another host cannot be checked from here: say whose it is and how to break it
      if (holder.host !== hostname()) throw new DataDirLockedError(opts.dataDir, holder)
      if (!holder.apiSocket) {
        throw new Error(
          `the data folder ${opts.dataDir} is held by process ${holder.pid}, which has served no API for ${HOLDER_START_WAIT_MS / 1000} s; wait for it to start or stop it`,
        )
      }
      opts.log.info(
        `${holder.apiUrl ? `a server (pid ${holder.pid}, ${holder.apiUrl})` : `a run (pid ${holder.pid})`} holds ${opts.dataDir}: sending this command to it through ${holder.apiSocket}`,
      )
      return { ...localSocketClient(holder.apiSocket), serverAlive: () => holderAlive(holder) }
    }
  }
  const db = await openDatabase({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl })
  // as the server says at start: a command after a crash (e.g. `fm-agent resume`) tells the user it recovered
  if (db.uncleanStop)
    opts.log.warn(
      `the previous process (pid ${db.lock?.previous?.pid}) did not stop cleanly; the database was checked and is readable`,
    )
  const app = createAppServices(db, null, opts.log)
  if (opts.syncProblems !== false) await syncBuiltinProblems(db, (m) => opts.log.warn(m))
  const caller = createCallerFactory(appRouter)({
    app,
    actor: { id: null, label: localActorLabel(), role: 'admin', via: 'system' },
    tokenScope: null,
    headers: new Headers(),
  })
  // in-process calls skip the error formatter that shapes an HTTP answer: a schema refusal would be
  // its issues as raw JSON; it reads as one line, as over HTTP
  const call = (path: string, input: unknown) =>
    walk(
      caller,
      path,
    )(input).catch((e: Error) => {
      if (e.cause instanceof ZodError) e.message = zodMessage(e.cause)
      throw e
    })
  return {
    remote: false,
    app,
    query: call,
    mutate: call,
    close: () => db.close(),
  }
}

/** The API of the server listening on a local socket (its owner's commands: no token). */
export function localSocketClient(socketPath: string): ApiClient {
  // tRPC's client is loaded only here: the commands that open the database themselves never need it
  const client = import('@trpc/client').then(({ createTRPCClient, httpLink }) =>
    createTRPCClient<AppRouter>({
      links: [
        httpLink({ url: 'http://local-socket/api/trpc', transformer: superjson, fetch: unixSocketFetch(socketPath) }),
      ],
    }),
  )
  return {
    remote: true,
    socketPath,
    query: async (path, input) => walk(await client, path).query(input),
    mutate: async (path, input) => walk(await client, path).mutate(input),
    close: async () => undefined,
  }
}
