// A worker's database role, on real PostgreSQL: a worker started with the application's role says
// loudly what that exposes; `worker-role drop` refuses a role a connected worker uses unless
// forced; a worker whose role is taken away stops by itself with one clear message and exit code 1;
// a worker that cannot sign in says where and what to change. Every wait is on what the processes
// print or how they exit.
import type { ChildProcess } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../db.ts'
import { cli, collect, startCli } from '../../test-support/cli.ts'
import { createTestDatabase, type TestDatabase } from '../../test-support/pg.ts'
import { removeTempDirs, tempDir } from '../../workers/test-helpers.ts'
import { startServerWorker } from '../../workers/server-worker.ts'
import { createWorkerRole, dropWorkerRole } from './roles.ts'

let t: TestDatabase
let roleUrl: string
const role = `fm_wr_${process.pid}`
const children: ChildProcess[] = []

beforeAll(async () => {
  t = await createTestDatabase()
  await (await openDatabase({ databaseUrl: t.url, dataDir: tempDir('fm-wr-data-') })).close()
  roleUrl = (await createWorkerRole(t.url, role, `pw-${process.pid}-wr`)).databaseUrl
}, 120_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await dropWorkerRole(t.url, role, { force: true }).catch(() => undefined)
  await t?.drop()
  removeTempDirs()
})

/** Resolves with everything printed once `pattern` shows in the child's stderr; rejects if it exits first. */
function printed(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = ''
    const onData = (d: Buffer) => {
      err += d
      if (pattern.test(err)) {
        child.stderr!.off('data', onData)
        resolve(err)
      }
    }
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${pattern}: ${err}`)))
  })
}

describe('worker-role create on an existing role', () => {
  const connects = async (url: string) => {
    const c = new pg.Client({ connectionString: url })
    try {
      await c.connect()
      return true
    } catch {
      return false
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  it('renews its grants and keeps its password, so its workers stay connected; a new one only when asked', async () => {
    const name = `fm_wr_again_${process.pid}`
    const first = await createWorkerRole(t.url, name, 'pw-first-1')
    try {
      const again = await cli(['worker-role', 'create', name, '--json'], { DATABASE_URL: t.url })
      expect(again.code, again.stderr).toBe(0)
      expect(again.json).toMatchObject({ role: name, passwordKept: true })
      expect(new URL(again.json.databaseUrl).password).toBe('')
      expect(await connects(first.databaseUrl)).toBe(true)
      const text = await cli(['worker-role', 'create', name], { DATABASE_URL: t.url })
      expect(text.stdout).toMatch(/exists: its grants are renewed and its password is kept/)
      const renewed = await cli(['worker-role', 'create', name, '--new-password', '--json'], { DATABASE_URL: t.url })
      expect(renewed.json.passwordKept).toBe(false)
      expect(await connects(renewed.json.databaseUrl)).toBe(true)
      expect(await connects(first.databaseUrl)).toBe(false)
    } finally {
      await dropWorkerRole(t.url, name, { force: true })
    }
  })
})

describe('a worker on the application role', () => {
  it('warns loudly that it holds full credentials, and names worker-role create; a worker role does not', async () => {
    const started = async (databaseUrl: string) => {
      const lines: string[] = []
      const w = await startServerWorker({
        databaseUrl,
        concurrency: 1,
        name: 'role-check',
        cacheDir: tempDir('fm-wr-cache-'),
        announce: false,
        log: (l) => lines.push(l),
      })
      await w.stop()
      return lines
    }
    const app = await started(t.url)
    const warning = app.filter((l) => l.includes('WARNING'))
    expect(warning).toHaveLength(1)
    expect(warning[0]).toMatch(/connects as \w+, a role that can read the application's tables/)
    expect(warning[0]).toContain('runs untrusted candidate code while holding full database credentials')
    expect(warning[0]).toContain('fm-agent worker-role create NAME')
    // it is a warning: the worker still came online
    expect(app.some((l) => / online: /.test(l))).toBe(true)

    const own = await started(roleUrl)
    expect(own.some((l) => l.includes('WARNING'))).toBe(false)
    expect(own.some((l) => / online: /.test(l))).toBe(true)
  }, 60_000)
})

describe('a worker whose role is dropped under it', () => {
  it('drop refuses while the worker is connected; --force drops it; the worker gives up once and exits 1', async () => {
    const worker = startCli(
      ['worker', '--concurrency', '1', '--name', 'wr-cli', '--cache-dir', tempDir('fm-wr-cli-')],
      {
        DATABASE_URL: roleUrl,
        FM_WORKER_HEARTBEAT_MS: '100',
        FM_WORKER_AUTH_FAILURES: '3',
      },
    )
    children.push(worker)
    const exited = collect(worker)
    await printed(worker, /\[worker wr-cli\] \S+ online/)

    const refused = await cli(['worker-role', 'drop', role], { DATABASE_URL: t.url })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      new RegExp(`the worker role ${role} is in use: \\d+ open session\\(s\\) \\(fm-agent worker wr-cli`),
    )
    expect(refused.stderr).toContain('--force')
    const still = new pg.Client({ connectionString: roleUrl })
    await still.connect() // the role is still there
    await still.end()

    const forced = await cli(['worker-role', 'drop', role, '--force'], { DATABASE_URL: t.url })
    expect(forced.code, forced.stderr).toBe(0)

    const out = await exited
    expect(out.code).toBe(1)
    const givingUp = out.stderr.split('\n').filter((l) => l.includes('giving up'))
    expect(givingUp).toHaveLength(1)
    expect(givingUp[0]).toMatch(new RegExp(`giving up: PostgreSQL at 127\\.0\\.0\\.1:\\d+/${t.name}: `))
    expect(givingUp[0]).toMatch(/3 heartbeats in a row refused/)
    expect(givingUp[0]).toContain('fm-agent worker-role create NAME')
    expect(out.stderr).toMatch(/\[worker wr-cli\] stopped after 0 evaluation/)
  }, 90_000)
})

describe('a worker that cannot sign in at start', () => {
  it('says where, what failed and what to change, as web and engine do', async () => {
    const wrong = new URL(t.url)
    wrong.password = 'not-the-password'
    const r = await cli(['worker', '--cache-dir', tempDir('fm-wr-bad-')], { DATABASE_URL: wrong.toString() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `the worker could not start: PostgreSQL at 127.0.0.1:${wrong.port || 5432}/${t.name}: password authentication failed: check the user and password in DATABASE_URL`,
    )
    expect(r.stderr).toContain('fm-agent worker-role create NAME prints its URL')
  }, 60_000)

  it('a database name that names no database: it waits, saying no engine creates one', async () => {
    const typo = new URL(t.url)
    typo.pathname = `/${t.name}_typo`
    const worker = startCli(['worker', '--cache-dir', tempDir('fm-wr-typo-')], { DATABASE_URL: typo.toString() })
    children.push(worker)
    await printed(
      worker,
      /waiting for the job queue \(database "\S+_typo" does not exist\); no engine creates a database: check its name in DATABASE_URL, or create it/,
    )
    worker.kill('SIGKILL')
  }, 60_000)
})
