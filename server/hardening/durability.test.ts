// kill -9 at random moments of a run, then `fm-agent resume`, through the real CLI, real sandboxed
// workers and the embedded database (PGlite). After every kill the evaluated candidates are read
// from a copy of the data folder (the folder itself is left exactly as the kill left it, for the
// resume to recover): never fewer than before the kill, never one counted twice (eval_index is
// exactly 0..n-1 and runs.evaluations equals the count), and the run ends with exactly its budget.
// Kill moments rotate: during start-up (database creation and migration), in the cold start, right
// after a result arrived, and after a random delay, in the first run and in the resumes.
//   FM_DURABILITY_TRIALS   trials (default 4; 25 for a long run)
//   FM_DURABILITY_KILLS    kills per trial (default 2)
//   FM_DURABILITY_SEED     seed of the kill moments (default: random, printed)
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { openDatabase } from '../db.ts'
import { WatchedCli } from './cli-process.ts'
import { recordFigures } from './figures.ts'

const TRIALS = Number(process.env.FM_DURABILITY_TRIALS ?? 4)
const KILLS = Number(process.env.FM_DURABILITY_KILLS ?? 2)
const SEED = process.env.FM_DURABILITY_SEED ? Number(process.env.FM_DURABILITY_SEED) : Math.floor(Math.random() * 2 ** 31)
const BUDGET = 30
const CURVE = join(FIXTURES, 'curve-fit')

const dirs: string[] = []
const tempDir = (p = 'fm-durability-') => {
  const d = mkdtempSync(join(tmpdir(), p))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** mulberry32: the kill moments are reproducible from FM_DURABILITY_SEED */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ (t + t)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Ledger {
  /** what the database held: none (never created), the schema state, and the run's evaluated candidates */
  database: 'absent' | 'unmigrated' | 'migrated'
  run: { status: string; evaluations: number } | null
  ids: Set<string>
  evalIndexes: number[]
}

const dirSize = (d: string): number => {
  if (!existsSync(d)) return 0
  let n = 0
  for (const f of readdirSync(d)) {
    const p = join(d, f)
    const st = statSync(p)
    n += st.isDirectory() ? dirSize(p) : st.size
  }
  return n
}

/** Reads a copy of the data folder, so the folder stays as the kill left it. */
async function ledgerOf(dataDir: string, runId: string | null): Promise<Ledger> {
  const empty: Ledger = { database: 'absent', run: null, ids: new Set(), evalIndexes: [] }
  if (!existsSync(join(dataDir, 'pgdata', 'PG_VERSION')) && !existsSync(join(dataDir, 'pgdata', 'base'))) return empty
  const copy = tempDir('fm-durability-copy-')
  cpSync(dataDir, copy, { recursive: true, filter: (src) => !src.includes(`${dataDir}/bundles`) })
  // the copy is read, not recovered as the product would: no lock to take over, no integrity pass
  rmSync(join(copy, 'fm-agent.lock'), { force: true })
  const db = await openDatabase({ dataDir: copy, databaseUrl: '', migrate: false })
  try {
    const migrated = await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = '_prisma_migrations'`)
    const finished = migrated[0]!.n ? await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL') : [{ n: 0 }]
    if (!finished[0]!.n) return { ...empty, database: 'unmigrated' }
    const run = runId ? await db.prisma.run.findUnique({ where: { id: runId }, select: { status: true, evaluations: true } }) : null
    if (!run) return { ...empty, database: 'migrated' }
    const evaluated = await db.prisma.candidate.findMany({ where: { runId: runId!, status: 'evaluated' }, select: { id: true, evalIndex: true } })
    const indexed = await db.prisma.candidate.count({ where: { runId: runId!, evalIndex: { not: null } } })
    expect(indexed, 'candidates with an eval_index are exactly the evaluated ones').toBe(evaluated.length)
    return { database: 'migrated', run, ids: new Set(evaluated.map((e) => e.id)), evalIndexes: evaluated.map((e) => e.evalIndex!).sort((a, b) => a - b) }
  } finally {
    await db.close()
    rmSync(copy, { recursive: true, force: true })
  }
}

type Moment = 'start-up' | 'cold-start' | 'after-result' | 'random-delay'

/** Waits for the moment, then kill -9. Returns what was visible when it struck (or null: the process ended first). */
async function killAt(p: WatchedCli, moment: Moment, r: () => number, dataDir: string): Promise<{ phase: string; shownEvaluations: number } | null> {
  let ok = true
  if (moment === 'start-up') {
    // somewhere between the process start and the first result: database creation, migration, the sandbox pool
    const stage = r()
    if (stage < 0.4) ok = await p.until(() => existsSync(join(dataDir, 'fm-agent.lock')))
    else ok = await p.until(() => dirSize(join(dataDir, 'pgdata')) > 20e6)
    if (ok) await p.until(() => false, Math.floor(r() * 2500))
  } else if (moment === 'cold-start') {
    ok = await p.until(() => /cold start: (evaluating the seed|\d+ candidates)/.test(p.stderr) || p.lastProgress()?.status === 'cold-start')
    if (ok) await p.until(() => false, Math.floor(r() * 1500))
  } else if (moment === 'after-result') {
    // a progress line is printed right after a result was ingested
    const target = 2 + Math.floor(r() * (BUDGET - 12))
    ok = await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= target)
  } else {
    ok = await p.until(() => !!p.runId || p.progress.length > 0 || /sandbox isolation/.test(p.stderr))
    if (ok) await p.until(() => false, Math.floor(r() * 6000))
  }
  if (!p.alive) return null
  const phase = p.lastProgress()?.status ?? (/cold start/.test(p.stderr) ? 'cold-start' : p.runId ? 'before the first result' : 'start-up')
  const shown = p.lastProgress()?.evaluations ?? 0
  expect(await p.kill9()).toBe(true)
  return { phase, shownEvaluations: shown }
}

function checkLedger(after: Ledger, before: Ledger, where: string) {
  // no result ingested twice: eval_index 0..n-1 exactly, and the counter agrees
  expect(after.evalIndexes, `${where}: eval_index values`).toEqual(Array.from({ length: after.ids.size }, (_, i) => i))
  if (after.run) expect(after.run.evaluations, `${where}: runs.evaluations = evaluated candidates`).toBe(after.ids.size)
  // nothing evaluated is lost
  expect(after.ids.size, `${where}: evaluated count`).toBeGreaterThanOrEqual(before.ids.size)
  const lost = [...before.ids].filter((id) => !after.ids.has(id))
  expect(lost, `${where}: evaluated candidates lost`).toEqual([])
}

describe('kill -9 at random moments, then resume', () => {
  it(`${TRIALS} trials of ${KILLS} kills each: no evaluated candidate lost, none counted twice, the budget exactly`, async () => {
    const r = rng(SEED)
    const moments: Moment[] = ['start-up', 'cold-start', 'after-result', 'random-delay']
    const figures = { trials: 0, kills: 0, byMoment: {} as Record<string, number>, byPhase: {} as Record<string, number>, databaseAtStartupKill: {} as Record<string, number>, uncleanReported: 0, resumes: 0, evaluationsAtKill: [] as number[] }
    const started = Date.now()
    for (let t = 0; t < TRIALS; t++) {
      const dataDir = tempDir()
      let runId: string | null = null
      let before: Ledger = { database: 'absent', run: null, ids: new Set(), evalIndexes: [] }
      let previousKilled = false
      // a trial that starts with a start-up kill meets the real first start (initdb, migrations),
      // not the test suite's pre-migrated template (test-support/global-setup.ts)
      const trialEnv: Record<string, string> = moments[t % moments.length] === 'start-up' ? { FM_PGLITE_TEMPLATE: '' } : {}
      for (let k = 0; k < KILLS; k++) {
        // the first kill rotates over every moment; later ones (in resumes) favour the evolving phase
        const moment = k === 0 ? moments[t % moments.length]! : (['after-result', 'random-delay', 'start-up', 'after-result', 'cold-start'] as const)[(t + k) % 5]
        const args: string[] = runId ? ['resume', runId, '--json', '--data-dir', dataDir] : ['run', CURVE, '--max-evals', String(BUDGET), '--islands', '2', '--seed', String(t), '--json', '--data-dir', dataDir]
        const p: WatchedCli = new WatchedCli(args, trialEnv)
        const hit = await killAt(p, moment, r, dataDir)
        if (!hit) {
          // the process finished before the moment came: a completed run, nothing to recover
          const out: { code: number | null; json: any; stderr: string } = await p.done()
          expect(out.code, out.stderr.slice(-2000)).toBe(0)
          runId ||= (out.json?.runId as string | undefined) ?? null
          previousKilled = false
          continue
        }
        if (runId && previousKilled) {
          // the resume that was just killed had found the previous kill's unclean stop and said so
          if (/did not stop cleanly/.test(p.stderr)) figures.uncleanReported++
        }
        runId ||= p.runId
        figures.kills++
        figures.byMoment[moment] = (figures.byMoment[moment] ?? 0) + 1
        figures.byPhase[hit.phase] = (figures.byPhase[hit.phase] ?? 0) + 1
        const after = await ledgerOf(dataDir, runId)
        if (moment === 'start-up' && !before.run) figures.databaseAtStartupKill[after.database] = (figures.databaseAtStartupKill[after.database] ?? 0) + 1
        figures.evaluationsAtKill.push(after.ids.size)
        checkLedger(after, before, `trial ${t} kill ${k} (${moment}, ${hit.phase})`)
        before = after
        previousKilled = true
      }
      // the last word: resume (or start, when every kill struck before the run existed) to the end
      const final = new WatchedCli(runId ? ['resume', runId, '--json', '--data-dir', dataDir] : ['run', CURVE, '--max-evals', String(BUDGET), '--islands', '2', '--json', '--data-dir', dataDir], trialEnv)
      const out = await final.done()
      figures.resumes++
      expect(out.code, out.stderr.slice(-3000)).toBe(0)
      if (previousKilled && runId) {
        expect(out.stderr, 'the resume reports the unclean stop it recovered from').toMatch(/did not stop cleanly/)
        figures.uncleanReported++
      }
      runId ||= out.json.runId
      expect(out.json).toMatchObject({ runId, status: 'completed', evaluations: BUDGET })
      const end = await ledgerOf(dataDir, runId)
      checkLedger(end, before, `trial ${t} end`)
      expect(end.ids.size).toBe(BUDGET)
      expect(end.run?.status).toBe('completed')
      figures.trials++
    }
    recordFigures('durability-embedded', { ...figures, budget: BUDGET, killsPerTrial: KILLS, seed: SEED, seconds: Math.round((Date.now() - started) / 1000) })
    expect(figures.kills).toBeGreaterThanOrEqual(Math.ceil((TRIALS * KILLS) / 2))
  }, 360_000 * Math.max(1, TRIALS))
})
