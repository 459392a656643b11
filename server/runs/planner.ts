// Planning one request: which island, parent, mate and inspirations (the population as it is at
// that moment), which model or offline operator, which mode, and what the prompt carries. The
// choice is synchronous (so the pool can count it against the budget and the model's limit at
// once); reading the programs and calling the model happen in the returned request.
import { LLM_OPERATORS } from '../../client-safe/run-config.ts'
import { costUsd } from '../../client-safe/model-config.ts'
import type { IterationPlan } from '../engine/evolution.ts'
import { coldStartArms, localArmWeights, produceLocal, produceWithModel, type ProduceResult } from './producer.ts'
import { STRATEGIES } from '../engine/strategies.ts'
import type { RunState } from './state.ts'
import { withholdForControl } from '../engine/controls.ts'

export interface PlannedRequest {
  kind: 'evolve' | 'cold-start' | 'repair'
  island: number
  /** the bandit arm: a model id, or an offline operator variant */
  arm: string
  /** set for model requests (per-model limits, push-back) */
  modelId: string | null
  expectedCostUsd: number
  parentId: string
  parentScore: number | null
  guidanceIds: string[]
  /** active hints in scope that this prompt is made without (their concurrent control) */
  controlGuidanceIds?: string[]
  /** active retrieved knowledge this prompt is made without */
  controlRetrievalId?: string
  retrieval?: { retrievalId: string; chunkIds: string[] }
  /** stored with the candidate's operator parameters (a repair's place in its chain) */
  operatorParams?: Record<string, unknown>
  /** reads the programs it needs and asks the model (or applies the operator) */
  produce(signal: AbortSignal): Promise<ProduceResult>
}

const COLD_TEMPERATURES = [0.3, 0.7, 1.0]

/** A capped run's answer limit for a model without maxTokens: room for a rewrite of a long program. */
export const CAPPED_ANSWER_TOKENS = 16_384
/** A prompt's tokens are estimated when it is built; the provider's count may be higher. */
const PROMPT_TOKENS_MARGIN = 1.25

/** One of the cold start's generator strategies; one drawn from the knowledge base records its use. */
export interface ColdStrategy {
  text: string
  retrieval?: { retrievalId: string; chunkIds: string[] }
}

export class Planner {
  /** observed cost per request, by model: what a request in flight is expected to cost */
  private readonly meanCost = new Map<string, { n: number; mean: number; peak: number }>()

  constructor(
    private readonly state: RunState,
    private readonly evaluations: () => number,
  ) {}

  /**
   * A call's cost, for what the next ones reserve. A call that failed before its answer cost
   * nothing and says nothing of what an answer costs: it would pull the reservation toward 0.
   */
  observeCost(modelId: string, kind: PlannedRequest['kind'], usd: number) {
    if (!(usd > 0)) return
    const key = `${kind}\u0000${modelId}`
    const m = this.meanCost.get(key) ?? { n: 0, mean: 0, peak: 0 }
    m.n++
    m.mean += (usd - m.mean) / Math.min(m.n, 50)
    m.peak = Math.max(usd, m.peak * 0.98)
    this.meanCost.set(key, m)
  }

  /**
   * The output limit a model request is sent with under a spend cap: the model's maxTokens, else
   * CAPPED_ANSWER_TOKENS. Without a cap, none beyond the model's own (its maxTokens where set).
   */
  answerLimit(modelId: string | null): number | undefined {
    if (this.state.config.budget.maxSpendUsd === undefined || !modelId) return undefined
    const member = this.state.ensemble?.members.find((m) => m.id === modelId)
    return member?.config.maxTokens ?? CAPPED_ANSWER_TOKENS
  }

  /**
   * What a request reserves of the spend cap until its cost is known: the most it can cost, a full
   * prompt and an answer at its output limit (or the dearest recent call, if dearer). A reservation
   * from what earlier answers cost had let 16 requests start on the last cents of a cap when the
   * model's answers turned 50× longer, overshooting it 36×; now the cap is passed by less than one
   * request's largest cost, and requests in flight thin out as the cap nears. Without a cap nothing
   * reads it: the observed cost.
   */
  expectedCost(modelId: string | null, kind: PlannedRequest['kind']): number {
    if (!modelId || !this.state.ensemble) return 0
    const seen = this.meanCost.get(`${kind}\u0000${modelId}`)
    const observed = seen ? Math.max(seen.mean, seen.peak) : 0
    const member = this.state.ensemble.members.find((m) => m.id === modelId)
    if (!member) return observed
    const limit = this.answerLimit(modelId)
    if (limit === undefined) return seen ? observed : costUsd(member.config, this.state.config.promptTokenBudget, 1000)
    const promptTokens = Math.ceil(this.state.config.promptTokenBudget * PROMPT_TOKENS_MARGIN)
    return Math.max(observed, costUsd(member.config, promptTokens, limit))
  }

  /** The next evolve-stage request, or null when no island has a parent or every model is at its limit. */
  evolve(saturated: ReadonlySet<string>): PlannedRequest | null {
    const s = this.state
    const allowed = s.allowedArms(saturated)
    if (allowed && allowed.length === 0) return null
    const plan = s.evo.plan()
    if (!plan) return null
    const arm = s.bandit.choose(s.rng, allowed)
    const island = plan.island
    const hints = withholdForControl(s.activeGuidance(island, this.evaluations()), s.config.controlShare, s.rng)
    const guidance = hints.given
    const base = {
      kind: 'evolve' as const,
      island,
      arm,
      parentId: plan.parent.id,
      parentScore: plan.parent.score,
      guidanceIds: guidance.map((g) => g.id),
      controlGuidanceIds: hints.withheld.map((g) => g.id),
    }
    if (s.config.mutator === 'local') {
      return {
        ...base,
        modelId: null,
        expectedCostUsd: 0,
        produce: async () => {
          const parent = { id: plan.parent.id, code: await s.codeOf(plan.parent.id) }
          const mate = plan.mate ? { id: plan.mate.id, code: await s.codeOf(plan.mate.id) } : null
          return produceLocal(arm, parent, mate, s.language, s.rng, s.adapter, localArmWeights(s.config))
        },
      }
    }
    const weights = LLM_OPERATORS.map((o) => (o === 'crossover' && !plan.mate ? 0 : (s.config.llmOperators[o] ?? 0)))
    const mode = weights.some((w) => w > 0) ? LLM_OPERATORS[s.rng.weightedIndex(weights)] : 'diff'
    const active = s.activeKnowledge(island, this.evaluations())
    const knowledge = withholdForControl(active ? [active] : [], s.config.controlShare, s.rng)
    const kn = knowledge.given[0] ?? null
    const notes = s.notesFor(island, plan.parent.id)
    return {
      ...base,
      modelId: arm,
      expectedCostUsd: this.expectedCost(arm, 'evolve'),
      retrieval: kn ? { retrievalId: kn.retrievalId, chunkIds: kn.chunks.map((c) => c.id) } : undefined,
      controlRetrievalId: knowledge.withheld[0]?.retrievalId,
      produce: (signal) => this.askModel(plan, arm, mode, { guidance, knowledge: kn?.chunks ?? [], notes }, signal),
    }
  }

  private async askModel(
    plan: IterationPlan,
    modelId: string,
    mode: (typeof LLM_OPERATORS)[number],
    context: {
      guidance: ReturnType<RunState['activeGuidance']>
      knowledge: Array<{ id: string; text: string; title?: string; source?: string }>
      notes: string[]
    },
    signal: AbortSignal,
  ): Promise<ProduceResult> {
    const s = this.state
    const parentCode = await s.codeOf(plan.parent.id)
    const mate = plan.mate
      ? {
          id: plan.mate.id,
          code: await s.codeOf(plan.mate.id),
          score: plan.mate.score,
          metrics: s.metrics.get(plan.mate.id),
        }
      : null
    // a crossover shows its second parent as Parent 2: not again among the inspirations
    const shown = mode === 'crossover' && mate ? plan.inspirations.filter((i) => i.id !== mate.id) : plan.inspirations
    const inspirations = await Promise.all(
      shown.map(async (i) => ({
        id: i.id,
        code: await s.codeOf(i.id),
        score: i.score,
        kind: i.kind,
        metrics: s.metrics.get(i.id),
        artifacts: s.artifacts.get(i.id),
      })),
    )
    return produceWithModel(s.ensemble!, {
      mode: mode === 'rewrite' ? 'full' : mode,
      modelId,
      problem: s.problem,
      parent: {
        id: plan.parent.id,
        code: parentCode,
        score: plan.parent.score,
        metrics: s.metrics.get(plan.parent.id),
        artifacts: s.artifacts.get(plan.parent.id),
      },
      mate,
      inspirations,
      guidance: context.guidance.map((g) => ({
        id: g.id,
        text: g.text,
        scope: g.island === null ? 'run' : `island ${g.island}`,
      })),
      knowledge: context.knowledge,
      lessons: s.lessons,
      notes: context.notes,
      critique: s.critiques.get(plan.parent.id),
      tokenBudget: s.config.promptTokenBudget,
      maxAnswerTokens: this.answerLimit(modelId),
      signal,
    })
  }

  /**
   * A cold-start request: the `index`-th differently configured generator (model, strategy,
   * temperature), rewriting `from`, or, with no program yet (`from` null), writing a first one.
   */
  coldStart(
    index: number,
    from: { id: string; code: string } | null,
    saturated: ReadonlySet<string>,
    strategies: readonly ColdStrategy[] = [],
  ): PlannedRequest | null {
    const s = this.state
    const guidance = s.activeGuidance(null, this.evaluations())
    const base = {
      kind: 'cold-start' as const,
      island: -1,
      parentId: from?.id ?? '',
      parentScore: from ? (s.scores.get(from.id) ?? null) : null,
      guidanceIds: guidance.map((g) => g.id),
    }
    if (s.config.mutator === 'local') {
      if (!from) return null
      // every offline variant the run allows in turn: different step sizes, different operators
      const arms = coldStartArms(s.config)
      const arm = arms[index % arms.length]!
      return {
        ...base,
        arm,
        modelId: null,
        expectedCostUsd: 0,
        produce: async () => produceLocal(arm, from, null, s.language, s.rng, s.adapter, localArmWeights(s.config)),
      }
    }
    const ids = s.ensemble!.ids.filter((id) => !saturated.has(id))
    if (!ids.length) return null
    const modelId = ids[index % ids.length]
    const pool: readonly ColdStrategy[] = strategies.length ? strategies : STRATEGIES.slice(0, 4)
    const strategy = pool[index % pool.length]!
    const temperature = COLD_TEMPERATURES[Math.floor(index / pool.length) % COLD_TEMPERATURES.length]
    return {
      ...base,
      arm: modelId,
      modelId,
      expectedCostUsd: this.expectedCost(modelId, 'cold-start'),
      retrieval: strategy.retrieval,
      produce: (signal) =>
        produceWithModel(s.ensemble!, {
          mode: 'full',
          modelId,
          problem: s.problem,
          scratch: from ? undefined : { signature: s.problem.spec.signature },
          parent: from
            ? {
                id: from.id,
                code: from.code,
                score: s.scores.get(from.id) ?? null,
                metrics: s.metrics.get(from.id),
                artifacts: s.artifacts.get(from.id),
              }
            : { id: '', code: '', score: null },
          inspirations: [],
          guidance: guidance.map((g) => ({ id: g.id, text: g.text })),
          knowledge: [],
          lessons: s.lessons,
          notes: [],
          strategy: strategy.text,
          temperature,
          tokenBudget: s.config.promptTokenBudget,
          maxAnswerTokens: this.answerLimit(modelId),
          signal,
        }),
    }
  }
}
