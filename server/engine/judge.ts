// LLM-supervised feedback: a judge model reads an evaluated candidate with its metrics and writes
// a short critique and a 0–1 rating against a rubric (the problem's `judge.rubric`, or the default
// below). The critique goes into the prompts of the candidate's descendants; the rating is a
// secondary metric (and, when the run asks, a MAP-Elites feature), never the primary score.
// Pure: the prompt, the answer's parser, and the policy that decides which candidates are judged.

export const DEFAULT_RUBRIC = [
  'Correctness and robustness: does the program do what the problem asks for every input, without fragile special cases?',
  'Soundness of the approach: is the method a promising route to a better score, or a dead end tuned to the evaluator?',
  'Clarity and simplicity: could another engineer understand and extend it?',
  'Headroom: is there an obvious next improvement the metrics and feedback point to?',
].join('\n')

/** the metric a judge's rating is stored under (a secondary metric, and the MAP-Elites feature) */
export const JUDGE_METRIC = 'judge_rating'

export interface JudgeSubject {
  problem: { name: string; description?: string; language: string; direction: 'max' | 'min'; primaryMetric: string }
  rubric?: string
  code: string
  score: number | null
  metrics: Record<string, unknown>
  feedback?: string
}

const MAX_CODE_CHARS = 24_000
const MAX_TEXT_CHARS = 3_000

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}\n[…truncated]` : s)

/** The request a judge model answers: system rules, and the candidate with its metrics. */
export function buildJudgePrompt(subject: JudgeSubject): { system: string; user: string } {
  const p = subject.problem
  const system = [
    'You review candidate programs produced by an evolutionary program search.',
    'Rate the program from 0 (worthless) to 1 (excellent) against the rubric, and write a short critique (at most five sentences) that tells the next author what to fix or try.',
    'Answer with one JSON object and nothing else: {"rating": <number between 0 and 1>, "critique": "<text>"}',
  ].join('\n')
  const metrics = Object.entries(subject.metrics)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    .slice(0, 40)
    .map(([k, v]) => `- ${k}: ${v}`)
  const user = [
    `## Problem: ${p.name}`,
    p.description ? clip(p.description.trim(), MAX_TEXT_CHARS) : '',
    `The search ${p.direction === 'max' ? 'maximizes' : 'minimizes'} "${p.primaryMetric}".`,
    '## Rubric',
    (subject.rubric ?? DEFAULT_RUBRIC).trim(),
    `## Candidate program (${p.primaryMetric} = ${subject.score ?? 'invalid'})`,
    '```' + p.language,
    clip(subject.code, MAX_CODE_CHARS),
    '```',
    '## Metrics',
    metrics.length ? metrics.join('\n') : '(none)',
    subject.feedback?.trim() ? `## Evaluator feedback\n${clip(subject.feedback.trim(), MAX_TEXT_CHARS)}` : '',
    '## Your review',
    'One JSON object: {"rating": 0..1, "critique": "..."}',
  ]
  return { system, user: user.filter(Boolean).join('\n\n') }
}

export type JudgeAnswer = { ok: true; rating: number; critique: string } | { ok: false; reason: string }

const MAX_CRITIQUE_CHARS = 1500

/**
 * The rating and critique in a judge's answer: a JSON object (bare, fenced or wrapped in prose or a
 * <think> block), else "rating: x" with the rest as the critique. A rating out of 0..1 on a 0–10
 * or 0–100 scale is rescaled; anything else is refused.
 */
export function parseJudgeAnswer(text: string): JudgeAnswer {
  const body = text.replace(/<think>[\s\S]*?<\/think>/gi, '').trim()
  let rating: number | null = null
  let critique = ''
  for (const m of body.matchAll(/\{[\s\S]*?\}/g)) {
    try {
      const o = JSON.parse(m[0]) as Record<string, unknown>
      const r = Number(o.rating ?? o.score)
      if (Number.isFinite(r)) {
        rating = r
        critique = String(o.critique ?? o.feedback ?? o.comment ?? '').trim()
        break
      }
    } catch {
      // not this brace pair
    }
  }
  if (rating === null) {
    const m = body.match(/rating\s*[:=]\s*(-?\d+(?:\.\d+)?)(\s*\/\s*(\d+))?/i)
    if (m) {
      rating = Number(m[1]) / (m[3] ? Number(m[3]) : 1)
      critique = body
        .replace(m[0], '')
        .replace(/^[\s.:;-]+/, '')
        .trim()
    }
  }
  if (rating === null) return { ok: false, reason: 'the answer holds no rating' }
  if (rating > 1 && rating <= 10) rating /= 10
  else if (rating > 10 && rating <= 100) rating /= 100
  if (!(rating >= 0 && rating <= 1)) return { ok: false, reason: `rating ${rating} is outside 0..1` }
  if (!critique) return { ok: false, reason: 'the answer holds no critique' }
  return {
    ok: true,
    rating,
    critique: critique.length > MAX_CRITIQUE_CHARS ? `${critique.slice(0, MAX_CRITIQUE_CHARS)}…` : critique,
  }
}

export interface JudgePolicyConfig {
  /** judge every k-th valid candidate (1: all) */
  every: number
  /** judge only candidates among the k best valid ones seen so far (their score at evaluation) */
  topK?: number
  /** judge calls may take at most this share of the run's spend (judge calls included) */
  maxSpendShare: number
}

/**
 * Which candidates are judged: valid ones, every k-th, only the top k when asked, and only while
 * the judge's spend stays within its share of the run's spend. State: the count of valid
 * candidates seen and the best k scores (rebuilt on resume by replaying observe()).
 */
export class JudgePolicy {
  private seen = 0
  private readonly top: number[] = []

  constructor(
    private readonly cfg: JudgePolicyConfig,
    private readonly direction: 'max' | 'min',
  ) {}

  /** Records a valid candidate's score; true when it ranks among the top k (always true without topK). */
  private observe(score: number): boolean {
    this.seen++
    const k = this.cfg.topK
    if (!k) return true
    const better = (a: number, b: number) => (this.direction === 'max' ? a > b : a < b)
    const inTop = this.top.length < k || better(score, this.top[this.top.length - 1]!)
    if (inTop) {
      this.top.push(score)
      this.top.sort((a, b) => (this.direction === 'max' ? b - a : a - b))
      if (this.top.length > k) this.top.pop()
    }
    return inTop
  }

  /**
   * Whether to judge this candidate (null score: invalid, never judged). `spend` is the run's spend
   * so far and the judge's part of it, `expectedUsd` what the call is expected to cost.
   */
  decide(
    score: number | null,
    spend: { totalUsd: number; judgeUsd: number; expectedUsd: number },
  ): { judge: boolean; reason: string } {
    if (score === null || !Number.isFinite(score)) return { judge: false, reason: 'invalid' }
    const inTop = this.observe(score)
    if ((this.seen - 1) % this.cfg.every !== 0) return { judge: false, reason: `every ${this.cfg.every}th` }
    if (!inTop) return { judge: false, reason: `not in the top ${this.cfg.topK}` }
    const after = spend.judgeUsd + spend.expectedUsd
    if (spend.expectedUsd > 0 && after > this.cfg.maxSpendShare * (spend.totalUsd + spend.expectedUsd))
      return { judge: false, reason: 'judge spend share reached' }
    return { judge: true, reason: 'judged' }
  }
}
