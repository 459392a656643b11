// The embedded pool with several evaluation slots in one child process: the layout, concurrent
// evaluations in one process, what its death does to each of them, the status it reports. Held
// evaluations are seen running from outside the sandbox: nothing waits for a time to pass.
import { describe, expect, it } from 'vitest'
import { heldCount, heldName, holdLines, observed } from '../test-support/held.ts'
import { slotsPerChild } from './pool.ts'
import { bundleStore, makeJob, makeProblem, poolHarness, tempDir } from './test-helpers.ts'

describe('slotsPerChild', () => {
  it('uses as few processes as the limit allows and spreads the slots evenly', () => {
    expect(slotsPerChild(2, 4)).toEqual([2])
    expect(slotsPerChild(4, 4)).toEqual([4])
    expect(slotsPerChild(5, 4)).toEqual([3, 2])
    expect(slotsPerChild(9, 4)).toEqual([3, 3, 3])
    expect(slotsPerChild(3, 1)).toEqual([1, 1, 1])
    expect(slotsPerChild(0, 4)).toEqual([1])
    expect(slotsPerChild(6, 0)).toEqual([1, 1, 1, 1, 1, 1])
  })
})

const problem = makeProblem(
  {
    'evaluator.py': `import json, sys
src = open(sys.argv[-1]).read()
ns = {}
exec(src, ns)
print(json.dumps({"valid": True, "metrics": {"score": ns['score']()}}))
`,
    'seed.py': 'def score():\n    return 1\n',
  },
  {
    id: 'pool-slots-test',
    name: 'pool slots',
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'score',
    limits: { timeoutS: 60 },
  },
)
const store = bundleStore(problem)

const h = poolHarness(() => ({
  size: 3,
  slotsPerProcess: 2,
  cacheDir: tempDir('fm-pool-slots-cache-'),
  getBundle: store.fetch,
  heartbeatMs: 200,
  deadAfterMs: 5000,
}))
const { results, waitFor } = h
const running = async () => (await h.pool.workers()).map((w) => w.running).join()
/** a job that holds its sandbox until its worker dies, named to be seen running from outside */
const hold = (name: string) => makeJob(problem, `${holdLines(name).join('\n')}\n`)

describe('an embedded pool of 3 slots, 2 per process', () => {
  it('runs two processes, of 2 and 1 slots', async () => {
    expect(h.pool.capacity()).toBe(3)
    const ws = await h.pool.workers()
    expect(ws.map((w) => w.concurrency)).toEqual([2, 1])
    expect(new Set(ws.map((w) => w.pid)).size).toBe(2)
    for (const w of ws) expect(w.status).toBe('online')
  })

  it('evaluates jobs on both processes, each result exactly once', async () => {
    const jobs = [1, 2, 3, 4, 5, 6].map((i) => makeJob(problem, `def score():\n    return ${i}\n`))
    for (const j of jobs) await h.pool.submit(j)
    const got = await Promise.all(jobs.map((j) => waitFor((r) => r.jobId === j.jobId)))
    expect(got.map((r) => r.metrics.score)).toEqual([1, 2, 3, 4, 5, 6])
    for (const j of jobs) expect(results.filter((r) => r.jobId === j.jobId)).toHaveLength(1)
  })

  it('runs as many at once as it has slots; a process killed with two running: both infra errors, the other goes on', async () => {
    // free slots first: the first two go to the 2-slot process, the third to the other
    const [two, one] = [heldName(), heldName()]
    const jobs = [hold(two), hold(two), hold(one)]
    for (const j of jobs) await h.pool.submit(j)
    await observed(async () => heldCount(two) === 2 && heldCount(one) === 1 && (await running()) === '2,1')
    expect(h.pool.stats()).toMatchObject({ queued: 0, inFlight: 3 })
    const victim = (await h.pool.workers()).find((w) => w.concurrency === 2)!
    process.kill(victim.pid!, 'SIGKILL')
    for (const j of jobs.slice(0, 2)) expect((await waitFor((r) => r.jobId === j.jobId)).error?.message).toMatch(/died/)
    await observed(() => h.pool.capacity() === 3)
    expect(h.pool.stats().restarts).toBe(1)
    // the evaluation in the other process went on
    expect(heldCount(one)).toBe(1)
    expect(results.some((r) => r.jobId === jobs[2]!.jobId)).toBe(false)
  })
})
