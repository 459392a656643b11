// The run's judge (LLM-supervised feedback, server/engine/judge.ts for the pure parts): for each
// evaluated candidate the policy picks, a judge model writes a critique and a 0–1 rating. The call
// starts as soon as the result is stored, in parallel with other calls; ingestion waits for it in
// the order results finished, so the rating can be a MAP-Elites feature. Its cost is reserved and
// settled in the run's budget like any model call, and written to the run's spend with the review.
import type { Db } from '../db.ts'
import { buildJudgePrompt, JUDGE_METRIC, JudgePolicy, parseJudgeAnswer } from '../engine/judge.ts'
import { estimateTokens } from '../engine/prompt.ts'
import type { LlmClientOptions } from '../llm/client.ts'
import { costUsd } from '../../client-safe/model-config.ts'
import { Ensemble } from '../llm/ensemble.ts'
import type { Logger } from '../log.ts'
import type { Budget } from './budget.ts'
import type { JudgeConfig } from '../../client-safe/run-config.ts'
import type { RunState } from './state.ts'

/** What is stored in candidates.judge: a review, or why the call gave none (its cost counts either way). */
export interface JudgeRecord {
  rating?: number
  critique?: string
  error?: string
  model: string
  tokensIn: number
  tokensOut: number
  costUsd: number
  /** the judge's model sent no token counts: they and the cost are estimates */
  usageEstimated?: boolean
  prompt: string
  response?: string
}

const EXPECTED_ANSWER_TOKENS = 300
/** failed reviews in a row (model errors) before the judge is switched off for the session */
const MAX_JUDGE_FAILURES = 5
/**
 * Ingestion waits for each review in order, so a judge's call is bounded tighter than a mutation's
 * (300 s by default): a judge that never answered had held a 3-second run for 5 minutes.
 */
const JUDGE_RETRY = { maxAttempts: 2, totalTimeoutMs: 90_000 }

export class Judge {
  private readonly ensemble: Ensemble
  private readonly policy: JudgePolicy
  private readonly modelId: string
  /** spend of judge calls so far (stored ones plus this process's) */
  private spentUsd = 0
  /** model errors in a row; and why the judge is off for this session, once it is */
  private failures = 0
  private off: string | null = null

  private constructor(
    private readonly d: { db: Db; state: RunState; budget: Budget; log: Logger; signal: AbortSignal },
    private readonly cfg: JudgeConfig,
    llm: LlmClientOptions,
  ) {
    this.ensemble = new Ensemble([cfg.model], { ...llm, retry: { ...JUDGE_RETRY, ...llm.retry } })
    this.modelId = this.ensemble.ids[0]!
    this.policy = new JudgePolicy(cfg, d.state.direction)
  }

  /** A judge for the run, its policy and spend rebuilt from what is stored. */
  static async create(
    d: { db: Db; state: RunState; budget: Budget; log: Logger; signal: AbortSignal },
    cfg: JudgeConfig,
    llm: LlmClientOptions,
  ) {
    const j = new Judge(d, cfg, llm)
    const rows = await d.db.prisma.candidate.findMany({
      where: { runId: d.state.runId, status: 'evaluated' },
      select: { score: true, judge: true },
      orderBy: [{ evalIndex: 'asc' }, { seq: 'asc' }],
    })
    for (const r of rows) {
      j.policy.decide(r.score, { totalUsd: 0, judgeUsd: 0, expectedUsd: 0 })
      j.spentUsd += (r.judge as JudgeRecord | null)?.costUsd ?? 0
    }
    return j
  }

  /** Whether the run's rating is a MAP-Elites feature. */
  get feature() {
    return this.cfg.feature
  }

  /** Reviews a stored, evaluated candidate when the policy picks it; null when it does not (or the budget forbids). */
  async review(c: {
    id: string
    code: string
    score: number | null
    metrics: Record<string, unknown>
    artifacts: Record<string, unknown>
  }): Promise<JudgeRecord | null> {
    const s = this.d.state
    const spec = s.problem.spec
    const prompt = buildJudgePrompt({
      problem: {
        name: s.problem.name,
        description: s.problem.description,
        language: spec.language,
        direction: spec.direction,
        primaryMetric: spec.primaryMetric,
      },
      rubric: spec.judge?.rubric,
      code: c.code,
      score: c.score,
      metrics: c.metrics,
      feedback: typeof c.artifacts.feedback === 'string' ? c.artifacts.feedback : undefined,
    })
    const expected = costUsd(
      this.cfg.model,
      estimateTokens(prompt.system) + estimateTokens(prompt.user),
      EXPECTED_ANSWER_TOKENS,
    )
    const budget = this.d.budget
    const decision = this.policy.decide(c.score, {
      totalUsd: budget.spendUsd,
      judgeUsd: this.spentUsd,
      expectedUsd: expected,
    })
    if (this.off || !decision.judge || this.d.signal.aborted || !budget.reserveSpend(expected)) return null
    const r = await this.ensemble.tryComplete(this.modelId, prompt, { signal: this.d.signal, temperature: 0 })
    const spent = r.ok ? r.costUsd : r.error.costUsd
    budget.settle(expected, spent)
    this.spentUsd += spent
    const base = { model: this.modelId, prompt: `[system]\n${prompt.system}\n\n[user]\n${prompt.user}` }
    if (r.ok) this.failures = 0
    else if (r.error.kind !== 'aborted') this.failed(`model error (${r.error.kind}): ${r.error.message}`)
    if (!r.ok)
      return {
        ...base,
        error: `model error (${r.error.kind}): ${r.error.message}`.slice(0, 500),
        tokensIn: r.error.tokensIn,
        tokensOut: r.error.tokensOut,
        costUsd: spent,
      }
    const parsed = parseJudgeAnswer(r.text)
    const usage = {
      tokensIn: r.tokensIn,
      tokensOut: r.tokensOut,
      costUsd: spent,
      ...(r.usageEstimated ? { usageEstimated: true } : {}),
      response: r.text.slice(0, 20_000),
    }
    if (!parsed.ok) {
      this.d.log.warn(`run ${s.runId}: the judge's answer for ${c.id} was not usable (${parsed.reason})`)
      return { ...base, ...usage, error: parsed.reason }
    }
    return { ...base, ...usage, rating: parsed.rating, critique: parsed.critique }
  }

  /**
   * A review the judge's model could not give: said at the first of a streak (a judge failing every
   * call had been silent, paid for 196 requests), and after MAX_JUDGE_FAILURES in a row the judge is
   * off for this session, the run going on without reviews.
   */
  private failed(why: string) {
    const s = this.d.state
    if (++this.failures === 1)
      this.d.log.warn(`run ${s.runId}: the judge ${this.modelId} gave no review (${why.slice(0, 300)})`)
    if (this.failures < MAX_JUDGE_FAILURES || this.off) return
    this.off = why
    this.d.log.warn(
      `run ${s.runId}: the judge ${this.modelId} failed ${MAX_JUDGE_FAILURES} reviews in a row (${why.slice(0, 300)}); it is off for the rest of this session and the run goes on without reviews (resume the run to try it again)`,
    )
  }

  /** Stores the review: on the candidate (the rating also as a secondary metric, and a feature when asked), its cost in the run's spend. */
  async store(id: string, rec: JudgeRecord) {
    const rating = rec.rating ?? null
    await this.d.db.sql(
      `WITH c AS (
         UPDATE candidates SET judge = $2::jsonb,
           metrics = CASE WHEN $3::float8 IS NULL THEN metrics ELSE coalesce(metrics, '{}'::jsonb) || jsonb_build_object('${JUDGE_METRIC}', $3::float8) END,
           features = CASE WHEN $3::float8 IS NULL OR NOT $4::boolean THEN features ELSE coalesce(features, '{}'::jsonb) || jsonb_build_object('${JUDGE_METRIC}', $3::float8) END
         WHERE id = $1 RETURNING 1)
       UPDATE runs SET spend_usd = spend_usd + $5::float8, spend_estimated = spend_estimated OR $7::boolean,
         updated_at = now() WHERE id = $6`,
      [id, JSON.stringify(rec), rating, this.cfg.feature, rec.costUsd, this.d.state.runId, rec.usageEstimated === true],
    )
  }
}
