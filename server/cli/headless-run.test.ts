// What `fm-agent run` says while it waits. The server-mode case runs the real CLI against real
// PostgreSQL with one CPU worker on the restricted role, on a GPU problem: the run cannot start
// its evaluations, and says why instead of sitting silent.
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { startQueueWorker } from '../../test-support/queue-worker.ts'
import type { WorkerStatus } from '../contracts/evaluation.ts'
import { createWorkerRole, dropWorkerRole } from '../queue/roles.ts'
import { createTestDatabase } from '../queue/test-db.ts'
import { tempDir, removeTempDirs } from '../../workers/test-helpers.ts'
import { progressMs, summaryText, workerShortage } from './headless-run.ts'
import { startOpenAiTestServer } from '../../test-support/openai-server.ts'
import { literalEditResponder } from '../../test-support/literal-edit-responder.ts'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { join } from 'node:path'

const worker = (status: WorkerStatus['status'], gpu: boolean, languages = ['python']) =>
  ({ status, capabilities: { cpu: 2, gpu, languages } }) as Pick<WorkerStatus, 'status' | 'capabilities'>

describe('progressMs', () => {
  it('a line a second on a terminal, every ten in a log file, FM_PROGRESS_S when set', () => {
    expect(progressMs({}, true)).toBe(1000)
    expect(progressMs({}, false)).toBe(10_000)
    expect(progressMs({ FM_PROGRESS_S: '30' }, false)).toBe(30_000)
    expect(progressMs({ FM_PROGRESS_S: '0.5' }, true)).toBe(500)
  })
})

describe('workerShortage', () => {
  it('the summary gives the spend, or says it is unknown where a model has no price', () => {
    const base = {
      runId: 'r',
      status: 'completed' as const,
      statusReason: null,
      problemId: 'p',
      direction: 'max' as const,
      evaluations: 20,
      seedScore: 1,
      best: null,
      islands: 1,
      diversity: {},
      perIsland: [],
      pipeline: null,
      coldStart: { seeds: 1, seedless: false, firstValidAfter: null },
    }
    expect(summaryText({ ...base, spendUsd: 0.0123, unpriced: [], models: [] })).toContain('\n  spend $0.0123\n')
    // each model's calls, failures and spend: a member down for the whole run is named
    const ensemble = summaryText({
      ...base,
      spendUsd: 0.0123,
      unpriced: [],
      models: [
        { model: 'openai:down', calls: 39, failed: 39, spendUsd: 0 },
        { model: 'openai:mini', calls: 79, failed: 0, spendUsd: 0.0123 },
      ],
    })
    expect(ensemble).toContain(
      '\n  model openai:down: 39 calls, 39 failed, $0.0000\n  model openai:mini: 79 calls, $0.0123',
    )
    expect(summaryText({ ...base, spendUsd: 0, unpriced: ['openai:gpt-4.1-mini'], models: [] })).toContain(
      "\n  spend unknown (no price for openai:gpt-4.1-mini: give pricePer1kIn and pricePer1kOut in the run config's models)\n",
    )
  })

  it('names what is missing: any worker, a GPU worker, a toolchain', () => {
    expect(workerShortage({ gpu: false, language: 'python' }, [])).toMatch(/no worker is online/)
    expect(workerShortage({ gpu: false, language: 'python' }, [worker('dead', false)])).toMatch(/no worker is online/)
    expect(
      workerShortage({ gpu: false, language: 'python' }, [
        {
          ...worker('backing-off', false),
          name: 'gpu-7',
          statusDetail: '3 evaluations in a row failed (last: no bwrap)',
        },
      ]),
    ).toBe(
      'every worker is backing off after infrastructure errors on its machine (gpu-7: 3 evaluations in a row failed (last: no bwrap)): fix them (fm-agent doctor there) or start a worker on another machine',
    )
    expect(workerShortage({ gpu: true, language: 'python' }, [worker('online', false)])).toMatch(
      /needs a GPU and none of the 1 online worker/,
    )
    expect(workerShortage({ gpu: false, language: 'cpp' }, [worker('online', false)])).toMatch(/can run cpp programs/)
    expect(workerShortage({ gpu: true, language: 'python' }, [worker('online', false), worker('online', true)])).toBe(
      null,
    )
  })
})

describe('fm-agent run in server mode', () => {
  const procs: ChildProcess[] = []
  let cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL')
    for (const c of cleanup.reverse()) await c().catch(() => undefined)
    cleanup = []
    removeTempDirs()
  })

  it('says what it waits on while no candidate comes, rather than sitting silent', async () => {
    const edit = literalEditResponder()
    // a model that does not answer while the test lasts: no candidate comes after the seed
    const server = await startOpenAiTestServer({
      responder: (req) => ({ content: edit(req).content, delayMs: 600_000 }),
    })
    cleanup.push(() => server.close())
    const run = new WatchedCli(
      [
        'run',
        join(FIXTURES, 'curve-fit'),
        '--model',
        'openai:slow',
        '--max-evals',
        '30',
        '--data-dir',
        tempDir('fm-quiet-'),
      ],
      { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test', FM_PROGRESS_S: '1' },
    )
    procs.push(run.child)
    const said = await run.until(() => /no new candidate for \d+ s · model \d+ in flight/.test(run.stderr), 60_000)
    expect(said, run.stderr.slice(-3000)).toBe(true)
    run.child.kill('SIGINT')
    expect(await run.until(() => !run.alive, 60_000)).toBe(true)
  }, 120_000)

  it('says that its GPU problem has no GPU worker, rather than sitting silent', async () => {
    const db = await createTestDatabase('fm_test_short')
    cleanup.push(db.drop)
    const role = `fm_short_w${process.pid}`
    const { databaseUrl } = await createWorkerRole(db.url, role, `pw-${process.pid}-short`)
    cleanup.push(() => dropWorkerRole(db.url, role, { force: true }))
    const cpuWorker = startQueueWorker({ databaseUrl, name: 'cpu-only', cacheDir: tempDir('fm-short-w-') })
    procs.push(cpuWorker)
    const run = new WatchedCli(['run', 'gpu-softmax', '--operators', 'local', '--max-evals', '3'], {
      DATABASE_URL: db.url,
      FM_DATA_DIR: tempDir('fm-short-data-'),
    })
    procs.push(run.child)
    // until the worker is online the run says no worker is, then that none has a GPU
    const said = await run.until(() => /needs a GPU and none of the 1 online worker/.test(run.stderr), 120_000)
    expect(said, run.stderr.slice(-3000)).toBe(true)
    expect(run.stderr).toMatch(/fm-agent worker --gpu/)
    run.child.kill('SIGINT')
    const ended = await run.until(() => !run.alive, 60_000)
    expect(ended, run.stderr.slice(-3000)).toBe(true)
    expect(run.exit?.code).toBe(130)
  }, 180_000)

  it('a run paused from elsewhere waits; resumed by another engine, it is followed and Ctrl-C stops it there', async () => {
    const db = await createTestDatabase('fm_test_pause')
    cleanup.push(db.drop)
    const role = `fm_pause_w${process.pid}`
    const { databaseUrl } = await createWorkerRole(db.url, role, `pw-${process.pid}-pause`)
    cleanup.push(() => dropWorkerRole(db.url, role, { force: true }))
    procs.push(startQueueWorker({ databaseUrl, name: 'pause-w', cacheDir: tempDir('fm-pause-w-') }))
    const env = { DATABASE_URL: db.url, FM_DATA_DIR: tempDir('fm-pause-data-'), FM_LOG: 'debug' }
    const run = new WatchedCli(
      ['run', join(FIXTURES, 'openevolve-sum'), '--operators', 'local', '--max-evals', '1000000', '--json'],
      env,
    )
    procs.push(run.child)
    expect(await run.until(() => (run.lastProgress()?.evaluations ?? 0) >= 2, 120_000), run.stderr).toBe(true)
    const id8 = run.runId!.slice(0, 8)
    const paused = await cli(['runs', 'pause', run.runId!, '--json'], env)
    expect(paused.json, paused.stderr).toMatchObject({ status: 'paused' })
    const waiting = `run ${id8} paused from the console: waiting for it to resume (Ctrl-C stops it)`
    expect(await run.until(() => run.stderr.includes(waiting), 60_000), run.stderr).toBe(true)
    // `fm-agent resume` in another terminal drives it in its own process: this one follows
    const other = new WatchedCli(['resume', id8, '--json'], env)
    procs.push(other.child)
    const following = `run ${id8} is driven by another engine process now: following it here (Ctrl-C stops it there)`
    expect(await run.until(() => run.stderr.includes(following), 60_000), run.stderr).toBe(true)
    run.child.kill('SIGINT')
    const [mine, theirs] = await Promise.all([run.done(), other.done()])
    expect([mine.code, mine.json?.status], mine.stderr).toEqual([130, 'stopped'])
    expect([theirs.code, theirs.json?.status], theirs.stderr).toEqual([0, 'stopped'])
  }, 240_000)
})
