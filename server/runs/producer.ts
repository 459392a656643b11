// Where new candidate programs come from: offline program operators, or models through the
// prompt builder and the answer parser. Pure with respect to storage: returns what to persist.
import { buildPrompt, type PromptCandidate, type PromptMode, type PromptRecord } from '../engine/prompt.ts'
import {
  applySearchReplace,
  type ApplyFailureReason,
  describeApply,
  extractFullProgram,
  languageName,
  otherLanguageTag,
  parseAnswer,
} from '../engine/diff.ts'
import { spliceFromEdited } from '../engine/code.ts'
import {
  applyLocalOperator,
  LOCAL_OPERATOR_VARIANTS,
  type LocalOperatorName,
  type StepAdapter,
} from '../engine/operators-local.ts'
import type { Rng } from '../engine/rng.ts'
import type { Ensemble } from '../llm/ensemble.ts'
import type { LlmErrorKind } from '../llm/errors.ts'
import type { RunConfig } from '../../client-safe/run-config.ts'
import { MAX_CODE_BYTES } from '../contracts/evaluation.ts'
import type { ProblemSnapshot } from './service.ts'

export interface Produced {
  code: string
  origin: 'mutation' | 'crossover' | 'cold-start' | 'repair'
  operator: string
  operatorParams: Record<string, unknown>
  description: string
  parentIds: string[]
  model?: string
  prompt?: string
  response?: string
  promptRecord?: PromptRecord
  tokensIn: number
  tokensOut: number
  costUsd: number
  /** the provider sent no token counts (or only some): the counts and the cost are estimates */
  usageEstimated?: boolean
  /** the bandit arm this came from */
  arm: string
  /** what the next prompt on its island tells the model about this answer (a part of it that was not kept) */
  feedback?: string
}

export interface Rejected {
  rejected: true
  reason: string
  parentIds: string[]
  operator: string
  model?: string
  prompt?: string
  response?: string
  tokensIn: number
  tokensOut: number
  costUsd: number
  usageEstimated?: boolean
  arm: string
  /** why, fed back into the next prompt of the island */
  feedback?: string
  /** the model call itself failed (the answer was not the problem) */
  errorKind?: LlmErrorKind
}

export type ProduceResult = Produced | Rejected

/** Offline arms: the variants of literal perturbation and swap, plus the two crossovers. */
export const LOCAL_ARMS = [
  ...LOCAL_OPERATOR_VARIANTS.map((v) => ({ id: v.id, operator: v.operator as LocalOperatorName, options: v.options })),
  { id: 'crossover-literals', operator: 'crossover-literals' as const, options: {} },
  { id: 'crossover-blocks', operator: 'crossover-blocks' as const, options: {} },
]

export function localArmWeights(config: RunConfig) {
  const w = config.localOperators
  return LOCAL_ARMS.map((a) => ({ id: a.id, weight: (w[a.operator] ?? 1) * (a.operator === 'perturb' ? 1.5 : 1) }))
}

/** The cold start's offline variants, taken in turn: every one the run allows (an operator weighted 0 is out). */
export function coldStartArms(config: RunConfig): string[] {
  return localArmWeights(config)
    .filter((a) => a.weight > 0)
    .map((a) => a.id)
}

/**
 * One offline child by the chosen arm. An arm whose operator does not apply here (no literal, no
 * mate…) gives way to another the run allows (`weights`: the run's arms and weights; none given, as
 * in the cold start, every arm), and the child is credited to the arm that made it.
 */
export function produceLocal(
  arm: string,
  parent: { id: string; code: string },
  mate: { id: string; code: string } | null,
  language: string,
  rng: Rng,
  adapter: StepAdapter,
  weights: Array<{ id: string; weight: number }> = LOCAL_ARMS.map((a) => ({ id: a.id, weight: 1 })),
): ProduceResult {
  const spec = LOCAL_ARMS.find((a) => a.id === arm) ?? LOCAL_ARMS[0]
  const input = { code: parent.code, language, mate: mate?.code }
  const apply = (a: (typeof LOCAL_ARMS)[number]) =>
    applyLocalOperator(
      a.operator,
      input,
      rng,
      a.operator === 'perturb' ? { perturb: { ...a.options.perturb, adapter } } : a.options,
    )
  let used = spec
  let r = apply(spec)
  const rest = weights.filter(
    (w) => w.id !== spec.id && w.weight > 0 && (mate !== null || !w.id.startsWith('crossover')),
  )
  while (!r && rest.length) {
    const [next] = rest.splice(rng.weightedIndex(rest.map((w) => w.weight)), 1)
    used = LOCAL_ARMS.find((a) => a.id === next!.id) ?? spec
    r = apply(used)
  }
  if (!r)
    return {
      rejected: true,
      reason: 'no offline operator applies to this program',
      parentIds: [parent.id],
      operator: spec.operator,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
      arm,
    }
  const crossover = r.operator.startsWith('crossover') && mate
  return {
    code: r.code,
    origin: crossover ? 'crossover' : 'mutation',
    operator: `local:${r.operator}`,
    // the arm that made it (the bandit's credit); the one chosen, where it gave way
    operatorParams: { ...r.params, arm: used.id, ...(used.id !== arm ? { insteadOf: arm } : {}) },
    description: r.description,
    parentIds: crossover ? [parent.id, mate!.id] : [parent.id],
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    arm: used.id,
  }
}

export interface LlmProduceInput {
  mode: PromptMode
  modelId: string
  problem: ProblemSnapshot
  parent: PromptCandidate & { artifacts?: Record<string, unknown> }
  mate?: PromptCandidate | null
  inspirations: Array<PromptCandidate & { kind?: 'elite' | 'diverse'; artifacts?: Record<string, unknown> }>
  guidance: Array<{ id: string; text: string; scope?: string }>
  knowledge: Array<{ id: string; text: string; title?: string; source?: string }>
  lessons: string[]
  notes: string[]
  /** the judge's critique of the parent or of its nearest judged ancestor */
  critique?: { fromId: string; text: string; rating: number }
  strategy?: string
  /** the parent failed its evaluation: ask for a fix (origin `repair`) */
  repair?: { kind: string; message: string }
  /** no program yet: ask for a first one from the description (`parent` is a placeholder) */
  scratch?: { signature?: string }
  temperature?: number
  tokenBudget: number
  /** the answer's output limit sent to the model (a capped run's); unset: the model's own */
  maxAnswerTokens?: number
  signal?: AbortSignal
}

/** characters of a model's answer kept on its candidate (the bound oversized programs and judge answers have too) */
export const MAX_STORED_ANSWER_CHARS = 20_000

/**
 * The answer as stored on its candidate. Every candidate keeps its own, and a provider may send
 * up to 32 MB: whole answers made exports hundreds of MB. The program is stored apart, whole.
 */
export function storedAnswer(text: string): string {
  if (text.length <= MAX_STORED_ANSWER_CHARS) return text
  return `${text.slice(0, MAX_STORED_ANSWER_CHARS)}\n[… answer cut here for storage: ${text.length.toLocaleString('en-US')} characters in all, the first ${MAX_STORED_ANSWER_CHARS.toLocaleString('en-US')} kept]`
}

/** how a SEARCH/REPLACE block is written, for the note to a model that wrote one the parser could not read */
const BLOCK_SHAPE =
  '<<<<<<< SEARCH, the exact lines to change, =======, their new text, >>>>>>> REPLACE, each marker on a line of its own'

/** what a model whose blocks did not apply can do about it: one piece of advice per kind of failure */
function applyAdvice(failed: ReadonlyArray<{ reason: ApplyFailureReason }>): string {
  const advice = new Set<string>()
  for (const f of failed)
    advice.add(
      f.reason === 'ambiguous'
        ? 'Make each SEARCH text unique by adding the lines around it.'
        : f.reason === 'outside-evolve-block'
          ? 'Only edit code between the EVOLVE-BLOCK markers.'
          : 'Copy SEARCH text exactly from the current program.',
    )
  return [...advice].join(' ')
}

export async function produceWithModel(ensemble: Ensemble, input: LlmProduceInput): Promise<ProduceResult> {
  const { problem, parent } = input
  const spec = problem.spec
  const mode: PromptMode = input.scratch ? 'full' : input.mode === 'crossover' && !input.mate ? 'diff' : input.mode
  const built = buildPrompt(
    {
      mode,
      problem: {
        name: problem.name,
        description: problem.description,
        language: spec.language,
        direction: spec.direction,
        primaryMetric: spec.primaryMetric,
        reference: spec.reference,
        prompt: spec.prompt,
      },
      parent,
      secondParent: mode === 'crossover' ? (input.mate ?? undefined) : undefined,
      inspirations: input.inspirations,
      guidance: input.guidance,
      knowledge: input.knowledge,
      lessons: input.lessons,
      notes: input.notes,
      critique: input.critique
        ? { text: input.critique.text, rating: input.critique.rating, of: input.critique.fromId }
        : undefined,
      strategy: input.strategy,
      repair: input.repair,
      scratch: input.scratch,
    },
    { maxTokens: input.tokenBudget },
  )
  const system = built.messages.find((m) => m.role === 'system')?.content
  const user = built.messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n\n')
  const promptText = system ? `[system]\n${system}\n\n[user]\n${user}` : user
  const parentIds = input.scratch ? [] : mode === 'crossover' && input.mate ? [parent.id, input.mate.id] : [parent.id]
  const operator = input.scratch ? 'llm:scratch' : `llm:${mode}`
  const base = { parentIds, operator, model: input.modelId, prompt: promptText, arm: input.modelId }
  const r = await ensemble.tryComplete(
    input.modelId,
    { system, user },
    {
      signal: input.signal,
      temperature: input.temperature,
      ...(input.maxAnswerTokens !== undefined ? { maxTokens: input.maxAnswerTokens } : {}),
    },
  )
  if (!r.ok) {
    const e = r.error
    return {
      rejected: true,
      // the run's own stop or failure cancelled it: not the provider's error
      reason: (e.kind === 'aborted' && input.signal?.aborted
        ? `not answered: the run ended before ${input.modelId} answered`
        : `model error from ${input.modelId} (${e.kind}): ${e.message}`
      ).slice(0, 1000),
      ...base,
      tokensIn: e.tokensIn,
      tokensOut: e.tokensOut,
      costUsd: e.costUsd,
      errorKind: e.kind,
    }
  }
  const usage = {
    tokensIn: r.tokensIn,
    tokensOut: r.tokensOut,
    costUsd: r.costUsd,
    ...(r.usageEstimated ? { usageEstimated: true } : {}),
  }
  // cut off at the output limit (OpenAI, Ollama: length; Anthropic, Gemini: max_tokens): whatever
  // program it holds is unfinished, and would be evaluated as a crash or refused for another reason
  if (r.finishReason && /^(length|max_tokens)$/i.test(r.finishReason))
    return {
      rejected: true,
      reason: `answer truncated: the model stopped at its output limit (finish reason ${r.finishReason}${input.maxAnswerTokens !== undefined ? `; ${input.maxAnswerTokens} tokens, the limit a run with a spend cap sends` : ''}); raise the model's maxTokens, or the problem's prompt may ask for too much`,
      ...base,
      response: storedAnswer(r.text),
      ...usage,
      feedback:
        'Your previous answer was cut off at the output limit before it ended. Answer with a shorter edit: SEARCH/REPLACE blocks of only the lines that change.',
    }
  const parsed = parseAnswer(r.text, spec.language, mode === 'full' ? 'full' : 'diff')
  let code: string | null = null
  let description = ''
  let feedback: string | undefined
  if (parsed.kind === 'diff') {
    const applied = applySearchReplace(parent.code, parsed.blocks, { respectEvolveBlocks: true })
    // a block the parser threw away did not apply either: without it the rest is not the model's edit
    const discarded = parsed.issues.filter((i) => i.discarded).map((i) => i.message)
    description = describeApply(applied)
    if (discarded.length > 0) {
      const rest =
        applied.failed.length > 0 ? description : `its other ${parsed.blocks.length} block(s) were not applied either`
      description = [...discarded, rest].join('; ')
      feedback = `Your previous edit was not applied: ${description}. Write each block as ${BLOCK_SHAPE}; an edit is applied only when all its blocks are.`
    } else if (applied.failed.length > 0) {
      const partly =
        applied.matched > 0 ? ' An edit is applied only when all its blocks apply: send them all again.' : ''
      feedback = `Your previous edit was not applied: ${description}. ${applyAdvice(applied.failed)}${partly}`
    } else if (applied.code !== parent.code) code = applied.code
    else {
      // every SEARCH matched: telling the model to copy SEARCH text exactly would send it the wrong way
      const same =
        applied.noops.length === applied.applied
          ? `its REPLACE text is the same as its SEARCH text${applied.applied > 1 ? ` in all ${applied.applied} blocks` : ''}`
          : 'its blocks leave the program as it was'
      description = `the edit changes nothing (${same})`
      feedback = `Your previous edit changed nothing: ${same}. Make the REPLACE text differ from the SEARCH text.`
    }
  } else if (parsed.kind === 'full' && parsed.code && otherLanguageTag(spec.language, parsed.lang ?? '')) {
    // a program in another language fails every time it runs, and then every copy of it is a duplicate
    const [other, own] = [otherLanguageTag(spec.language, parsed.lang ?? ''), languageName(spec.language)]
    description = `its program is in ${other} (a \`${parsed.lang}\` block), and this problem's programs are in ${own}`
    feedback = `Your previous answer was a ${other} program; this problem's programs are ${own}. Answer in ${own}.`
  } else if (parsed.kind === 'full' && parsed.code && input.scratch) {
    code = parsed.code
    description = 'first program, written from the description'
  } else if (parsed.kind === 'full' && parsed.code) {
    // the fence holding the parent's fixed code is the program, not a longer usage example beside it
    const program = extractFullProgram(parsed.text, spec.language, parent.code)?.code ?? parsed.code
    // a full rewrite may only change the EVOLVE-BLOCK regions of a program that has them
    const spliced = spliceFromEdited(parent.code, program, spec.language)
    code = spliced.code
    description = spliced.note ? `full rewrite; ${spliced.note}` : 'full rewrite'
    if (!code) {
      description = spliced.reason ?? 'its rewrite could not be matched to the EVOLVE-BLOCK regions'
      feedback = `Your previous answer was not used: ${description}.${spliced.advice ? ` ${spliced.advice}` : ''}`
    } else if (code === parent.code && spliced.check.ok) {
      description = 'the edit changes nothing (its rewritten program is the same as the current one)'
      feedback =
        'Your previous answer changed nothing: its rewritten program was the same as the current one. Change the program.'
    } else if (code === parent.code) {
      description = 'the edit changes nothing (its rewrite changes only code outside the EVOLVE-BLOCK regions)'
      feedback = 'Your previous answer changed code outside the EVOLVE-BLOCK regions; only edit inside them.'
    } else if (spliced.note) feedback = `Your previous answer was used, but ${spliced.note}.`
  } else {
    description = parsed.issues.map((i) => i.message ?? String(i)).join('; ') || 'no edit found in the answer'
    // the parser's reasons, where it had any: a block it threw away is something the model can fix
    feedback = input.scratch
      ? 'Your previous answer had no fenced program.'
      : parsed.unifiedDiff
        ? `Your previous answer was a unified diff, which is not accepted: answer with SEARCH/REPLACE blocks (${BLOCK_SHAPE}).`
        : parsed.issues.length > 0
          ? `Your previous answer's SEARCH/REPLACE blocks could not be read: ${description}. Write each block as ${BLOCK_SHAPE}.`
          : 'Your previous answer had neither SEARCH/REPLACE blocks nor a fenced program.'
  }
  if (!code || code === parent.code) {
    return {
      rejected: true,
      reason: `answer not applied: ${description}`.slice(0, 1000),
      ...base,
      response: storedAnswer(r.text),
      ...usage,
      feedback,
    }
  }
  // a worker refuses a program past the bound: refused here, where the model can be told
  if (code.length > MAX_CODE_BYTES)
    return {
      rejected: true,
      reason: `answer not evaluated: the program has ${code.length.toLocaleString('en-US')} characters, over the ${MAX_CODE_BYTES.toLocaleString('en-US')} a candidate may have`,
      ...base,
      response: storedAnswer(r.text),
      ...usage,
      feedback: `Your previous answer made the program ${code.length.toLocaleString('en-US')} characters long; a program may have at most ${MAX_CODE_BYTES.toLocaleString('en-US')}. Keep it shorter.`,
    }
  return {
    code,
    origin: input.repair ? 'repair' : input.scratch ? 'cold-start' : mode === 'crossover' ? 'crossover' : 'mutation',
    operator,
    operatorParams: { mode, trimmed: built.trimmed.length, promptTokens: built.estimatedTokens, attempts: r.attempts },
    description,
    parentIds,
    model: r.modelId,
    prompt: promptText,
    response: storedAnswer(r.text),
    promptRecord: built.record,
    ...usage,
    arm: input.modelId,
    ...(feedback ? { feedback } : {}),
  }
}
