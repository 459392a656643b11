// Prompt building for model-driven mutations. The prompt is assembled from sections with priorities and
// fitted to a token budget by trimming the least important material first (the inspirations' feedback,
// the inspirations, then knowledge, artifacts, a reviewer's critique, notes, lessons, the problem
// description), never the parent code, the expert guidance, a repair's failure or the answer-format
// instructions. It also returns a structured record of what went in, for storage.
import { findEvolveBlocks } from './code.ts'
import { clipReason, type Direction } from './fitness.ts'
import { formatNumber } from '../../client-safe/format.ts'

export type PromptMode = 'diff' | 'full' | 'crossover'

export interface PromptCandidate {
  id: string
  code: string
  score: number | null
  metrics?: Record<string, number | null | undefined>
}

export interface PromptInput {
  mode: PromptMode
  problem: {
    name: string
    description?: string
    language: string
    direction: Direction
    primaryMetric: string
    reference?: { value: number; source?: string }
    /** the problem's prompt settings (ProblemSpec.prompt: an OpenEvolve config.yaml's system message and artifact settings) */
    prompt?: { systemMessage?: string; includeArtifacts?: boolean; maxArtifactChars?: number }
  }
  parent: PromptCandidate & { artifacts?: Record<string, unknown> }
  /** crossover: the second parent */
  secondParent?: PromptCandidate
  /** other programs; their evaluator feedback (artifacts) is shown under them while the budget allows */
  inspirations?: Array<PromptCandidate & { kind?: 'elite' | 'diverse'; artifacts?: Record<string, unknown> }>
  /** a reviewer's critique of the parent (or of its nearest reviewed ancestor): LLM-supervised feedback */
  critique?: { text: string; rating?: number | null; of?: string }
  /** active expert guidance: always included, shown first */
  guidance?: Array<{ id: string; text: string; scope?: string }>
  /** retrieved knowledge chunks, best first */
  knowledge?: Array<{ id: string; text: string; title?: string; source?: string }>
  /** short lessons learned so far */
  lessons?: string[] | string
  /** feedback for this attempt (e.g. why the previous edit did not apply) */
  notes?: string[]
  /** a strategy line from the generator configuration ("try a radically different approach") */
  strategy?: string
  /** the current program failed its evaluation: the prompt asks for a fix, not an improvement */
  repair?: { kind: string; message: string }
  /**
   * there is no program yet (a problem without a seed program): the prompt asks for a first one
   * from the description and what the evaluator calls (`signature`); `parent` is ignored
   */
  scratch?: { signature?: string }
}

export interface PromptOptions {
  /** budget for the whole prompt in estimated tokens (default 12000) */
  maxTokens?: number
  /** token estimator (default estimateTokens) */
  estimator?: (text: string) => number
  /** per-artifact character cap before budget trimming (default 3000) */
  maxArtifactChars?: number
  /** tokens the problem description may be cut down to, at most (default 300) */
  minDescriptionTokens?: number
}

export interface TrimRecord {
  section: string
  action: 'dropped' | 'truncated'
  id?: string
  fromTokens: number
  toTokens: number
}

export interface PromptRecord {
  mode: PromptMode
  parentId: string
  secondParentId?: string
  guidanceIds: string[]
  chunkIds: string[]
  inspirationIds: string[]
  lessons: boolean
  sections: Array<{ name: string; tokens: number }>
}

export interface BuiltPrompt {
  messages: Array<{ role: 'system' | 'user'; content: string }>
  estimatedTokens: number
  budget: number
  /** true when even the untrimmable sections exceed the budget */
  overBudget: boolean
  trimmed: TrimRecord[]
  record: PromptRecord
}

/**
 * Token estimate that errs high for code: each word counts ⌈length/4⌉, each punctuation character 1, each
 * newline 1 and each run of indentation ⌈spaces/4⌉. Prose comes out near chars/4, code somewhat above it
 * (BPE tokenizers split code more than prose).
 */
export function estimateTokens(text: string): number {
  // a scan of character codes, not a regular expression: it runs over every part of every prompt
  let n = 0
  const len = text.length
  let i = 0
  while (i < len) {
    const c = text.charCodeAt(i)
    if (isWordChar(c)) {
      let j = i + 1
      while (j < len && isWordChar(text.charCodeAt(j))) j++
      n += Math.ceil((j - i) / 4)
      i = j
    } else if (c === 10) {
      n += 1
      i++
    } else if (c === 32 || c === 9) {
      let j = i + 1
      while (j < len && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++
      if (j - i >= 2) n += Math.ceil((j - i) / 4)
      i = j
    } else {
      if (!isSpaceChar(c)) n += 1
      i++
    }
  }
  return n
}

const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95

/** what a regular expression's \s matches */
const isSpaceChar = (c: number) =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff

function fence(language: string): string {
  const map: Record<string, string> = {
    python: 'python',
    javascript: 'javascript',
    typescript: 'typescript',
    c: 'c',
    cpp: 'cpp',
    cuda: 'cuda',
  }
  return map[language] ?? language
}

function fmtNum(x: number | null | undefined): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return 'invalid'
  return formatNumber(x, 8, { below: 1e-4, atOrAbove: 1e7, digits: 4 })
}

function metricsLine(c: PromptCandidate, primary: string): string {
  const others = Object.entries(c.metrics ?? {})
    // `private.*` metrics (a ShinkaEvolve task's private ones) are for the user, never the model
    .filter(([k]) => k !== primary && !k.startsWith('private.'))
    .slice(0, 20)
    .map(([k, v]) => `${k}=${fmtNum(v ?? null)}`)
  return `${primary} = ${fmtNum(c.score)}${others.length > 0 ? `; other metrics: ${others.join(', ')}` : ''}`
}

function codeBlock(code: string, language: string): string {
  const longest = Math.max(2, ...Array.from(code.matchAll(/`+/g), (m) => m[0].length))
  const f = '`'.repeat(Math.max(3, longest + 1))
  return `${f}${fence(language)}\n${code.replace(/\n$/, '')}\n${f}`
}

function artifactText(v: unknown): string {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v, null, 1)
  } catch {
    return String(v)
  }
}

/** cut text to about `tokens`, keeping the head (or the tail for logs, where the error usually is) */
function cutTo(text: string, tokens: number, est: (t: string) => number, keep: 'head' | 'tail'): string {
  if (est(text) <= tokens) return text
  let lo = 0
  let hi = text.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    const part = keep === 'head' ? text.slice(0, mid) : text.slice(text.length - mid)
    if (est(part) + 4 <= tokens) lo = mid
    else hi = mid - 1
  }
  return keep === 'head' ? text.slice(0, lo) + '\n[…truncated]' : '[truncated…]\n' + text.slice(text.length - lo)
}

const LOG_KEYS = /stderr|stdout|traceback|log|error|compile/i

interface Section {
  name: string
  id?: string
  text: string
  tokens: number
  /** trimming order: lower goes first; Infinity = never trimmed */
  rank: number
  /** how to shrink before dropping (tokens to keep), if at all */
  truncate?: { minTokens: number; keep: 'head' | 'tail' }
  dropped?: boolean
  truncated?: boolean
}

function systemText(input: PromptInput, hasBlocks: boolean): string {
  const { problem } = input
  const goal = problem.direction === 'max' ? 'maximize' : 'minimize'
  const own = problem.prompt?.systemMessage?.trim()
  const lines = [
    // a task's own system message replaces the opening line; the search's rules follow it
    own ||
      `You are an expert ${problem.language} programmer taking part in an evolutionary search for better programs.`,
    `Each program is evaluated automatically; the goal is to ${goal} the metric "${problem.primaryMetric}".`,
    'Propose one focused, concrete improvement at a time. Programs that crash, time out or print malformed results score nothing.',
  ]
  if (hasBlocks)
    lines.push(
      'Only the code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers may change; everything outside them, the markers included, must stay exactly as it is.',
    )
  lines.push('If expert guidance is given, it takes precedence over your own ideas.')
  return lines.join('\n')
}

function formatText(input: PromptInput, hasBlocks: boolean): string {
  const lang = fence(input.problem.language)
  if (input.mode === 'diff') {
    return [
      '## Answer format',
      'First explain your idea in one or two sentences. Then give one or more edits, each in exactly this format:',
      '',
      '<<<<<<< SEARCH',
      '<lines copied exactly from the current program>',
      '=======',
      '<the new lines that replace them>',
      '>>>>>>> REPLACE',
      '',
      'Rules:',
      '- The SEARCH part must match lines of the current program exactly (same text and indentation) and occur only once; include a few surrounding lines when needed.',
      hasBlocks
        ? '- Only edit lines between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END.'
        : '- Keep the program runnable as a whole.',
      '- Several edits are applied in order; keep each one small.',
      '- Do not rewrite the whole program.',
    ].join('\n')
  }
  return [
    '## Answer format',
    `First explain your idea in one or two sentences. Then give the complete new program in one \`\`\`${lang} fenced block.`,
    hasBlocks
      ? '- Keep everything outside the EVOLVE-BLOCK regions (and the markers) exactly as it is.'
      : '- The program must be complete and runnable.',
    input.mode === 'crossover'
      ? '- Combine the strengths of both parents into one program; do not just copy one of them.'
      : '- You may restructure the code freely.',
  ].join('\n')
}

export function buildPrompt(input: PromptInput, opts: PromptOptions = {}): BuiltPrompt {
  const est = opts.estimator ?? estimateTokens
  const budget = opts.maxTokens ?? 12000
  const maxArt = opts.maxArtifactChars ?? input.problem.prompt?.maxArtifactChars ?? 3000
  const lang = input.problem.language
  const hasBlocks = findEvolveBlocks(input.parent.code).hasMarkers
  const P = input.problem
  const secs: Section[] = []
  const add = (s: Omit<Section, 'tokens'>) => secs.push({ ...s, tokens: est(s.text) })

  // guidance first and prominent; never trimmed
  const guidance = input.guidance ?? []
  if (guidance.length > 0) {
    add({
      name: 'guidance',
      rank: Infinity,
      text: [
        '## Expert guidance (highest priority: follow it)',
        ...guidance.map((g) => guidanceItem(g.text, g.scope)),
      ].join('\n'),
    })
  }

  const objective = `Objective: ${P.direction === 'max' ? 'maximize' : 'minimize'} "${P.primaryMetric}" (${P.direction === 'max' ? 'higher' : 'lower'} is better).${
    P.reference
      ? ` Reference value: ${fmtNum(P.reference.value)}${P.reference.source ? ` (${P.reference.source})` : ''}.`
      : ''
  }`
  add({ name: 'problem', rank: Infinity, text: `## Problem: ${P.name}\n${objective}` })
  // a description that only repeats the system message (an OpenEvolve task without README) is not sent twice
  if (P.description?.trim() && P.description.trim() !== P.prompt?.systemMessage?.trim()) {
    add({
      name: 'description',
      rank: 60,
      text: P.description.trim(),
      truncate: { minTokens: opts.minDescriptionTokens ?? 300, keep: 'head' },
    })
  }

  const lessons = Array.isArray(input.lessons)
    ? input.lessons.filter((l) => l.trim())
    : input.lessons?.trim()
      ? [input.lessons.trim()]
      : []
  if (lessons.length > 0) {
    add({
      name: 'lessons',
      rank: 50,
      text: ['## Lessons from earlier attempts', ...lessons.map((l) => `- ${l}`)].join('\n'),
      truncate: { minTokens: 60, keep: 'head' },
    })
  }

  const knowledge = input.knowledge ?? []
  knowledge.forEach((k, i) => {
    // the file's name, not where it lies on the importer's machine (the provider needs no local paths)
    const source = k.source?.split(/[\\/]/).pop()
    const head = `### Knowledge ${i + 1}${k.title ? `: ${k.title}` : ''}${source ? ` (${source})` : ''}`
    // later chunks are less relevant: they go first
    add({
      name: 'knowledge',
      id: k.id,
      rank: 20 + (knowledge.length - i) / (knowledge.length + 1),
      text: `${i === 0 ? '## Relevant knowledge\n' : ''}${head}\n${k.text.trim()}`,
    })
  })

  const parentHead = input.mode === 'crossover' ? '## Parent 1' : '## Current program'
  if (input.scratch) {
    const sig = input.scratch.signature?.trim()
    add({
      name: 'signature',
      rank: Infinity,
      text: `## What the program must provide\n${sig ? `The evaluator calls:\n${codeBlock(sig, lang)}` : 'See the description: the evaluator runs the program as a whole.'}`,
    })
  } else
    add({
      name: 'parent',
      rank: Infinity,
      text: `${parentHead} (${metricsLine(input.parent, P.primaryMetric)})\n${codeBlock(input.parent.code, lang)}`,
    })

  const showArtifacts = P.prompt?.includeArtifacts !== false
  const artifactEntries = (a: Record<string, unknown> | undefined) =>
    showArtifacts
      ? Object.entries(a ?? {}).filter(([, v]) => v !== undefined && v !== null && artifactText(v).trim() !== '')
      : []
  const capped = (k: string, v: unknown, cap: number) => {
    const keep = LOG_KEYS.test(k) ? 'tail' : 'head'
    const text = artifactText(v).trim()
    return {
      keep: keep as 'head' | 'tail',
      text:
        text.length <= cap
          ? text
          : keep === 'head'
            ? text.slice(0, cap) + '\n[…truncated]'
            : '[truncated…]\n' + text.slice(text.length - cap),
    }
  }
  const arts = input.scratch ? [] : artifactEntries(input.parent.artifacts)
  // a crossover has two parents and no "current program": its feedback is Parent 1's
  const feedbackHeader = `## Evaluator feedback on ${input.mode === 'crossover' && input.secondParent ? 'Parent 1' : 'the current program'}\n`
  arts.forEach(([k, v], i) => {
    const { keep, text } = capped(k, v, maxArt)
    add({
      name: 'artifacts',
      id: k,
      // logs go before the evaluator's own feedback, which is usually short and to the point
      rank: 40 + (keep === 'tail' ? 0 : 2) + i / (arts.length + 1),
      text: `${i === 0 ? feedbackHeader : ''}### ${k}\n${text}`,
      truncate: { minTokens: 80, keep },
    })
  })

  if (input.critique?.text.trim()) {
    const c = input.critique
    const rating = typeof c.rating === 'number' ? ` (rating ${fmtNum(c.rating)} of 1)` : ''
    add({
      name: 'critique',
      rank: 44,
      text: `## A reviewer's critique of ${c.of && c.of !== input.parent.id ? 'an ancestor of the current program' : 'the current program'}${rating}\n${c.text.trim()}`,
      truncate: { minTokens: 60, keep: 'head' },
    })
  }

  if (input.mode === 'crossover' && input.secondParent) {
    add({
      name: 'second-parent',
      rank: Infinity,
      text: `## Parent 2 (${metricsLine(input.secondParent, P.primaryMetric)})\n${codeBlock(input.secondParent.code, lang)}`,
    })
  }

  const insp = input.inspirations ?? []
  insp.forEach((c, i) => {
    // diverse ones go before elites, later ones before earlier ones
    const rank = (c.kind === 'diverse' ? 0 : 5) + (insp.length - i) / (insp.length + 1)
    add({
      name: 'inspirations',
      id: c.id,
      rank,
      text: `${i === 0 ? '## Other programs for inspiration\n' : ''}### Program ${i + 1} (${c.kind ?? 'elite'}; ${metricsLine(c, P.primaryMetric)})\n${codeBlock(c.code, lang)}`,
    })
    // its evaluator feedback, shorter than the parent's: every inspiration's goes before any program
    const own = artifactEntries(c.artifacts)
    if (own.length) {
      const body = own.map(([k, v]) => `- ${k}: ${capped(k, v, Math.max(200, Math.floor(maxArt / 4))).text}`).join('\n')
      add({
        name: 'inspiration-artifacts',
        id: c.id,
        rank: -1 + rank / 100,
        text: `#### Evaluator feedback on Program ${i + 1}\n${body}`,
        truncate: { minTokens: 40, keep: 'head' },
      })
    }
  })

  if (input.repair) {
    const msg = input.repair.message.trim()
    add({
      name: 'failure',
      rank: Infinity,
      text: `## Why the current program failed\nKind: ${input.repair.kind}\n${clipReason(msg, 2000)}`,
    })
  }

  const notes = (input.notes ?? []).filter((n) => n.trim())
  if (notes.length > 0)
    add({
      name: 'notes',
      rank: 45,
      text: ['## Notes on the previous attempt', ...notes.map((n) => `- ${n}`)].join('\n'),
      truncate: { minTokens: 60, keep: 'head' },
    })

  const task = input.scratch
    ? `## Task\nWrite the first program for this problem: there is none yet. Write it from the description, complete and runnable${input.scratch.signature?.trim() ? ', providing exactly what the evaluator calls' : ''}; a correct, simple program beats an ambitious one that fails.`
    : input.repair
      ? '## Task\nRepair the current program: it failed its evaluation (see why above and the evaluator feedback). Fix the cause so that it runs and produces a valid result; keep its approach and change as little as possible.'
      : input.mode === 'crossover'
        ? '## Task\nWrite a new program that combines the best ideas of both parents and improves on them.'
        : input.mode === 'full'
          ? '## Task\nRewrite the current program to improve it.'
          : '## Task\nImprove the current program with targeted edits.'
  add({
    name: 'task',
    rank: Infinity,
    text: `${task}${input.strategy ? `\n${input.strategy.trim()}` : ''}${guidance.length > 0 ? '\nRemember to follow the expert guidance above.' : ''}`,
  })
  add({ name: 'format', rank: Infinity, text: formatText(input, hasBlocks) })

  const system = systemText(input, hasBlocks)
  const sysTokens = est(system)
  const trimmed: TrimRecord[] = []
  const groupHeader: Record<string, string> = {
    knowledge: '## Relevant knowledge\n',
    artifacts: feedbackHeader,
    inspirations: '## Other programs for inspiration\n',
  }
  // an inspiration's feedback sits between two programs of the inspirations' group
  const groupOf = (name: string) => (name === 'inspiration-artifacts' ? 'inspirations' : name)
  const render = () => {
    const kept = secs.filter((s) => !s.dropped)
    // a group's header belongs to its first member: re-add it when that member was dropped
    return kept
      .map((s, i) => {
        const h = groupHeader[s.name]
        if (h && !s.text.startsWith(h) && (i === 0 || groupOf((kept[i - 1] as Section).name) !== s.name))
          return h + s.text
        return s.text
      })
      .join('\n\n')
  }
  // cheap running estimate (section sums); the real rendering is measured before each decision to stop
  const approx = () => sysTokens + secs.reduce((acc, x) => acc + (x.dropped ? 0 : x.tokens + 2), 0)
  let user = render()
  let actual = sysTokens + est(user)

  // trimming: lowest rank first; a truncatable section is first cut to its minimum, then (if still needed) dropped
  const order = secs.filter((s) => s.rank !== Infinity).sort((a, b) => a.rank - b.rank)
  for (const s of order) {
    if (actual <= budget) break
    const _over = Math.max(actual, approx()) - budget
    if (s.truncate && !s.truncated && s.tokens > s.truncate.minTokens) {
      const before = s.tokens
      // estimates of parts do not add up exactly: cut again (a few times at most) until it fits or hits the floor
      for (let round = 0; round < 4 && actual > budget && s.tokens > s.truncate.minTokens; round++) {
        const over = Math.max(actual, approx()) - budget
        const target = Math.max(s.truncate.minTokens, s.tokens - over - 4 * (round + 1))
        s.text = cutTo(s.text, target, est, s.truncate.keep)
        s.tokens = est(s.text)
        user = render()
        actual = sysTokens + est(user)
      }
      s.truncated = true
      trimmed.push({ section: s.name, action: 'truncated', id: s.id, fromTokens: before, toTokens: s.tokens })
      if (actual <= budget) break
    }
    // the description is cut, never dropped: the model needs to know the problem
    if (s.name === 'description') continue
    s.dropped = true
    trimmed.push({ section: s.name, action: 'dropped', id: s.id, fromTokens: s.tokens, toTokens: 0 })
    user = render()
    actual = sysTokens + est(user)
  }

  const kept = secs.filter((s) => !s.dropped)
  const estimatedTokens = actual
  const usedIds = (name: string) => kept.filter((s) => s.name === name && s.id !== undefined).map((s) => s.id as string)
  const sections: Array<{ name: string; tokens: number }> = [{ name: 'system', tokens: sysTokens }]
  for (const s of kept) {
    const last = sections[sections.length - 1] as { name: string; tokens: number }
    if (last.name === s.name) last.tokens += s.tokens
    else sections.push({ name: s.name, tokens: s.tokens })
  }
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    estimatedTokens,
    budget,
    overBudget: estimatedTokens > budget,
    trimmed,
    record: {
      mode: input.mode,
      parentId: input.parent.id,
      ...(input.mode === 'crossover' && input.secondParent ? { secondParentId: input.secondParent.id } : {}),
      guidanceIds: guidance.map((g) => g.id),
      chunkIds: usedIds('knowledge'),
      inspirationIds: usedIds('inspirations'),
      lessons: kept.some((s) => s.name === 'lessons'),
      sections,
    },
  }
}

/**
 * One hint as an item of the guidance list: its scope first, its other lines indented under it, and
 * a line that would start a Markdown heading quoted, so a hint of several lines stays one item (a
 * hint holding "## Problem" had opened a section of its own in the prompt).
 */
export function guidanceItem(text: string, scope?: string): string {
  const lines = text.trim().split(/\r?\n/)
  const body = lines.map((l, i) => {
    const line = /^\s*#/.test(l) ? `> ${l.trim()}` : l.trimEnd()
    return i === 0 ? line : line ? `  ${line}` : ''
  })
  return `- ${scope ? `(${scope}) ` : ''}${body.join('\n')}`
}
