// Repair of failed children against the scripted model: `fm-agent run` (embedded, real sandbox) on
// the curve-fit test problem, whose scripted mutations plant a bug in every third answer, half of
// them a NameError (the quoted error names the culprit: the scripted repair removes it) and half a
// raised ValueError (nothing in the error says where: the scripted repair can only guess).
//
//   node --import tsx bench/repair.ts [--evals 100] [--seeds 2] [--attempts 0,1,2]
//
// Per setting of repairAttempts, at the same evaluation budget and seeds: the share of invalid
// children a repair chain made valid, of those a repair was made of (in all, and per kind of bug;
// failures late in the run are still owed their repair when the budget ends), the share of the budget spent
// on repairs, the valid evaluations and the best score, as ratios against the baseline measured
// in the same process: repairAttempts 0 (no repair).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { agentResponder } from '../test-support/agent-responder.ts'
import { startOpenAiTestServer } from '../test-support/openai-server.ts'
import { openDatabase } from '../server/db.ts'

const { values } = parseArgs({
  options: {
    evals: { type: 'string', default: '100' },
    seeds: { type: 'string', default: '2' },
    attempts: { type: 'string', default: '0,1,2' },
  },
})
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PROBLEM = join(ROOT, 'test-support/problems/curve-fit')
const evals = Number(values.evals)
const seeds = Number(values.seeds)
const settings = values.attempts!.split(',').map(Number)

interface Figures {
  invalid: number
  /** failures a repair was made of (the rest were still owed one when the budget ended) */
  repaired: number
  madeValid: number
  byBug: Record<string, { invalid: number; madeValid: number }>
  repairs: number
  validEvals: number
  best: number
}

async function runOnce(attempts: number, seed: number): Promise<Figures> {
  const agent = agentResponder({ breakEvery: 3, literalEdit: { seed: seed + 1, precision: 10 } })
  const server = await startOpenAiTestServer({ apiKey: 'sk-bench', responder: agent.respond, maxRecorded: 10 })
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-bench-repair-'))
  try {
    const config = join(dataDir, 'run.json')
    writeFileSync(
      config,
      JSON.stringify({
        mutator: 'llm',
        islands: 2,
        seed,
        repairAttempts: attempts,
        budget: { maxEvals: evals },
        models: [{ provider: 'openai', model: 'agent', baseURL: server.url, apiKeyEnv: 'OPENAI_API_KEY' }],
      }),
    )
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/fm-agent.mjs'), 'run', PROBLEM, '--config', config, '--json', '--data-dir', dataDir],
      {
        env: { ...process.env, DATABASE_URL: '', OPENAI_API_KEY: 'sk-bench', FM_WORKERS: '2' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (err += d))
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)))
    const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      runId: string
      status: string
      best: { score: number } | null
    }
    if (code !== 0 || summary.status !== 'completed')
      throw new Error(`run ended ${summary.status} (exit ${code}): ${err.slice(-2000)}`)
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      const rows = await db.prisma.candidate.findMany({
        where: { runId: summary.runId },
        select: { id: true, origin: true, parentIds: true, status: true, valid: true, artifacts: true },
      })
      const repairsOf = new Map<string, typeof rows>()
      for (const r of rows)
        if (r.origin === 'repair') repairsOf.set(r.parentIds[0]!, [...(repairsOf.get(r.parentIds[0]!) ?? []), r])
      // a chain made the failure valid when some repair down from it is valid
      const fixed = (id: string, depth = 0): boolean =>
        depth < 8 && (repairsOf.get(id) ?? []).some((r) => r.valid === true || fixed(r.id, depth + 1))
      const evaluatedRepair = (id: string) => (repairsOf.get(id) ?? []).some((r) => r.status === 'evaluated')
      const failures = rows.filter(
        (r) => ['mutation', 'crossover'].includes(r.origin) && r.status === 'evaluated' && r.valid === false,
      )
      const repairedFailures = failures.filter((f) => evaluatedRepair(f.id))
      const byBug: Figures['byBug'] = {}
      for (const f of repairedFailures) {
        const feedback = String((f.artifacts as { feedback?: string } | null)?.feedback ?? '')
        const bug = /NameError/.test(feedback) ? 'name-error' : /ValueError/.test(feedback) ? 'exception' : 'other'
        byBug[bug] ??= { invalid: 0, madeValid: 0 }
        byBug[bug].invalid++
        if (fixed(f.id)) byBug[bug].madeValid++
      }
      return {
        invalid: failures.length,
        repaired: repairedFailures.length,
        madeValid: repairedFailures.filter((f) => fixed(f.id)).length,
        byBug,
        repairs: rows.filter((r) => r.origin === 'repair' && r.status === 'evaluated').length,
        validEvals: rows.filter((r) => r.status === 'evaluated' && r.valid).length,
        best: summary.best?.score ?? Number.NaN,
      }
    } finally {
      await db.close()
    }
  } finally {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '–')
const results = new Map<number, Figures[]>()
for (const attempts of settings) {
  const list: Figures[] = []
  for (let seed = 0; seed < seeds; seed++) list.push(await runOnce(attempts, seed))
  results.set(attempts, list)
}
const sum = (xs: Figures[], f: (x: Figures) => number) => xs.reduce((s, x) => s + f(x), 0)
const base = results.get(0) ?? results.get(settings[0]!)!
console.log(
  `repair of failed children: curve-fit, ${evals} evaluations × ${seeds} seeds, every 3rd mutation planted a bug (half NameError, half ValueError)`,
)
console.log(
  '| repairAttempts | invalid children | repaired before the budget ended | of those made valid | NameError made valid | ValueError made valid | budget spent on repairs | valid evaluations | vs baseline | mean best (mse) | vs baseline |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const [attempts, list] of results) {
  const bug = (k: string) =>
    pct(
      sum(list, (x) => x.byBug[k]?.madeValid ?? 0),
      sum(list, (x) => x.byBug[k]?.invalid ?? 0),
    )
  const valid = sum(list, (x) => x.validEvals)
  const best = sum(list, (x) => x.best) / list.length
  const baseBest = sum(base, (x) => x.best) / base.length
  console.log(
    `| ${attempts} | ${sum(list, (x) => x.invalid)} | ${sum(list, (x) => x.repaired)} | ${pct(
      sum(list, (x) => x.madeValid),
      sum(list, (x) => x.repaired),
    )} | ${bug('name-error')} | ${bug('exception')} | ${pct(
      sum(list, (x) => x.repairs),
      evals * list.length,
    )} | ${valid} | ${(valid / sum(base, (x) => x.validEvals)).toFixed(2)} | ${best.toPrecision(4)} | ${(best / baseBest).toFixed(2)} |`,
  )
}
