// One server process: database, admin bootstrap, built-in problems, auth, the console's HTTP
// server, and the local socket other CLI processes on this machine reach it through.
import { createAppServices, type AppServices } from './app.ts'
import { createAuth } from './auth/auth.ts'
import { openDatabase, type Db } from './db.ts'
import { removeLegacyLocalToken } from './db/data-dir.ts'
import { startLocalSocket, type LocalSocket } from './api/local-socket.ts'
import type { Env } from './env.ts'
import type { Logger } from './log.ts'
import { ROOT_DIR, startHttpServer, type RunningHttpServer } from './api/http-server.ts'
import { ensureNextBuild } from './next-build.ts'
import { syncBuiltinProblems } from './services/problem-catalog.ts'
import { ensureSecret } from './services/settings.ts'
import { hashToken } from './services/tokens.ts'
import { ensureAdmin } from './services/users.ts'
import { maintainEmbedded } from './db/maintenance.ts'
import { EngineManager } from './runs/manager.ts'
import { createBackend } from './runs/evaluation-backend.ts'
import { knowledgeHooks } from './runs/hooks.ts'
import { Notifier } from './notify/notifier.ts'

export interface ServerOptions {
  env: Env
  dataDir: string
  port: number
  host: string
  dev?: boolean
  pages?: boolean
  log: Logger
  /** print the first admin's one-time password here (stdout by default) */
  announce?: (text: string) => void
  /** drive runs in this process (default true; `fm-agent web` serves the console only) */
  engine?: boolean
}

export interface ServerHandle {
  app: AppServices
  http: RunningHttpServer
  url: string
  stop(): Promise<void>
}

export function banner(lines: string[]) {
  const width = Math.max(...lines.map((l) => l.length)) + 4
  const bar = '─'.repeat(width)
  return [`┌${bar}┐`, ...lines.map((l) => `│  ${l.padEnd(width - 4)}  │`), `└${bar}┘`].join('\n')
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const { env, log } = opts
  const db: Db = await openDatabase({
    dataDir: opts.dataDir,
    databaseUrl: env.DATABASE_URL,
    wait: (why) => log.warn(`waiting for PostgreSQL (${why}); retrying until it answers`),
  })
  let http: RunningHttpServer | null = null
  let notifier: Notifier | null = null
  let local: LocalSocket | null = null
  try {
    log.info(
      `database: ${db.label}${db.migrationsApplied.length ? ` (applied ${db.migrationsApplied.length} migration(s))` : ''}`,
    )
    if (db.uncleanStop)
      log.warn(
        `the previous process (pid ${db.lock?.previous?.pid}) did not stop cleanly; the database was checked and is readable`,
      )
    // before the first start's admin account: a console that cannot be built stops the start, and the
    // account's password, shown once, would be shown by a start that then failed
    if (opts.pages !== false && !opts.dev) await ensureNextBuild(ROOT_DIR, log)
    const admin = await ensureAdmin(db, { email: env.FM_ADMIN_EMAIL, password: env.FM_ADMIN_PASSWORD })
    if (admin?.blocked) log.warn(admin.blocked)
    else if (admin?.password) {
      ;(opts.announce ?? ((t: string) => process.stdout.write(t + '\n')))(
        banner([
          'First start: an admin account was created.',
          `  email:    ${admin.email}`,
          `  password: ${admin.password}`,
          'This password is shown once; you will be asked to change it.',
        ]),
      )
    } else if (admin) log.info(`admin account ${admin.email} created with FM_ADMIN_PASSWORD`)
    const problems = await syncBuiltinProblems(db, (m) => log.warn(m))
    log.info(`${problems.length} built-in problems`)

    // auth needs the address users open; know the port first when it is chosen by the OS
    const app = createAppServices(db, null, log)
    http = await startHttpServer({
      app,
      host: opts.host,
      port: opts.port,
      dev: opts.dev,
      pages: opts.pages,
      trustProxy: env.FM_TRUST_PROXY,
    })
    const url = env.FM_PUBLIC_URL ?? http.url
    const port = new URL(http.url).port
    const origins = [url, http.url, `http://localhost:${port}`, `http://127.0.0.1:${port}`]
    app.auth = await createAuth(db.prisma, {
      secret: env.FM_AUTH_SECRET ?? (await ensureSecret(db, 'auth.secret')),
      baseURL: url,
      trustedOrigins: [...new Set(origins)],
      secureCookies: url.startsWith('https:'),
      signInPerMinute: env.FM_SIGNIN_LIMIT,
      signInFailuresPerAccount: env.FM_SIGNIN_ACCOUNT_LIMIT,
    })

    // other CLI processes on this machine reach this server through a socket only its user can open:
    // no token, so nothing secret in the data folder. An older version kept a token in a file there:
    // that one token (and only it: users' own tokens are theirs, whatever their name) is revoked.
    const legacy = removeLegacyLocalToken(opts.dataDir)
    if (legacy)
      await db.prisma.apiToken.updateMany({
        where: { tokenHash: hashToken(legacy), revokedAt: null },
        data: { revokedAt: new Date() },
      })
    if (db.mode === 'embedded') {
      local = await startLocalSocket(app, opts.dataDir)
      db.lock?.update({ apiUrl: http.url, apiSocket: local.path })
    }
    // what headless runs in this folder left unvacuumed (PGlite has no autovacuum), before any run
    // resumes: the console's reads of a finished run of 10,000 candidates were up to 2× slower
    if (db.mode === 'embedded') {
      const done = await maintainEmbedded(db).catch((e: Error) => (log.warn(`database upkeep: ${e.message}`), null))
      if (done?.tables.length) log.info(`database upkeep: ${done.tables.join(', ')} in ${Math.round(done.ms)} ms`)
    }
    // the engine and its evaluation workers; runs that were active when the last process died resume
    if (opts.engine !== false) {
      app.backend = await createBackend({ db, log, workers: env.FM_WORKERS })
      app.runs = new EngineManager({
        db,
        backend: app.backend,
        events: app.events,
        log,
        hooks: knowledgeHooks(db, log),
        upkeep: true,
      })
      await app.runs.resumeActive()
      app.runs.watchForRuns()
      // where runs are driven, their completions, failures and stalls go out to webhooks
      notifier = new Notifier({ db, events: app.events, log, consoleUrl: url })
      await notifier.start()
    }
    const running = http
    return {
      app,
      http: running,
      url,
      async stop() {
        await app.runs?.stopAll().catch(() => undefined)
        await notifier?.stop().catch(() => undefined)
        await app.backend?.close().catch(() => undefined)
        await local?.close().catch(() => undefined)
        await running.close().catch(() => undefined)
        await db.close()
      },
    }
  } catch (e) {
    await notifier?.stop().catch(() => undefined)
    await local?.close().catch(() => undefined)
    await http?.close().catch(() => undefined)
    await db.close()
    throw e
  }
}

/**
 * The console's address as a start line says it: the public one users open (FM_PUBLIC_URL) and,
 * when it differs, where this process itself listens (a second server started by mistake on one
 * database would otherwise name the first one's address).
 */
export function consoleLine(server: { url: string; http: { url: string } }): string {
  return server.url === server.http.url ? server.url : `${server.url} (this process listens on ${server.http.url})`
}
