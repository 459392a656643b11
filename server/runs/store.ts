// The run's writes on the hot path, group-committed: whatever accumulates while one write is in
// flight goes out together in the next, one statement per kind (new candidates, rejections,
// evaluation results). A caller's promise resolves once its rows are stored, so nothing is acted
// on before it is persisted, and a busy run pays one statement for many rows instead of one each.
// Results alone wait a few milliseconds for company (RESULT_WAIT_MS): with two workers they arrive
// one at a time, and a statement's fixed cost in the embedded database (parse, plan, commit: ~1 ms)
// was most of the write. New candidates never wait: a worker may be waiting for them.
// The statements are database functions (migration 20261206100000_store_functions) whose plans
// the session caches: planning them cost the embedded database more than running them.
import type { Db } from '../db.ts'
import { pgJson } from '../db/pg-json.ts'

/** what every stored answer carries, evaluated or rejected */
interface AnswerRow {
  id: string
  seq: number
  island: number
  parentIds: string[]
  origin: string
  operator: string
  model?: string | null
  code: string
  codeHash: string
  prompt?: string | null
  response?: string | null
  tokensIn: number
  tokensOut: number
  costUsd: number
  /** its model sent no token counts: they and the cost are estimates, and so is the run's spend from then on */
  usageEstimated?: boolean
}

export interface CandidateRow extends AnswerRow {
  operatorParams: Record<string, unknown>
  guidanceIds?: string[]
  controlGuidanceIds?: string[]
  controlRetrievalId?: string | null
  createdById?: string | null
}

export interface RejectionRow extends AnswerRow {
  reason: string
  /** the hints its prompt was made with */
  guidanceIds?: string[]
}

export interface ResultRow {
  id: string
  attempt: number
  valid: boolean
  score: number | null
  metrics: unknown
  features: unknown
  artifacts: unknown
  error: unknown
  timing: unknown
  workerId: string
  /** the evaluation failed and a repair is owed (runs/repair.ts) */
  repairDue?: boolean
}

interface Pending<T, R> {
  rows: T[]
  waiters: Array<{ from: number; to: number; resolve: (r: R[]) => void; reject: (e: unknown) => void }>
}

/** an answer's columns as the store functions' JSON names them */
function answerColumns(a: AnswerRow) {
  return {
    id: a.id,
    seq: a.seq,
    island: a.island,
    parent_ids: a.parentIds,
    origin: a.origin,
    operator: a.operator,
    model: a.model ?? null,
    code: a.code,
    code_hash: a.codeHash,
    prompt: a.prompt ?? null,
    response: a.response ?? null,
    tokens_in: a.tokensIn,
    tokens_out: a.tokensOut,
    cost_usd: a.costUsd,
    usage_estimated: a.usageEstimated ?? false,
  }
}

const empty = <T, R>(): Pending<T, R> => ({ rows: [], waiters: [] })

/** how long results alone wait for more before they are written, and how many are enough */
export const RESULT_WAIT_MS = 25
export const RESULT_BATCH = 8

export class RunStore {
  private candidates = empty<CandidateRow, void>()
  private rejections = empty<RejectionRow, void>()
  private results = empty<ResultRow, { id: string; evalIndex: number } | null>()
  /** a new best of the run, written with the next batch of results */
  private best: { score: number; candidateId: string } | null = null
  private flushing: Promise<void> | null = null
  private scheduled = false
  /** a flush of results alone, due in RESULT_WAIT_MS (`scheduled`: one in this turn of the event loop) */
  private timer: NodeJS.Timeout | null = null
  /** statements and rows written, for the benchmarks */
  readonly stats = { statements: 0, rows: 0 }

  constructor(
    private readonly db: Db,
    readonly runId: string,
    private readonly resultWaitMs = RESULT_WAIT_MS,
  ) {}

  /** Resolves when the candidate's row is stored (status queued): it may be dispatched then. */
  insertCandidate(row: CandidateRow): Promise<void> {
    return this.enqueue(this.candidates, [row]).then(() => undefined)
  }

  /** Rejected answers are records, not decisions: written with the next batch. */
  insertRejection(row: RejectionRow): Promise<void> {
    return this.enqueue(this.rejections, [row]).then(() => undefined)
  }

  /**
   * Stores evaluation results in the order given, each at the next evaluation index. A result for
   * a candidate that is not queued/running at that attempt (a duplicate delivery) is skipped: null.
   */
  recordResults(
    rows: ResultRow[],
    best?: { score: number; candidateId: string } | null,
  ): Promise<Array<{ id: string; evalIndex: number } | null>> {
    if (best) this.best = best
    return this.enqueue(this.results, rows)
  }

  /** Waits until everything handed in so far is stored. */
  async drain(): Promise<void> {
    while (this.flushing || this.hasRows()) {
      if (this.flushing) await this.flushing
      else await this.flushNow()
    }
  }

  private hasRows() {
    return this.candidates.rows.length > 0 || this.rejections.rows.length > 0 || this.results.rows.length > 0
  }

  private enqueue<T, R>(p: Pending<T, R>, rows: T[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      const from = p.rows.length
      p.rows.push(...rows)
      p.waiters.push({ from, to: p.rows.length, resolve, reject })
      this.schedule()
    })
  }

  private schedule() {
    if (this.flushing) return
    const resultsOnly = !this.candidates.rows.length && !this.rejections.rows.length
    if (resultsOnly && this.results.rows.length < RESULT_BATCH) {
      this.timer ??= setTimeout(() => void this.flushNow(), this.resultWaitMs)
      return
    }
    if (this.scheduled) return
    this.scheduled = true
    // what arrives in this turn of the event loop goes in the same statement
    setImmediate(() => {
      if (this.scheduled) void this.flushNow()
    })
  }

  private flushNow(): Promise<void> {
    if (this.flushing) return this.flushing
    this.scheduled = false
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (!this.hasRows()) return Promise.resolve()
    const candidates = this.candidates
    const rejections = this.rejections
    const results = this.results
    const best = this.best
    this.candidates = empty()
    this.rejections = empty()
    this.results = empty()
    this.best = null
    this.flushing = (async () => {
      await this.settle(candidates, () => this.writeCandidates(candidates.rows))
      await this.settle(rejections, () => this.writeRejections(rejections.rows))
      await this.settle(results, () => this.writeResults(results.rows, best))
    })().finally(() => {
      this.flushing = null
      if (this.hasRows()) this.schedule()
    })
    return this.flushing
  }

  private async settle<T, R>(p: Pending<T, R>, write: () => Promise<R[]>) {
    if (!p.rows.length) return
    try {
      const out = await write()
      for (const w of p.waiters) w.resolve(out.slice(w.from, w.to))
    } catch (e) {
      for (const w of p.waiters) w.reject(e)
    }
  }

  private async exec<T>(text: string, params: unknown[], rows: number): Promise<T[]> {
    this.stats.statements++
    this.stats.rows += rows
    return this.db.sql<T>(text, params)
  }

  private async writeCandidates(rows: CandidateRow[]): Promise<undefined[]> {
    const payload = rows.map((c) => ({
      ...answerColumns(c),
      operator_params: c.operatorParams,
      guidance_ids: c.guidanceIds ?? [],
      control_guidance_ids: c.controlGuidanceIds ?? [],
      control_retrieval_id: c.controlRetrievalId ?? null,
      created_by_id: c.createdById ?? null,
    }))
    await this.exec('SELECT fm_store_candidates($1, $2::jsonb)', [this.runId, pgJson(payload)], rows.length)
    return rows.map(() => undefined)
  }

  private async writeRejections(rows: RejectionRow[]): Promise<undefined[]> {
    const payload = rows.map((r) => ({
      ...answerColumns(r),
      reject_reason: r.reason,
      guidance_ids: r.guidanceIds ?? [],
    }))
    await this.exec('SELECT fm_store_rejections($1, $2::jsonb)', [this.runId, pgJson(payload)], rows.length)
    return rows.map(() => undefined)
  }

  private async writeResults(rows: ResultRow[], best: { score: number; candidateId: string } | null) {
    const payload = rows.map((r, ord) => ({
      ord,
      id: r.id,
      attempt: r.attempt,
      valid: r.valid,
      score: r.score,
      metrics: r.metrics,
      features: r.features,
      artifacts: r.artifacts,
      error: r.error ?? null,
      timing: r.timing,
      worker_id: r.workerId,
      repair_due: r.repairDue ?? false,
    }))
    // only a queued/running candidate at this attempt becomes evaluated, once; each takes the next index
    const stored = await this.exec<{ id: string; eval_index: number }>(
      'SELECT stored_id AS id, stored_eval_index AS eval_index FROM fm_store_results($1, $2::jsonb, $3, $4, $5)',
      // the ids again as an array: the candidates are then updated by primary key (the planner
      // cannot estimate how few rows the JSON holds)
      [this.runId, pgJson(payload), best?.candidateId ?? null, best?.score ?? null, rows.map((r) => r.id)],
      rows.length,
    )
    const byId = new Map(stored.map((s) => [s.id, s.eval_index]))
    return rows.map((r) => (byId.has(r.id) ? { id: r.id, evalIndex: byId.get(r.id)! } : null))
  }
}
