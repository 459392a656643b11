// Selection ablation: adaptive (cluster-based, pressure following the island's diversity) vs
// top-k vs uniform parent selection, at an equal evaluation budget, over several problems and
// seeds, with the offline operators. Prints the mean best score per strategy and problem, and
// each strategy's mean rank (1 = best) as the summary.
//
//   node --import tsx bench/ablation.ts [--problems test-curve-fit,tsp-eil51,autocorrelation-c1]
//                                        [--seeds 3] [--evals 100] [--workers 2]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createAppServices } from '../server/app.ts'
import { openDatabase } from '../server/db.ts'
import { isBetter } from '../server/engine/fitness.ts'
import { createLogger } from '../server/log.ts'
import { EngineManager } from '../server/runs/manager.ts'
import { createBackend } from '../server/runs/evaluation-backend.ts'
import { createRun, runSummary } from '../server/runs/service.ts'
import { importProblem, syncBuiltinProblems } from '../server/services/problem-catalog.ts'

const { values } = parseArgs({
  options: {
    problems: { type: 'string', default: 'test-curve-fit,tsp-eil51,autocorrelation-c1' },
    seeds: { type: 'string', default: '3' },
    evals: { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
  },
})
const STRATEGIES = ['adaptive', 'top-k', 'uniform'] as const
const problems = values.problems!.split(',')
const seeds = Number(values.seeds)
const evals = Number(values.evals)
const log = createLogger('bench', 'warn')

const dir = mkdtempSync(join(tmpdir(), 'fm-ablation-'))
const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
const app = createAppServices(db, null, log)
await syncBuiltinProblems(db)
await importProblem(db, fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url)))
const backend = await createBackend({ db, log, workers: Number(values.workers) })
const manager = new EngineManager({ db, backend, events: app.events, log })

type Cell = { scores: number[]; direction: 'max' | 'min' }
const results = new Map<string, Cell>()
const started = Date.now()
try {
  for (const problemId of problems) {
    for (let seed = 1; seed <= seeds; seed++) {
      for (const selection of STRATEGIES) {
        const run = await createRun(
          db,
          { id: null, label: 'bench', role: 'admin', via: 'system' },
          {
            problemId,
            config: { mutator: 'local', selection, seed, islands: 2, budget: { maxEvals: evals } },
          },
        )
        await manager.launch(run.id)
        const s = await runSummary(db, run.id)
        const key = `${problemId}\u0000${selection}`
        const cell = results.get(key) ?? { scores: [], direction: s.direction }
        if (s.best) cell.scores.push(s.best.score)
        results.set(key, cell)
        process.stderr.write(
          `${problemId} seed ${seed} ${selection}: seed ${s.seedScore} → best ${s.best?.score} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
        )
      }
    }
  }
} finally {
  await backend.close()
  await db.close()
  rmSync(dir, { recursive: true, force: true })
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(6))
console.log(`selection ablation: ${evals} evaluations per run, ${seeds} seeds, offline operators, 2 islands`)
console.log(`| problem | ${STRATEGIES.join(' | ')} |`)
console.log(`| --- |${STRATEGIES.map(() => ' --- |').join('')}`)
const ranks = new Map<string, number[]>(STRATEGIES.map((s) => [s, []]))
for (const p of problems) {
  const cells = STRATEGIES.map((s) => results.get(`${p}\u0000${s}`)!)
  const means = cells.map((c) => mean(c.scores))
  const dir = cells[0].direction
  const order = [...STRATEGIES.keys()].sort((a, b) =>
    isBetter(means[a], means[b], dir) ? -1 : isBetter(means[b], means[a], dir) ? 1 : 0,
  )
  order.forEach((i, r) => {
    ranks.get(STRATEGIES[i])!.push(r + 1)
  })
  console.log(`| ${p} (${dir}) | ${means.map(fmt).join(' | ')} |`)
}
console.log(`| mean rank | ${STRATEGIES.map((s) => mean(ranks.get(s)!).toFixed(2)).join(' | ')} |`)
