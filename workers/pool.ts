// Embedded mode's evaluation backend: N evaluation slots in child worker processes (workers/child.ts)
// fed over IPC, up to `slotsPerProcess` slots in each. The parent keeps the queue, writes problem
// bundles into the shared on-disk cache before a job is dispatched (children never need the
// database), and hands each slot one running job plus one buffered one so a slot never waits for the
// next job between evaluations. A child that dies or stops sending heartbeats is replaced; the jobs
// it was running come back as `infra` error results (the engine retries those), jobs it had buffered
// but not started go back to the queue.
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import {
  EvalResult,
  type EvalJob,
  type EvaluationBackend,
  type IsolationReport,
  type WorkerState,
  type WorkerStatus,
} from '../server/contracts/evaluation.ts'
import { BundleCache } from './bundle-cache.ts'
import { type ChildEntry, defaultChildEntry, tsxChildEntry } from './child-entry.ts'
import type { ChildMessage, ParentMessage } from './child.ts'
import { machineCapabilities } from './runner.ts'
import { announceIsolation, detectIsolation, type DetectOptions, processEnv, unsandboxedRefusal } from './sandbox.ts'

export interface LocalPoolOptions {
  /** evaluation slots: evaluations run at once */
  size: number
  /**
   * slots one child process serves (default 4). A child relays jobs to its sandboxes and is ~60 MB
   * of resident memory whatever it serves, ~1.3 ms of CPU per trivial evaluation: one per slot cost
   * a 2-slot run ~65 MB (bench/README.md); four share one without it being the bottleneck.
   */
  slotsPerProcess?: number
  cacheDir: string
  getBundle: (hash: string) => Promise<Buffer>
  /** folders/files candidates must not see (the FM data folder, …), fixed at start */
  hide?: string[]
  /** paths a job must not see, decided when it is submitted (users' problem folders, imported at any
   * time); everything outside the system folders is masked anyway (workers/README.md, "The sandbox") */
  masksFor?: (job: EvalJob) => string[] | Promise<string[]>
  /** an isolation report to use, or options for detecting it (default: detect the strongest) */
  isolation?: IsolationReport | DetectOptions
  name?: string
  heartbeatMs?: number
  /** a child silent this long is killed and replaced (default 15 s) */
  deadAfterMs?: number
  /** jobs a child holds beyond the ones it runs, per slot (default 1) */
  prefetch?: number
  /** how to start a child: default this folder's child.ts through tsx */
  childEntry?: ChildEntry
  /** write the isolation banner to stderr at start (default true) */
  announce?: boolean
  log?: (line: string) => void
}

interface Held {
  job: EvalJob
  started: boolean
}

interface Child {
  index: number
  id: string
  slots: number
  proc: ChildProcess | null
  status: WorkerState
  held: Map<string, Held>
  completed: number
  lastHeartbeat: number
  pid?: number
  deaths: number[]
  /** start attempts in a row that ended before the child was ready */
  failedStarts: number
  lastStartError: string
  languages: string[]
  launcherStartupMs: number[]
  /** cancels sent and not answered yet, in order: each is answered by one 'cancelled' (or the exit) */
  cancelling: Array<() => void>
}

export interface LocalPool extends EvaluationBackend {
  readonly isolation: IsolationReport
  stats(): { queued: number; inFlight: number; restarts: number; launcherStartupMs: number[] }
}

const FAILED_STARTS_BEFORE_UNAVAILABLE = 3
export const DEFAULT_SLOTS_PER_PROCESS = 4

/** How `size` slots are spread over child processes: as few as `perProcess` allows, evenly. */
export function slotsPerChild(size: number, perProcess: number): number[] {
  const slots = Math.max(1, Math.floor(size))
  const processes = Math.ceil(slots / Math.max(1, Math.floor(perProcess)))
  return Array.from({ length: processes }, (_, i) => Math.floor(slots / processes) + (i < slots % processes ? 1 : 0))
}

const keyOf = (j: { jobId: string; attempt: number }) => `${j.jobId}\u0000${j.attempt}`

/** Environment of a child worker: what it needs, nothing the parent holds (no DATABASE_URL, no API keys). */
function childEnv(): NodeJS.ProcessEnv {
  const keep = [
    'PATH',
    'HOME',
    'LANG',
    'LC_ALL',
    'TZ',
    'TMPDIR',
    'FM_SANDBOX_UID',
    'FM_SANDBOX_NPROC',
    'FM_ISOLATION',
    'FM_PYTHON',
  ]
  const env: Record<string, string> = {}
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!
  return processEnv(env)
}

export function createLocalPool(opts: LocalPoolOptions): LocalPool {
  const name = opts.name ?? 'embedded'
  const heartbeatMs = opts.heartbeatMs ?? 1000
  const deadAfterMs = opts.deadAfterMs ?? 15_000
  const prefetch = opts.prefetch ?? 1
  const cacheDir = resolve(opts.cacheDir)
  const cache = new BundleCache(cacheDir)
  let entry: ChildEntry = opts.childEntry ?? tsxChildEntry()
  const log = opts.log ?? ((s: string) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'))
  const isolation: IsolationReport =
    opts.isolation && 'level' in opts.isolation
      ? opts.isolation
      : detectIsolation(opts.isolation as DetectOptions | undefined)
  const queue: EvalJob[] = []
  const jobMasks = new WeakMap<EvalJob, string[]>()
  /** jobs between submit() and the queue (the bundle, the masks), by key: true once cancelled */
  const submitting = new Map<string, boolean>()
  const callbacks: ((r: EvalResult) => void | Promise<void>)[] = []
  const children: Child[] = []
  const poolTag = randomBytes(3).toString('hex')
  let started = false
  let closing = false
  let restarts = 0
  let monitor: NodeJS.Timeout | null = null

  const emit = (r: EvalResult) => {
    for (const cb of callbacks) {
      try {
        Promise.resolve(cb(r)).catch((e) => log(`[${name}] result callback failed: ${(e as Error).message}`))
      } catch (e) {
        log(`[${name}] result callback failed: ${(e as Error).message}`)
      }
    }
  }

  const infraResult = (job: EvalJob, workerId: string, message: string): EvalResult => ({
    jobId: job.jobId,
    attempt: job.attempt,
    workerId,
    valid: false,
    metrics: {},
    features: {},
    artifacts: {},
    stage: 0,
    timing: {
      queuedMs: job.enqueuedAt ? Math.max(0, Date.now() - job.enqueuedAt) : 0,
      startedAt: Date.now(),
      sandboxMs: 0,
      evaluatorMs: 0,
    },
    error: { kind: 'infra', message: message.slice(0, 4000) },
  })

  /** The bundle on disk, the checks, the masks; then the queue, unless cancelled meanwhile. */
  async function prepareAndQueue(job: EvalJob, key: string) {
    try {
      if (!cache.has(job.problem.bundleHash)) await cache.ensure(job.problem.bundleHash, opts.getBundle)
    } catch (e) {
      emit(
        infraResult(
          job,
          `${name}-pool`,
          `problem bundle ${job.problem.bundleHash.slice(0, 12)}… unavailable: ${(e as Error).message}`,
        ),
      )
      return
    }
    if (job.needs.gpu || job.language === 'cuda') {
      emit(
        infraResult(
          job,
          `${name}-pool`,
          'this job needs a GPU worker; the embedded pool has none (start `fm-agent worker --gpu` in server mode)',
        ),
      )
      return
    }
    const why = unavailable() ?? unsandboxedRefusal(isolation)
    if (why) {
      emit(infraResult(job, `${name}-pool`, why))
      return
    }
    const queued = { ...job, enqueuedAt: job.enqueuedAt ?? Date.now() }
    if (opts.masksFor) {
      try {
        jobMasks.set(queued, await opts.masksFor(job))
      } catch (e) {
        emit(infraResult(job, `${name}-pool`, `could not decide what the job must not see: ${(e as Error).message}`))
        return
      }
    }
    if (submitting.get(key)) return
    queue.push(queued)
    dispatch()
  }

  /** Free slots first, then each slot's next job: a job never waits in one child while a slot is idle. */
  function dispatch() {
    if (closing) return
    for (const perSlot of [1, 1 + prefetch])
      for (const c of children) {
        while (queue.length && c.status === 'online' && c.proc?.connected && c.held.size < c.slots * perSlot) {
          const job = queue.shift()!
          c.held.set(keyOf(job), { job, started: false })
          c.proc.send({ t: 'job', job, mask: jobMasks.get(job) } satisfies ParentMessage)
        }
      }
  }

  function spawnChild(c: Child) {
    c.status = 'starting'
    c.lastHeartbeat = Date.now()
    const proc = fork(entry.path, [], {
      execArgv: entry.execArgv,
      env: childEnv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // its own process group: a terminal's Ctrl-C or a service manager's SIGTERM to the group is
      // this process's to act on (it stops the pool in order); a child killed by it mid-evaluation
      // would be restarted and its evaluation retried while the run stops. It still ends with this
      // process: on the IPC channel's close (child.ts), whatever killed this one.
      detached: true,
    })
    c.proc = proc
    c.pid = proc.pid
    // a send to a child that is exiting fails asynchronously, as an 'error' event: with no listener
    // it would crash this process (a terminal's Ctrl-C reaches the children at the same time as us)
    proc.on('error', (e) => {
      if (!closing) log(`[${name}] worker ${c.id}: ${e.message}`)
    })
    proc.on('message', (m: ChildMessage) => {
      c.lastHeartbeat = Date.now()
      switch (m.t) {
        case 'ready':
          c.status = 'online'
          c.failedStarts = 0
          c.languages = m.languages
          c.launcherStartupMs = m.launcherStartupMs
          dispatch()
          break
        case 'init-failed':
          log(`[${name}] worker ${c.id} could not start: ${m.message}`)
          c.lastStartError = m.message
          break
        case 'started': {
          const h = c.held.get(keyOf(m))
          if (h) h.started = true
          break
        }
        case 'result': {
          const parsed = EvalResult.safeParse(m.result)
          const key = keyOf(m.result)
          const h = c.held.get(key)
          c.held.delete(key)
          c.completed++
          // the next job's start first: whoever the result wakes sees it running
          if (m.started) {
            const next = c.held.get(keyOf(m.started))
            if (next) next.started = true
          }
          if (parsed.success) emit(parsed.data)
          else if (h)
            emit(infraResult(h.job, c.id, `the worker produced a malformed result: ${parsed.error.issues[0]?.message}`))
          dispatch()
          break
        }
        case 'cancelled':
          for (const j of m.jobs) c.held.delete(keyOf(j))
          c.cancelling.shift()?.()
          if (m.jobs.length) dispatch()
          break
        case 'hb':
          break
      }
    })
    proc.on('exit', (code, signal) => {
      if (c.proc !== proc) return
      c.proc = null
      const why = signal ? `killed by ${signal}` : `exit code ${code}`
      const held = [...c.held.values()]
      c.held.clear()
      for (const answered of c.cancelling.splice(0)) answered()
      // buffered jobs never ran: back to the front of the queue; the running one is an infra result
      const notStarted = held.filter((h) => !h.started).map((h) => h.job)
      queue.unshift(...notStarted)
      for (const h of held.filter((h) => h.started))
        emit(infraResult(h.job, c.id, `worker process ${c.id} died (${why}) while running this evaluation`))
      if (closing) {
        c.status = 'offline'
        return
      }
      if (c.status === 'starting') {
        c.failedStarts++
        c.lastStartError ||= `the worker process ended before it was ready (${why})`
      }
      c.status = 'dead'
      restarts++
      failQueueIfNoneCanStart()
      const now = Date.now()
      c.deaths = [...c.deaths.filter((t) => now - t < 60_000), now]
      const delay = Math.min(10_000, 100 * 2 ** Math.max(0, c.deaths.length - 1))
      log(`[${name}] worker ${c.id} (pid ${proc.pid}) ${why}; restarting in ${delay} ms`)
      setTimeout(() => {
        if (!closing) startChild(c)
      }, delay).unref()
      dispatch()
    })
  }

  /**
   * When every child has failed to start several times in a row (a broken installation, a missing
   * interpreter), queued jobs would wait forever: answer them now with the start error, so the
   * engine sees why (and fails the run) instead of hanging. Children keep retrying meanwhile.
   */
  function unavailable(): string | null {
    if (
      !children.length ||
      !children.every((c) => c.status !== 'online' && c.failedStarts >= FAILED_STARTS_BEFORE_UNAVAILABLE)
    )
      return null
    return `no evaluation worker could start (${children[0]!.failedStarts} attempts each): ${children[0]!.lastStartError}`
  }
  function failQueueIfNoneCanStart() {
    const why = unavailable()
    if (!why) return
    for (const job of queue.splice(0)) emit(infraResult(job, `${name}-pool`, why))
  }

  function startChild(c: Child) {
    spawnChild(c)
    c.proc!.send({
      t: 'init',
      workerId: c.id,
      cacheDir,
      hide: opts.hide ?? [],
      isolation,
      slots: c.slots,
      heartbeatMs,
      gpu: false,
    } satisfies ParentMessage)
  }

  const backend: LocalPool = {
    mode: 'embedded',
    isolation,
    async start() {
      if (started) return
      started = true
      if (!opts.childEntry) entry = await defaultChildEntry()
      if (opts.announce !== false) announceIsolation(isolation, name)
      const layout = slotsPerChild(opts.size, opts.slotsPerProcess ?? DEFAULT_SLOTS_PER_PROCESS)
      for (const [i, slots] of layout.entries()) {
        const c: Child = {
          index: i,
          id: `${name}-${poolTag}-${i}`,
          slots,
          proc: null,
          status: 'starting',
          held: new Map(),
          cancelling: [],
          completed: 0,
          lastHeartbeat: Date.now(),
          deaths: [],
          failedStarts: 0,
          lastStartError: '',
          languages: [],
          launcherStartupMs: [],
        }
        children.push(c)
        startChild(c)
      }
      monitor = setInterval(
        () => {
          const now = Date.now()
          for (const c of children) {
            // a starting child boots a TypeScript loader and its launchers first: give it longer (60 s)
            const limit = c.status === 'starting' ? Math.max(deadAfterMs, 60_000) : deadAfterMs
            if (c.proc && (c.status === 'online' || c.status === 'starting') && now - c.lastHeartbeat > limit) {
              log(`[${name}] worker ${c.id} sent no heartbeat for ${now - c.lastHeartbeat} ms: killing it`)
              c.proc.kill('SIGKILL')
            }
          }
        },
        Math.max(200, Math.min(heartbeatMs, 1000)),
      )
      monitor.unref()
      // resolve once every child is ready (or has failed to start and is being retried)
      const giveUpAt = Date.now() + 60_000
      await new Promise<void>((done) => {
        const check = setInterval(() => {
          if (closing || children.every((c) => c.status === 'online') || unavailable() || Date.now() > giveUpAt) {
            clearInterval(check)
            done()
          }
        }, 20)
      })
    },
    async submit(job) {
      if (closing) throw new Error('the evaluation pool is closed')
      const key = keyOf(job)
      submitting.set(key, false)
      try {
        await prepareAndQueue(job, key)
      } finally {
        submitting.delete(key)
      }
    },
    async cancel(jobs) {
      const keys = new Set(jobs.map(keyOf))
      for (let i = queue.length - 1; i >= 0; i--) if (keys.has(keyOf(queue[i]!))) queue.splice(i, 1)
      // a job being submitted is dropped before it is queued
      for (const k of keys) if (submitting.has(k)) submitting.set(k, true)
      // one a child holds but has not started is dropped there (it answers with what it dropped): a
      // stopped run's buffered job would otherwise hold that worker for a whole evaluation whose
      // result nobody waits for. One it runs finishes. Resolves once the children have answered.
      const answers: Promise<void>[] = []
      for (const c of children) {
        const mine = [...c.held.values()].filter((h) => !h.started && keys.has(keyOf(h.job)))
        if (!mine.length || !c.proc?.connected) continue
        answers.push(new Promise((answered) => c.cancelling.push(answered)))
        c.proc.send({
          t: 'cancel',
          jobs: mine.map((h) => ({ jobId: h.job.jobId, attempt: h.job.attempt })),
        } satisfies ParentMessage)
      }
      await Promise.all(answers)
    },
    onResult(cb) {
      callbacks.push(cb)
    },
    capacity() {
      return children.reduce((n, c) => n + (c.status === 'online' ? c.slots : 0), 0)
    },
    async workers(): Promise<WorkerStatus[]> {
      const caps = machineCapabilities(false)
      return children.map((c) => ({
        id: c.id,
        name: `${name} worker ${c.index + 1}`,
        host: hostname(),
        mode: 'embedded' as const,
        capabilities: {
          ...caps,
          languages: (c.languages.length ? c.languages : caps.languages) as typeof caps.languages,
        },
        isolation,
        concurrency: c.slots,
        running: [...c.held.values()].filter((h) => h.started).length,
        completed: c.completed,
        lastHeartbeat: new Date(c.lastHeartbeat),
        status: c.status,
        ...(c.pid ? { pid: c.pid } : {}),
      }))
    },
    stats() {
      return {
        queued: queue.length,
        inFlight: children.reduce((n, c) => n + c.held.size, 0),
        restarts,
        launcherStartupMs: children.flatMap((c) => c.launcherStartupMs),
      }
    },
    async close() {
      closing = true
      if (monitor) clearInterval(monitor)
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((done) => {
              const proc = c.proc
              if (!proc || proc.exitCode !== null) return done()
              const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
              proc.once('exit', () => {
                clearTimeout(t)
                done()
              })
              if (proc.connected)
                proc.send({ t: 'stop' } satisfies ParentMessage, (e) => {
                  if (e) proc.kill('SIGKILL') // gone meanwhile
                })
              else proc.kill('SIGKILL')
            }),
        ),
      )
    },
  }
  return backend
}
