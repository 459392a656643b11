// Evaluations in flight: stored candidates go to the evaluation backend as soon as they are
// produced (the backend's queue is where they wait, so a worker that joins mid-run takes work at
// once, and one that leaves simply stops taking it); results come back here, infrastructure
// failures are retried with the next attempt, and every other result goes on to ingestion.
import type { EvaluationBackend, EvalJob, EvalResult } from '../contracts/evaluation.ts'
import { isRetryable, MAX_INFRA_ATTEMPTS } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import type { CodeSketch } from '../engine/novelty.ts'
import type { Logger } from '../log.ts'
import { Ewma } from './concurrency.ts'
import type { ProblemSnapshot } from './service.ts'

/** What the engine remembers of a candidate while it is evaluated. */
export interface InFlight {
  id: string
  island: number
  origin: string
  parentIds: string[]
  parentScore: number | null
  arm: string | null
  cost: number
  attempt: number
  code: string
  prepared: { codeHash: string; sketch: CodeSketch }
  retrieval?: { retrievalId: string; chunkIds: string[] }
  description?: string
  /** operator parameters (the offline step adapter learns from them) */
  operatorParams?: Record<string, unknown>
  /** when it was last handed to the backend (a retry hands it again) */
  submittedAt?: number
  /** workers that answered its earlier attempts with infra errors: its retry goes elsewhere where it can */
  avoidWorkers?: string[]
}

export class Dispatcher {
  private readonly inflight = new Map<string, InFlight>()
  /** how long an evaluation holds a worker, ms: from submission to result, less its time in the queue */
  readonly service = new Ewma()

  constructor(
    private readonly deps: { db: Db; backend: EvaluationBackend; log: Logger },
    private readonly runId: string,
    private readonly problem: () => ProblemSnapshot,
    /** a final result (anything but a retried infra failure) for a candidate of this run; resolves once stored */
    private readonly onFinal: (f: InFlight, r: EvalResult) => void | Promise<void>,
    /** infra failures are retried unless the run is being stopped */
    private readonly retryAllowed: () => boolean,
  ) {}

  get size() {
    return this.inflight.size
  }

  ids(): Set<string> {
    return new Set(this.inflight.keys())
  }

  owns(jobId: string) {
    return this.inflight.has(jobId)
  }

  entries() {
    return [...this.inflight.values()]
  }

  /** evaluations that can run at once now (the backend follows its workers live) */
  capacity() {
    return this.deps.backend.capacity()
  }

  /** candidates handed over that no worker has started yet (an estimate: in flight beyond capacity) */
  waiting() {
    return Math.max(0, this.inflight.size - this.capacity())
  }

  busy() {
    return Math.min(this.inflight.size, this.capacity())
  }

  submit(f: InFlight) {
    this.inflight.set(f.id, f)
    f.submittedAt = Date.now()
    const spec = this.problem().spec
    const job: EvalJob = {
      jobId: f.id,
      runId: this.runId,
      problem: { id: this.problem().id, bundleHash: this.problem().bundleHash },
      language: spec.language,
      code: f.code,
      stage: 0,
      limits: {
        timeoutS: spec.limits.timeoutS,
        memoryMb: spec.limits.memoryMb,
        cpuS: spec.limits.cpuS ?? spec.limits.timeoutS * 2,
      },
      needs: { gpu: !!spec.limits.gpu, languages: [spec.language] },
      attempt: f.attempt,
      enqueuedAt: Date.now(),
      ...(f.avoidWorkers?.length ? { avoidWorkers: f.avoidWorkers } : {}),
    }
    this.deps.backend.submit(job).catch((e) => {
      // the job could not even be queued: an infra error, retried like one
      void this.onResult({
        jobId: f.id,
        attempt: f.attempt,
        workerId: 'engine',
        valid: false,
        metrics: {},
        features: {},
        artifacts: {},
        stage: 0,
        timing: { queuedMs: 0, startedAt: Date.now(), sandboxMs: 0, evaluatorMs: 0 },
        error: { kind: 'infra', message: `could not submit: ${(e as Error).message}` },
      })
    })
  }

  /**
   * Of these evaluations an earlier engine of the run submitted, takes over those the backend still
   * has in hand (server mode), at their attempt; returns their ids. The rest are to be submitted anew.
   */
  async adopt(fs: InFlight[]): Promise<Set<string>> {
    const backend = this.deps.backend
    if (!backend.adopt) return new Set()
    const jobs = fs.map((f) => ({ jobId: f.id, attempt: f.attempt }))
    const taken = new Set<string>()
    await backend.adopt(this.runId, jobs, (adopted) => {
      for (const f of fs) {
        if (!adopted.has(`${f.id}:${f.attempt}`)) continue
        f.submittedAt = Date.now()
        this.inflight.set(f.id, f)
        taken.add(f.id)
      }
    })
    return taken
  }

  /** Resolves once a final result is stored: the queue marks a result delivered only then. */
  async onResult(r: EvalResult) {
    const f = this.inflight.get(r.jobId)
    if (!f || f.attempt !== r.attempt) return // not ours, or a stale attempt: ignored (idempotent)
    if (isRetryable(r) && r.attempt + 1 < MAX_INFRA_ATTEMPTS && this.retryAllowed()) {
      this.deps.log.warn(
        `evaluation ${r.jobId} attempt ${r.attempt} hit an infrastructure error (${r.error?.message}); retrying`,
      )
      f.attempt = r.attempt + 1
      // a broken machine answers every job it takes at once: the same one again would burn the retry
      if (r.workerId !== 'engine') f.avoidWorkers = [...new Set([...(f.avoidWorkers ?? []), r.workerId])].slice(-8)
      // stored first: a resumed engine re-submits at the attempt after the last one it may have sent
      await this.deps.db.sql('UPDATE candidates SET attempt = $2 WHERE id = $1', [r.jobId, f.attempt])
      this.submit(f)
      return
    }
    this.inflight.delete(r.jobId)
    if (f.submittedAt !== undefined && r.workerId !== 'engine')
      this.service.add(Date.now() - f.submittedAt - (r.timing?.queuedMs ?? 0))
    await this.onFinal(f, r)
  }

  /** Forgets what is in flight (a stop abandons it), dropping what no worker has started; returns the ids. */
  abandon(): string[] {
    const jobs = [...this.inflight.values()].map((f) => ({ jobId: f.id, attempt: f.attempt }))
    this.inflight.clear()
    this.deps.backend
      .cancel(jobs)
      .catch((e) => this.deps.log.warn(`run ${this.runId}: queued evaluations not withdrawn: ${(e as Error).message}`))
    return jobs.map((j) => j.jobId)
  }
}
