// The embedded pool with several evaluation slots in one child process: the layout, concurrent
// evaluations in one process, what its death does to each of them, the status it reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EvalResult } from '../server/contracts/evaluation.ts'
import { createLocalPool, type LocalPool, slotsPerChild } from './pool.ts'
import { cleanStaleSlots } from './runner.ts'
import { bundleStore, makeJob, makeProblem, removeTempDirs, tempDir } from './test-helpers.ts'

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

let pool: LocalPool
const results: EvalResult[] = []
const waiters: { pred: (r: EvalResult) => boolean; resolve: (r: EvalResult) => void }[] = []
const waitFor = (pred: (r: EvalResult) => boolean, timeoutMs = 60_000) =>
  new Promise<EvalResult>((resolve, reject) => {
    const hit = results.find(pred)
    if (hit) return resolve(hit)
    const t = setTimeout(() => reject(new Error('timed out waiting for a result')), timeoutMs)
    waiters.push({ pred, resolve: (r) => (clearTimeout(t), resolve(r)) })
  })
/** polls the pool's status until `pred` holds (bounded by iterations, not by the clock's rate) */
async function until(pred: () => Promise<boolean> | boolean, what: string) {
  for (let i = 0; i < 1200; i++) {
    if (await pred()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`never: ${what}`)
}
const running = async () => (await pool.workers()).map((w) => w.running)

beforeAll(async () => {
  pool = createLocalPool({
    size: 3,
    slotsPerProcess: 2,
    cacheDir: tempDir('fm-pool-slots-cache-'),
    getBundle: store.fetch,
    heartbeatMs: 200,
    deadAfterMs: 5000,
    announce: false,
    log: () => {},
  })
  pool.onResult((r) => {
    results.push(r)
    for (const w of [...waiters]) if (w.pred(r)) waiters.splice(waiters.indexOf(w), 1), w.resolve(r)
  })
  await pool.start()
}, 60_000)
afterAll(async () => {
  await pool?.close()
  removeTempDirs()
  cleanStaleSlots()
})

describe('an embedded pool of 3 slots, 2 per process', () => {
  it('runs two processes, of 2 and 1 slots, and counts 3 evaluations at once', async () => {
    expect(pool.capacity()).toBe(3)
    const ws = await pool.workers()
    expect(ws.map((w) => w.concurrency)).toEqual([2, 1])
    expect(new Set(ws.map((w) => w.pid)).size).toBe(2)
    for (const w of ws) expect(w.status).toBe('online')
  })

  it('evaluates as many jobs at once as it has slots, each result exactly once', async () => {
    // the sandbox sees no file of the test's to wait on: 3 s of sleep is the window in which all
    // three are seen running (a poll every 50 ms), the fourth waits for a free slot
    const jobs = [1, 2, 3].map((i) => makeJob(problem, `import time\ntime.sleep(3)\ndef score():\n    return ${i}\n`))
    jobs.push(makeJob(problem, 'def score():\n    return 4\n'))
    for (const j of jobs) await pool.submit(j)
    await until(async () => (await running()).join() === '2,1', 'three evaluations running')
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 4 })
    const got = await Promise.all(jobs.map((j) => waitFor((r) => r.jobId === j.jobId)))
    expect(got.map((r) => r.metrics.score)).toEqual([1, 2, 3, 4])
    for (const j of jobs) expect(results.filter((r) => r.jobId === j.jobId)).toHaveLength(1)
  })

  it('a process killed with two evaluations running: both come back as infra errors, the other process goes on', async () => {
    // free slots first: the first two go to the 2-slot process, the third to the other
    const jobs = [600, 600, 5].map((s, i) =>
      makeJob(problem, `import time\ntime.sleep(${s})\ndef score():\n    return ${i + 1}\n`),
    )
    for (const j of jobs) await pool.submit(j)
    await until(async () => (await running()).join() === '2,1', 'three evaluations running')
    const victim = (await pool.workers()).find((w) => w.concurrency === 2)!
    process.kill(victim.pid!, 'SIGKILL')
    for (const j of jobs.slice(0, 2)) expect((await waitFor((r) => r.jobId === j.jobId)).error?.message).toMatch(/died/)
    // the one in the other process finishes as if nothing had happened
    expect((await waitFor((r) => r.jobId === jobs[2]!.jobId)).metrics.score).toBe(3)
    await until(() => pool.capacity() === 3, 'the process replaced')
    expect(pool.stats().restarts).toBe(1)
    const after = makeJob(problem, 'def score():\n    return 99\n')
    await pool.submit(after)
    expect((await waitFor((r) => r.jobId === after.jobId)).metrics.score).toBe(99)
  })
})
