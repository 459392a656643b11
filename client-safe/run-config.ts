// A run's configuration: snapshotted when the run is created (with the problem), so a run can
// be resumed, exported and compared later exactly as it was started. Bounded everywhere.
import { z } from 'zod'
import { ModelConfig, modelId } from './model-config.ts'

export const LLM_OPERATORS = ['diff', 'rewrite', 'crossover'] as const
export const LOCAL_OPERATOR_NAMES = ['perturb', 'crossover-literals', 'crossover-blocks', 'swap'] as const

const weights = <T extends readonly string[]>(names: T) => z.partialRecord(z.enum(names), z.number().min(0).max(1000))

/** bounds of a run's extra seed programs (a fork's candidate and its island's population) */
export const SEED_PROGRAMS_MAX = 64
export const SEED_PROGRAM_MAX_CHARS = 200_000
export const SEED_PROGRAMS_MAX_CHARS = 2_000_000

/**
 * A program the cold start evaluates next to the problem's own seed (origin `seed`): a fork
 * starts from the candidate it was forked from. Where it came from travels with it.
 */
// ids this system made (UUIDs and the like): anything else is a bad reference, refused as input
const RefId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of letters, digits, - and _')

export const SeedProgram = z
  .object({
    code: z
      .string()
      .max(SEED_PROGRAM_MAX_CHARS)
      .refine((c) => c.trim().length > 0, 'a seed program cannot be empty'),
    label: z.string().max(200).optional(),
    sourceRunId: RefId.optional(),
    sourceCandidateId: RefId.optional(),
    /** a knowledge document tagged `seed` it was taken from */
    knowledgeDocId: RefId.optional(),
  })
  .strict()
export type SeedProgram = z.infer<typeof SeedProgram>

/**
 * LLM-supervised feedback (server/runs/judge.ts): a judge model rates evaluated candidates and
 * critiques them for their descendants' prompts; its calls are spend like any model call.
 */
export const JudgeConfig = z
  .object({
    model: ModelConfig,
    /** judge every k-th valid candidate (1: every one) */
    every: z.number().int().min(1).max(10_000).default(1),
    /** judge only candidates among the k best valid ones so far */
    topK: z.number().int().min(1).max(10_000).optional(),
    /** judge calls take at most this share of the run's spend (they count in it, and in its cap) */
    maxSpendShare: z.number().min(0).max(1).default(0.25),
    /** the rating is also a MAP-Elites feature (judge_rating, 0–1 in 5 bins; unjudged candidates have no cell) */
    feature: z.boolean().default(false),
  })
  .strict()
export type JudgeConfig = z.infer<typeof JudgeConfig>

export const RunConfig = z
  .object({
    islands: z.number().int().min(1).max(64).default(4),
    populationPerIsland: z.number().int().min(2).max(10_000).default(40),
    /** kept for old run configs: evaluations follow the workers (backend capacity) live */
    concurrency: z.number().int().min(0).max(1024).default(0),
    /**
     * Model requests in flight at once, independent of the evaluation workers: at most maxInFlight,
     * halved when the provider pushes back (429, timeouts), never below minInFlight.
     */
    generation: z
      .object({
        maxInFlight: z.number().int().min(1).max(1024).default(16),
        minInFlight: z.number().int().min(1).max(1024).default(1),
      })
      .default({ maxInFlight: 16, minInFlight: 1 }),
    migrationInterval: z.number().int().min(1).max(1_000_000).default(40),
    migrationRate: z.number().min(0).max(1).default(0.1),
    /** where mutations come from: offline program operators, or LLMs */
    mutator: z.enum(['local', 'llm']).default('local'),
    localOperators: weights(LOCAL_OPERATOR_NAMES).default({}),
    llmOperators: weights(LLM_OPERATORS).default({ diff: 0.6, rewrite: 0.2, crossover: 0.2 }),
    models: z.array(ModelConfig).max(16).default([]),
    selection: z.enum(['adaptive', 'top-k', 'uniform']).default('adaptive'),
    /** 0: exploit the best; 1: explore broadly. Experts may change it mid-run. */
    exploration: z.number().min(0).max(1).default(0.3),
    /** experts' per-island exploration, by island index: kept with the run so a resume or a restart keeps it */
    islandExploration: z
      .record(z.string().regex(/^\d{1,3}$/), z.number().min(0).max(1))
      .refine((r) => Object.keys(r).length <= 64, 'at most 64 islands')
      .optional(),
    /**
     * weight w of experts' ratings in parent selection (engine/selection.ts): a candidate rated up
     * is drawn (1 + w) times as often as unrated, one rated down (1 + w) times less; 0 ignores ratings
     */
    ratingWeight: z.number().min(0).max(1).default(0.5),
    /**
     * candidates at least this similar (0..1, token-shingle Jaccard) to an existing one on the island
     * are rejected; a program past 200 shingles is measured as if it had 200 (novelty.ts
     * NOVELTY_REFERENCE_SHINGLES), so a focused edit of a large program is not a near-duplicate by size alone
     */
    noveltyThreshold: z.number().min(0.5).max(1).default(0.995),
    stagnationWindow: z.number().int().min(2).max(1_000_000).default(40),
    /** cold start: candidates made by the differently configured generators, before clustering */
    coldStartSize: z.number().int().min(0).max(10_000).optional(),
    promptTokenBudget: z.number().int().min(500).max(1_000_000).default(8000),
    /**
     * share of the prompts in an active hint's (or retrieved knowledge's) scope made without it, at
     * random: the concurrent control its effect is measured against (0 turns controls off)
     */
    controlShare: z.number().min(0).max(0.5).default(0.2),
    /**
     * repair attempts a failed child (crash, timeout, invalid output, failed check) gets: its code,
     * the evaluator's feedback and the error go back to a model with a "fix this" prompt (a chain of
     * at most this many repairs; 0 turns repair off; LLM runs only)
     */
    repairAttempts: z.number().int().min(0).max(5).default(1),
    budget: z
      .object({
        maxEvals: z.number().int().min(1).max(10_000_000).default(300),
        maxSpendUsd: z.number().min(0).max(1_000_000).optional(),
        maxWallS: z
          .number()
          .min(1)
          .max(30 * 86_400)
          .optional(),
      })
      .default({ maxEvals: 300 }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    judge: JudgeConfig.optional(),
    /** programs the cold start evaluates next to the problem's seed (a fork's starting point) */
    seedPrograms: z.array(SeedProgram).max(SEED_PROGRAMS_MAX).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.seedPrograms && c.seedPrograms.reduce((n, p) => n + p.code.length, 0) > SEED_PROGRAMS_MAX_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['seedPrograms'],
        message: `seed programs may hold ${SEED_PROGRAMS_MAX_CHARS.toLocaleString('en')} characters of code in all`,
      })
    }
    if (c.mutator === 'llm' && c.models.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['models'],
        message: 'an LLM run needs at least one model (or use the local operators)',
      })
    } else if (weightsInRange(c) && !hasPositiveWeight(c)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.mutator === 'llm' ? 'models' : 'localOperators'],
        message: `at least one ${c.mutator === 'llm' ? 'model' : 'operator'} needs a weight above 0 (0 takes one out of the choice)`,
      })
    }
  })

// a weight out of range has its own issue already
const weightsInRange = (c: { models: Array<{ weight: number }>; localOperators: Record<string, number | undefined> }) =>
  c.models.every((m) => m.weight >= 0) && Object.values(c.localOperators).every((w) => w === undefined || w >= 0)

/**
 * Whether anything is left to choose from: weight 0 takes a model (an operator) out of the
 * bandit's choice, and with every one out the engine would fall back to all of them.
 */
export function hasPositiveWeight(c: {
  mutator: 'llm' | 'local'
  models: Array<{ weight: number }>
  localOperators: Partial<Record<(typeof LOCAL_OPERATOR_NAMES)[number], number>>
}) {
  return c.mutator === 'llm'
    ? c.models.some((m) => m.weight > 0)
    : LOCAL_OPERATOR_NAMES.some((o) => (c.localOperators[o] ?? 1) > 0)
}

export type RunConfig = z.infer<typeof RunConfig>
export type RunConfigInput = z.input<typeof RunConfig>

export const RUN_STATUSES = ['created', 'cold-start', 'evolving', 'paused', 'completed', 'stopped', 'failed'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
export const ACTIVE_STATUSES: RunStatus[] = ['created', 'cold-start', 'evolving']
export const FINAL_STATUSES: RunStatus[] = ['completed', 'stopped', 'failed']

/** A config for logs, audits and diffs: seed programs summarized (their code can be large). */
export function configSummary(c: RunConfig): Record<string, unknown> {
  const { seedPrograms, ...given } = c
  // the weights the engine uses, where a name left out means 1 (offline) or 0 (model operators):
  // a CLI run's `{}` and a console run's four explicit 1s are the same setting
  const rest = {
    ...given,
    localOperators: Object.fromEntries(LOCAL_OPERATOR_NAMES.map((o) => [o, c.localOperators[o] ?? 1])),
    llmOperators: Object.fromEntries(LLM_OPERATORS.map((o) => [o, c.llmOperators[o] ?? 0])),
  }
  if (!seedPrograms?.length) return rest
  const sources = [...new Set(seedPrograms.map((p) => p.sourceRunId).filter(Boolean))]
  return {
    ...rest,
    seedPrograms: `${seedPrograms.length} program(s)${sources.length ? ` from run ${sources.map((s) => s!.slice(0, 8)).join(', ')}` : ''}`,
  }
}

/**
 * Models whose calls a spend cap could not count: a model without a price costs 0, so with
 * `budget.maxSpendUsd` set such a run would never stop on its cap. Empty when there is no cap.
 */
export function unpricedModels(c: Pick<RunConfig, 'budget' | 'mutator' | 'models' | 'judge'>): string[] {
  return c.budget.maxSpendUsd === undefined ? [] : modelsWithoutPrice(c)
}

/**
 * The models a run calls that have no price (its mutation models, its judge): their calls count $0,
 * so the run's spend is unknown, not $0.00, when there are any.
 */
export function modelsWithoutPrice(c: Pick<RunConfig, 'mutator' | 'models' | 'judge'>): string[] {
  const used = [...(c.mutator === 'llm' ? c.models : []), ...(c.judge ? [c.judge.model] : [])]
  return [
    ...new Set(
      used.filter((m) => m.pricePer1kIn === undefined || m.pricePer1kOut === undefined).map((m) => modelId(m)),
    ),
  ]
}

/** Why a spend is marked ≈: it rests on token counts estimated at 4 characters per token. */
export const SPEND_ESTIMATED_NOTE = 'estimated: the model sends no token counts'

/**
 * A run's spend as text: what its priced calls cost, and that the rest is unknown where some model
 * has no price. `estimated`: some answer came without token counts, so the figure is an estimate
 * (≈) that a reader holding it against a spend cap must not take as the bill.
 */
export function spendText(
  spendUsd: number,
  unpriced: readonly string[],
  usd: (v: number) => string,
  estimated = false,
): string {
  const about = estimated ? '≈ ' : ''
  if (!unpriced.length) return `${about}${usd(spendUsd)}`
  return spendUsd > 0 ? `${about}${usd(spendUsd)} + unknown` : 'unknown'
}

/** What a spend's figure leaves unsaid (no price for some model, estimated token counts); null when it is the bill. */
export function spendNote(spendUsd: number, unpriced: readonly string[], estimated = false): string | null {
  const notes = [
    ...(unpriced.length ? [`no price for ${unpriced.join(', ')}`] : []),
    // an unknown spend has no figure for the estimate to be about
    ...(estimated && (!unpriced.length || spendUsd > 0) ? [SPEND_ESTIMATED_NOTE] : []),
  ]
  return notes.length ? notes.join(' · ') : null
}

/** The dashboard's spend tile: the figure, and under it what bounds it or why it is not exact. */
export function spendTile(
  s: {
    spendUsd: number
    unpriced: readonly string[]
    estimated: boolean
    maxSpendUsd: number | null
    offline: boolean
  },
  usd: (v: number) => string,
): { value: string; sub: string } {
  const bound = s.maxSpendUsd
    ? `of ${usd(s.maxSpendUsd)}`
    : s.offline
      ? 'offline operators cost nothing'
      : 'no spend cap'
  const note = spendNote(s.spendUsd, s.unpriced, s.estimated)
  return {
    value: spendText(s.spendUsd, s.unpriced, usd, s.estimated),
    // no price: the cap cannot count those calls, so the note replaces it, as before
    sub: s.unpriced.length ? note! : note ? `${bound} · ${note}` : bound,
  }
}

export function coldStartSize(c: RunConfig): number {
  return c.coldStartSize ?? Math.min(4 * c.islands + 4, Math.max(8, Math.floor(c.budget.maxEvals / 6)))
}
