// How long an expert waits for the engine to take an intervention, in server mode (PostgreSQL; one
// `fm-agent web`, one `fm-agent engine` and one `fm-agent worker`, separate processes) against the
// baseline of embedded mode (`fm-agent start`: web, engine and workers in one process), measured
// in the same process:
//
//   node --import tsx bench/intervention-latency.ts [--count 40] [--port 3251]
//
// A run of the curve-fit fixture evolves with offline operators; from the signed-in browser page,
// `count` exploration changes are sent one after another at random moments (what the Set button
// sends), each timed from the request to the response, which the web process gives once the engine
// driving the run has acknowledged the command (applied, or refused with its reason). Every one must
// come back applied. Prints p50 / p95 / max for each mode and the server/embedded ratio.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from '@playwright/test'
import { api, login } from '../e2e/fixtures.ts'
import { createTestDatabase } from '../test-support/pg.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '40' }, port: { type: 'string', default: '3251' } },
})
const COUNT = Number(args.count)
const PORT = Number(args.port)
const BASE = `http://127.0.0.1:${PORT}`
const ADMIN = { email: 'bench@fm-agent.local', password: 'bench-intervention-password' }

const quantile = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(f * s.length) - 1))]!
}

function start(args: string[], env: Record<string, string>, dirs: string[]): ChildProcess & { log: () => string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-bench-iv-'))
  dirs.push(dataDir)
  const p = spawn(process.execPath, [join(ROOT, 'bin/fm-agent.mjs'), ...args, '--data-dir', dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      FM_LOG: 'warn',
      FM_ADMIN_EMAIL: ADMIN.email,
      FM_ADMIN_PASSWORD: ADMIN.password,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  for (const s of [p.stdout!, p.stderr!]) s.on('data', (d) => (log = (log + d).slice(-4000)))
  return Object.assign(p, { log: () => log })
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  logs: () => string,
  timeoutMs = 300_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => null)
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${logs()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Latencies (ms) of COUNT exploration changes on a fresh evolving run, request to acknowledgement. */
async function measure(mode: string, procs: Array<ChildProcess & { log: () => string }>): Promise<number[]> {
  const logs = () => procs.map((p) => p.log()).join('\n---\n')
  await until(`${mode}: the console`, async () => (await fetch(`${BASE}/api/health`)).ok, logs)
  const browser = await chromium.launch({
    executablePath: process.env.FM_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  try {
    const page = await browser.newPage({ baseURL: BASE })
    await login(page, ADMIN)
    await api(page, 'mutation', 'problems.import', { path: join(ROOT, 'test-support/problems/curve-fit') })
    const { id: runId } = await api<{ id: string }>(page, 'mutation', 'runs.create', {
      problemId: 'test-curve-fit',
      config: { islands: 2, budget: { maxEvals: 1_000_000 }, seed: 3 },
    })
    await until(
      `${mode}: the run evolving`,
      async () => (await api<{ status: string }>(page, 'query', 'runs.summary', { runId })).status === 'evolving',
      logs,
    )
    const out: number[] = []
    for (let i = 0; i < COUNT; i++) {
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250)) // a random moment of the engine's loop
      const t0 = performance.now()
      const r = await api<{ command: { status: string } }>(page, 'mutation', 'runs.setExploration', {
        runId,
        value: i % 2 ? 0.6 : 0.4,
        island: i % 2,
      })
      out.push(performance.now() - t0)
      if (r.command.status !== 'applied') throw new Error(`${mode}: command ${i} came back ${r.command.status}`)
    }
    await api(page, 'mutation', 'runs.stop', { runId })
    return out
  } finally {
    await browser.close()
  }
}

async function stopAll(procs: ChildProcess[]) {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM')
  await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)))
}

const dirs: string[] = []
const results: Record<string, number[]> = {}
try {
  const embedded = [start(['start', '--port', String(PORT)], { FM_WORKERS: '2' }, dirs)]
  try {
    results.embedded = await measure('embedded', embedded)
  } finally {
    await stopAll(embedded)
  }
  const db = await createTestDatabase()
  const env = { DATABASE_URL: db.url }
  const server = [
    start(['worker', '--concurrency', '2'], env, dirs),
    start(['web', '--port', String(PORT)], env, dirs),
    start(['engine'], env, dirs),
  ]
  try {
    results.server = await measure('server', server)
  } finally {
    await stopAll(server)
    await db.drop()
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}

const row = (m: string) => {
  const xs = results[m]!
  return `| ${m} | ${xs.length} | ${quantile(xs, 0.5).toFixed(0)} ms | ${quantile(xs, 0.95).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms |`
}
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
)
console.log('| mode | interventions | p50 | p95 | max |\n| --- | --- | --- | --- | --- |')
console.log(row('embedded'))
console.log(row('server'))
console.log(
  `server / embedded: p50 ${(quantile(results.server!, 0.5) / quantile(results.embedded!, 0.5)).toFixed(2)}, p95 ${(quantile(results.server!, 0.95) / quantile(results.embedded!, 0.95)).toFixed(2)}`,
)
