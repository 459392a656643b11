// Offline, model-free program operators (`operators:local`): what runs when no model is configured, in
// tests and in the demo. They edit real programs, so they work on tokens (never inside strings or comments)
// and only inside EVOLVE-BLOCK regions (the whole file when there are none):
//  - perturb:            numeric-literal perturbation with an adaptive step (1/5th success rule, globally and
//                        per literal), scale-aware, ints stay ints;
//  - crossover-literals: aligned literals of two parents that share structure (uniform or blend);
//  - crossover-blocks:   take an EVOLVE-BLOCK region or a whole function from the other parent;
//  - swap:               exchange two adjacent statements (python: whole compound statements at one depth).
import { findEvolveBlocks, lexFamily, tokenize, type EvolveBlocks, type Language, type Token } from './code.ts'
import type { Rng } from './rng.ts'

export interface LocalOpResult {
  code: string
  /** operator name, e.g. 'perturb' */
  operator: LocalOperatorName
  /** what was done, for storage, lessons and the step adapter */
  params: Record<string, unknown>
  /** a short human sentence for the console ("perturbed 3 literals by ×0.05 step") */
  description: string
}

export type LocalOperatorName = 'perturb' | 'crossover-literals' | 'crossover-blocks' | 'swap'
export const LOCAL_OPERATORS: readonly LocalOperatorName[] = [
  'perturb',
  'crossover-literals',
  'crossover-blocks',
  'swap',
]

// ---------------------------------------------------------------------------------------------
// literals

export interface Literal {
  /** char span, including a unary minus when there is one */
  start: number
  end: number
  text: string
  value: number
  kind: 'int' | 'float'
  /** type suffix kept on rewrite (C's f/F/L/u…) */
  suffix: string
  /** 0-based line */
  line: number
  /** stable identity across small edits: the two tokens before it and its occurrence among the same context */
  key: string
}

const UNARY_AFTER_KEYWORDS = new Set([
  'return',
  'in',
  'yield',
  'and',
  'or',
  'not',
  'else',
  'if',
  'case',
  'await',
  'lambda',
  'print',
  'typeof',
  'assert',
  'elif',
  'while',
  'is',
])

function editableOffsetRanges(code: string, blocks: EvolveBlocks): Array<[number, number]> {
  if (!blocks.hasMarkers) return [[0, code.length]]
  return blocks.regions.map((r) => [r.startOffset, r.endOffset])
}

function inRanges(ranges: Array<[number, number]>, a: number, b: number): boolean {
  for (const [s, e] of ranges) if (a >= s && b <= e) return true
  return false
}

function parseNumber(text: string): { value: number; kind: 'int' | 'float'; suffix: string } | null {
  const t = text.replace(/[_']/g, '')
  if (/^0[xXbBoO]/.test(t)) return null
  const m = /^(\d*\.?\d*(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(t)
  if (!m) return null
  const body = m[1] as string
  const suffix = m[2] as string
  if (body === '' || body === '.') return null
  if (/[jJn]/.test(suffix)) return null // complex (python) and BigInt (js) literals stay as they are
  const value = Number(body)
  if (!Number.isFinite(value)) return null
  const isFloat = /[.eE]/.test(body) || /^[fF]$/.test(suffix)
  return { value, kind: isFloat ? 'float' : 'int', suffix }
}

/** numeric literals inside the editable regions (never in strings or comments), in source order */
export function findLiterals(
  code: string,
  language: Language | string,
  toks: Token[] = tokenize(code, language),
): Literal[] {
  const ranges = editableOffsetRanges(code, findEvolveBlocks(code))
  const out: Literal[] = []
  const seen = new Map<string, number>()
  const text = (t: Token | undefined) => (t ? code.slice(t.start, t.end) : '')
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Token
    if (t.kind !== 'num') continue
    if (!inRanges(ranges, t.start, t.end)) continue
    const parsed = parseNumber(text(t))
    if (!parsed) continue
    const prev = toks[i - 1]
    const next = toks[i + 1]
    // a pure subscript (x[0], a[1]) is an index, not a tunable constant
    if (parsed.kind === 'int' && text(prev) === '[' && text(next) === ']') continue
    let start = t.start
    let value = parsed.value
    let ctxIdx = i - 1
    if (prev && text(prev) === '-') {
      const pp = toks[i - 2]
      const ppText = text(pp)
      const unary =
        !pp ||
        pp.kind === 'nl' ||
        (pp.kind === 'op' && ppText !== ')' && ppText !== ']' && ppText !== '}') ||
        (pp.kind === 'id' && UNARY_AFTER_KEYWORDS.has(ppText))
      if (unary && inRanges(ranges, prev.start, t.end)) {
        start = prev.start
        value = -value
        ctxIdx = i - 2
      }
    }
    const c1 = toks[ctxIdx]
    const c2 = toks[ctxIdx - 1]
    const ctx = `${c2 && c2.kind !== 'nl' ? text(c2) : '^'} ${c1 && c1.kind !== 'nl' ? text(c1) : '^'}`
    const occ = seen.get(ctx) ?? 0
    seen.set(ctx, occ + 1)
    out.push({
      start,
      end: t.end,
      text: code.slice(start, t.end),
      value,
      kind: parsed.kind,
      suffix: parsed.suffix,
      line: t.line,
      key: `${ctx}#${occ}`,
    })
  }
  return out
}

/** a float literal for any of python/js/ts/c/c++: always with '.' or an exponent, trailing zeros trimmed */
export function formatFloat(x: number, significant: number): string {
  if (x === 0) return '0.0'
  let s = x.toPrecision(Math.max(1, Math.min(17, significant)))
  if (s.includes('e')) {
    let [m, e] = s.split('e') as [string, string]
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '.0')
    e = e.replace('+', '')
    s = `${m}e${e}`
  } else if (s.includes('.')) {
    s = s.replace(/0+$/, '')
    if (s.endsWith('.')) s += '0'
  } else s += '.0'
  return s
}

function significantDigits(text: string): number {
  const body = text
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace(/[a-zA-Z_']/g, '')
    .replace('.', '')
    .replace(/^0+/, '')
  return Math.max(1, body.length)
}

/** the literal's new source text, keeping its kind, suffix and a valid expression in its context */
function renderLiteral(code: string, lit: Literal, value: number, sigma: number): string {
  let body: string
  if (lit.kind === 'int') body = String(Math.abs(Math.round(value)))
  else {
    // enough digits to express a step of relative size sigma, and never fewer than the original had
    const digits = Math.max(significantDigits(lit.text), Math.ceil(-Math.log10(Math.max(sigma, 1e-12))) + 2, 3)
    body = formatFloat(Math.abs(value), Math.min(digits, 12))
  }
  const neg = lit.kind === 'int' ? Math.round(value) < 0 : value < 0
  const s = body + lit.suffix
  if (!neg) return s
  if (code[lit.start] === '-') return '-' + s // the span already holds a unary minus
  // a new minus right after '-' or '+' would read as '--'/'+-' (a decrement in C/JS): parenthesize
  let j = lit.start - 1
  while (j >= 0 && (code[j] === ' ' || code[j] === '\t')) j--
  const before = j >= 0 ? code[j] : ''
  return before === '-' || before === '+' || j < lit.start - 1 ? `(-${s})` : `-${s}`
}

// ---------------------------------------------------------------------------------------------
// adaptive step sizes

export interface LiteralStats {
  tries: number
  successes: number
  /** per-literal multiplier on the global step */
  scale: number
}

export interface StepAdapterSnapshot {
  sigma: number
  literals: Record<string, LiteralStats>
}

export interface StepAdapterOptions {
  initialSigma?: number
  minSigma?: number
  maxSigma?: number
  /** larger = slower adaptation (default 2) */
  damping?: number
  /** literals remembered (default 512; the least tried are forgotten first) */
  maxLiterals?: number
}

/**
 * Step-size adaptation by the 1/5th success rule, on a global σ and on a per-literal multiplier: after a
 * success the step grows by exp(0.8/d), after a failure it shrinks by exp(−0.2/d), so it settles where one
 * perturbation in five improves. Literals whose perturbations helped are also picked more often.
 */
export class StepAdapter {
  sigma: number
  private readonly o: Required<StepAdapterOptions>
  private readonly lits = new Map<string, LiteralStats>()

  constructor(opts: StepAdapterOptions = {}) {
    this.o = {
      initialSigma: opts.initialSigma ?? 0.1,
      minSigma: opts.minSigma ?? 1e-5,
      maxSigma: opts.maxSigma ?? 2,
      damping: opts.damping ?? 2,
      maxLiterals: opts.maxLiterals ?? 512,
    }
    this.sigma = this.o.initialSigma
  }

  stats(key: string): LiteralStats | undefined {
    return this.lits.get(key)
  }

  /** effective relative step for a literal */
  stepFor(key: string): number {
    return this.clampSigma(this.sigma * (this.lits.get(key)?.scale ?? 1))
  }

  /** selection weight: Laplace-smoothed success rate, with a floor so untried literals keep a chance */
  weightFor(key: string): number {
    const s = this.lits.get(key)
    return s ? (s.successes + 1) / (s.tries + 2) + 0.1 : 0.6
  }

  private clampSigma(x: number): number {
    return Math.min(this.o.maxSigma, Math.max(this.o.minSigma, x))
  }

  /** feed back a perturbation's outcome (the `params` of its LocalOpResult) */
  record(params: { changes?: Array<{ key: string }> } | Record<string, unknown>, improved: boolean): void {
    const up = Math.exp(0.8 / this.o.damping)
    const down = Math.exp(-0.2 / this.o.damping)
    this.sigma = this.clampSigma(this.sigma * (improved ? up : down))
    const changes = (params as { changes?: Array<{ key: string }> }).changes ?? []
    for (const c of changes) {
      let s = this.lits.get(c.key)
      if (!s) {
        s = { tries: 0, successes: 0, scale: 1 }
        this.lits.set(c.key, s)
      }
      s.tries++
      if (improved) s.successes++
      s.scale = Math.min(20, Math.max(0.05, s.scale * (improved ? up : down)))
    }
    if (this.lits.size > this.o.maxLiterals) {
      const drop = [...this.lits]
        .sort((a, b) => a[1].tries - b[1].tries || (a[0] < b[0] ? -1 : 1))
        .slice(0, this.lits.size - this.o.maxLiterals)
      for (const [k] of drop) this.lits.delete(k)
    }
  }

  toJSON(): StepAdapterSnapshot {
    return { sigma: this.sigma, literals: Object.fromEntries([...this.lits].map(([k, v]) => [k, { ...v }])) }
  }

  static fromJSON(s: StepAdapterSnapshot, opts: StepAdapterOptions = {}): StepAdapter {
    const a = new StepAdapter(opts)
    a.sigma = s.sigma
    for (const [k, v] of Object.entries(s.literals)) a.lits.set(k, { ...v })
    return a
  }
}

// ---------------------------------------------------------------------------------------------
// perturb

export interface PerturbOptions {
  /** relative step; default: the adapter's σ, else 0.1 */
  sigma?: number
  /** literals changed; default 1 + Geometric(0.5), capped by maxLiterals */
  count?: number
  maxLiterals?: number
  adapter?: StepAdapter
}

export function perturbLiterals(
  code: string,
  language: Language | string,
  rng: Rng,
  opts: PerturbOptions = {},
): LocalOpResult | null {
  const lits = findLiterals(code, language)
  if (lits.length === 0) return null
  const adapter = opts.adapter
  const baseSigma = opts.sigma ?? adapter?.sigma ?? 0.1
  let k = opts.count ?? 1
  if (opts.count === undefined) while (k < (opts.maxLiterals ?? 3) && rng.chance(0.5)) k++
  k = Math.min(k, lits.length)

  // choose k distinct literals, favouring those whose perturbation helped before
  const weights = lits.map((l) => (adapter ? adapter.weightFor(l.key) : 1))
  const chosen: number[] = []
  for (let n = 0; n < k; n++) {
    const i = rng.weightedIndex(weights)
    chosen.push(i)
    weights[i] = 0
  }
  chosen.sort((a, b) => a - b)

  // a magnitude for zeros: the typical size of the program's other float literals, else 1
  const mags = lits
    .filter((l) => l.kind === 'float' && l.value !== 0)
    .map((l) => Math.abs(l.value))
    .sort((a, b) => a - b)
  const typical = mags.length > 0 ? (mags[mags.length >> 1] as number) : 1

  const changes: Array<{ key: string; line: number; from: string; to: string; sigma: number }> = []
  let out = ''
  let pos = 0
  for (const i of chosen) {
    const lit = lits[i] as Literal
    const s =
      adapter && opts.sigma === undefined ? adapter.stepFor(lit.key) : baseSigma * (adapter?.stats(lit.key)?.scale ?? 1)
    // a draw too small to show at the literal's precision is redrawn with a doubled step (a few times)
    let to = lit.text
    for (let attempt = 0, step = s; attempt < 6 && to === lit.text; attempt++, step *= 2)
      to = renderLiteral(code, lit, drawValue(lit, step, typical, rng), step)
    if (to === lit.text) continue
    out += code.slice(pos, lit.start) + to
    pos = lit.end
    changes.push({ key: lit.key, line: lit.line + 1, from: lit.text, to, sigma: s })
  }
  if (changes.length === 0) return null
  out += code.slice(pos)
  const shown = changes
    .slice(0, 3)
    .map((c) => `${c.from}→${c.to}`)
    .join(', ')
  return {
    code: out,
    operator: 'perturb',
    params: { sigma: baseSigma, changes },
    description: `perturbed ${changes.length} literal${changes.length > 1 ? 's' : ''} by ×${fmtStep(baseSigma)} step (${shown}${changes.length > 3 ? ', …' : ''})`,
  }
}

function drawValue(lit: Literal, s: number, typical: number, rng: Rng): number {
  if (lit.kind === 'int') {
    let d = Math.round(rng.normal() * s * Math.max(Math.abs(lit.value), 1))
    if (d === 0) d = rng.chance(0.5) ? 1 : -1
    let v = lit.value + d
    // ints are mostly counts and sizes: keep their sign, and positive ones ≥ 1
    if (lit.value > 0 && v < 1) v = 1
    if (lit.value < 0 && v > -1) v = -1
    if (v === lit.value) v = lit.value + (lit.value >= 0 ? 1 : -1)
    return v
  }
  if (lit.value === 0 || rng.chance(0.25))
    return lit.value + rng.normal() * s * Math.max(Math.abs(lit.value), lit.value === 0 ? typical : 0)
  return lit.value * Math.exp(rng.normal() * s)
}

function fmtStep(s: number): string {
  return s >= 0.01 ? String(Number(s.toPrecision(2))) : s.toExponential(1)
}

// ---------------------------------------------------------------------------------------------
// alignment of two parents by line skeletons

interface LineInfo {
  skeleton: string
  lits: Literal[]
}

function lineInfos(code: string, language: Language | string): Map<number, LineInfo> {
  const toks = tokenize(code, language)
  const lits = findLiterals(code, language, toks)
  const litAt = new Map<number, Literal>()
  for (const l of lits) litAt.set(l.end, l)
  const ranges = editableOffsetRanges(code, findEvolveBlocks(code))
  const byLine = new Map<number, { parts: string[]; lits: Literal[] }>()
  for (const t of toks) {
    if (t.kind === 'nl' || !inRanges(ranges, t.start, t.end)) continue
    let e = byLine.get(t.line)
    if (!e) {
      e = { parts: [], lits: [] }
      byLine.set(t.line, e)
    }
    const lit = t.kind === 'num' ? litAt.get(t.end) : undefined
    if (lit) {
      if (lit.start < t.start && e.parts[e.parts.length - 1] === '-') e.parts.pop() // the unary minus belongs to the literal
      e.parts.push('#')
      e.lits.push(lit)
    } else e.parts.push(code.slice(t.start, t.end))
  }
  const out = new Map<number, LineInfo>()
  for (const [line, e] of byLine) out.set(line, { skeleton: e.parts.join(' '), lits: e.lits })
  return out
}

/** pairs of lines with the same skeleton (numbers masked), aligned in order when both parents have it equally often */
function alignLines(a: Map<number, LineInfo>, b: Map<number, LineInfo>): Array<[LineInfo, LineInfo]> {
  const group = (m: Map<number, LineInfo>) => {
    const g = new Map<string, LineInfo[]>()
    for (const line of [...m.keys()].sort((x, y) => x - y)) {
      const info = m.get(line) as LineInfo
      const arr = g.get(info.skeleton)
      if (arr) arr.push(info)
      else g.set(info.skeleton, [info])
    }
    return g
  }
  const ga = group(a)
  const gb = group(b)
  const pairs: Array<[LineInfo, LineInfo]> = []
  for (const [sk, la] of ga) {
    const lb = gb.get(sk)
    if (!lb || lb.length !== la.length) continue
    for (let i = 0; i < la.length; i++) pairs.push([la[i] as LineInfo, lb[i] as LineInfo])
  }
  return pairs
}

export interface LiteralCrossoverOptions {
  mode?: 'uniform' | 'blend'
  /** blend: u ~ U(−alpha, 1 + alpha) (BLX-α; default 0.25) */
  alpha?: number
  /** uniform: probability of taking the mate's value (default 0.5) */
  p?: number
}

/** cross the literals of lines both parents share (same code up to numbers); null when none differ */
export function crossoverLiterals(
  a: string,
  b: string,
  language: Language | string,
  rng: Rng,
  opts: LiteralCrossoverOptions = {},
): LocalOpResult | null {
  const mode = opts.mode ?? (rng.chance(0.5) ? 'uniform' : 'blend')
  const ia = lineInfos(a, language)
  const pairs = alignLines(ia, lineInfos(b, language))
  const diffs: Array<[Literal, Literal]> = []
  for (const [x, y] of pairs) {
    for (let i = 0; i < x.lits.length; i++) {
      const la = x.lits[i] as Literal
      const lb = y.lits[i] as Literal
      if (la.value !== lb.value || la.kind !== lb.kind) diffs.push([la, lb])
    }
  }
  if (diffs.length === 0) return null
  diffs.sort((p, q) => p[0].start - q[0].start)
  const p = opts.p ?? 0.5
  const alpha = opts.alpha ?? 0.25
  const changes: Array<{ key: string; line: number; from: string; to: string }> = []
  let out = ''
  let pos = 0
  // at least one literal must change, or the child is a clone of the first parent
  const forced = rng.int(diffs.length)
  diffs.forEach(([la, lb], idx) => {
    let to: string | null = null
    if (mode === 'uniform') {
      if (idx === forced || rng.chance(p)) {
        // same kind and sign convention: copy the mate's text verbatim; otherwise render its value in our context
        const sameShape =
          lb.kind === la.kind && la.text.startsWith('-') === lb.text.startsWith('-') && lb.suffix === la.suffix
        to = sameShape ? lb.text : renderLiteral(a, la, lb.value, 1e-6)
      }
    } else {
      const u = rng.uniform(-alpha, 1 + alpha)
      const v = la.value + u * (lb.value - la.value)
      to = renderLiteral(a, la, v, Math.abs(lb.value - la.value) / Math.max(Math.abs(la.value), 1e-12) / 10)
    }
    if (to === null || to === la.text) return
    out += a.slice(pos, la.start) + to
    pos = la.end
    changes.push({ key: la.key, line: la.line + 1, from: la.text, to })
  })
  if (changes.length === 0) return null
  out += a.slice(pos)
  const alignedShare = ia.size > 0 ? pairs.length / ia.size : 0
  return {
    code: out,
    operator: 'crossover-literals',
    params: { mode, changes, alignedLines: pairs.length, alignedShare },
    description: `${mode === 'uniform' ? 'took' : 'blended'} ${changes.length} literal${changes.length > 1 ? 's' : ''} from the second parent across ${pairs.length} aligned line${pairs.length === 1 ? '' : 's'}`,
  }
}

// ---------------------------------------------------------------------------------------------
// block crossover: EVOLVE-BLOCK regions, else whole functions

export interface FunctionSpan {
  name: string
  /** 0-based lines [startLine, endLine) including decorators (python) */
  startLine: number
  endLine: number
  indent: string
}

const PY_DEF = /^([ \t]*)(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(/
const JS_FUNC =
  /^([ \t]*)(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?[ \t]*([A-Za-z_$][\w$]*)[ \t]*\(/
const JS_ARROW =
  /^([ \t]*)(?:export[ \t]+)?(?:const|let|var)[ \t]+([A-Za-z_$][\w$]*)[ \t]*(?::[^=]+)?=[ \t]*(?:async[ \t]+)?(?:function\b|\([^)]*\)[ \t]*(?::[^=]+)?=>|[A-Za-z_$][\w$]*[ \t]*=>)/
const C_FUNC = /^([ \t]*)(?:[A-Za-z_][\w:<>,*&\s]*?[\s*&])([A-Za-z_~][\w:]*)[ \t]*\([^;]*$/

/** top-level-ish function definitions inside the editable regions */
export function findFunctions(code: string, language: Language | string): FunctionSpan[] {
  const lines = code.split('\n')
  const blocks = findEvolveBlocks(code)
  const editable = (l: number) =>
    !blocks.hasMarkers || blocks.regions.some((r) => l >= r.contentStartLine && l < r.contentEndLine)
  const regionEnd = (l: number) =>
    blocks.hasMarkers
      ? (blocks.regions.find((r) => l >= r.contentStartLine && l < r.contentEndLine)?.contentEndLine ?? lines.length)
      : lines.length
  const out: FunctionSpan[] = []
  if (lexFamily(language) === 'python') {
    for (let i = 0; i < lines.length; i++) {
      const m = PY_DEF.exec(lines[i] as string)
      if (!m || !editable(i)) continue
      const indent = m[1] as string
      let start = i
      while (start > 0 && new RegExp(`^${indent}@`).test(lines[start - 1] as string) && editable(start - 1)) start--
      // the header may span lines (long signatures): the body starts after the line ending with ':'
      let j = i
      while (j < lines.length - 1 && !/:\s*(#.*)?$/.test(lines[j] as string)) j++
      const end0 = regionEnd(i)
      let end = j + 1
      let lastCode = j + 1
      for (let k = j + 1; k < end0; k++) {
        const l = lines[k] as string
        if (l.trim() === '') continue
        const ind = /^[ \t]*/.exec(l)![0]
        if (ind.length <= indent.length) break
        lastCode = k + 1
      }
      end = Math.max(end, lastCode)
      out.push({ name: m[2] as string, startLine: start, endLine: end, indent })
      i = end - 1
    }
    return out
  }
  // C-like: find the header, then match braces over tokens (braces in strings/comments do not count)
  const toks = tokenize(code, language)
  const offs = [0]
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) offs.push(i + 1)
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string
    const m =
      JS_FUNC.exec(l) ??
      JS_ARROW.exec(l) ??
      (/^\s*(if|for|while|switch|return|else|do)\b/.test(l) ? null : C_FUNC.exec(l))
    if (!m || !editable(i)) continue
    // first '{' token at or after this line, then its match
    let t = toks.findIndex((x) => x.start >= (offs[i] as number) && code[x.start] === '{' && x.kind === 'op')
    if (t < 0) continue
    if ((toks[t] as Token).line > i + 3) continue // not a definition header
    let depth = 0
    let endTok = -1
    for (; t < toks.length; t++) {
      const c = code[(toks[t] as Token).start]
      if ((toks[t] as Token).kind !== 'op') continue
      if (c === '{') depth++
      else if (c === '}') {
        depth--
        if (depth === 0) {
          endTok = t
          break
        }
      }
    }
    if (endTok < 0) continue
    const endLine = (toks[endTok] as Token).line + 1
    if (endLine > regionEnd(i)) continue
    out.push({ name: m[2] as string, startLine: i, endLine, indent: m[1] as string })
    i = endLine - 1
  }
  return out
}

function reindent(lines: string[], from: string, to: string): string[] {
  if (from === to) return lines
  return lines.map((l) => (l.startsWith(from) ? to + l.slice(from.length) : l.trim() === '' ? l : to + l.trimStart()))
}

/** take one or more EVOLVE-BLOCK regions (several regions) or one function (else) from the mate */
export function crossoverBlocks(a: string, b: string, language: Language | string, rng: Rng): LocalOpResult | null {
  const ba = findEvolveBlocks(a)
  const bb = findEvolveBlocks(b)
  if (ba.hasMarkers && ba.regions.length >= 2 && bb.regions.length === ba.regions.length) {
    const ca = ba.regions.map((r) => a.slice(r.startOffset, r.endOffset))
    const cb = bb.regions.map((r) => b.slice(r.startOffset, r.endOffset))
    const differing = ca.map((_c, i) => i).filter((i) => ca[i] !== cb[i])
    if (differing.length > 0) {
      rng.shuffle(differing)
      // a strict subset: taking every region would just copy the mate
      const n = Math.min(differing.length, 1 + rng.int(Math.max(1, Math.min(differing.length, ba.regions.length - 1))))
      const take = new Set(differing.slice(0, n))
      let out = ''
      let pos = 0
      ba.regions.forEach((r, i) => {
        out += a.slice(pos, r.startOffset) + (take.has(i) ? (cb[i] as string) : (ca[i] as string))
        pos = r.endOffset
      })
      out += a.slice(pos)
      const which = [...take].sort((x, y) => x - y)
      return {
        code: out,
        operator: 'crossover-blocks',
        params: { kind: 'regions', regions: which },
        description: `took EVOLVE-BLOCK region${which.length > 1 ? 's' : ''} ${which.map((i) => i + 1).join(', ')} from the second parent`,
      }
    }
  }
  const fa = findFunctions(a, language)
  const fb = findFunctions(b, language)
  const la = a.split('\n')
  const lb = b.split('\n')
  const byName = new Map(fb.map((f) => [f.name, f]))
  const cands = fa.filter((f) => {
    const g = byName.get(f.name)
    if (!g) return false
    const x = la
      .slice(f.startLine, f.endLine)
      .map((l) => l.trim())
      .join('\n')
    const y = lb
      .slice(g.startLine, g.endLine)
      .map((l) => l.trim())
      .join('\n')
    return x !== y
  })
  if (cands.length === 0) return null
  const f = rng.pick(cands)
  const g = byName.get(f.name) as FunctionSpan
  const body = reindent(lb.slice(g.startLine, g.endLine), g.indent, f.indent)
  const out = [...la.slice(0, f.startLine), ...body, ...la.slice(f.endLine)].join('\n')
  return {
    code: out,
    operator: 'crossover-blocks',
    params: { kind: 'function', function: f.name, lines: [f.startLine + 1, f.endLine] },
    description: `took function ${f.name}() from the second parent`,
  }
}

// ---------------------------------------------------------------------------------------------
// swap adjacent statements

const PY_NO_SWAP =
  /^(return|break|continue|raise|yield|elif|else|except|finally|def|class|async\s+def|import|from|global|nonlocal|pass|@)\b|^@/
const PY_CLAUSE = /^(elif|else|except|finally)\b/
const C_NO_SWAP = /^(return|break|continue|case|default|goto|#|else|\}|\{)|^[A-Za-z_]\w*\s*:(?!:)/

interface Unit {
  start: number
  end: number
}

/** candidate pairs of adjacent statements that can be exchanged without breaking the syntax */
export function swappablePairs(code: string, language: Language | string): Array<[Unit, Unit]> {
  const lines = code.split('\n')
  const blocks = findEvolveBlocks(code)
  const ranges: Array<[number, number]> = blocks.hasMarkers
    ? blocks.regions.map((r) => [r.contentStartLine, r.contentEndLine])
    : [[0, lines.length]]
  const pairs: Array<[Unit, Unit]> = []
  const toks = tokenize(code, language)
  if (lexFamily(language) === 'python') {
    // logical lines: first line, last line, depth, text of the first token, last token
    const logical: Array<{ first: number; last: number; depth: number; head: string; endsColon: boolean }> = []
    let cur: { first: number; last: number; depth: number; head: string; endsColon: boolean } | null = null
    let lastTok: Token | null = null
    for (const t of toks) {
      if (t.kind === 'nl') {
        if (cur && lastTok) {
          cur.last = lastTok.line
          cur.endsColon = code.slice(lastTok.start, lastTok.end) === ':'
          logical.push(cur)
        }
        cur = null
        continue
      }
      if (!cur)
        cur = {
          first: t.line,
          last: t.line,
          depth: t.depth ?? 0,
          head: (lines[t.line] as string).trim(),
          endsColon: false,
        }
      lastTok = t
    }
    for (const [r0, r1] of ranges) {
      const ls = logical.filter((l) => l.first >= r0 && l.last < r1)
      // units: a logical line plus, for a compound header, every deeper logical line after it
      const units: Array<Unit & { depth: number; head: string; parent: number }> = []
      const parentAt: number[] = []
      for (let i = 0; i < ls.length; i++) {
        const l = ls[i]!
        let j = i + 1
        if (l.endsColon) while (j < ls.length && ls[j]!.depth > l.depth) j++
        // parent: nearest earlier logical line with a smaller depth
        let p = -1
        for (let k = i - 1; k >= 0; k--)
          if (ls[k]!.depth < l.depth) {
            p = k
            break
          }
        parentAt.push(p)
        units.push({ start: l.first, end: ls[j - 1]!.last + 1, depth: l.depth, head: l.head, parent: p })
      }
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!
        // the next unit at the same depth under the same parent, right after u
        const nextIdx = units.findIndex((v, k) => k > i && v.start >= u.end)
        if (nextIdx < 0) continue
        const v = units[nextIdx]!
        if (v.depth !== u.depth || v.parent !== u.parent) continue
        if (PY_NO_SWAP.test(u.head) || PY_NO_SWAP.test(v.head) || PY_CLAUSE.test(v.head)) continue
        // a docstring or bare string expression stays first
        if (/^[rbfuRBFU]*["']/.test(u.head)) continue
        // a compound statement followed by its own clauses (if/else) must move with them: skip
        const after = units.find((w) => w.start >= v.end)
        if (after && PY_CLAUSE.test(after.head) && after.depth === v.depth) continue
        pairs.push([
          { start: u.start, end: v.start },
          { start: v.start, end: v.end },
        ])
      }
    }
    return pairs
  }
  // C-like: single-line statements ending with ';' at the same brace depth, on consecutive lines
  const depthAtLine = new Array<number>(lines.length + 1).fill(0)
  let depth = 0
  let ti = 0
  for (let l = 0; l < lines.length; l++) {
    depthAtLine[l] = depth
    while (ti < toks.length && (toks[ti] as Token).line === l) {
      const t = toks[ti] as Token
      if (t.kind === 'op') {
        const c = code[t.start]
        if (c === '{' || c === '(' || c === '[') depth++
        else if (c === '}' || c === ')' || c === ']') depth--
      }
      ti++
    }
  }
  const simple = (l: number) => {
    const t = (lines[l] as string).trim()
    if (!t.endsWith(';') || C_NO_SWAP.test(t) || /[{}]/.test(t) || t.startsWith('//') || t.startsWith('/*'))
      return false
    // a complete statement: balanced brackets within the line
    return depthAtLine[l] === depthAtLine[l + 1] && !/^\)/.test(t) && !/^(const|let|var)\s+\w+\s*=\s*function/.test(t)
  }
  for (const [r0, r1] of ranges) {
    for (let l = r0; l + 1 < r1; l++) {
      if (simple(l) && simple(l + 1) && depthAtLine[l] === depthAtLine[l + 1])
        pairs.push([
          { start: l, end: l + 1 },
          { start: l + 1, end: l + 2 },
        ])
    }
  }
  return pairs
}

/** exchange two adjacent statements inside the editable regions; null when no pair qualifies */
export function swapStatements(code: string, language: Language | string, rng: Rng): LocalOpResult | null {
  const pairs = swappablePairs(code, language)
  const lines = code.split('\n')
  const candidates = pairs.filter(([u, v]) => {
    const x = lines
      .slice(u.start, u.end)
      .map((l) => l.trim())
      .join('\n')
    const y = lines
      .slice(v.start, v.end)
      .map((l) => l.trim())
      .join('\n')
    return x !== y
  })
  if (candidates.length === 0) return null
  const [u, v] = rng.pick(candidates)
  // keep blank lines and comments that trail the first unit where they were
  let uEnd = u.end
  while (
    uEnd > u.start + 1 &&
    ((lines[uEnd - 1] as string).trim() === '' || /^\s*(#|\/\/)/.test(lines[uEnd - 1] as string))
  )
    uEnd--
  const A = lines.slice(u.start, uEnd)
  const gap = lines.slice(uEnd, v.start)
  const B = lines.slice(v.start, v.end)
  const out = [...lines.slice(0, u.start), ...B, ...gap, ...A, ...lines.slice(v.end)].join('\n')
  const first = (B[0] as string).trim()
  const second = (A[0] as string).trim()
  return {
    code: out,
    operator: 'swap',
    params: { lines: [u.start + 1, v.start + 1], sizes: [A.length, B.length] },
    description: `swapped the statements at lines ${u.start + 1} and ${v.start + 1} (\`${clip(first)}\` now before \`${clip(second)}\`)`,
  }
}

function clip(s: string, n = 40): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}

// ---------------------------------------------------------------------------------------------
// dispatch and cold-start variants

export interface LocalOperatorInput {
  code: string
  language: Language | string
  /** the second parent, for crossovers */
  mate?: string
}

export interface LocalOperatorOptions {
  perturb?: PerturbOptions
  crossover?: LiteralCrossoverOptions
}

/** run one operator; null when it does not apply (no literals, no mate, nothing to swap…) */
export function applyLocalOperator(
  name: LocalOperatorName,
  input: LocalOperatorInput,
  rng: Rng,
  opts: LocalOperatorOptions = {},
): LocalOpResult | null {
  switch (name) {
    case 'perturb':
      return perturbLiterals(input.code, input.language, rng, opts.perturb)
    case 'crossover-literals':
      return input.mate === undefined
        ? null
        : crossoverLiterals(input.code, input.mate, input.language, rng, opts.crossover)
    case 'crossover-blocks':
      return input.mate === undefined ? null : crossoverBlocks(input.code, input.mate, input.language, rng)
    case 'swap':
      return swapStatements(input.code, input.language, rng)
  }
}

/**
 * Try operators in a random order weighted by `weights` until one applies (e.g. no literals → swap).
 * Crossovers are skipped without a mate.
 */
export function applyAnyLocalOperator(
  input: LocalOperatorInput,
  rng: Rng,
  weights: Partial<Record<LocalOperatorName, number>> = {
    perturb: 6,
    'crossover-literals': 2,
    'crossover-blocks': 1,
    swap: 1,
  },
  opts: LocalOperatorOptions = {},
): LocalOpResult | null {
  const names = LOCAL_OPERATORS.filter(
    (n) => (weights[n] ?? 0) > 0 && (input.mate !== undefined || !n.startsWith('crossover')),
  )
  const w = names.map((n) => weights[n] as number)
  while (names.length > 0) {
    const i = rng.weightedIndex(w)
    const r = applyLocalOperator(names[i] as LocalOperatorName, input, rng, opts)
    if (r) return r
    names.splice(i, 1)
    w.splice(i, 1)
  }
  return null
}

export interface LocalOperatorVariant {
  /** stable id, usable as a bandit arm */
  id: string
  operator: LocalOperatorName
  label: string
  options: LocalOperatorOptions
}

/**
 * Differently configured offline generators: the cold start's diversity when no model is configured, and
 * natural bandit arms afterwards.
 */
export const LOCAL_OPERATOR_VARIANTS: readonly LocalOperatorVariant[] = [
  {
    id: 'perturb-fine',
    operator: 'perturb',
    label: 'literal perturbation, fine (σ 0.01)',
    options: { perturb: { sigma: 0.01, maxLiterals: 2 } },
  },
  {
    id: 'perturb-medium',
    operator: 'perturb',
    label: 'literal perturbation, medium (σ 0.1)',
    options: { perturb: { sigma: 0.1, maxLiterals: 3 } },
  },
  {
    id: 'perturb-coarse',
    operator: 'perturb',
    label: 'literal perturbation, coarse (σ 0.5)',
    options: { perturb: { sigma: 0.5, maxLiterals: 4 } },
  },
  {
    id: 'perturb-wide',
    operator: 'perturb',
    label: 'literal perturbation, wide (σ 1.5, many literals)',
    options: { perturb: { sigma: 1.5, maxLiterals: 8 } },
  },
  { id: 'swap', operator: 'swap', label: 'statement swap', options: {} },
]
