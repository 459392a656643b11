// A reusable responder for the scripted OpenAI-protocol test server: it reads the parent program
// from the prompt and answers the way a code model does, with a SEARCH/REPLACE edit (or a full
// program in a fenced block) that changes one numeric literal. It is deterministic for a given
// seed and request order, so runs that use it as an "instant model" are reproducible.

export interface PromptMessage {
  role: string
  content: string
}

export interface LiteralEditOptions {
  /** PRNG seed (default 1) */
  seed?: number
  /**
   * 'diff': SEARCH/REPLACE blocks; 'full': the whole program in a fenced block; 'auto' (default):
   * diff when the prompt mentions the SEARCH/REPLACE format, full when it asks for a rewrite.
   */
  mode?: 'diff' | 'full' | 'auto'
  /** wrap the edit as real models do: 'plain', 'prose' (default) or 'think' (a <think> block first) */
  wrap?: 'plain' | 'prose' | 'think'
  /** relative size of a float perturbation (default 0.1) */
  scale?: number
  /** significant digits of a perturbed float (default 4; benchmarks use more so a long run never runs out of new values) */
  precision?: number
}

export interface ExtractedProgram {
  code: string
  language: string
}

const FENCE = /(^|\n)[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*?)\n[ \t]*\2[ \t]*(?=\n|$)/g
const PARENT_HINT = /(current|parent|existing|program to (improve|evolve|modify)|your program|code to improve)/i
const INSPIRATION_HINT = /(inspiration|example|reference|other program|previous attempt|elite|diverse|top program)/i

/**
 * The parent program in a prompt: the fenced block whose heading (the text just before it)
 * names it as the current/parent program, else the first fenced block that is not introduced
 * as an inspiration, else the first fenced block. Null when the prompt has no fenced code.
 */
export function extractParentProgram(text: string): ExtractedProgram | null {
  const blocks: { code: string; language: string; before: string }[] = []
  let last = 0
  for (const m of text.matchAll(FENCE)) {
    const start = m.index! + m[1]!.length
    const before = text.slice(Math.max(last, start - 300), start)
    blocks.push({ code: m[4]!, language: m[3] ?? '', before })
    last = m.index! + m[0].length
  }
  if (blocks.length === 0) return null
  // the nearest heading only: a problem statement above it may mention a "reference" value
  const heading = (b: (typeof blocks)[number]) =>
    b.before
      .split('\n')
      .filter((l) => l.trim())
      .slice(-1)
      .join('\n')
  const parent =
    blocks.find((b) => PARENT_HINT.test(heading(b)) && !INSPIRATION_HINT.test(heading(b))) ??
    blocks.find((b) => !INSPIRATION_HINT.test(heading(b))) ??
    blocks[0]!
  return { code: parent.code, language: parent.language }
}

interface LiteralSite {
  start: number
  end: number
  text: string
}

/** Numeric literals in the code (outside comments and strings), restricted to EVOLVE-BLOCK regions when present. */
export function findNumericLiterals(code: string, language = ''): LiteralSite[] {
  const regions: [number, number][] = []
  const startRe = /EVOLVE-BLOCK-START[^\n]*\n?/g
  for (const m of code.matchAll(startRe)) {
    const from = m.index! + m[0].length
    const endIdx = code.indexOf('EVOLVE-BLOCK-END', from)
    if (endIdx < 0) continue
    // back up to the start of the END marker's line
    const lineStart = code.lastIndexOf('\n', endIdx) + 1
    regions.push([from, Math.max(from, lineStart)])
  }
  const inRegion = (i: number) => regions.length === 0 || regions.some(([a, b]) => i >= a && i < b)

  // mask comments and string literals so their digits are never edited
  const python = /^py/i.test(language) || (!language && /^\s*(def|import|from)\s/m.test(code) && !/;\s*$/m.test(code))
  const blank = (s: string) => s.replace(/[^\n]/g, ' ')
  let masked = code
  if (python) masked = masked.replace(/("""[\s\S]*?"""|'''[\s\S]*?''')/g, blank)
  else masked = masked.replace(/\/\*[\s\S]*?\*\//g, blank)
  masked = masked.replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, blank)
  masked = masked.replace(python ? /#[^\n]*/g : /\/\/[^\n]*/g, blank)

  const sites: LiteralSite[] = []
  const re = /(?<![\w.])(\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])/g
  for (const m of masked.matchAll(re)) {
    if (!inRegion(m.index!)) continue
    sites.push({ start: m.index!, end: m.index! + m[0].length, text: m[0] })
  }
  return sites
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function perturb(literal: string, rnd: () => number, scale: number, precision = 4): string {
  const isFloat = /[.eE]/.test(literal)
  const value = Number(literal)
  if (!isFloat) {
    const step = Math.max(1, Math.round(Math.abs(value) * scale * rnd()))
    const next = rnd() < 0.5 && value - step >= 0 ? value - step : value + step
    return String(next)
  }
  let factor = 1 + (rnd() * 2 - 1) * scale
  if (Math.abs(factor - 1) < 1e-3) factor = 1 + scale / 2
  const next = value === 0 ? scale * rnd() : value * factor
  let out = String(Number(next.toPrecision(precision)))
  if (Number(out) === value)
    out = String(Number((value + (value === 0 ? scale : Math.abs(value) * scale)).toPrecision(precision)))
  if (!/[.eE]/.test(out)) out = `${out}.0`
  return out
}

/** The smallest run of whole lines around [start, end) that occurs exactly once in the code. */
function uniqueContext(code: string, start: number, end: number): { from: number; to: number } {
  let from = code.lastIndexOf('\n', start - 1) + 1
  let to = code.indexOf('\n', end)
  if (to < 0) to = code.length
  for (;;) {
    const snippet = code.slice(from, to)
    const first = code.indexOf(snippet)
    if (snippet.trim() && first === from && code.indexOf(snippet, first + 1) < 0) return { from, to }
    if (from === 0 && to === code.length) return { from, to }
    if (from > 0) from = code.lastIndexOf('\n', from - 2) + 1
    if (to < code.length) {
      const next = code.indexOf('\n', to + 1)
      to = next < 0 ? code.length : next
    }
  }
}

export interface LiteralEdit {
  search: string
  replace: string
  newCode: string
  before: string
  after: string
}

/** Changes one numeric literal of `code` (chosen by `rnd`); null when there is none. */
export function mutateOneLiteral(
  code: string,
  rnd: () => number,
  scale = 0.1,
  language = '',
  precision = 4,
): LiteralEdit | null {
  const sites = findNumericLiterals(code, language)
  if (sites.length === 0) return null
  const site = sites[Math.floor(rnd() * sites.length)]!
  const after = perturb(site.text, rnd, scale, precision)
  const newCode = code.slice(0, site.start) + after + code.slice(site.end)
  const { from, to } = uniqueContext(code, site.start, site.end)
  const search = code.slice(from, to)
  const replace = newCode.slice(from, to + (after.length - site.text.length))
  return { search, replace, newCode, before: site.text, after }
}

export function formatSearchReplace(search: string, replace: string): string {
  return `<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE`
}

export interface ResponderRequest {
  messages: PromptMessage[]
}

/**
 * A chat responder `(request) => { content }` that edits one numeric literal of the parent program.
 * Answers without an edit (plain prose) when the prompt holds no program or no literal.
 */
export function literalEditResponder(options: LiteralEditOptions = {}) {
  const rnd = mulberry32(options.seed ?? 1)
  const scale = options.scale ?? 0.1
  const wrap = options.wrap ?? 'prose'
  return (request: ResponderRequest): { content: string } => {
    const all = request.messages.map((m) => m.content).join('\n\n')
    const userText = request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => m.content)
      .join('\n\n')
    const program = extractParentProgram(userText) ?? extractParentProgram(all)
    if (!program) return { content: 'I could not find a program in the prompt, so I propose no change.' }
    const edit = mutateOneLiteral(program.code, rnd, scale, program.language, options.precision)
    if (!edit) return { content: 'The program has no numeric literal I can tune; no change proposed.' }
    let mode = options.mode ?? 'auto'
    if (mode === 'auto') {
      if (all.includes('<<<<<<< SEARCH')) mode = 'diff'
      else if (/\b(full|complete|entire|whole)\b[^.\n]{0,40}\b(program|rewrite|code|file)\b|\brewrite\b/i.test(all))
        mode = 'full'
      else mode = 'diff'
    }
    const body =
      mode === 'diff'
        ? formatSearchReplace(edit.search, edit.replace)
        : `\`\`\`${program.language}\n${edit.newCode}\n\`\`\``
    const explanation = `Changing the constant ${edit.before} to ${edit.after} may improve the score.`
    let content: string
    if (wrap === 'plain') content = body
    else if (wrap === 'think')
      content = `<think>\nThe parent uses ${edit.before}; try ${edit.after}.\n</think>\n${explanation}\n\n${body}\n`
    else content = `${explanation}\n\n${body}\n\nThis keeps the rest of the program unchanged.`
    return { content }
  }
}
