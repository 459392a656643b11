// A run's budget under pipelining: evaluations, spend and wall time. Model requests, candidates
// waiting for a worker and evaluations in flight each hold one evaluation slot from the moment
// their request starts, so a run never evaluates more than its budget however much is in flight;
// a request also counts at its expected cost until its real cost is known, so the spend cap is
// overshot by at most the one request that crossed it.

export interface BudgetLimits {
  maxEvals: number
  maxSpendUsd?: number
  maxWallS?: number
}

export class Budget {
  /** evaluations finished and stored */
  evaluations: number
  /** spend recorded so far (model calls, judge calls) */
  spendUsd: number
  /** evaluation slots held by requests, waiting candidates and evaluations in flight */
  held = 0
  /** expected cost of the model requests in flight */
  private expected = 0

  /** seconds run in earlier sessions (a stop, a pause or a crash ended them) */
  private readonly activeBefore: number
  private readonly sessionStart: number

  constructor(
    public limits: BudgetLimits,
    state: { evaluations: number; spendUsd: number; activeS: number },
    private readonly now: () => number = Date.now,
  ) {
    this.evaluations = state.evaluations
    this.spendUsd = state.spendUsd
    this.activeBefore = state.activeS
    this.sessionStart = now()
  }

  /** Seconds the run has been running: earlier sessions and this one, never the time between them. */
  activeS(): number {
    return this.activeBefore + (this.now() - this.sessionStart) / 1000
  }

  /** Why nothing more may start, or null. Counts what is in flight. */
  blocked(): string | null {
    const { maxEvals, maxSpendUsd, maxWallS } = this.limits
    if (this.evaluations + this.held >= maxEvals) return `evaluation budget reached (${maxEvals})`
    if (maxSpendUsd !== undefined && this.spendUsd + this.expected >= maxSpendUsd)
      return `spend budget reached ($${maxSpendUsd})`
    if (maxWallS !== undefined && this.activeS() >= maxWallS) return `time budget reached (${maxWallS} s)`
    return null
  }

  /** Why the run is over once nothing is in flight, or null (what the finished run reports). */
  exhausted(): string | null {
    const { maxEvals, maxSpendUsd, maxWallS } = this.limits
    if (this.evaluations >= maxEvals) return `evaluation budget reached (${maxEvals})`
    if (maxSpendUsd !== undefined && this.spendUsd >= maxSpendUsd) return `spend budget reached ($${maxSpendUsd})`
    if (maxWallS !== undefined && this.activeS() >= maxWallS) return `time budget reached (${maxWallS} s)`
    return null
  }

  /** the wall-clock budget is spent */
  timeUp(): boolean {
    const { maxWallS } = this.limits
    return maxWallS !== undefined && this.activeS() >= maxWallS
  }

  /** Takes a slot (and the request's expected cost) when the budget allows one more; false otherwise. */
  reserve(expectedCostUsd = 0): boolean {
    if (this.blocked() !== null) return false
    this.held++
    this.expected += Math.max(0, expectedCostUsd)
    return true
  }

  /** A call that makes no candidate (a judge's review): its expected cost, when the spend cap allows it. */
  reserveSpend(expectedCostUsd: number): boolean {
    const { maxSpendUsd } = this.limits
    if (maxSpendUsd !== undefined && this.spendUsd + this.expected + expectedCostUsd > maxSpendUsd) return false
    this.expected += Math.max(0, expectedCostUsd)
    return true
  }

  /** A slot taken without asking (an expert's edit, a resubmitted evaluation): counted, never refused here. */
  hold() {
    this.held++
  }

  /** The request's real cost is known: its expected cost leaves, the real one is spent. */
  settle(expectedCostUsd: number, actualCostUsd: number) {
    this.expected = Math.max(0, this.expected - Math.max(0, expectedCostUsd))
    this.spendUsd += actualCostUsd
  }

  /** A held slot ends without an evaluation (rejected, not evaluated, abandoned). */
  release() {
    this.held = Math.max(0, this.held - 1)
  }

  /** A held slot ends with a stored evaluation. */
  evaluated() {
    this.held = Math.max(0, this.held - 1)
    this.evaluations++
  }

  /** Evaluations that may still start. */
  left(): number {
    return Math.max(0, this.limits.maxEvals - this.evaluations - this.held)
  }

  get expectedInFlight() {
    return this.expected
  }
}
