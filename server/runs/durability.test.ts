// kill -9 at chosen moments of a run, then `fm-agent resume`, through the real CLI, real sandboxed
// workers and the embedded database (PGlite). After every kill the evaluated candidates are read
// from a copy of the data folder (the folder itself is left exactly as the kill left it, for the
// resume to recover): never fewer than before the kill, never one counted twice (eval_index is
// exactly 0..n-1 and runs.evaluations equals the count), and the run ends with exactly its budget.
// Kill moments rotate: during start-up (the lock taken, the database being created, the run named,
// the workers up), in the cold start, right after a result arrived, and between two results, in
// the first run and in the resumes. Every moment is an observed step of the process (files, its
// log, a progress line after each result at FM_LOG=debug), never a wall-clock delay, and each
// strikes while enough of the budget is left that the process cannot finish first: on a machine
// twice as fast or twice as slow every kill lands mid-run.
//   FM_DURABILITY_TRIALS   trials (default 3; 25 for a long run)
//   FM_DURABILITY_KILLS    kills per trial (default 2)
//   FM_DURABILITY_SEED     seed of the kill moments (default: random, printed)
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { openDatabase } from '../db.ts'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { recordFigures } from '../../test-support/figures.ts'

const TRIALS = Number(process.env.FM_DURABILITY_TRIALS ?? 3)
const KILLS = Number(process.env.FM_DURABILITY_KILLS ?? 2)
const SEED = process.env.FM_DURABILITY_SEED
  ? Number(process.env.FM_DURABILITY_SEED)
  : Math.floor(Math.random() * 2 ** 31)
const BUDGET = 40
/** results still to come when a kill after a result strikes: far more than can arrive while the kill is sent */
const MARGIN = 12
const CURVE = join(FIXTURES, 'curve-fit')

const dirs: string[] = []
const tempDir = (p = 'fm-durability-') => {
  const d = mkdtempSync(join(tmpdir(), p))
  dirs.push(d)
  return d
}
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true })
  }),
)

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
  // the running process's API socket cannot be copied (nor does the database need it)
  cpSync(dataDir, copy, {
    recursive: true,
    filter: (src) => !src.includes(`${dataDir}/bundles`) && !lstatSync(src).isSocket(),
  })
  // the copy is read, not recovered as the product would: no lock to take over, no integrity pass
  rmSync(join(copy, 'fm-agent.lock'), { force: true })
  const db = await openDatabase({ dataDir: copy, databaseUrl: '', migrate: false })
  try {
    const migrated = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = '_prisma_migrations'`,
    )
    const finished = migrated[0]!.n
      ? await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL')
      : [{ n: 0 }]
    if (!finished[0]!.n) return { ...empty, database: 'unmigrated' }
    const run = runId
      ? await db.prisma.run.findUnique({ where: { id: runId }, select: { status: true, evaluations: true } })
      : null
    if (!run) return { ...empty, database: 'migrated' }
    const evaluated = await db.prisma.candidate.findMany({
      where: { runId: runId!, status: 'evaluated' },
      select: { id: true, evalIndex: true },
    })
    const indexed = await db.prisma.candidate.count({ where: { runId: runId!, evalIndex: { not: null } } })
    expect(indexed, 'candidates with an eval_index are exactly the evaluated ones').toBe(evaluated.length)
    return {
      database: 'migrated',
      run,
      ids: new Set(evaluated.map((e) => e.id)),
      evalIndexes: evaluated.map((e) => e.evalIndex!).sort((a, b) => a - b),
    }
  } finally {
    await db.close()
    rmSync(copy, { recursive: true, force: true })
  }
}

type Moment = 'start-up' | 'cold-start' | 'after-result' | 'between-results'

const lockPid = (dataDir: string) => {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'fm-agent.lock'), 'utf8')).pid as number
  } catch {
    return null
  }
}

/**
 * Waits for the moment, then kill -9. `from`: evaluations the run already had. Returns what was
 * visible when it struck (or null: the process ended first, which the caller treats as a failure).
 */
async function killAt(
  p: WatchedCli,
  moment: Moment,
  r: () => number,
  dataDir: string,
  from: number,
): Promise<{ phase: string; shownEvaluations: number } | null> {
  let ok = true
  if (moment === 'start-up') {
    // one step of the start, before the first result of a fresh run: the data folder's lock taken,
    // the database being created (a fresh folder only), the run created or the unclean stop found, the sandbox up
    const fresh = !existsSync(join(dataDir, 'pgdata'))
    const steps = [
      () => lockPid(dataDir) === p.child.pid,
      ...(fresh ? [() => dirSize(join(dataDir, 'pgdata')) > 20e6] : []),
      () => !!p.runId || /did not stop cleanly/.test(p.stderr),
      () => /sandbox isolation/.test(p.stderr),
    ]
    ok = await p.until(steps[Math.floor(r() * steps.length)]!)
  } else if (moment === 'cold-start') {
    // after one of the first cold-start results (or the first result, when the run is past its cold start)
    const target = from + 1 + Math.floor(r() * 4)
    ok = await p.until(() => {
      const last = p.lastProgress()
      return !!last && (last.status !== 'cold-start' || last.evaluations >= target)
    })
  } else {
    // a result in the first half of what is left before the margin, so later kills still find room
    const room = Math.max(0, BUDGET - MARGIN - from - 1)
    const target = from + 1 + Math.floor(r() * Math.ceil(room / 2))
    ok = await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= target)
    if (ok && moment === 'between-results') {
      // a random point before the next result: a fraction of the interval between results as this machine runs them
      const recent = p.progress.slice(-5)
      const gap = recent.length > 1 ? (recent[recent.length - 1]!.at - recent[0]!.at) / (recent.length - 1) : 0
      await p.until(() => false, Math.floor(r() * gap))
    }
  }
  if (!ok || !p.alive) return null
  const phase =
    p.lastProgress()?.status ??
    (/cold start/.test(p.stderr) ? 'cold-start' : p.runId ? 'before the first result' : 'start-up')
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
  it(
    `${TRIALS} trials of ${KILLS} kills each: no evaluated candidate lost, none counted twice, the budget exactly`,
    async () => {
      const r = rng(SEED)
      const moments: Moment[] = ['start-up', 'cold-start', 'after-result', 'between-results']
      const figures = {
        trials: 0,
        kills: 0,
        byMoment: {} as Record<string, number>,
        byPhase: {} as Record<string, number>,
        databaseAtStartupKill: {} as Record<string, number>,
        uncleanReported: 0,
        resumes: 0,
        evaluationsAtKill: [] as number[],
      }
      const started = Date.now()
      for (let t = 0; t < TRIALS; t++) {
        const dataDir = tempDir()
        let runId: string | null = null
        let before: Ledger = { database: 'absent', run: null, ids: new Set(), evalIndexes: [] }
        // a trial that starts with a start-up kill meets the real first start (initdb, migrations),
        // not the test suite's pre-migrated template (test-support/global-setup.ts); FM_LOG=debug: a
        // progress line after every result, which the kill moments watch
        const trialEnv: Record<string, string> = {
          FM_LOG: 'debug',
          ...(moments[t % moments.length] === 'start-up' ? { FM_PGLITE_TEMPLATE: '' } : {}),
        }
        for (let k = 0; k < KILLS; k++) {
          // the first kill rotates over every moment; later ones (in resumes) favour the evolving phase
          const moment =
            k === 0
              ? moments[t % moments.length]!
              : (['after-result', 'between-results', 'start-up', 'after-result', 'cold-start'] as const)[(t + k) % 5]
          const args: string[] = runId
            ? ['resume', runId, '--json', '--data-dir', dataDir]
            : [
                'run',
                CURVE,
                '--max-evals',
                String(BUDGET),
                '--islands',
                '2',
                '--seed',
                String(t),
                '--json',
                '--data-dir',
                dataDir,
              ]
          const p: WatchedCli = new WatchedCli(args, trialEnv)
          const hit = await killAt(p, moment, r, dataDir, before.ids.size)
          if (!hit) {
            const out = await p.done()
            expect.fail(
              `trial ${t} kill ${k} (${moment}): the process ended (code ${out.code}) before the moment came\n${out.stderr.slice(-2000)}`,
            )
          }
          if (runId && /did not stop cleanly/.test(p.stderr)) figures.uncleanReported++
          runId ||= p.runId
          figures.kills++
          figures.byMoment[moment] = (figures.byMoment[moment] ?? 0) + 1
          figures.byPhase[hit!.phase] = (figures.byPhase[hit!.phase] ?? 0) + 1
          const after = await ledgerOf(dataDir, runId)
          if (moment === 'start-up' && !before.run)
            figures.databaseAtStartupKill[after.database] = (figures.databaseAtStartupKill[after.database] ?? 0) + 1
          figures.evaluationsAtKill.push(after.ids.size)
          checkLedger(after, before, `trial ${t} kill ${k} (${moment}, ${hit!.phase})`)
          expect(after.ids.size, `trial ${t} kill ${k}: struck mid-run`).toBeLessThan(BUDGET)
          before = after
        }
        // the last word: resume (or start, when every kill struck before the run existed) to the end
        const final = new WatchedCli(
          runId
            ? ['resume', runId, '--json', '--data-dir', dataDir]
            : ['run', CURVE, '--max-evals', String(BUDGET), '--islands', '2', '--json', '--data-dir', dataDir],
          trialEnv,
        )
        const out = await final.done()
        figures.resumes++
        expect(out.code, out.stderr.slice(-3000)).toBe(0)
        // the last kill struck while the process held the data folder, or before it took it over from the one killed before
        expect(out.stderr, 'the resume reports the unclean stop it recovered from').toMatch(/did not stop cleanly/)
        figures.uncleanReported++
        runId ||= out.json.runId
        expect(out.json).toMatchObject({ runId, status: 'completed', evaluations: BUDGET })
        const end = await ledgerOf(dataDir, runId)
        checkLedger(end, before, `trial ${t} end`)
        expect(end.ids.size).toBe(BUDGET)
        expect(end.run?.status).toBe('completed')
        figures.trials++
      }
      recordFigures('durability-embedded', {
        ...figures,
        budget: BUDGET,
        killsPerTrial: KILLS,
        seed: SEED,
        seconds: Math.round((Date.now() - started) / 1000),
      })
      expect(figures.kills).toBe(TRIALS * KILLS)
      // from three trials of two kills on, every moment is struck at least once (first kills rotate, later ones too)
      if (TRIALS >= 3 && KILLS >= 2) expect(Object.keys(figures.byMoment).sort()).toEqual([...moments].sort())
    },
    360_000 * Math.max(1, TRIALS),
  )
})
