// How many model requests a run keeps in flight, by the rules TCP uses: an initial window (a limit
// above it is reached by doubling each window while requests succeed, so a wrong key or a strict rate
// limit costs a window of requests, not a burst), then additive increase, multiplicative decrease: a
// provider that answers 429 or times out gets half as many requests at once, and a healthy one grows
// back one request per window of successes, within the configured bounds.

/**
 * Requests in flight before the first answers have come back (TCP's initial window is 10 segments):
 * the default limit's own 16, so that a run's cold start (its generators' requests, about 20) goes out
 * in two rounds of model latency, not three; a larger configured limit is reached by slow start.
 */
export const INITIAL_REQUESTS = 16

export class AdaptiveLimit {
  private value: number
  /** requests finished so far; a push-back halves the limit at most once per window of them */
  private finished = 0
  private nextBackOffAt = 0
  private slowStart = true

  constructor(
    readonly max: number,
    readonly min = 1,
    start = Math.min(max, INITIAL_REQUESTS),
  ) {
    if (!(max >= 1)) throw new RangeError('the limit needs max ≥ 1')
    this.min = Math.max(1, Math.min(min, max))
    this.value = Math.min(max, Math.max(this.min, start))
  }

  /** requests allowed in flight now */
  get current(): number {
    return Math.floor(this.value)
  }

  /**
   * The provider pushed back (429, overload, timeout). The requests already in flight were sent at
   * the old limit and may push back too: the limit halves once per window, not once per request.
   */
  backOff() {
    if (this.finished < this.nextBackOffAt) return
    this.slowStart = false
    this.value = Math.max(this.min, Math.floor(this.value / 2))
    this.nextBackOffAt = this.finished + this.current
  }

  /** a request succeeded: one more in flight per success while starting, then one per window */
  succeed() {
    this.finished++
    this.value = Math.min(this.max, this.value + (this.slowStart ? 1 : 1 / Math.max(1, this.current)))
  }

  /** the push-backs so far came from a member now left out: grow back by doubling, as at the start */
  regrow() {
    this.slowStart = true
    this.nextBackOffAt = this.finished
  }

  /** a request failed for another reason (no change, but the window moves on) */
  fail() {
    this.finished++
  }
}

/** Time-weighted mean of a gauge (requests in flight, candidates waiting, workers busy). */
export class GaugeMean {
  private area = 0
  private since: number
  private last: number
  private value = 0

  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now()
    this.last = this.since
  }

  set(value: number) {
    const t = this.now()
    this.area += this.value * (t - this.last)
    this.last = t
    this.value = value
  }

  /** the mean since the last take (or the start), and start a new period */
  take(): number {
    this.set(this.value)
    const span = this.last - this.since
    const mean = span > 0 ? this.area / span : this.value
    this.area = 0
    this.since = this.last
    return mean
  }
}

/** An exponentially weighted moving average; null until the first sample. */
export class Ewma {
  private v: number | null = null

  constructor(private readonly weight = 0.1) {}

  add(x: number) {
    if (Number.isFinite(x)) this.v = this.v === null ? x : this.v + this.weight * (x - this.v)
  }

  get value(): number | null {
    return this.v
  }
}

/**
 * How many produced candidates may wait for a worker before the engine stops asking the model for
 * more. A few per worker keep the workers fed while parents stay fresh; but an answer asked for now
 * arrives one model latency later, by when the workers will have taken latency / service time of
 * them each: with a slow model, stopping at a few per worker would let the requests go out in
 * bursts behind the queue instead of keeping them in flight. Never more than that plus a pool's worth.
 */
export function waitingLimit(o: {
  capacity: number
  maxRequests: number
  /** mean model request time, ms (null: none finished yet) */
  latencyMs: number | null
  /** mean evaluation time on a worker, ms (null: none finished yet) */
  serviceMs: number | null
}): number {
  const base = Math.max(2, 2 * o.capacity)
  if (!o.latencyMs || !o.serviceMs) return base
  const drained = Math.ceil((o.capacity * o.latencyMs) / o.serviceMs)
  return Math.max(base, Math.min(drained, base + o.maxRequests))
}
