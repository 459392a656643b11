// Starts test-support/serve-api.ts as a child process and waits until it serves.
import { randomUUID } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { localSocketClient } from '../server/api/client.ts'
import { readLock } from '../server/db/data-dir.ts'
import { ROOT } from './figures.ts'

export interface ApiProcess {
  child: ChildProcess
  url: string
  statsUrl: string
  pid: number
  /** everything the process wrote (stdout and stderr), for the log checks */
  output(): string
  /** an API token of the first admin, minted at start through the server's local socket (embedded mode) */
  adminToken(): string
  stats(
    runId?: string,
    gc?: boolean,
  ): Promise<{ rss: number; heapUsed: number; listeners: { run: number | null; any: number }; gc: boolean }>
  kill9(): Promise<void>
  stop(): Promise<number | null>
}

export async function startApiProcess(opts: {
  dataDir: string
  engine?: boolean
  workers?: number
  env?: Record<string, string>
  exposeGc?: boolean
  timeoutMs?: number
}): Promise<ApiProcess> {
  const args = [
    ...(opts.exposeGc ? ['--expose-gc'] : []),
    '--import',
    'tsx',
    join(ROOT, 'test-support/serve-api.ts'),
    '--data-dir',
    opts.dataDir,
  ]
  if (opts.engine) args.push('--engine')
  if (opts.workers) args.push('--workers', String(opts.workers))
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      FM_ADMIN_EMAIL: 'admin@hardening.test',
      FM_ADMIN_PASSWORD: 'hardening-admin-pw',
      FM_LOG: 'info',
      ...opts.env,
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const info = await new Promise<{ url: string; statsUrl: string; pid: number }>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`the API server did not start in time:\n${out.slice(-3000)}`)),
      opts.timeoutMs ?? 180_000,
    )
    const check = () => {
      const m = /^\{"url".*\}$/m.exec(out)
      if (m) {
        clearTimeout(t)
        resolve(JSON.parse(m[0]))
      }
    }
    child.stdout!.on('data', check)
    child.on('exit', (code) => {
      clearTimeout(t)
      reject(new Error(`the API server exited (${code}) before serving:\n${out.slice(-3000)}`))
    })
  })
  // what the local admin token file was for before the socket: a token the tests call the API with
  const socket = readLock(opts.dataDir)?.apiSocket
  const token = socket
    ? (
        await localSocketClient(socket).mutate<{ token: string }>('tokens.create', {
          name: `hardening tests ${randomUUID().slice(0, 8)}`,
          scope: 'cli',
        })
      ).token
    : null
  return {
    child,
    ...info,
    output: () => out,
    adminToken: () => {
      if (!token) throw new Error('the server serves no local socket (server mode?): no admin token')
      return token
    },
    async stats(runId, gc) {
      const res = await fetch(`${info.statsUrl}/${gc ? 'gc' : 'stats'}${runId ? `?runId=${runId}` : ''}`)
      return res.json()
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
      const code = await exited
      clearTimeout(t)
      return code
    },
  }
}
