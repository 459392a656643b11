// Ctrl-C on a headless run, through the real CLI, sandboxed workers and the embedded database: the
// run stops at once (its queued and held evaluations withdrawn, not waited for), the process says so
// with exit code 130, and a process that died holding its run (kill -9, or a second Ctrl-C, which
// quits without cleaning up) leaves a run that `runs` calls interrupted and `resume` continues at
// once. Every step waits on what the process printed or on the processes it runs, never on a clock.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli } from '../../test-support/cli.ts'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { untilProgress } from '../../test-support/progress.ts'
import { heldCount, heldName, holdLines } from '../../test-support/held.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { writeSumProblem } from '../../test-support/sum-problem.ts'
import { servedFolder } from '../../test-support/served-folder.ts'
import { openDatabase } from '../db.ts'

const { tempDir } = scratchDirs('fm-interrupt-')

/** What a held evaluation names its process, so that the test sees it running from outside the sandbox. */
const HELD = heldName()

/**
 * A problem whose seed scores at once. With `hold`, every other program's evaluation holds its worker
 * (no clock: it waits on nothing) until the run stops it, so a queue waits behind whatever runs.
 */
function problem(hold: boolean) {
  const held = hold ? ['if code != open("initial.py").read():', ...holdLines(HELD).map((l) => `    ${l}`)] : []
  return writeSumProblem(join(tempDir(), 'sum'), 'interrupt-sum', held)
}

/** Whether a held evaluation runs now, seen from here (outside the sandbox). */
const heldRunning = () => heldCount(HELD) > 0

/** What a command that drives or follows a run says while the run is paused. */
const pauseLine = (runId: string) =>
  `run ${runId.slice(0, 8)} paused from the console: waiting for it to resume (Ctrl-C stops it)`
const times = (text: string, line: string) => text.split(line).length - 1

/**
 * `fm-agent resume` from another terminal, returned once `follower` says the run goes on (and has a
 * result past `after`): it follows the run until it ends.
 */
async function resumeFrom(dataDir: string, runId: string, follower: WatchedCli, said: string, after: number) {
  const r = new WatchedCli(['resume', runId.slice(0, 8), '--json', '--data-dir', dataDir], {})
  expect(await r.until(() => /sending this command to it/.test(r.stderr))).toBe(true)
  const going = await follower.until(
    () => follower.stderr.includes(said) && (follower.lastProgress()?.evaluations ?? 0) > after,
  )
  expect(going, follower.stderr).toBe(true)
  return r
}

/** The line a command that followed a run through a process's socket ends with when that process died under it. */
const followerLeft = (runId: string) => `the server driving run ${runId} stopped while this command followed it`

/** `fm-agent run` in a new data folder, with a progress line after each result. */
function startRun(hold: boolean, maxEvals: number, ...extra: string[]) {
  return startRunWith({}, hold, maxEvals, ...extra)
}

function startRunWith(opts: { group?: boolean }, hold: boolean, maxEvals: number, ...extra: string[]) {
  const dataDir = join(tempDir(), 'data')
  const p = new WatchedCli(
    ['run', problem(hold), '--operators', 'local', '--max-evals', String(maxEvals), ...extra, '--data-dir', dataDir],
    { FM_LOG: 'debug', FM_WORKERS: '2' },
    opts,
  )
  return { p, dataDir }
}

/** A console (its engine, two workers) holding a new data folder, as `fm-agent start` holds one. */
const servedHere = () => servedFolder(join(tempDir(), 'served'))

async function candidates(dataDir: string, runId: string) {
  const db = await openDatabase({ dataDir, databaseUrl: '' })
  try {
    const rows = await db.prisma.candidate.findMany({
      where: { runId },
      select: { evalIndex: true, status: true, rejectReason: true },
    })
    return {
      evaluated: rows.filter((r) => r.evalIndex !== null).length,
      withdrawn: rows.filter((r) => r.rejectReason === 'run stopped before the evaluation finished').length,
    }
  } finally {
    await db.close()
  }
}

describe('Ctrl-C on fm-agent run', () => {
  it('stops at once: queued evaluations are withdrawn, exit code 130, the summary printed', async () => {
    const { p, dataDir } = startRun(true, 200, '--json')
    // the seed is scored; a held evaluation runs, and what the run proposed meanwhile waits behind it
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 1 && heldRunning())).toBe(true)
    p.child.kill('SIGINT')
    const r = await p.done()
    expect(r.code, r.stderr).toBe(130)
    expect(r.stderr).toMatch(/interrupted: stopping the run/)
    expect(r.json.status).toBe('stopped')
    // nothing after the seed could finish: the stop did not wait for the held evaluations
    expect(r.json.evaluations).toBe(1)
    const c = await candidates(dataDir, r.json.runId)
    expect(c.evaluated).toBe(r.json.evaluations)
    expect(c.withdrawn).toBeGreaterThan(0)
  }, 300_000)

  // a terminal's Ctrl-C signals the whole foreground group; `timeout` and service managers send
  // SIGTERM to the group: the workers are left to the run's own stop, none killed and restarted
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    it(`a ${sig} to the whole process group stops the run the same way, once`, async () => {
      const { p } = startRunWith({ group: true }, true, 200, '--json')
      expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 1 && heldRunning())).toBe(true)
      // as `timeout` does: the process, then its group (the process gets the signal twice)
      if (sig === 'SIGTERM') process.kill(p.child.pid!, sig)
      process.kill(-p.child.pid!, sig)
      const r = await p.done()
      expect(r.code, r.stderr).toBe(sig === 'SIGINT' ? 130 : 143)
      expect(r.stderr).not.toMatch(/Unhandled 'error'|EPIPE|killed by SIG|restarting in|infrastructure error/)
      expect(r.stderr.match(/interrupted: stopping the run/g)).toHaveLength(1)
      expect(r.json.status).toBe('stopped')
    }, 300_000)

  it('a run a console drives, followed here: Ctrl-C stops it there, exit code 130', async () => {
    const { dataDir, server } = await servedHere()
    try {
      const p = new WatchedCli(
        ['run', problem(true), '--operators', 'local', '--max-evals', '200', '--json', '--data-dir', dataDir],
        {},
      )
      expect(await p.until(() => /sending this command to it/.test(p.stderr) && heldRunning())).toBe(true)
      p.child.kill('SIGINT')
      const r = await p.done()
      expect(r.code, r.stderr).toBe(130)
      expect(r.stderr).toContain('interrupted: stopping the run on the server that drives it')
      expect(r.json.status).toBe('stopped')
      const row = await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: r.json.runId } })
      expect(row.status).toBe('stopped')
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('a resume of a console-driven run, followed here: a SIGTERM leaves the run going, Ctrl-C would stop it', async () => {
    const { dataDir, server } = await servedHere()
    try {
      const first = new WatchedCli(
        ['run', problem(true), '--operators', 'local', '--max-evals', '200', '--json', '--data-dir', dataDir],
        {},
      )
      expect(await first.until(() => /sending this command to it/.test(first.stderr) && heldRunning())).toBe(true)
      first.child.kill('SIGINT')
      const stopped = await first.done()
      expect(stopped.json.status).toBe('stopped')
      const runId = stopped.json.runId as string
      const p = new WatchedCli(['resume', runId, '--max-evals', '400', '--json', '--data-dir', dataDir], {})
      const status = async () => (await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status
      expect(await p.until(() => /sending this command to it/.test(p.stderr))).toBe(true)
      // the server's engine takes the run up
      const going = async () => ['cold-start', 'evolving'].includes(await status())
      await untilProgress(server.app.events, going, 'the resumed run', { runId })
      // as `timeout` or a closed terminal does: experts may be steering the run in the console
      p.child.kill('SIGTERM')
      const r = await p.done()
      expect(r.code, r.stderr).toBe(143)
      expect(r.stderr).toMatch(/SIGTERM: this command stops following; run \w{8} goes on on the server that drives it/)
      expect(r.stderr).not.toContain('stopping the run')
      expect(await going()).toBe(true)
      server.app.runs?.stop(runId, 'the test is over')
      await untilProgress(server.app.events, async () => (await status()) === 'stopped', 'the stop')
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('a run a console drives, paused there: Ctrl-C while this command waits stops it, exit code 130', async () => {
    const { dataDir, server } = await servedHere()
    try {
      // evaluations that end: a pause waits for those in flight
      const p = new WatchedCli(
        ['run', problem(false), '--operators', 'local', '--max-evals', '1000000', '--json', '--data-dir', dataDir],
        {},
      )
      expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 1)).toBe(true)
      const runId = /run ([0-9a-f-]{36}) on/.exec(p.stderr)![1]!
      const paused = await cli(['runs', 'pause', runId, '--json', '--data-dir', dataDir])
      expect(paused.json).toMatchObject({ runId, status: 'paused' })
      expect(await p.until(() => p.stderr.includes(pauseLine(runId))), p.stderr).toBe(true)
      p.child.kill('SIGINT')
      const r = await p.done()
      expect([r.code, r.json.status], r.stderr).toEqual([130, 'stopped'])
      const row = await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
      expect([row.status, row.evaluations]).toEqual(['stopped', paused.json.evaluations])
    } finally {
      await server.stop()
    }
  }, 300_000)

  it("a model run relayed to the console that holds the folder says the shell's model settings are not used", async () => {
    const { dataDir, server } = await servedHere()
    try {
      const p = new WatchedCli(
        ['run', problem(true), '--model', 'openai:gpt-4.1-mini', '--max-evals', '5', '--json', '--data-dir', dataDir],
        { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-shell-only' },
      )
      const told = await p.until(() =>
        /drives the run with its own environment: this shell's OPENAI_BASE_URL, OPENAI_API_KEY are not used/.test(
          p.stderr,
        ),
      )
      expect(told, p.stderr).toBe(true)
      expect(p.stderr).not.toContain('sk-shell-only')
      p.child.kill('SIGINT')
      await p.done()
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('while a run goes, other commands reach it through its data folder', async () => {
    const { p, dataDir } = startRun(true, 200)
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 1 && heldRunning())).toBe(true)
    const listed = await cli(['runs', '--json', '--data-dir', dataDir])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stderr).toMatch(/a run \(pid \d+\) holds .*: sending this command to it/)
    const [row] = listed.json as Array<{ id: string; status: string; evaluations: number; drivenBy: string | null }>
    expect(row).toMatchObject({ id: p.runId, drivenBy: expect.stringMatching(/:\d+$/) })
    expect(['cold-start', 'evolving']).toContain(row!.status)
    // an export, naming the run as its progress lines do
    const exported = await cli(['export', p.runId!.slice(0, 8), '--data-dir', dataDir])
    expect(exported.code, exported.stderr).toBe(0)
    expect(JSON.parse(exported.stdout).run.id).toBe(p.runId)
    // what would write (a second run, an import) waits for the run's end, and is told so
    const second = await cli(['kb', 'import', '--starter', '--data-dir', dataDir])
    expect(second.code).toBe(2)
    expect(second.stderr).toMatch(/holds this data folder and answers only commands that read .* or steer a run/)
    p.child.kill('SIGINT')
    expect((await p.done()).code).toBe(130)
    // the run's process is gone: the folder is opened directly again
    const after = await cli(['runs', '--data-dir', dataDir])
    expect(after.code, after.stderr).toBe(0)
    expect(after.stderr).not.toMatch(/sending this command/)
    // a stopped run says why in the list
    expect(after.stdout).toContain('interrupted from the command line')
  }, 300_000)

  it('a run driven here is steered from another terminal: a hint, a pin, a pause it waits through, a resume', async () => {
    // evaluations that end: a pause waits for those in flight
    const { p, dataDir } = startRun(false, 1_000_000, '--json')
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 3)).toBe(true)
    const hint = await cli(['runs', 'hint', p.runId!, 'try larger numbers', '--json', '--data-dir', dataDir])
    expect(hint.code, hint.stderr).toBe(0)
    expect(hint.stderr).toMatch(/sending this command to it/)
    const pin = await cli(['candidate', p.runId!, 'best', '--pin', '--json', '--data-dir', dataDir])
    expect(pin.code, pin.stderr).toBe(0)
    const paused = await cli(['runs', 'pause', p.runId!, '--json', '--data-dir', dataDir])
    expect(paused.code, paused.stderr).toBe(0)
    expect(paused.json).toMatchObject({ status: 'paused' })
    // the command that drives the run waits through the pause, and drives it again once resumed
    expect(await p.until(() => p.stderr.includes(pauseLine(p.runId!))), p.stderr).toBe(true)
    expect(p.alive).toBe(true)
    const said = `run ${p.runId!.slice(0, 8)} resumed: driving it here again`
    // it follows the run through this process's socket, to the end
    const follower = await resumeFrom(dataDir, p.runId!, p, said, paused.json.evaluations)
    // Ctrl-C during a second pause stops the run: no engine drives it, so it is stopped where it lies
    const again = await cli(['runs', 'pause', p.runId!, '--json', '--data-dir', dataDir])
    expect(again.json).toMatchObject({ status: 'paused' })
    expect(await p.until(() => times(p.stderr, pauseLine(p.runId!)) === 2), p.stderr).toBe(true)
    p.child.kill('SIGINT')
    const r = await p.done()
    expect([r.code, r.json.status, r.json.evaluations], r.stderr).toEqual([130, 'stopped', again.json.evaluations])
    // the run's process ended with the run, its socket with it: the follower reads the end from the folder
    const f = await follower.done()
    expect([f.code, f.json?.status, f.json?.evaluations], f.stderr).toEqual([0, 'stopped', again.json.evaluations])
    expect(f.stderr).not.toContain(followerLeft(p.runId!))
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      expect((await db.prisma.guidance.findMany({ where: { runId: p.runId! } })).map((g) => g.text)).toEqual([
        'try larger numbers',
      ])
      expect(await db.prisma.candidate.count({ where: { runId: p.runId!, pinned: true } })).toBe(1)
    } finally {
      await db.close()
    }
  }, 300_000)

  it('a run driven here, resumed from another terminal: a stop there ends both commands with its summary', async () => {
    const { p, dataDir } = startRun(false, 1_000_000, '--json')
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 3)).toBe(true)
    const paused = await cli(['runs', 'pause', p.runId!, '--json', '--data-dir', dataDir])
    expect(paused.json).toMatchObject({ status: 'paused' })
    expect(await p.until(() => p.stderr.includes(pauseLine(p.runId!))), p.stderr).toBe(true)
    const said = `run ${p.runId!.slice(0, 8)} resumed: driving it here again`
    const follower = await resumeFrom(dataDir, p.runId!, p, said, paused.json.evaluations)
    // a third command stops it: the run's process ends, its socket with it
    const stopped = await cli(['runs', 'stop', p.runId!, '--json', '--data-dir', dataDir])
    expect(stopped.json, stopped.stderr).toMatchObject({ status: 'stopped' })
    const [r, f] = await Promise.all([p.done(), follower.done()])
    expect([r.code, r.json.status], r.stderr).toEqual([0, 'stopped'])
    expect([f.code, f.json?.status, f.json?.evaluations], f.stderr).toEqual([0, 'stopped', r.json.evaluations])
    expect(f.stderr).not.toContain(followerLeft(p.runId!))
  }, 300_000)

  it('a resume that follows a run whose process died (kill -9) says the run waits for a resume', async () => {
    const { p, dataDir } = startRun(false, 1_000_000)
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 3)).toBe(true)
    const paused = await cli(['runs', 'pause', p.runId!, '--json', '--data-dir', dataDir])
    expect(await p.until(() => p.stderr.includes(pauseLine(p.runId!))), p.stderr).toBe(true)
    const said = `run ${p.runId!.slice(0, 8)} resumed: driving it here again`
    const follower = await resumeFrom(dataDir, p.runId!, p, said, paused.json.evaluations)
    expect(await p.kill9()).toBe(true)
    const f = await follower.done()
    expect(f.code, f.stderr).toBe(1)
    expect(f.stderr).toContain(followerLeft(p.runId!))
    // the follower read the folder and left it as it found it: the run waits for a resume
    const listed = await cli(['runs', '--data-dir', dataDir])
    expect(listed.stdout).toContain(`interrupted: fm-agent resume ${p.runId} continues it`)
  }, 300_000)

  it('a run a console drives is steered from the command line: a hint, a pause, a stop', async () => {
    const { dataDir, server } = await servedHere()
    try {
      // evaluations that end: a pause waits for those in flight
      const p = new WatchedCli(
        ['run', problem(false), '--operators', 'local', '--max-evals', '1000000', '--json', '--data-dir', dataDir],
        {},
      )
      expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 3)).toBe(true)
      const runId = /run ([0-9a-f-]{36}) on/.exec(p.stderr)![1]!
      const hint = await cli([
        'runs',
        'hint',
        runId.slice(0, 8),
        'try larger numbers',
        '--island',
        '0',
        '--data-dir',
        dataDir,
      ])
      expect(hint.code, hint.stderr).toBe(0)
      expect(hint.stdout).toMatch(new RegExp(`^hint [0-9a-f]{8} given to island 0 of run ${runId}`))
      const given = await server.app.db.prisma.guidance.findMany({ where: { runId } })
      expect(given.map((g) => [g.text, g.island])).toEqual([['try larger numbers', 0]])
      // a second one that expires; an expiry out of bounds is refused before anything is sent
      const bad = await cli(['runs', 'hint', runId, 'x', '--expires-after', '2.5', '--data-dir', dataDir])
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('a whole number of evaluations, 1 to')])
      const timed = await cli([
        'runs',
        'hint',
        runId,
        'try smaller numbers',
        '--expires-after',
        '500000',
        '--json',
        '--data-dir',
        dataDir,
      ])
      expect(timed.code, timed.stderr).toBe(0)
      const listed = await cli(['runs', 'hints', runId, '--json', '--data-dir', dataDir])
      const rows = listed.json as unknown as Array<{
        id: string
        text: string
        state: string
        expiresAfterEvals: number | null
      }>
      expect(rows.map((h) => [h.text, h.state, h.expiresAfterEvals])).toEqual(
        expect.arrayContaining([
          ['try larger numbers', 'active', null],
          ['try smaller numbers', 'active', 500000],
        ]),
      )
      const human = await cli(['runs', 'hints', runId, '--data-dir', dataDir])
      expect(human.stdout).toMatch(/^[0-9a-f]{8} {2}active {4}island 0; \d+ made under it/m)
      // withdrawn by the first characters of its id
      const larger = rows.find((h) => h.text === 'try larger numbers')!
      const withdrawn = await cli(['runs', 'withdraw', runId, larger.id.slice(0, 8), '--data-dir', dataDir])
      expect([withdrawn.code, withdrawn.stdout.trim()]).toEqual([
        0,
        `hint ${larger.id.slice(0, 8)} of run ${runId} withdrawn: prompts made from now on go without it`,
      ])
      expect(
        (await server.app.db.prisma.guidance.findUniqueOrThrow({ where: { id: larger.id } })).withdrawnAt,
      ).not.toBeNull()
      const unknown = await cli(['runs', 'withdraw', runId, 'ffffffff', '--data-dir', dataDir])
      expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('no hint of run')])
      // a candidate pinned, rated and banned from the command line, as on its page
      const best = (await cli(['candidate', runId, 'best', '--json', '--data-dir', dataDir])).json as { id: string }
      const act = (...args: string[]) => cli(['candidate', runId, best.id.slice(0, 8), ...args, '--data-dir', dataDir])
      expect((await act('--pin')).stdout.trim()).toBe(`candidate ${best.id} pinned`)
      expect((await act('--rate', 'up', '--note', 'tidy loop')).stdout.trim()).toBe(
        `candidate ${best.id} rated promising`,
      )
      expect((await act('--rate', 'sideways')).code).toBe(2)
      expect((await act('--ban', '--reason', 'reads the answer from a file')).code).toBe(0)
      const row = await server.app.db.prisma.candidate.findUniqueOrThrow({ where: { id: best.id } })
      expect([row.pinned, row.banned, row.rating]).toEqual([false, true, 1])
      const first = await cli(['runs', 'pause', runId, '--json', '--data-dir', dataDir])
      expect(first.code, first.stderr).toBe(0)
      expect(first.json).toMatchObject({ runId, status: 'paused' })
      // the command that follows the run waits through a pause, and follows it again once resumed
      expect(await p.until(() => p.stderr.includes(pauseLine(runId))), p.stderr).toBe(true)
      expect(p.alive).toBe(true)
      const follower = await resumeFrom(
        dataDir,
        runId,
        p,
        `run ${runId.slice(0, 8)} resumed: following it again`,
        first.json.evaluations,
      )
      // a SIGTERM leaves that command, not the run
      follower.child.kill('SIGTERM')
      expect((await follower.done()).code).toBe(143)
      const paused = await cli(['runs', 'pause', runId, '--json', '--data-dir', dataDir])
      expect(paused.json).toMatchObject({ runId, status: 'paused' })
      expect(await p.until(() => times(p.stderr, pauseLine(runId)) === 2), p.stderr).toBe(true)
      // a stop (a final status) ends it
      const stopped = await cli(['runs', 'stop', runId, '--data-dir', dataDir])
      expect([stopped.code, stopped.stdout.trim()]).toEqual([
        0,
        `run ${runId} stopped at ${paused.json.evaluations} evaluations`,
      ])
      const ended = await p.done()
      expect([ended.code, ended.json.status], ended.stderr).toEqual([0, 'stopped'])
      const again = await cli(['runs', 'stop', runId, '--data-dir', dataDir])
      expect(again.stdout).toContain(`run ${runId} is stopped`)
      const usage = await cli(['runs', 'hint', runId, '--data-dir', dataDir])
      expect(usage.code).toBe(2)
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('a run whose process died (kill -9, a second Ctrl-C) is shown as interrupted and resumes without waiting', async () => {
    // a budget no machine finishes before the kill lands
    const { p, dataDir } = startRun(false, 1_000_000)
    expect(await p.until(() => (p.lastProgress()?.evaluations ?? 0) >= 3)).toBe(true)
    expect(await p.kill9()).toBe(true)
    const runId = p.runId!
    const listed = await cli(['runs', '--data-dir', dataDir])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain(`interrupted: fm-agent resume ${runId} continues it`)
    expect(listed.stdout).not.toMatch(/driven by/)
    const json = await cli(['runs', '--json', '--data-dir', dataDir])
    expect(json.json.find((r: { id: string }) => r.id === runId)).toMatchObject({ drivenBy: null, interrupted: true })
    // the dead process's lease does not hold the run: no wait for it to expire
    const before = (await candidates(dataDir, runId)).evaluated
    // named as the progress lines print it: the start of its id
    const resumed = await cli([
      'resume',
      runId.slice(0, 8),
      '--max-evals',
      String(before + 4),
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.json.status).toBe('completed')
    expect(resumed.json).toMatchObject({ runId, evaluations: before + 4 })
    const unknown = await cli(['export', 'ffff0000', '--data-dir', dataDir])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no run "ffff0000" (fm-agent runs lists them)')
    // interrupted again, it is stopped without an engine: none can drive it while this command holds the folder
    const big = String(before + 1_000_000)
    const r2 = new WatchedCli(['resume', runId, '--max-evals', big, '--data-dir', dataDir], { FM_LOG: 'debug' })
    expect(await r2.until(() => (r2.lastProgress()?.evaluations ?? 0) >= before + 6)).toBe(true)
    expect(await r2.kill9()).toBe(true)
    const stopped = await cli(['runs', 'stop', runId, '--json', '--data-dir', dataDir])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.json).toMatchObject({ runId, status: 'stopped' })
  }, 300_000)
})
