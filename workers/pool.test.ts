// The embedded pool, one slot per child process: dispatch, results, restarts, heartbeats, status.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { heldCount, heldName, holdLines, observed } from '../test-support/held.ts'
import { bundleStore, makeJob, makeProblem, poolHarness, tempDir } from './test-helpers.ts'

const problem = makeProblem(
  {
    'evaluator.py': `import json, sys, time
src = open(sys.argv[-1]).read()
ns = {}
exec(src, ns)
print(json.dumps({"valid": True, "metrics": {"score": ns['score']()}}))
`,
    'seed.py': 'def score():\n    return 1\n',
  },
  {
    id: 'pool-test',
    name: 'pool',
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'score',
    limits: { timeoutS: 20 },
  },
)
const store = bundleStore(problem)

const h = poolHarness(() => ({
  size: 2,
  // a process per slot: these tests kill one worker's process and watch the other go on
  slotsPerProcess: 1,
  cacheDir: tempDir('fm-pool-cache-'),
  getBundle: store.fetch,
  heartbeatMs: 200,
  deadAfterMs: 1500,
}))
const { results, waitFor } = h
/** the worker process running an evaluation, once one does */
async function runningPid(): Promise<number> {
  let pid: number | undefined
  await observed(async () => (pid = (await h.pool.workers()).find((w) => w.running > 0)?.pid) !== undefined)
  return pid!
}

describe('embedded pool', () => {
  it('starts N workers and reports them', async () => {
    expect(h.pool.capacity()).toBe(2)
    const ws = await h.pool.workers()
    expect(ws).toHaveLength(2)
    for (const w of ws) {
      expect(w.status).toBe('online')
      expect(w.mode).toBe('embedded')
      expect(w.concurrency).toBe(1)
      expect(w.capabilities.languages).toContain('python')
      expect(w.isolation?.level).toBe(h.pool.isolation.level)
      expect(w.pid).toBeGreaterThan(0)
      // a small young generation: the child relays jobs, it does not need V8's default 16 MB semi-spaces
      expect(readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1')
    }
  })

  it('evaluates jobs on both workers, each result exactly once', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => makeJob(problem, `def score():\n    return ${i}\n`))
    for (const j of jobs) await h.pool.submit(j)
    const got = await Promise.all(jobs.map((j) => waitFor((r) => r.jobId === j.jobId)))
    expect(got.map((r) => r.metrics.score)).toEqual(jobs.map((_, i) => i))
    expect(new Set(got.map((r) => r.workerId)).size).toBe(2)
    for (const j of jobs) expect(results.filter((r) => r.jobId === j.jobId)).toHaveLength(1)
  })

  it('cancelled jobs still queued are dropped; the job queued after them runs', async () => {
    // two jobs run and two wait in the children (one buffered each): the rest wait in the pool's queue
    const held = Array.from({ length: 4 }, () =>
      makeJob(problem, 'import time\ntime.sleep(1.5)\ndef score():\n    return 0\n'),
    )
    const withdrawn = Array.from({ length: 6 }, (_, i) => makeJob(problem, `def score():\n    return ${i}\n`))
    const kept = makeJob(problem, 'def score():\n    return 42\n')
    for (const j of [...held, ...withdrawn, kept]) await h.pool.submit(j)
    expect(h.pool.stats().queued).toBe(7)
    await h.pool.cancel(withdrawn.map((j) => ({ jobId: j.jobId, attempt: j.attempt })))
    expect(h.pool.stats().queued).toBe(1)
    // dispatch is first in, first out: had they stayed queued, the withdrawn jobs would have run first
    expect((await waitFor((r) => r.jobId === kept.jobId)).metrics.score).toBe(42)
    for (const j of held) await waitFor((r) => r.jobId === j.jobId)
    expect(results.filter((r) => withdrawn.some((j) => j.jobId === r.jobId))).toEqual([])
  })

  it('a worker killed mid-job: that job comes back as an infra error, the worker is replaced', async () => {
    const slow = makeJob(problem, 'import time\ntime.sleep(30)\ndef score():\n    return 0\n')
    await h.pool.submit(slow)
    // wait until a worker runs it, then kill that worker's process
    const victim = await runningPid()
    expect(victim).toBeDefined()
    process.kill(victim, 'SIGKILL')
    const r = await waitFor((x) => x.jobId === slow.jobId)
    expect(r.error?.kind).toBe('infra')
    expect(r.error?.message).toMatch(/died/)
    // replaced, and working
    await observed(() => h.pool.capacity() === 2)
    expect(h.pool.capacity()).toBe(2)
    expect(h.pool.stats().restarts).toBeGreaterThanOrEqual(1)
    const after = makeJob(problem, 'def score():\n    return 99\n')
    await h.pool.submit(after)
    expect((await waitFor((x) => x.jobId === after.jobId)).metrics.score).toBe(99)
  })

  it('a worker that stops sending heartbeats is killed and replaced', async () => {
    const job = makeJob(problem, 'import time\ntime.sleep(20)\ndef score():\n    return 0\n')
    await h.pool.submit(job)
    const victim = await runningPid()
    process.kill(victim, 'SIGSTOP') // frozen: alive but silent
    const r = await waitFor((x) => x.jobId === job.jobId)
    expect(r.error?.kind).toBe('infra')
    await observed(() => h.pool.capacity() === 2)
    expect(h.pool.capacity()).toBe(2)
  })

  it('a missing bundle and a GPU job answer at once as infra errors', async () => {
    const ghost = makeProblem(
      { 'seed.py': '', 'evaluator.py': '' },
      {
        id: 'ghost',
        name: 'g',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    const j1 = makeJob(ghost, '')
    await h.pool.submit(j1)
    expect((await waitFor((r) => r.jobId === j1.jobId)).error?.kind).toBe('infra')
    const j2 = makeJob(problem, '', { needs: { gpu: true, languages: [] } })
    await h.pool.submit(j2)
    expect((await waitFor((r) => r.jobId === j2.jobId)).error?.message).toMatch(/GPU/)
  })
  // the last two: they kill workers, whose replacements no test waits for
  it('cancelled jobs a worker holds but has not started are dropped there too', async () => {
    // free slots first, then one buffered job each: a and b run until their workers are killed, the
    // withdrawn wait in the children
    const running = (score: number) =>
      makeJob(problem, `import time\ntime.sleep(600)\ndef score():\n    return ${score}\n`)
    const [a, b, withdrawn1, withdrawn2] = [running(1), running(2), running(3), running(4)]
    for (const j of [a, b, withdrawn1, withdrawn2]) await h.pool.submit(j)
    expect(h.pool.stats()).toMatchObject({ queued: 0, inFlight: 4 })
    // resolves once the children have said what they dropped
    await h.pool.cancel([withdrawn1, withdrawn2].map((j) => ({ jobId: j.jobId, attempt: j.attempt })))
    expect(h.pool.stats().inFlight).toBe(2)
    // the workers die with a and b: a job they still held unstarted would go back to the queue and run
    for (const w of await h.pool.workers()) if (w.pid) process.kill(w.pid, 'SIGKILL')
    for (const j of [a, b]) expect((await waitFor((r) => r.jobId === j.jobId)).error?.message).toMatch(/died/)
    const kept = makeJob(problem, 'def score():\n    return 42\n')
    await h.pool.submit(kept)
    expect((await waitFor((r) => r.jobId === kept.jobId)).metrics.score).toBe(42)
    expect(results.filter((r) => r.jobId === withdrawn1.jobId || r.jobId === withdrawn2.jobId)).toEqual([])
  })
  it('a job started in the slot its predecessor freed is known to be running: a death mid-job is an infra error', async () => {
    // both workers online; the blocker holds one, so the second waits in the same child as the first
    // and starts as the first's result goes out, in the same message
    await observed(() => h.pool.capacity() === 2)
    const first = makeJob(problem, 'def score():\n    return 5\n')
    const held = heldName()
    const blocker = makeJob(problem, `${holdLines(held).join('\n')}\n`)
    const second = makeJob(problem, 'import time\ntime.sleep(600)\ndef score():\n    return 0\n')
    await Promise.all([first, blocker, second].map((j) => h.pool.submit(j)))
    const done = await waitFor((r) => r.jobId === first.jobId)
    const victim = (await h.pool.workers()).find((w) => w.id === done.workerId)
    expect(victim?.running).toBe(1)
    process.kill(victim!.pid!, 'SIGKILL')
    // not put back in the queue as if it had never started (it would run again)
    const r = await waitFor((x) => x.jobId === second.jobId)
    expect(r.error?.message).toMatch(/died/)
    // the other worker's evaluation goes on
    expect(heldCount(held)).toBe(1)
    expect(results.some((x) => x.jobId === blocker.jobId)).toBe(false)
  })
})
