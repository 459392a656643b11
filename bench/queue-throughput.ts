// Throughput of the evaluation queue path, end to end (issue 4):
//   node --import tsx bench/queue-throughput.ts [--jobs N] [--busy-jobs N] [--no-server]
// - baseline: a bare spawn of the same evaluator, no sandbox, measured in this process
// - sandbox start-up: one bwrap + interpreter start (cold), and a pre-started launcher's start
// - jobs/s with a trivial evaluator, 1 vs 2 workers, embedded (child processes) and server mode
//   (graphile-worker on Postgres, worker processes as `fm-agent worker` runs them)
// - busy share under a 50 ms evaluator with 2 workers: Σ over jobs of the worker's dequeue-to-result
//   time / (workers × wall time), beside the per-job overhead
// Server mode needs Postgres (FM_TEST_PG_URL, default postgres://fm:fm@127.0.0.1:5432/fm_test, a role
// that may create databases); without it that part is reported as skipped.
import { spawn, spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import type { EvalJob, EvalResult, EvaluationBackend } from '../server/contracts/evaluation.ts'
import { createQueueBackend } from '../server/queue/backend.ts'
import { createWorkerRole, dropWorkerRole } from '../server/queue/roles.ts'
import { createTestDatabase } from '../server/queue/test-db.ts'
import { createLocalPool } from '../workers/pool.ts'
import { detectIsolation, processEnv, PYTHON, SandboxSlot, sandboxEnv } from '../workers/sandbox.ts'
import { makeJob, makeProblem, removeTempDirs, tempDir } from '../workers/test-helpers.ts'
import { startQueueWorkers } from './queue-workers.ts'

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}
const JOBS = arg('--jobs', 600)
const BUSY_JOBS = arg('--busy-jobs', 200)
const SERVER = !process.argv.includes('--no-server')

const TRIVIAL_EVALUATOR = `import json, sys
ns = {}
exec(open(sys.argv[-1]).read(), ns)
print(json.dumps({"valid": True, "metrics": {"score": ns["f"]()}}))
`
const SLOW_EVALUATOR = `import json, sys, time
time.sleep(0.05)
ns = {}
exec(open(sys.argv[-1]).read(), ns)
print(json.dumps({"valid": True, "metrics": {"score": ns["f"]()}}))
`
const spec = (id: string) => ({
  id,
  name: id,
  language: 'python',
  entry: 'seed.py',
  evaluator: 'evaluator.py',
  direction: 'max',
  primaryMetric: 'score',
  limits: { timeoutS: 30, memoryMb: 512 },
})
const trivial = makeProblem(
  { 'evaluator.py': TRIVIAL_EVALUATOR, 'seed.py': 'def f():\n    return 1\n' },
  spec('bench-trivial'),
)
const slow = makeProblem({ 'evaluator.py': SLOW_EVALUATOR, 'seed.py': 'def f():\n    return 1\n' }, spec('bench-50ms'))
const bundles = new Map([trivial, slow].map((p) => [p.bundle.hash, p.bundle.data]))
const getBundle = async (h: string) => bundles.get(h)!
const code = (i: number) => `def f():\n    return ${i}\n`

const fmt = (x: number, d = 1) => x.toFixed(d)
const lines: string[] = []
const print = (s = '') => {
  lines.push(s)
  process.stdout.write(s + '\n')
}

// ------------------------------------------------------------------------------- baseline
async function bareSpawn(n: number, parallel: number): Promise<number> {
  const dir = tempDir('fm-bench-bare-')
  const cand = join(dir, 'candidate.py')
  spawnSync('cp', [join(trivial.folder, 'evaluator.py'), dir])
  const { writeFileSync } = await import('node:fs')
  writeFileSync(cand, code(1))
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(PYTHON, [join(dir, 'evaluator.py'), cand], {
        cwd: dir,
        env: processEnv(sandboxEnv(dir)),
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.on('exit', (c) =>
        c === 0 && out.includes('"valid"') ? resolve() : reject(new Error(`baseline evaluator failed: ${c}`)),
      )
    })
  const t = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++
        await one()
      }
    }),
  )
  return n / ((performance.now() - t) / 1000)
}

function coldSandboxMs(): number {
  const iso = detectIsolation()
  if (iso.mode !== 'userns') return NaN
  const uidArgs =
    process.getuid?.() === 0 ? ['setpriv', `--reuid=${iso.uid}`, `--regid=${iso.uid}`, '--clear-groups', '--'] : []
  const cmd = [
    ...uidArgs,
    'bwrap',
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--',
    PYTHON,
    '-s',
    '-c',
    'pass',
  ]
  const times: number[] = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    spawnSync(cmd[0], cmd.slice(1), { env: processEnv(sandboxEnv('/tmp')) })
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

/** One pre-started launcher, many steps: the per-evaluation sandbox cost without the runner around it. */
async function launcherSteps(
  n: number,
): Promise<{ setupMs: number; roundTripTrueMs: number; roundTripPythonMs: number }> {
  const iso = detectIsolation()
  const root = process.getuid?.() === 0 ? '/var/tmp/fm-agent-sbx' : tempDir('fm-bench-slot-')
  const dir = join(root, `${process.pid}-bench-launcher`)
  const { mkdirSync, chownSync, writeFileSync, rmSync } = await import('node:fs')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (process.getuid?.() === 0) chownSync(dir, iso.uid ?? 65534, iso.uid ?? 65534)
  writeFileSync(join(dir, 'noop.py'), 'pass\n')
  mkdirSync(join(dir, 'out'))
  if (process.getuid?.() === 0) chownSync(join(dir, 'out'), iso.uid ?? 65534, iso.uid ?? 65534)
  const slot = new SandboxSlot({ isolation: iso, slotDir: dir })
  await slot.start()
  const out = (f: string) => join(dir, 'out', f)
  const base = {
    cwd: dir,
    env: sandboxEnv(dir),
    stdout: out('o'),
    stdoutOther: out('oo'),
    stderr: out('e'),
    result: out('r'),
    outDir: join(dir, 'out'),
    limits: { as: 1 << 30, cpu: 10, nproc: 70 },
    timeoutS: 10,
  }
  let setup = 0
  let t = performance.now()
  for (let i = 0; i < n; i++) setup += (await slot.run({ ...base, argv: ['/bin/true'] })).setupMs
  const trueMs = (performance.now() - t) / n
  t = performance.now()
  for (let i = 0; i < n; i++) setup += (await slot.run({ ...base, argv: [join(dir, 'noop.py')], python: true })).setupMs
  const pyMs = (performance.now() - t) / n
  await slot.close()
  rmSync(dir, { recursive: true, force: true })
  return { setupMs: setup / (2 * n), roundTripTrueMs: trueMs, roundTripPythonMs: pyMs }
}

// ------------------------------------------------------------------------------- measurement
interface RunStats {
  jobsPerS: number
  wallS: number
  busyShare: number
  meanDequeueToResultMs: number
  meanSandboxMs: number
  meanEvaluatorMs: number
  idleGapPerJobMs: number
  failures: number
}

async function drive(backend: EvaluationBackend, jobs: EvalJob[], workers: number): Promise<RunStats> {
  const pending = new Map(jobs.map((j) => [j.jobId, j]))
  const got: EvalResult[] = []
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  backend.onResult((r) => {
    if (!pending.delete(r.jobId)) return
    got.push(r)
    if (pending.size === 0) done()
  })
  const t0 = Date.now()
  await Promise.all(jobs.map((j) => backend.submit(j)))
  await finished
  const wallMs = Date.now() - t0
  // busy: from the worker's dequeue to the end of its work on the job (its own clock, same machine)
  const busy = got.reduce((s, r) => s + r.timing.sandboxMs + r.timing.evaluatorMs, 0)
  return {
    jobsPerS: jobs.length / (wallMs / 1000),
    wallS: wallMs / 1000,
    busyShare: busy / (workers * wallMs),
    meanDequeueToResultMs: busy / got.length,
    meanSandboxMs: got.reduce((s, r) => s + r.timing.sandboxMs, 0) / got.length,
    meanEvaluatorMs: got.reduce((s, r) => s + r.timing.evaluatorMs, 0) / got.length,
    idleGapPerJobMs: (workers * wallMs - busy) / got.length,
    failures: got.filter((r) => !r.valid).length,
  }
}

async function embedded(
  workers: number,
  problem: typeof trivial,
  n: number,
): Promise<RunStats & { startupMs: number[] }> {
  const pool = createLocalPool({ size: workers, cacheDir: tempDir('fm-bench-cache-'), getBundle, announce: false })
  await pool.start()
  // warm-up: the first evaluations pay for cold caches
  await drive(
    pool,
    Array.from({ length: 4 * workers }, (_, i) => makeJob(problem, code(i))),
    workers,
  )
  const stats = await drive(
    pool,
    Array.from({ length: n }, (_, i) => makeJob(problem, code(i))),
    workers,
  )
  const startupMs = pool.stats().launcherStartupMs
  await pool.close()
  return { ...stats, startupMs }
}

async function server(
  dbUrl: string,
  workerUrl: string,
  workers: number,
  problem: typeof trivial,
  n: number,
): Promise<RunStats> {
  const backend = createQueueBackend({ databaseUrl: dbUrl, deadAfterMs: 30_000, log: () => {} })
  await backend.start()
  const queueWorkers = await startQueueWorkers(workerUrl, workers, backend)
  await drive(
    backend,
    Array.from({ length: 4 * workers }, (_, i) => makeJob(problem, code(i))),
    workers,
  )
  const stats = await drive(
    backend,
    Array.from({ length: n }, (_, i) => makeJob(problem, code(i))),
    workers,
  )
  await queueWorkers.stop()
  await backend.close()
  return stats
}

// ------------------------------------------------------------------------------- main
const iso = detectIsolation()
// other work on the machine skews every figure: say how busy it was
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
print(
  `# queue throughput (${cpus().length} cores, isolation ${iso.level}/${iso.mode}, ${JOBS} trivial jobs, ${BUSY_JOBS} jobs of 50 ms; load average at start ${load()})`,
)
const base1 = await bareSpawn(Math.min(JOBS, 300), 1)
const base2 = await bareSpawn(Math.min(JOBS, 300), 2)
const cold = coldSandboxMs()
print(
  `baseline: bare spawn of the evaluator, no sandbox: ${fmt(base1)} jobs/s sequential, ${fmt(base2)} jobs/s 2 at a time (${fmt(1000 / base1, 2)} ms per job)`,
)
print(`sandbox start-up: cold bwrap + python (median of 20): ${fmt(cold, 1)} ms`)
const steps = await launcherSteps(200)
print(
  `sandbox start-up per evaluation with the pre-started launcher: ${fmt(steps.setupMs, 2)} ms to the evaluator's first instruction; ` +
    `a whole step round trip: ${fmt(steps.roundTripTrueMs, 2)} ms (/bin/true), ${fmt(steps.roundTripPythonMs, 2)} ms (a Python no-op)`,
)

const results: Record<string, unknown> = {
  baseline: { seq: base1, par2: base2 },
  coldSandboxMs: cold,
  launcherSteps: steps,
}
const e1 = await embedded(1, trivial, JOBS)
const e2 = await embedded(2, trivial, JOBS)
print(`pre-started launcher start-up (bwrap + python, once per slot): ${e2.startupMs.map((x) => fmt(x)).join(', ')} ms`)
print(
  `per-evaluation sandbox cost inside the worker (sandboxMs: copy, namespaces, limits, parse, cleanup): ${fmt(e2.meanSandboxMs, 2)} ms`,
)
print('')
print('| mode | workers | jobs/s | vs bare spawn (same parallelism) | failures |')
print('|---|---|---|---|---|')
print(`| embedded | 1 | ${fmt(e1.jobsPerS)} | ${fmt(e1.jobsPerS / base1, 2)}x | ${e1.failures} |`)
print(`| embedded | 2 | ${fmt(e2.jobsPerS)} | ${fmt(e2.jobsPerS / base2, 2)}x | ${e2.failures} |`)
results.embedded = { 1: e1, 2: e2 }

const b2 = await embedded(2, slow, BUSY_JOBS)
results.busyEmbedded = b2

let s1: RunStats | null = null
let s2: RunStats | null = null
let sb: RunStats | null = null
if (SERVER) {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | null = null
  const role = `fm_worker_bench_${process.pid}`
  try {
    db = await createTestDatabase('fm_bench_q')
    const { openDatabase } = await import('../server/db.ts')
    const app = await openDatabase({ databaseUrl: db.url, dataDir: tempDir('fm-bench-data-') })
    for (const p of [trivial, slow])
      await app.prisma.$executeRawUnsafe(
        'INSERT INTO problem_bundles (hash, data, size, file_count) VALUES ($1, $2, $3, $4)',
        p.bundle.hash,
        p.bundle.data,
        p.bundle.size,
        p.files.length,
      )
    await app.close()
    const workerUrl = (await createWorkerRole(db.url, role, `bench-${process.pid}`)).databaseUrl
    s1 = await server(db.url, workerUrl, 1, trivial, Math.min(JOBS, 400))
    s2 = await server(db.url, workerUrl, 2, trivial, Math.min(JOBS, 400))
    sb = await server(db.url, workerUrl, 2, slow, BUSY_JOBS)
    print(`| server | 1 | ${fmt(s1.jobsPerS)} | ${fmt(s1.jobsPerS / base1, 2)}x | ${s1.failures} |`)
    print(`| server | 2 | ${fmt(s2.jobsPerS)} | ${fmt(s2.jobsPerS / base2, 2)}x | ${s2.failures} |`)
    results.server = { 1: s1, 2: s2 }
    results.busyServer = sb
  } catch (e) {
    print(`| server | - | skipped: ${(e as Error).message.split('\n')[0]} | | |`)
  } finally {
    if (db) {
      await dropWorkerRole(db.url, role, { force: true }).catch(() => undefined)
      await db.drop().catch(() => undefined)
    }
  }
}
print('')
print('busy share, 50 ms evaluator, 2 workers (Σ dequeue-to-result / (workers × wall)); goal ≥ 95 %:')
print(
  '| mode | busy share | jobs/s | mean dequeue-to-result | of which evaluator | per-job overhead in the worker | idle gap per job |',
)
print('|---|---|---|---|---|---|---|')
const row = (m: string, s: RunStats) =>
  print(
    `| ${m} | ${fmt(100 * s.busyShare)} % | ${fmt(s.jobsPerS)} | ${fmt(s.meanDequeueToResultMs)} ms | ${fmt(s.meanEvaluatorMs)} ms | ${fmt(s.meanSandboxMs, 2)} ms | ${fmt(s.idleGapPerJobMs, 2)} ms |`,
  )
row('embedded', b2)
if (sb) row('server', sb)
print(`load average at the end: ${load()}`)
print('')
print(`JSON ${JSON.stringify(results)}`)
removeTempDirs()
process.exit(0)
