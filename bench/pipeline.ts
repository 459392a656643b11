// The pipelined engine end to end, as a user runs it: `fm-agent run` (embedded defaults, 2 workers)
// on a trivial OpenEvolve-format problem against a local OpenAI-protocol model server (its own
// process, TCP_NODELAY) answering a one-line SEARCH/REPLACE edit after a configurable latency.
//
//   node --import tsx bench/pipeline.ts [--cases instant:1000,instant:10000,1s:200,5s:200] [--workers 2]
//     [--data-parent folder] [--folder new|existing]
//
// Per case: wall time and evaluations/s (cold start included), the run's own wall time (from its
// start to its end, without the process's start-up and shut-down) and the evolve stage's rate
// (after the cold start), the engine process's CPU per evaluation, the CPU of everything else it
// started (workers, sandboxes, evaluators: the machine's busy time less the engine's and the model
// server's, so run it on a quiet machine), mean model requests in flight and the workers' busy share
// (from the run's own pipeline metrics), and the peak memory of all its processes together (the sum
// of their resident sizes, sampled from /proc every 100 ms, and of their proportional set sizes).
// Baseline, measured in the same process: the same sandboxed evaluations pushed straight through the
// same worker pool with no engine and no model (the floor of evaluation itself). OpenEvolve's
// figures on this machine kind (issue 12) are printed beside them for reference.
// `--folder existing` runs each case in a data folder made beforehand (a user's second run in a
// project: ./.fm-agent is kept), where the default times a first run, the folder's creation included.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { openDatabase } from '../server/db.ts'
import { poolFloor } from './pool-floor.ts'

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: 'instant:1000,instant:10000,1s:200,5s:200' },
    workers: { type: 'string', default: '2' },
    'data-parent': { type: 'string' },
    folder: { type: 'string', default: 'new' },
  },
})
if (values.folder !== 'new' && values.folder !== 'existing') throw new Error('--folder is new or existing')
const workers = Number(values.workers)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PROBLEM = join(ROOT, 'bench/problems/trivial-openevolve')
/**
 * Where each case's new data folder is made: beside the project, as a user's default (./.fm-agent)
 * is, not in the temporary folder, whose disk may differ (on the development VM, creating a file
 * under /tmp cost ~0.7 ms against ~0.02 ms in the project's folder: ~0.8 s of every first start).
 */
const DATA_PARENT = values['data-parent'] ?? join(ROOT, '.fm-bench')
mkdirSync(DATA_PARENT, { recursive: true })
const LATENCY: Record<string, { ms: number; jitter: number }> = {
  instant: { ms: 0, jitter: 0 },
  '1s': { ms: 1000, jitter: 0 },
  '5s': { ms: 5000, jitter: 0.5 },
}
/** OpenEvolve with its defaults on this machine kind, same problem and stand-in (issue 12) */
const OPENEVOLVE: Record<string, number> = { 'instant:1000': 88, 'instant:10000': 44, '1s:60': 1 }
const CLK_TCK = 100

async function startModelServer(latency: { ms: number; jitter: number }) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test-support/openai-server.ts'),
      '--port',
      '0',
      '--precision',
      '12',
      '--latency-ms',
      String(latency.ms),
      '--jitter',
      String(latency.jitter),
      '--max-recorded',
      '10',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(JSON.parse(String(d).trim().split('\n')[0]).url))
    child.once('exit', (c) => reject(new Error(`model server exited ${c}`)))
  })
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') }
}

interface ProcSample {
  pid: number
  ppid: number
  rssKb: number
  cpuTicks: number
  comm: string
}

function readProcs(): ProcSample[] {
  const out: ProcSample[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const f = stat.slice(close + 2).split(' ')
      // fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … rss(21, pages)
      out.push({
        pid: Number(name),
        ppid: Number(f[1]),
        cpuTicks: Number(f[11]) + Number(f[12]),
        rssKb: Number(f[21]) * 4,
        comm,
      })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** the machine's busy CPU time so far, in ticks (every process: /proc/stat) */
function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: all but idle and iowait
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)
}

/**
 * Proportional resident memory (kB): a page shared by n processes counts 1/n in each. The plain sum
 * of resident sizes counts a shared page once per process: the forked sandboxes share most of their
 * launcher's pages, every Node process the same binary.
 */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0 // gone meanwhile
  }
}

function tree(all: ProcSample[], root: number): ProcSample[] {
  const kids = new Map<number, ProcSample[]>()
  for (const p of all) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p])
  const out: ProcSample[] = []
  const stack = all.filter((p) => p.pid === root)
  while (stack.length) {
    const p = stack.pop()!
    out.push(p)
    stack.push(...(kids.get(p.pid) ?? []))
  }
  return out
}

async function runCase(latencyName: string, evals: number) {
  const model = await startModelServer(LATENCY[latencyName])
  const dataDir = mkdtempSync(join(DATA_PARENT, 'pipe-'))
  try {
    if (values.folder === 'existing') await (await openDatabase({ dataDir, databaseUrl: '' })).close()
    const t0 = performance.now()
    const busy0 = machineBusyTicks()
    const model0 = readProcs().find((p) => p.pid === model.pid)?.cpuTicks ?? 0
    // as `npx fm-agent` runs it: through its first line, which sets the flags it runs with
    const child = spawn(
      join(ROOT, 'bin/fm-agent.mjs'),
      ['run', PROBLEM, '--model', 'openai:instant', '--max-evals', String(evals), '--json', '--data-dir', dataDir],
      {
        env: { ...process.env, OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'sk-bench', FM_WORKERS: String(workers) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += String(d)))
    child.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)))
    let peakRss = 0
    let peakPss = 0
    let samples = 0
    let peakLargest = { rssKb: 0, comm: '' }
    let engineTicks = 0
    let enginePid = 0
    const sampler = setInterval(() => {
      const mine = tree(readProcs(), child.pid!)
      const engine = mine.find((p) => p.pid === child.pid)
      if (engine) {
        enginePid = engine.pid
        engineTicks = Math.max(engineTicks, engine.cpuTicks)
      }
      const rss = mine.reduce((n, p) => n + p.rssKb, 0)
      if (rss > peakRss) peakRss = rss
      // smaps_rollup walks each process's page tables: every 5th sample
      if (samples++ % 5 === 0) {
        const pss = mine.reduce((n, p) => n + pssKb(p.pid), 0)
        if (pss > peakPss) peakPss = pss
      }
      for (const p of mine)
        if (p.rssKb > peakLargest.rssKb)
          peakLargest = { rssKb: p.rssKb, comm: `${p.comm}${p.pid === enginePid ? ' (fm-agent run)' : ''}` }
    }, 100)
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)))
    clearInterval(sampler)
    const busy = machineBusyTicks() - busy0
    const modelTicks = (readProcs().find((p) => p.pid === model.pid)?.cpuTicks ?? model0) - model0
    const wall = (performance.now() - t0) / 1000
    const summary = JSON.parse(stdout.trim().split('\n').pop() || '{}') as {
      status: string
      evaluations: number
      pipeline: { requests: number; busyShare: number | null } | null
    }
    if (code !== 0 || summary.status !== 'completed')
      throw new Error(`run ended ${summary.status} (exit ${code}): ${stderr}`)
    const engineCpuS = engineTicks / CLK_TCK
    const stages = await stageTimes(dataDir)
    return {
      wall,
      rate: summary.evaluations / wall,
      runWall: stages.runS,
      evolveRate: stages.evolveRate,
      engineMsPerEval: (engineCpuS * 1000) / summary.evaluations,
      // the sandboxed processes live in their own pid namespaces and are reaped there, out of any
      // rusage this process could read: the machine's busy time less the engine's and the model
      // server's counts them all
      othersMsPerEval: (((busy - engineTicks - modelTicks) / CLK_TCK) * 1000) / summary.evaluations,
      requests: summary.pipeline?.requests ?? 0,
      busyShare: summary.pipeline?.busyShare ?? 0,
      peakMb: peakRss / 1024,
      peakPssMb: peakPss / 1024,
      largest: `${peakLargest.comm} ${(peakLargest.rssKb / 1024).toFixed(0)} MB`,
    }
  } finally {
    model.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * From the run's own rows: its wall time from start to end (the process's start-up and shut-down
 * left out), and the evolve stage's rate (from the cold start's end to the last evaluation).
 */
async function stageTimes(dataDir: string) {
  const db = await openDatabase({ dataDir, databaseUrl: '' })
  try {
    const [run] = await db.sql<{ started_at: Date; finished_at: Date }>('SELECT started_at, finished_at FROM runs')
    const [evo] = await db.sql<{ n: number; from: Date; to: Date }>(
      `SELECT count(*)::int AS n, max(evaluated_at) FILTER (WHERE origin IN ('seed', 'cold-start')) AS from,
         max(evaluated_at) AS to FROM candidates WHERE status = 'evaluated'`,
    )
    const cold = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM candidates WHERE status = 'evaluated' AND origin IN ('seed', 'cold-start')`,
    )
    const evolveS = (evo!.to.getTime() - evo!.from.getTime()) / 1000
    return {
      runS: (run!.finished_at.getTime() - run!.started_at.getTime()) / 1000,
      evolveRate: evolveS > 0 ? (evo!.n - cold[0]!.n) / evolveS : 0,
    }
  } finally {
    await db.close()
  }
}

const floor = await poolFloor({
  problem: PROBLEM,
  code: '# EVOLVE-BLOCK-START\nX = 3.0\n# EVOLVE-BLOCK-END\n',
  n: 500,
  workers,
  dataParent: DATA_PARENT,
})
console.log(
  `pipelined engine, ${workers} workers, trivial OpenEvolve-format problem, ${values.folder === 'new' ? 'a new data folder per case (a first run)' : 'a data folder made before each case'} (this machine: ${availableParallelism()} cores)`,
)
console.log(`pool-only floor (no engine, no model): ${floor.toFixed(1)} evaluations/s`)
console.log(
  '| model | evaluations | wall | eval/s | vs floor | vs OpenEvolve | run alone | evolve stage eval/s | engine CPU / eval | workers CPU / eval | requests in flight | workers busy | peak memory, all processes (RSS sum; PSS sum) | largest process |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const c of values.cases!.split(',')) {
  const [latency, n] = c.split(':')
  const r = await runCase(latency, Number(n))
  const oe = OPENEVOLVE[c]
  console.log(
    `| ${latency} | ${n} | ${r.wall.toFixed(1)} s | ${r.rate.toFixed(1)} | ${(r.rate / floor).toFixed(2)} | ${oe ? `${(r.rate / oe).toFixed(2)}× (${oe}/s)` : '–'} | ${r.runWall.toFixed(1)} s | ${r.evolveRate.toFixed(1)} | ${r.engineMsPerEval.toFixed(2)} ms | ${r.othersMsPerEval.toFixed(2)} ms | ${r.requests.toFixed(1)} | ${(r.busyShare * 100).toFixed(0)} % | ${r.peakMb.toFixed(0)} MB; ${r.peakPssMb.toFixed(0)} MB | ${r.largest} |`,
  )
}
