// Steering a headless run from another terminal as fully as from the console: its exploration,
// its operator weights, a knowledge retrieval, an island's escalation and an expert's edit of a
// candidate, each through the run's own process (its data folder's socket), each read back from
// what the command answered and, once the run has stopped, from its database. Every wait is on
// what the run printed (its progress lines), never on a clock.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli } from '../../test-support/cli.ts'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { SUM_SEED, writeSumProblem } from '../../test-support/sum-problem.ts'
import { servedFolder } from '../../test-support/served-folder.ts'
import { openDatabase } from '../db.ts'

const { tempDir } = scratchDirs('fm-steer-')

/** A problem whose score is the sum of the numbers in the program: every evaluation ends at once. */
const problem = () => writeSumProblem(join(tempDir(), 'sum'), 'steer-sum')

/** `fm-agent run` of that problem on two islands, long enough to be steered until it is stopped. */
const startRun = (dataDir: string, env: Record<string, string>) =>
  new WatchedCli(
    [
      'run',
      problem(),
      '--operators',
      'local',
      '--islands',
      '2',
      '--max-evals',
      '1000000',
      '--json',
      '--data-dir',
      dataDir,
    ],
    env,
  )

describe('steering a headless run from the command line', () => {
  it('sets exploration and weights, retrieves, escalates and submits an edit; bad input is refused in one line', async () => {
    const dataDir = join(tempDir(), 'data')
    const p = startRun(dataDir, { FM_WORKERS: '2' })
    try {
      // islands exist (escalations and edits need them) once the run evolves
      expect(await p.until(() => p.lastProgress()?.status === 'evolving'), p.stderr).toBe(true)
      const runId = p.runId!
      const fm = (...args: string[]) => cli([...args, '--data-dir', dataDir])
      const refused = async (args: string[], said: string) => {
        const r = await fm(...args)
        expect([r.code, r.stdout], r.stderr).toEqual([2, ''])
        // said in one line of its own (a line saying where the command was sent may come before it)
        const line = r.stderr.split('\n').find((l) => l.includes(said))
        expect(line, r.stderr).toMatch(/^fm-agent: /)
      }

      // exploration, of the run and of one island
      const explore = await fm('runs', 'explore', runId.slice(0, 8), '0.8', '--json')
      expect(explore.code, explore.stderr).toBe(0)
      expect(explore.stderr).toMatch(/sending this command to it/)
      expect(explore.json).toEqual({ runId, island: null, exploration: 0.8, applied: true })
      const island = await fm('runs', 'explore', runId, '0.6', '--island', '1')
      expect([island.code, island.stdout.trim()], island.stderr).toEqual([
        0,
        `exploration of island 1 of run ${runId} is now 0.6`,
      ])
      await refused(['runs', 'explore', runId, '1.5'], 'exploration is a number from 0 to 1 (got "1.5")')
      await refused(['runs', 'explore', runId, '0.5', '--island', '7'], 'island 7 does not exist')
      await refused(['runs', 'explore', runId], 'how much?')

      // operator weights, by name; those not named keep theirs
      const weights = await fm('runs', 'weights', runId, 'perturb=0,swap=3', '--json')
      expect(weights.code, weights.stderr).toBe(0)
      expect(weights.json).toEqual({
        runId,
        applied: true,
        weights: [
          { name: 'perturb', weight: 0 },
          { name: 'crossover-literals', weight: 1 },
          { name: 'crossover-blocks', weight: 1 },
          { name: 'swap', weight: 3 },
        ],
      })
      const text = await fm('runs', 'weights', runId, 'crossover-blocks=2')
      expect(text.stdout.trim()).toBe(
        `weights of run ${runId} now: perturb=0, crossover-literals=1, crossover-blocks=2, swap=3`,
      )
      await refused(['runs', 'weights', runId, 'bogus=1'], 'this run has no operator "bogus" (its operators: perturb,')
      await refused(['runs', 'weights', runId, 'swap=2000'], 'the weight of swap must be a number from 0 to 1000')
      await refused(['runs', 'weights', runId, 'swap'], 'weights are name=weight, comma-separated')
      await refused(
        ['runs', 'weights', runId, 'perturb=0,crossover-literals=0,crossover-blocks=0,swap=0'],
        'at least one model or operator needs a weight above 0',
      )

      // a retrieval for one island, then for every island
      const one = await fm('runs', 'retrieve', runId, '--island', '0', '--json')
      expect(one.code, one.stderr).toBe(0)
      expect(one.json).toMatchObject({ runId, islands: [{ island: 0, chunks: expect.any(Number) }] })
      const every = await fm('runs', 'retrieve', runId)
      expect(every.code, every.stderr).toBe(0)
      expect(
        every.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' of run')[0]),
      ).toEqual(['island 0', 'island 1'])
      await refused(['runs', 'retrieve', runId, '--island', '9'], 'island 9 does not exist')

      // an escalation of island 1: the best of island 0 copied in
      const escalated = await fm('runs', 'escalate', runId, 'migrate-in', '--island', '1', '--json')
      expect(escalated.code, escalated.stderr).toBe(0)
      expect(escalated.json).toMatchObject({ runId, island: 1, action: 'migrate-in', joined: expect.any(Number) })
      await refused(['runs', 'escalate', runId, 'sideways', '--island', '0'], 'migrate-in or restart-from-elites')
      await refused(['runs', 'escalate', runId, 'migrate-in'], 'which island?')
      await refused(['runs', 'stop', runId, '--island', '0'], '--island goes with runs hint, explore')

      // an expert's edit of the best, evaluated like any candidate
      const best = (await fm('candidate', runId, 'best', '--json')).json as { id: string; code: string; island: number }
      const edited = SUM_SEED.replace('a = 1.0', 'a = 12345.5')
      const file = join(tempDir(), 'edited.py')
      writeFileSync(file, edited)
      const edit = await fm('candidate', runId, best.id.slice(0, 8), '--edit', file, '--note', 'a larger a')
      expect(edit.code, edit.stderr).toBe(0)
      const newId = /^candidate ([0-9a-f-]{36}): your edit of /.exec(edit.stdout)?.[1]
      expect(newId, edit.stdout).toBeDefined()
      expect(edit.stdout).toContain(`your edit of ${best.id} on island ${Math.max(0, best.island)}; it is evaluated`)
      let made: { status: string; code: string; score: number | null } | null = null
      for (;;) {
        const seen = p.progress.length
        const r = await fm('candidate', runId, newId!, '--json')
        if (r.code === 0 && r.json.status === 'evaluated') {
          made = r.json
          break
        }
        expect(await p.until(() => p.progress.length > seen), p.stderr).toBe(true)
      }
      expect(made).toMatchObject({ status: 'evaluated', code: edited, score: 12345.5 + 2 + 3 })
      const unchanged = join(tempDir(), 'unchanged.py')
      writeFileSync(unchanged, best.code)
      await refused(['candidate', runId, best.id, '--edit', unchanged], 'the code is unchanged')
      await refused(['candidate', runId, best.id, '--edit', join(tempDir(), 'none.py')], 'no such file')
      await refused(
        ['candidate', runId, best.id, '--edit', file, '--pin'],
        'one of --pin, --unpin, --ban, --rate and --edit',
      )
      await refused(['candidate', runId, best.id, '--island', '0'], '--island goes with --edit')

      const stopped = await fm('runs', 'stop', runId)
      expect(stopped.code, stopped.stderr).toBe(0)
      expect((await p.done()).code).toBe(0)
      // what the run keeps: a resumed engine starts from it
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
        const config = run.config as {
          exploration: number
          islandExploration: Record<string, number>
          localOperators: Record<string, number>
        }
        expect([config.exploration, config.islandExploration]).toEqual([0.8, { 1: 0.6 }])
        expect(config.localOperators).toMatchObject({ perturb: 0, 'crossover-blocks': 2, swap: 3 })
        const retrievals = await db.prisma.retrieval.findMany({ where: { runId, trigger: 'expert' } })
        expect(retrievals.map((r) => r.island).sort()).toEqual([0, 0, 1])
        const escalations = await db.prisma.runEvent.findMany({ where: { runId, type: 'escalation' } })
        expect(escalations.length).toBeGreaterThan(0)
        const row = await db.prisma.candidate.findUniqueOrThrow({ where: { id: newId! } })
        expect([row.code, row.parentIds, row.status]).toEqual([edited, [best.id], 'evaluated'])
      } finally {
        await db.close()
      }
    } finally {
      if (p.alive) p.child.kill('SIGKILL')
    }
  }, 300_000)

  it('steers a run a console drives the same way', async () => {
    const { dataDir, server } = await servedFolder(join(tempDir(), 'served'))
    try {
      const p = startRun(dataDir, {})
      expect(await p.until(() => p.lastProgress()?.status === 'evolving'), p.stderr).toBe(true)
      const runId = /run ([0-9a-f-]{36}) on/.exec(p.stderr)![1]!
      const fm = (...args: string[]) => cli([...args, '--data-dir', dataDir])
      const explore = await fm('runs', 'explore', runId, '0.9', '--island', '0', '--json')
      expect([explore.code, explore.json], explore.stderr).toEqual([
        0,
        { runId, island: 0, exploration: 0.9, applied: true },
      ])
      const weights = await fm('runs', 'weights', runId, 'swap=4', '--json')
      expect(weights.code, weights.stderr).toBe(0)
      const best = (await fm('candidate', runId, 'best', '--json')).json as { id: string }
      const file = join(tempDir(), 'edited.py')
      writeFileSync(file, SUM_SEED.replace('b = 2.0', 'b = 54321.0'))
      const edit = await fm('candidate', runId, best.id, '--edit', file, '--island', '1', '--json')
      expect(edit.code, edit.stderr).toBe(0)
      expect(edit.json).toMatchObject({ runId, parentId: best.id, island: 1, status: 'applied' })
      const stopped = await fm('runs', 'stop', runId)
      expect(stopped.code, stopped.stderr).toBe(0)
      await p.done()
      const run = await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
      const config = run.config as { islandExploration: Record<string, number>; localOperators: Record<string, number> }
      expect([config.islandExploration, config.localOperators.swap]).toEqual([{ 0: 0.9 }, 4])
      const made = await server.app.db.prisma.candidate.findUniqueOrThrow({ where: { id: edit.json.candidateId } })
      expect([made.island, made.parentIds, made.code]).toEqual([
        1,
        [best.id],
        SUM_SEED.replace('b = 2.0', 'b = 54321.0'),
      ])
    } finally {
      await server.stop()
    }
  }, 300_000)
})
