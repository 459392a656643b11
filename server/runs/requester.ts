// The request path of a run: one model request asked, its answer screened (refusals counted,
// duplicates and answers to banned parents turned away), stored and handed to the evaluation queue.
// A rejected answer is a record with its spend, and its budget slot goes back.
import { randomUUID } from 'node:crypto'
import { formatNumber } from '../../client-safe/format.ts'
import { analyzeCode, nearDuplicate, type CodeSketch } from '../engine/novelty.ts'
import type { LlmErrorKind } from '../llm/errors.ts'
import type { ColdStart } from './cold-start.ts'
import type { InFlight } from './dispatcher.ts'
import type { DriverDeps } from './driver.ts'
import type { RequestOutcome } from './generation.ts'
import type { RunParts } from './load.ts'
import type { PlannedRequest } from './planner.ts'
import type { ProduceResult, Produced } from './producer.ts'
import type { RunState } from './state.ts'

const MAX_CONSECUTIVE_REJECTIONS = 300
/**
 * A model's answers rejected in a row (each one paid for) before the run fails: its evaluation
 * budget, within these bounds. 300 had let a 50-evaluation run pay for 355 answers that never
 * held a usable program.
 */
const MIN_MODEL_REJECTIONS = 40
/** auth, config, bad request: the same answer every time */
const MAX_REFUSALS = 3
/** timeouts, network and server errors after the client's own retries, with no answer between */
const MAX_UNANSWERED = 8
/**
 * A provider that has answered in this run and then stops (an outage, an overload) is waited for
 * this long from its last answer before the run fails; one that never answered fails after
 * MAX_UNANSWERED. Eight calls in flight together fail within one retry schedule (~7-20 s), and a
 * provider's 20-second incident had ended an overnight run.
 */
const OUTAGE_WAIT_MS = 10 * 60_000
/** requests still rate-limited after their retries: the limit slows the run down before it ends it */
const MAX_RATE_LIMITED = 40
/** answers that could not be read (not JSON, no text, an unknown failure), with no usable one between */
const MAX_UNUSABLE = 8
/** a member left out after not answering MAX_UNANSWERED in a row while others answer: first for this long, doubling */
const PARK_FIRST_MS = 60_000
const PARK_MOST_MS = 15 * 60_000
/** a program already in the run: why it is turned away, and which candidate it copies where known */
interface Duplicate {
  reason: string
  of?: string
  near: boolean
}

/** programs whose candidate a duplicate's note can name without an island holding it */
const MADE_BY_KEPT = 4096

/** scores in notes are written as the prompt writes them */
const NOTE_SCORE = { below: 1e-4, atOrAbove: 1e7, digits: 4 }

/** errors that shrink the number of requests in flight */
export const PUSH_BACK: ReadonlySet<LlmErrorKind> = new Set(['rate-limit', 'timeout', 'server'])

export interface RequesterDeps
  extends Pick<DriverDeps, 'events' | 'log' | 'hooks'>,
    Pick<RunParts, 'budget' | 'store' | 'dispatcher' | 'planner' | 'pool'> {
  runId: string
  state: RunState
  cold: ColdStart
  signal: AbortSignal
  halted(): boolean
  failNow(reason: string): void
  /** ends the run as completed: the search has nothing new left to try */
  exhausted(reason: string): void
}

export class Requester {
  private consecutiveRejections = 0
  /** models whose answers came without token counts, said once each */
  private readonly estimatedSaid = new Set<string>()
  /** the streak's reasons, shortened, with how many times each came */
  private readonly streakReasons = new Map<string, number>()
  private unanswered = 0
  /** when a model last answered in this session (null: none has yet); and whether its silence was said */
  private lastAnswerAt: number | null = null
  private outageSaid = false
  private rateLimited = 0
  private unusable = 0
  /** refusals in a row, per model: one member of an ensemble with a wrong name or key is taken out, not the run */
  private readonly refusedBy = new Map<string, number>()
  /** timeouts, network and server errors in a row, per model; and how often each was left out */
  private readonly downBy = new Map<string, number>()
  private readonly parkedTimes = new Map<string, number>()
  private toldPromptSize = false
  /**
   * which candidate each program this session sent to evaluation lately is (the newest MADE_BY_KEPT:
   * those in flight or just ingested, which no island holds yet): a duplicate's note names it. Kept
   * bounded, or it would grow with the run; older ones are found among the islands' members.
   */
  private readonly madeBy = new Map<string, string>()

  constructor(private readonly d: RequesterDeps) {}

  /** One request: ask, screen the answer, store it, hand it to the evaluation queue. */
  async request(req: PlannedRequest): Promise<RequestOutcome> {
    const { state: s, budget, cold } = this.d
    let r: ProduceResult
    try {
      r = await req.produce(this.d.signal)
    } catch (e) {
      budget.settle(req.expectedCostUsd, 0)
      budget.release()
      this.d.log.warn(`run ${this.d.runId}: a request failed before its answer: ${(e as Error).message}`)
      return 'failed'
    }
    budget.settle(req.expectedCostUsd, r.costUsd)
    if (req.modelId) this.d.planner.observeCost(req.modelId, req.kind, r.costUsd)
    if (r.usageEstimated && req.modelId && !this.estimatedSaid.has(req.modelId)) {
      // the spend (and a spend cap) then rests on an estimate: said once per model, not per answer
      this.estimatedSaid.add(req.modelId)
      this.d.log.warn(
        `run ${this.d.runId}: ${req.modelId} sends no token counts with its answers (or only some): they are estimated at 4 characters per token, so the run's spend${budget.limits.maxSpendUsd !== undefined ? ' and its spend cap' : ''} rest on estimates`,
      )
    }
    this.tellPromptSize(r.prompt)
    // an answer came (used or not): the model is reachable and takes the requests
    if (!('rejected' in r) || !r.errorKind) {
      if (this.outageSaid && this.lastAnswerAt !== null)
        this.d.log.info(
          `run ${this.d.runId}: the model answers again, after ${Math.round((Date.now() - this.lastAnswerAt) / 1000)} s`,
        )
      this.outageSaid = false
      this.lastAnswerAt = Date.now()
      this.unanswered = this.rateLimited = this.unusable = 0
      if (req.modelId) {
        this.refusedBy.delete(req.modelId)
        this.downBy.delete(req.modelId)
        this.parkedTimes.delete(req.modelId)
      }
    }
    if ('rejected' in r) {
      if (req.kind === 'evolve') s.bandit.update(r.arm, 0, r.costUsd)
      if (r.feedback) s.setNote(req.island, req.parentId, r.feedback)
      this.countModelError(r.errorKind, r.reason, req.modelId)
      this.reject(req, r)
      return r.errorKind && PUSH_BACK.has(r.errorKind)
        ? 'push-back'
        : r.errorKind && r.errorKind !== 'aborted'
          ? 'failed'
          : 'ok'
    }
    // a usable answer clears the note of an earlier one (a duplicate sets its own below)
    s.setNote(req.island, req.parentId, r.feedback)
    const prepared = analyzeCode(r.code, s.language)
    // checked again after the wait, with nothing between it and the hash being taken: an answer
    // with the same code, screened meanwhile, is stored by then
    const duplicate =
      this.copyReason(req, r, prepared) ??
      (await this.nearMemberReason(req, r, prepared)) ??
      this.copyReason(req, r, prepared)
    if (duplicate) {
      if (req.kind === 'evolve') s.bandit.update(r.arm, 0, r.costUsd)
      // untold, the model is asked the same question again and, answering alike, makes the same program;
      // the producer's note on this answer ("it was used, but …") would not be true of an answer turned away
      s.setNote(req.island, req.parentId, this.duplicateNote(duplicate))
      this.reject(req, { ...r, rejected: true, reason: duplicate.reason }, prepared.codeHash, r.code)
      return 'ok'
    }
    // checked after the last wait before the row is handed to the store: a ban applied meanwhile is seen
    const bannedParent = r.parentIds.find((p) => s.banned.has(p))
    if (bannedParent) {
      // planned before the ban arrived: its child is not evaluated, so a banned candidate is never a parent afterwards
      this.reject(
        req,
        {
          ...r,
          rejected: true,
          reason: `not evaluated: its parent ${bannedParent} was banned while the request was in flight`,
        },
        prepared.codeHash,
        r.code,
      )
      return 'ok'
    }
    if (this.d.halted() || budget.timeUp()) {
      // made (and paid for) while the run stopped or ran out of time: kept, not evaluated
      this.reject(
        req,
        { ...r, rejected: true, reason: 'not evaluated: the run reached its budget or was halted' },
        prepared.codeHash,
        r.code,
      )
      return 'ok'
    }
    this.consecutiveRejections = 0
    this.streakReasons.clear()
    s.hashes.add(prepared.codeHash)
    const id = randomUUID()
    this.madeBy.set(prepared.codeHash, id)
    if (this.madeBy.size > MADE_BY_KEPT) this.madeBy.delete(this.madeBy.keys().next().value!)
    const inColdPool = cold.takes(req)
    if (inColdPool) cold.screened(req, prepared.sketch)
    const operatorParams = req.operatorParams ? { ...r.operatorParams, ...req.operatorParams } : r.operatorParams
    const f: InFlight = {
      id,
      island: req.island,
      origin: req.kind === 'cold-start' ? 'cold-start' : req.kind === 'repair' ? 'repair' : r.origin,
      parentIds: r.parentIds,
      parentScore: req.parentScore,
      // a repair teaches the bandit nothing about how well its model mutates
      arm: req.kind === 'repair' ? null : r.arm,
      cost: r.costUsd,
      attempt: 0,
      code: r.code,
      prepared,
      retrieval: req.retrieval,
      description: r.description,
      operatorParams,
    }
    try {
      await this.d.store.insertCandidate({
        id: f.id,
        seq: s.takeSeq(),
        island: f.island,
        parentIds: f.parentIds,
        origin: f.origin,
        operator: r.operator,
        operatorParams: { ...operatorParams, description: r.description },
        model: r.model,
        code: r.code,
        codeHash: prepared.codeHash,
        prompt: r.prompt,
        response: r.response,
        tokensIn: r.tokensIn,
        tokensOut: r.tokensOut,
        costUsd: r.costUsd,
        usageEstimated: r.usageEstimated,
        guidanceIds: req.guidanceIds,
        controlGuidanceIds: req.controlGuidanceIds,
        controlRetrievalId: req.controlRetrievalId,
      })
    } catch (e) {
      budget.release()
      throw e
    }
    if (inColdPool) cold.stored(f.id, f.code)
    const hooks = this.d.hooks
    if (req.retrieval && hooks?.recordUses) {
      await hooks
        .recordUses({ ...req.retrieval, candidateId: f.id, runId: this.d.runId })
        .catch((e) => this.d.log.warn(`knowledge use not recorded: ${e.message}`))
    }
    this.d.dispatcher.submit(f)
    return 'ok'
  }

  /** An exact copy of a candidate, or a near copy of an earlier cold-start one: no wait, so the
   * verdict holds until the answer's hash is taken. */
  private copyReason(
    req: PlannedRequest,
    r: Produced,
    prepared: { codeHash: string; sketch: CodeSketch },
  ): Duplicate | null {
    const s = this.d.state
    if (s.hashes.has(prepared.codeHash)) {
      const of =
        this.madeBy.get(prepared.codeHash) ??
        s.evo.islands.map((isl) => isl.idOfHash(prepared.codeHash)).find((id) => id !== undefined)
      return { reason: 'duplicate of an existing candidate (same normalized code)', of, near: false }
    }
    if (this.d.cold.takes(req) && this.d.cold.nearDuplicate(r.code, prepared.sketch))
      return { reason: 'near-duplicate of an earlier cold-start candidate', near: true }
    return null
  }

  /** The note for the next prompt on the parent of an answer that copied a candidate: which one, and how it did. */
  private duplicateNote(dup: Duplicate): string {
    const score = dup.of === undefined ? undefined : this.d.state.scores.get(dup.of)
    const status =
      score === undefined ? '' : score === null ? ', invalid' : `, score ${formatNumber(score, 8, NOTE_SCORE)}`
    const which = dup.of === undefined ? '' : ` (candidate ${dup.of.slice(0, 8)}${status})`
    const what =
      score === undefined
        ? `${dup.near ? 'nearly the same as one ' : ''}this run already has${which}`
        : `${dup.near ? 'nearly the same as one ' : ''}already evaluated${which}`
    return `Your previous answer produced a program ${what}; propose a different change.`
  }

  /** A near copy of a member of the request's island (confirmed on the member's code, read back). */
  private async nearMemberReason(
    req: PlannedRequest,
    r: Produced,
    prepared: { codeHash: string; sketch: CodeSketch },
  ): Promise<Duplicate | null> {
    const s = this.d.state
    if (this.d.cold.takes(req) || req.island < 0) return null
    const threshold = s.config.noveltyThreshold
    const verdict = s.evo.checkNovelty(req.island, prepared, threshold)
    if (verdict.novel) return null
    // MinHash cannot tell a one-literal change (exact similarity ≈ 0.99) from a copy; confirm on the code
    const near = verdict.nearest
    if (near && !nearDuplicate(r.code, await s.codeOf(near.id).catch(() => ''), s.language, threshold)) return null
    return {
      reason: `near-duplicate of ${near?.id ?? 'a member'} (similarity ${near ? near.similarity.toFixed(3) : '≥ threshold'})`,
      of: near?.id,
      near: true,
    }
  }

  /**
   * Once a run: prompts well over promptTokenBudget. The program in it is never cut, so a large
   * program makes every call that large, and nothing else would say so before the bill does.
   */
  private tellPromptSize(prompt: string | undefined) {
    const budget = this.d.state.config.promptTokenBudget
    const tokens = Math.ceil((prompt?.length ?? 0) / 4)
    if (this.toldPromptSize || tokens <= 1.5 * budget) return
    this.toldPromptSize = true
    this.d.log.warn(
      `run ${this.d.runId}: prompts are about ${tokens.toLocaleString('en-US')} tokens, over promptTokenBudget (${budget.toLocaleString('en-US')}): the program itself does not fit and is never cut, so every call costs about that much; keep data out of the program, or raise promptTokenBudget to accept it`,
    )
  }

  private countModelError(kind: LlmErrorKind | undefined, reason: string, modelId: string | null) {
    if (!kind || kind === 'aborted') return
    if (kind === 'auth' || kind === 'config' || kind === 'bad-request') {
      // a member already taken out: what it still had in flight says nothing new
      if (modelId && this.d.pool.retired.has(modelId)) return
      const refusals = (this.refusedBy.get(modelId ?? '') ?? 0) + 1
      this.refusedBy.set(modelId ?? '', refusals)
      if (refusals < MAX_REFUSALS) return
      const s = this.d.state
      const others = modelId
        ? (s.allowedArms(new Set([...this.d.pool.retired, modelId])) ??
          (s.ensemble?.ids ?? []).filter((id) => id !== modelId))
        : []
      if (modelId && others.length) {
        // the others answer: this one is misconfigured, and the run goes on without it
        this.d.pool.retire(modelId)
        this.d.log.warn(
          `run ${this.d.runId}: ${modelId} refused ${MAX_REFUSALS} requests in a row (${reason.slice(0, 300)}); it is taken out of this run, ${others.join(', ')} go${others.length > 1 ? '' : 'es'} on (check its name, base URL and API key variable)`,
        )
        return
      }
      this.d.failNow(
        `the model provider refused ${MAX_REFUSALS} requests in a row (${reason.slice(0, 300)}); check the model name, its base URL and its API key variable`,
      )
    } else if (kind === 'rate-limit') {
      if (++this.rateLimited >= MAX_RATE_LIMITED)
        this.d.failNow(
          `the provider rate-limited ${MAX_RATE_LIMITED} requests in a row, after retries (${reason.slice(0, 300)}); raise its limit or lower generation.maxInFlight`,
        )
    } else if (kind === 'timeout' || kind === 'network' || kind === 'server') {
      if (modelId && this.parkMember(modelId, reason)) return
      if (++this.unanswered < MAX_UNANSWERED) return
      const silentMs = this.lastAnswerAt === null ? null : Date.now() - this.lastAnswerAt
      if (silentMs !== null && silentMs < OUTAGE_WAIT_MS) {
        // it answered before: an outage, waited for (the push-backs keep one request at a time going)
        if (!this.outageSaid)
          this.d.log.warn(
            `run ${this.d.runId}: the model has not answered ${this.unanswered} requests in a row (${reason.slice(0, 300)}); waiting for it, up to ${OUTAGE_WAIT_MS / 60_000} min from its last answer`,
          )
        this.outageSaid = true
        return
      }
      this.d.failNow(
        silentMs === null
          ? `the model did not answer ${MAX_UNANSWERED} requests in a row, after retries (${reason.slice(0, 300)}); check that it is reachable and its timeout (timeoutS)`
          : `the model has not answered for ${Math.round(silentMs / 60_000)} min, ${this.unanswered} requests in a row after retries (${reason.slice(0, 300)}); resume the run once it answers again`,
      )
    } else if (kind === 'malformed' || kind === 'empty' || kind === 'unknown') {
      if (++this.unusable >= MAX_UNUSABLE)
        this.d.failNow(
          `the model's answers could not be used ${MAX_UNUSABLE} times in a row (${reason.slice(0, 300)}); check its base URL (an OpenAI-compatible server's ends in /v1) and that it is a chat model`,
        )
    }
  }

  /**
   * A member of an ensemble that stops answering (timeouts, network or server errors) while the others
   * answer is left out for a while, then tried again: a member down for good had kept taking its
   * share of the requests, each waiting through its retries, and its push-backs held the whole run
   * to one request in flight. True when the error is this member's alone (the run goes on).
   */
  private parkMember(modelId: string, reason: string): boolean {
    // its requests still in flight when it was left out fail too: they say nothing new
    if (this.d.pool.isParked(modelId)) return true
    const s = this.d.state
    const others = (s.allowedArms(new Set([...this.d.pool.saturated(), modelId])) ?? s.ensemble?.ids ?? []).filter(
      (id) => id !== modelId && !this.d.pool.retired.has(id),
    )
    if (!others.length) return false
    const times = this.parkedTimes.get(modelId) ?? 0
    // once it has been left out, one more failure after it is tried again leaves it out again
    const down = (this.downBy.get(modelId) ?? 0) + 1
    this.downBy.set(modelId, down)
    if (down < (times ? 1 : MAX_UNANSWERED)) return true
    const ms = Math.min(PARK_MOST_MS, PARK_FIRST_MS * 2 ** times)
    this.parkedTimes.set(modelId, times + 1)
    this.downBy.set(modelId, 0)
    this.d.pool.park(modelId, ms)
    this.d.log.warn(
      `run ${this.d.runId}: ${modelId} did not answer ${times ? 'again when tried' : `${MAX_UNANSWERED} requests in a row`} (${reason.slice(0, 300)}); it is left out for ${Math.round(ms / 1000)} s while ${others.join(', ')} go${others.length > 1 ? '' : 'es'} on, then tried again`,
    )
    return true
  }

  /** A rejected answer is a record (with its spend); its budget slot goes back. */
  private reject(
    req: PlannedRequest,
    r: Extract<ProduceResult, { rejected: true }> | (Produced & { rejected: true; reason: string }),
    codeHash = '',
    code = '',
  ) {
    const s = this.d.state
    const id = randomUUID()
    this.d.budget.release()
    if (codeHash) s.hashes.add(codeHash)
    void this.d.store
      .insertRejection({
        id,
        seq: s.takeSeq(),
        island: req.island,
        parentIds: r.parentIds,
        origin:
          req.kind === 'repair'
            ? 'repair'
            : r.parentIds.length > 1
              ? 'crossover'
              : req.kind === 'cold-start'
                ? 'cold-start'
                : 'mutation',
        operator: r.operator,
        model: r.model,
        code,
        codeHash,
        prompt: r.prompt,
        response: r.response,
        tokensIn: r.tokensIn,
        tokensOut: r.tokensOut,
        costUsd: r.costUsd,
        usageEstimated: r.usageEstimated,
        reason: r.reason,
        guidanceIds: req.guidanceIds,
      })
      .catch((e) => this.d.failNow(`engine error while storing a rejection: ${(e as Error).message}`))
    this.d.events.publish({
      runId: this.d.runId,
      type: 'rejected',
      payload: {
        id,
        island: req.island,
        reason: r.reason,
        ...('errorKind' in r && r.errorKind ? { errorKind: r.errorKind } : {}),
      },
    })
    // a model's answers, the cold start's included (counted apart, a model whose every answer is
    // unusable was paid twice the bound before the run failed), and its repairs; the offline
    // operators' evolve-stage proposals (their cold start has its own bound, cold-start.ts)
    const local = this.d.state.config.mutator === 'local'
    if (local && req.kind !== 'evolve') return
    const limit = local
      ? MAX_CONSECUTIVE_REJECTIONS
      : Math.min(MAX_CONSECUTIVE_REJECTIONS, Math.max(MIN_MODEL_REJECTIONS, this.d.budget.limits.maxEvals))
    const why = shortReason(r.reason)
    this.streakReasons.set(why, (this.streakReasons.get(why) ?? 0) + 1)
    // the cold start's answers count, but while it runs its own bound decides (and says why in its terms)
    if (++this.consecutiveRejections < limit || req.kind === 'cold-start') return
    // the offline operators repeating themselves is the end of their search, not a fault: their
    // neighbourhood of this population holds nothing new; a model's repeated rejections are a fault
    if (local)
      this.d.exhausted(
        `the offline operators found nothing new: ${limit} proposals in a row repeated evaluated programs or did not apply (a model, --model, searches further)`,
      )
    else {
      const reasons = [...this.streakReasons]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([text, n]) => `${n} × ${text}`)
        .join('; ')
      this.d.failNow(
        `the model's last ${limit} answers were all rejected before evaluation, each one paid for (${reasons}); see the rejected candidates`,
      )
    }
  }
}

/** A rejection's reason without its particulars (ids, similarities, line numbers), to count alike ones together. */
function shortReason(reason: string): string {
  let out = reason
  // innermost parentheses first: details nest
  for (let prev = ''; prev !== out; ) (prev = out), (out = out.replace(/\s+\([^()]*\)/g, ''))
  out = out
    .replace(/\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b/g, '…')
    .slice(0, 120)
    .trim()
  return out || reason.slice(0, 120)
}
