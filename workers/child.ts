// An embedded worker process (forked by workers/pool.ts): takes jobs over IPC, runs each through
// the runner (one sandbox slot), answers with the result. Holds nothing the sandbox needs to hide
// beyond what the parent gave it: its environment is an allow-list too (see pool.ts).
import type { EvalJob, EvalResult, IsolationReport } from '../server/contracts/evaluation.ts'
import { holdHeapPacing } from '../server/runs/heap-pacer.ts'
import { createRunner, type Runner } from './runner.ts'

export interface ChildInit {
  t: 'init'
  workerId: string
  cacheDir: string
  hide: string[]
  isolation: IsolationReport
  slots: number
  heartbeatMs: number
  gpu: boolean
}

/** `mask`: paths this job must not see, decided per job by the pool's owner */
type JobKey = { jobId: string; attempt: number }
type Started = JobKey & { at: number }

/** `cancel`: jobs to drop if this child has not started them (a stopped run's) */
export type ParentMessage =
  | ChildInit
  | { t: 'job'; job: EvalJob; mask?: string[] }
  | { t: 'cancel'; jobs: JobKey[] }
  | { t: 'stop' }

export type ChildMessage =
  | { t: 'ready'; pid: number; languages: string[]; launcherStartupMs: number[] }
  | { t: 'init-failed'; message: string }
  | ({ t: 'started' } & Started)
  /** `started`: the job this child started in the slot the result freed */
  | { t: 'result'; result: EvalResult; started?: Started }
  /** the cancelled jobs this child held and had not started: they never run */
  | { t: 'cancelled'; jobs: JobKey[] }
  | { t: 'hb'; running: number; completed: number; queued: number }

const send = (m: ChildMessage) => {
  if (process.connected) process.send!(m)
}

let runner: Runner | null = null
const queue: { job: EvalJob; mask?: string[] }[] = []
let running = 0
let completed = 0
let slots = 1

/**
 * Starts what the free slots can take. `finished`, the result of the job that freed the slot, goes
 * out in one message with the next job's start (two writes and two wake-ups of the parent per
 * evaluation had been three).
 */
function pump(finished?: EvalResult) {
  let pending = finished
  while (runner && running < slots && queue.length) {
    const { job, mask } = queue.shift()!
    running++
    const at = Date.now()
    const started = { jobId: job.jobId, attempt: job.attempt, at }
    if (pending) send({ t: 'result', result: pending, started })
    else send({ t: 'started', ...started })
    pending = undefined
    runner
      .run(job, { dequeuedAt: at, mask })
      .catch(
        (e): EvalResult => ({
          jobId: job.jobId,
          attempt: job.attempt,
          workerId: 'unknown',
          valid: false,
          metrics: {},
          features: {},
          artifacts: {},
          stage: 0,
          timing: { queuedMs: 0, startedAt: at, sandboxMs: 0, evaluatorMs: 0 },
          error: { kind: 'infra', message: `worker error: ${(e as Error).message}`.slice(0, 4000) },
        }),
      )
      .then((result) => {
        running--
        completed++
        pump(result)
      })
  }
  if (pending) send({ t: 'result', result: pending })
}

/**
 * A child keeps ~9 MB alive, flat over 10,000 evaluations, but V8 let its old generation fill with
 * ~20 MB of garbage before collecting it (90 MB resident at the end of such a run, 78 MB paced): a full
 * collection of so small a heap takes a few milliseconds.
 */
const CHILD_PACING = { minStepBytes: 8 * 1024 * 1024, stepRatio: 0.5 }

async function init(m: ChildInit) {
  slots = m.slots
  holdHeapPacing({ pacing: CHILD_PACING })
  // heartbeats from the start: the parent tells a busy child from a frozen one by them
  setInterval(() => send({ t: 'hb', running, completed, queued: queue.length }), m.heartbeatMs).unref()
  try {
    runner = createRunner({
      cacheDir: m.cacheDir,
      workerId: m.workerId,
      slots: m.slots,
      hide: m.hide,
      isolation: m.isolation,
      gpu: m.gpu,
    })
    await runner.start()
  } catch (e) {
    send({ t: 'init-failed', message: (e as Error).message })
    process.exit(3)
  }
  send({
    t: 'ready',
    pid: process.pid,
    languages: runner.languages,
    launcherStartupMs: runner.stats().launcherStartupMs,
  })
  pump()
}

process.on('message', (m: ParentMessage) => {
  if (m.t === 'init') void init(m)
  else if (m.t === 'job') {
    queue.push({ job: m.job, mask: m.mask })
    pump()
  } else if (m.t === 'cancel') {
    const drop = new Set(m.jobs.map((j) => `${j.jobId}\u0000${j.attempt}`))
    const dropped: JobKey[] = []
    for (let i = queue.length - 1; i >= 0; i--) {
      const { job } = queue[i]!
      if (!drop.has(`${job.jobId}\u0000${job.attempt}`)) continue
      queue.splice(i, 1)
      dropped.push({ jobId: job.jobId, attempt: job.attempt })
    }
    send({ t: 'cancelled', jobs: dropped })
  } else if (m.t === 'stop') {
    void (runner?.close() ?? Promise.resolve()).finally(() => process.exit(0))
  }
})
// the parent went away: nothing left to answer to (the launchers die with us: --die-with-parent)
process.on('disconnect', () => process.exit(0))
