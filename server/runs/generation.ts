// The generation pool: model requests in flight, decoupled from evaluation. Up to `limit.current`
// requests run at once (adaptive: halved when the provider pushes back, grown back on success),
// each model within its own limit; a request's task does the whole step (the model call, the
// screening of its answer, storing it, handing it to the evaluation queue) and reports how the
// provider answered. Offline operators go through the same pool; their requests end at once.
import { AdaptiveLimit, Ewma, GaugeMean } from './concurrency.ts'

export type RequestOutcome = 'ok' | 'push-back' | 'failed'

export interface GenerationTask {
  /** the model (bandit arm) the request goes to; null for offline operators */
  modelId: string | null
  run(): Promise<RequestOutcome>
}

export class GenerationPool {
  readonly limit: AdaptiveLimit
  readonly gauge = new GaugeMean()
  /** how long a request takes, ms (the model call dominates it) */
  readonly latency = new Ewma()
  private inFlight = 0
  private readonly perModel = new Map<string, number>()
  private readonly settledWaiters = new Set<() => void>()

  constructor(
    private readonly opts: {
      max: number
      min?: number
      /** per-model limits by model id (absent: only the pool's limit) */
      perModelMax?: ReadonlyMap<string, number>
      /** after every request: the engine plans the next ones */
      onSettled: () => void
      /** a task threw (a bug or a storage failure): the run cannot go on safely */
      onError: (e: unknown) => void
    },
  ) {
    this.limit = new AdaptiveLimit(opts.max, opts.min ?? 1)
  }

  get size() {
    return this.inFlight
  }

  hasRoom() {
    return this.inFlight < this.limit.current
  }

  /** models taken out of the run: they refused every request (a wrong name, key or endpoint) */
  readonly retired = new Set<string>()

  retire(modelId: string) {
    this.retired.add(modelId)
  }

  /** members left out until a time (ms since epoch): they stopped answering while others answer */
  private readonly parked = new Map<string, number>()

  /**
   * Leaves a member out for `ms`: its requests are planned for the others meanwhile, then it is
   * tried again. The push-backs it caused were its own, so the pool's limit grows back at the
   * start-up pace instead of one request per window.
   */
  park(modelId: string, ms: number, now = Date.now()) {
    this.parked.set(modelId, now + ms)
    this.limit.regrow()
  }

  isParked(modelId: string, now = Date.now()) {
    return (this.parked.get(modelId) ?? 0) > now
  }

  /** models at their own limit now, parked, or retired (the planner leaves them out) */
  saturated(now = Date.now()): Set<string> {
    const out = new Set<string>(this.retired)
    for (const [id, until] of this.parked)
      if (until > now) out.add(id)
      else this.parked.delete(id)
    for (const [id, max] of this.opts.perModelMax ?? []) if ((this.perModel.get(id) ?? 0) >= max) out.add(id)
    return out
  }

  /** the provider pushed back inside a request that is still retrying */
  pushBack() {
    this.limit.backOff()
  }

  start(task: GenerationTask) {
    this.inFlight++
    this.gauge.set(this.inFlight)
    if (task.modelId) this.perModel.set(task.modelId, (this.perModel.get(task.modelId) ?? 0) + 1)
    const started = performance.now()
    task
      .run()
      .then((outcome) => {
        this.latency.add(performance.now() - started)
        if (outcome === 'ok') this.limit.succeed()
        else {
          if (outcome === 'push-back') this.limit.backOff()
          this.limit.fail()
        }
      }, this.opts.onError)
      .finally(() => {
        this.inFlight--
        this.gauge.set(this.inFlight)
        if (task.modelId) this.perModel.set(task.modelId, (this.perModel.get(task.modelId) ?? 1) - 1)
        for (const w of this.settledWaiters) w()
        this.opts.onSettled()
      })
  }

  /** resolves when no request is in flight */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const check = () => {
        if (this.inFlight > 0) return
        this.settledWaiters.delete(check)
        resolve()
      }
      this.settledWaiters.add(check)
    })
  }
}
