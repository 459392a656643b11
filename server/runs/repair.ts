// Repair of failed children, as the FM Agent paper's agents fix their own errors: a child whose
// evaluation failed (an exception, a timeout, invalid output, a failed check) goes back to a model
// with its code, the evaluator's feedback and the error, asking for a fix. The answer is a candidate
// of origin `repair` whose parent is the failed child; a chain holds at most `repairAttempts`
// repairs. Repairs are requests of the generation pool like any other (a budget slot and their
// expected cost while in flight). Durable: the statement that stores the failed result marks the
// child `repair_due`, and a repair is owed while no `repair` candidate names the child as its parent,
// so a resumed engine neither loses a pending repair nor repairs a child twice.
import type { EvalResult } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import type { InFlight } from './dispatcher.ts'
import type { PlannedRequest, Planner } from './planner.ts'
import { produceWithModel } from './producer.ts'
import type { RunState } from './state.ts'

/** origins a model wrote: their failures are worth a repair (the seed and experts' edits are not) */
const REPAIRABLE_ORIGINS = new Set(['mutation', 'crossover', 'cold-start', 'repair'])

export interface PendingRepair {
  /** the failed child */
  id: string
  island: number
  /** the model that wrote it (preferred for the repair) */
  model: string | null
  /** repairs in the chain that led to this child (0: a first failure) */
  depth: number
  kind: string
  message: string
}

export function repairDepth(operatorParams: unknown): number {
  const d = (operatorParams as { repairDepth?: unknown } | null | undefined)?.repairDepth
  return typeof d === 'number' && Number.isInteger(d) && d > 0 ? d : 0
}

/** Whether a finished evaluation owes a repair: a model's child that failed for a reason of its own, within the chain's limit. */
export function repairDue(
  c: { origin: string; valid: boolean; errorKind?: string; depth: number },
  attempts: number,
): boolean {
  if (attempts <= 0 || c.valid || !REPAIRABLE_ORIGINS.has(c.origin)) return false
  // infrastructure failures were retried already and say nothing about the program
  if (c.errorKind === 'infra') return false
  return c.depth < attempts
}

/** What the repair prompt says went wrong. */
export function failureOf(
  r: Pick<EvalResult, 'error' | 'valid'>,
  artifacts: Record<string, unknown>,
): { kind: string; message: string } {
  if (r.error) return { kind: r.error.kind, message: r.error.message }
  const feedback = typeof artifacts.feedback === 'string' ? artifacts.feedback : ''
  return {
    kind: 'invalid',
    message: feedback
      ? `the evaluator marked the result invalid: ${feedback}`
      : 'the evaluator marked the result invalid (see its feedback)',
  }
}

export class Repairs {
  private readonly queue: PendingRepair[] = []

  constructor(
    private readonly state: RunState,
    private readonly planner: Planner,
  ) {}

  /** repairs owed and not started */
  get size() {
    return this.queue.length
  }

  /** the failed candidates owed a repair */
  ids() {
    return this.queue.map((p) => p.id)
  }

  /** the most repairs in a chain, for this run (0 when it has no model to ask) */
  attempts() {
    return this.state.config.mutator === 'llm' ? this.state.config.repairAttempts : 0
  }

  /** whether this finished evaluation owes a repair (decided before its result is stored, and stored with it) */
  due(f: InFlight, r: EvalResult, valid: boolean) {
    return repairDue(
      { origin: f.origin, valid, errorKind: r.error?.kind, depth: repairDepth(f.operatorParams) },
      this.attempts(),
    )
  }

  add(f: InFlight, r: EvalResult, artifacts: Record<string, unknown>) {
    this.queue.push({
      id: f.id,
      island: f.island,
      model: f.arm,
      depth: repairDepth(f.operatorParams),
      ...failureOf(r, artifacts),
    })
  }

  /** A repair that could not start after all (the budget refused it): first again next time. */
  putBack(p: PendingRepair) {
    this.queue.unshift(p)
  }

  /** The repairs a previous process owed and had not stored an answer for (a request it lost to a kill). */
  async load(db: Db, runId: string) {
    if (this.attempts() === 0) return
    const rows = await db.sql<{
      id: string
      island: number
      model: string | null
      operator_params: unknown
      error: { kind?: string; message?: string } | null
      artifacts: Record<string, unknown> | null
    }>(
      `SELECT c.id, c.island, c.model, c.operator_params, c.error, c.artifacts FROM candidates c
        WHERE c.run_id = $1 AND c.repair_due AND c.status = 'evaluated'
          AND NOT EXISTS (SELECT 1 FROM candidates r WHERE r.run_id = $1 AND r.origin = 'repair' AND r.parent_ids[1] = c.id
                            AND coalesce(r.reject_reason, '') NOT LIKE 'model error%(aborted)%'
                            AND coalesce(r.reject_reason, '') NOT LIKE 'not answered: the run ended%')
        ORDER BY c.eval_index`,
      [runId],
    )
    const members = new Set(this.state.ensemble?.ids ?? [])
    for (const row of rows) {
      const failure = failureOf(
        {
          valid: false,
          error: row.error?.kind ? { kind: row.error.kind as 'crash', message: row.error.message ?? '' } : undefined,
        },
        row.artifacts ?? {},
      )
      this.queue.push({
        id: row.id,
        island: row.island,
        model: row.model && members.has(row.model) ? row.model : null,
        depth: repairDepth(row.operator_params),
        ...failure,
      })
    }
  }

  /** The next repair as a request of the pool, or null when none is owed or every model is at its limit. */
  next(saturated: ReadonlySet<string>): (PlannedRequest & { pending: PendingRepair }) | null {
    const s = this.state
    const p = this.queue[0]
    if (!p || !s.ensemble) return null
    const allowed = s.allowedArms(saturated)
    if (allowed && allowed.length === 0) return null
    const modelId =
      p.model && (!allowed || allowed.includes(p.model)) && s.ensemble.ids.includes(p.model)
        ? p.model
        : s.bandit.choose(s.rng, allowed)
    this.queue.shift()
    const mode = (s.config.llmOperators.diff ?? 0) > 0 ? 'diff' : 'full'
    return {
      kind: 'repair',
      pending: p,
      island: p.island,
      arm: modelId,
      modelId,
      expectedCostUsd: this.planner.expectedCost(modelId, 'repair'),
      parentId: p.id,
      parentScore: null,
      guidanceIds: [],
      operatorParams: { repairDepth: p.depth + 1, repairOf: p.id },
      produce: async (signal) =>
        produceWithModel(s.ensemble!, {
          mode,
          modelId,
          problem: s.problem,
          parent: { id: p.id, code: await s.codeOf(p.id), score: null, artifacts: await s.artifactsOf(p.id) },
          inspirations: [],
          guidance: [],
          knowledge: [],
          lessons: [],
          notes: [],
          repair: { kind: p.kind, message: p.message },
          tokenBudget: s.config.promptTokenBudget,
          maxAnswerTokens: this.planner.answerLimit(modelId),
          signal,
        }),
    }
  }
}
