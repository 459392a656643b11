// Engine overhead: the engine's own CPU time per iteration (persistence included; the model
// server and the evaluation subprocesses run in other processes and are excluded), and the
// end-to-end iterations per second with the sandbox, against an instant model (the scripted
// OpenAI-protocol server answering at once) and a trivial evaluator.
//
//   node --import tsx bench/engine-overhead.ts [--iterations 1000,10000] [--workers 2] [--server]
//
// Embedded mode runs PostgreSQL (PGlite) inside the engine's process, so its CPU counts as the
// engine's; --server adds rows against a real PostgreSQL (FM_TEST_PG_URL, a throw-away database),
// where the database's own work is in its server process and the engine's share shows alone.
//
// Baseline, measured in the same process: the same sandboxed evaluations submitted straight to
// the same worker pool, without the engine or a model (the cost floor of evaluation itself).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createAppServices } from '../server/app.ts'
import { openDatabase } from '../server/db.ts'
import { createLogger } from '../server/log.ts'
import { EngineManager } from '../server/runs/manager.ts'
import { createBackend } from '../server/runs/evaluation-backend.ts'
import { createRun } from '../server/runs/service.ts'
import { importProblem } from '../server/services/problem-catalog.ts'
import { createTestDatabase } from '../test-support/pg.ts'
import { poolFloor } from './pool-floor.ts'
import { startQueueWorkers } from './queue-workers.ts'

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '1000,10000' },
    workers: { type: 'string', default: '2' },
    server: { type: 'boolean', default: false },
  },
})
const sizes = values.iterations!.split(',').map(Number)
const workers = Number(values.workers)
const log = createLogger('bench', 'warn')
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PROBLEM = join(ROOT, 'bench/problems/trivial')

async function startModelServer(): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test-support/openai-server.ts'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(JSON.parse(String(d).trim().split('\n')[0]).url))
    child.once('exit', (c) => reject(new Error(`model server exited ${c}`)))
  })
  return { url, stop: () => child.kill('SIGTERM') }
}

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function engineRun(iterations: number, modelUrl: string, databaseUrl = '') {
  const dir = mkdtempSync(join(tmpdir(), 'fm-bench-'))
  const db = await openDatabase({ dataDir: dir, databaseUrl })
  const app = createAppServices(db, null, log)
  const { id: problemId } = await importProblem(db, PROBLEM)
  const backend = await createBackend({ db, log, workers })
  // server mode: evaluations go through the job queue to `fm-agent worker` processes
  const queueWorkers = databaseUrl ? await startQueueWorkers(databaseUrl, workers, backend) : null
  const manager = new EngineManager({ db, backend, events: app.events, log })
  process.env.BENCH_MODEL_KEY = 'sk-bench'
  const run = await createRun(
    db,
    { id: null, label: 'bench', role: 'admin', via: 'system' },
    {
      problemId,
      config: {
        mutator: 'llm',
        models: [{ provider: 'openai', model: 'instant', baseURL: modelUrl, apiKeyEnv: 'BENCH_MODEL_KEY' }],
        islands: 4,
        populationPerIsland: 200,
        budget: { maxEvals: iterations },
        coldStartSize: 8,
        concurrency: workers * 2,
      },
    },
  )
  // CPU per iteration in tenths of the run, to see whether it grows with the population
  const marks: Array<{ evals: number; cpu: number; t: number }> = []
  let evals = 0
  app.events.subscribe(run.id, (e) => {
    if (e.type !== 'candidate') return
    evals++
    if (evals % Math.max(1, Math.floor(iterations / 10)) === 0)
      marks.push({ evals, cpu: cpuMs(), t: performance.now() })
  })
  const cpu0 = cpuMs()
  const t0 = performance.now()
  marks.push({ evals: 0, cpu: cpu0, t: t0 })
  const result = await manager.launch(run.id)
  const wall = (performance.now() - t0) / 1000
  const cpu = cpuMs() - cpu0
  await queueWorkers?.stop()
  await backend.close()
  await db.close()
  rmSync(dir, { recursive: true, force: true })
  if (result.status !== 'completed') throw new Error(`run ended ${result.status}: ${result.reason}`)
  const segments = marks.slice(1).map((m, i) => (m.cpu - marks[i].cpu) / (m.evals - marks[i].evals))
  return {
    iterations,
    wall,
    itPerS: iterations / wall,
    cpuPerIt: cpu / iterations,
    first: segments[0],
    last: segments[segments.length - 1],
  }
}

const model = await startModelServer()
try {
  const rows: string[] = []
  const modes: Array<['embedded' | 'server', string]> = [['embedded', '']]
  const pg = values.server ? await createTestDatabase() : null
  if (pg) modes.push(['server', pg.url])
  try {
    for (const [mode, url] of modes) {
      for (const n of sizes) {
        const base = await poolFloor({
          problem: PROBLEM,
          code: 'a = 1.0\nb = 2.0\n',
          n: Math.min(n, 1000),
          workers,
          dataParent: tmpdir(),
        })
        const r = await engineRun(n, model.url, url)
        rows.push(
          `| ${mode} | ${n} | ${r.cpuPerIt.toFixed(2)} ms | ${r.first.toFixed(2)} → ${r.last.toFixed(2)} ms | ${r.itPerS.toFixed(1)} it/s | ${base.toFixed(1)} it/s | ${(r.itPerS / base).toFixed(2)} |`,
        )
        process.stderr.write(`${mode}: ${n} iterations done in ${r.wall.toFixed(1)} s\n`)
      }
    }
  } finally {
    await pg?.drop()
  }
  console.log(
    `engine overhead, ${workers} workers, instant model, trivial evaluator (this machine: ${availableParallelism()} cores)`,
  )
  console.log(
    '| database | iterations | engine CPU / iteration | first → last tenth | end-to-end | pool-only baseline | ratio |',
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) console.log(r)
} finally {
  model.stop()
}
