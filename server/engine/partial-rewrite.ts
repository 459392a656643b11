// Rewrites that leave code out ("# ... rest unchanged") or hold only a part of the EVOLVE-BLOCK region
// (only the function the model changed): found before a rewrite is spliced in (code.ts,
// spliceFromEdited), so it is refused with its reason or, for a Python snippet, merged by definition.
import type { Language } from '../contracts/evaluation.ts'
import { lexFamily, lineOffsets, type Token, tokenize } from './code.ts'

export interface Elision {
  /** 1-based line in the rewritten program */
  line: number
  /** the placeholder as written: a comment, or a bare `...` line */
  text: string
}

// next to an ellipsis, these words make a comment a placeholder ("# ... rest unchanged", "// ... existing code ...")
const ELIDED_WORDS_RE =
  /\b(?:rest|remaining|remainder|others?|existing|unchanged|same|previous(?:ly)?|before|above|below|original|omit(?:ted)?|elided|untouched|unmodified|as[ -]is|etc|code|implementation|body)\b/i
// without an ellipsis, only the set phrases models write: an ordinary comment ("B and C stay unchanged") is not one
const ELIDED_PHRASE_RE = new RegExp(
  [
    String.raw`^\(?\s*(?:unchanged|same|as before|omitted|not shown)\s*\)?$`,
    String.raw`^(?:the\s+)?(?:rest|remainder)\b.*\b(?:unchanged|the same|same as|as before|omitted|not shown|elided|as is)\b`,
    String.raw`^(?:all\s+)?(?:other|remaining)\s+(?:code|functions?|definitions?|methods?|parts?|lines?|constants?)\s+(?:unchanged|omitted|as before|not shown)\b`,
    String.raw`\bomitted for brevity\b`,
    String.raw`^(?:existing|previous|original)\s+code(?:\s+(?:here|unchanged|as before|goes here|stays(?: the same)?))?\.?$`,
    String.raw`^(?:same as|unchanged from)\s+(?:before|above|the original|original|previous|the previous version)\b`,
  ].join('|'),
  'i',
)

function isPlaceholderComment(body: string): boolean {
  const b = body.trim()
  if (b === '') return false
  if (/^(?:\.{3,}|…)+$/.test(b.replace(/[\s()[\]<>{}\-–—]/g, ''))) return true
  // a placeholder opens or closes on its ellipsis; prose that has one in its middle is not one
  if (b.length <= 60 && /^(?:\.{3,}|…)|(?:\.{3,}|…)\W*$/.test(b) && ELIDED_WORDS_RE.test(b)) return true
  return b.length <= 80 && ELIDED_PHRASE_RE.test(b)
}

function indentWidth(l: string): number {
  let w = 0
  for (const c of l) {
    if (c === ' ') w++
    else if (c === '\t') w = (Math.floor(w / 8) + 1) * 8
    else break
  }
  return w
}

/**
 * The first placeholder in `code` standing for code the model left out: a comment such as
 * "# ... rest of the block unchanged ..." or "// ... existing code ...", a "…" line, or a bare `...` line
 * that is not a Python stub body (`...` alone in its block is valid code and kept). Comments the original
 * already holds are its own and not placeholders. Null when there is none.
 */
export function findElision(code: string, language: Language | string, original = ''): Elision | null {
  const py = lexFamily(language) === 'python'
  const inString = new Uint8Array(code.length + 1)
  for (const t of tokenize(code, language)) if (t.kind === 'str') inString.fill(1, t.start, t.end)
  // the inside of a /* … */ comment running over lines reads as text, like a string's
  if (!py)
    for (let i = code.indexOf('/*'); i >= 0; i = code.indexOf('/*', i + 2)) {
      if (inString[i]) continue
      const end = code.indexOf('*/', i + 2)
      if (code.lastIndexOf('\n', end < 0 ? code.length : end) > i) inString.fill(1, i + 2, end < 0 ? code.length : end)
      if (end < 0) break
      i = end
    }
  const own = new Set(original.split('\n').map((l) => l.trim()))
  const lines = code.split('\n')
  const offs = lineOffsets(code)
  // per line: its code (comment removed), its comment, whether it starts inside a string
  const info = lines.map((l, n) => {
    const at = offs[n] as number
    const lead = l.length - l.trimStart().length
    let cut = -1
    for (let i = lead; i < l.length && cut < 0; i++) {
      if (inString[at + i]) continue
      const c = l[i]
      if (py ? c === '#' : c === '/' && (l[i + 1] === '/' || l[i + 1] === '*')) cut = i
    }
    const comment = cut < 0 ? '' : l.slice(cut)
    return {
      code: (cut < 0 ? l : l.slice(0, cut)).trim(),
      comment,
      str: l.trim() !== '' && inString[at + lead] === 1,
      indent: indentWidth(l),
    }
  })
  for (let n = 0; n < lines.length; n++) {
    const x = info[n] as (typeof info)[number]
    if (x.str) continue
    if (x.comment && !own.has(lines[n]?.trim() ?? '') && !own.has(x.comment.trim())) {
      const body = py ? x.comment.slice(1) : x.comment.replace(/^\/(?:\/+|\*+)/, '').replace(/\*\/\s*$/, '')
      if (isPlaceholderComment(body)) return { line: n + 1, text: clipText(x.comment.trim()) }
    }
    const bare = x.code.replace(/;$/, '').trim()
    if (bare === '…') return { line: n + 1, text: bare }
    if (bare !== '...') continue
    const near = (step: 1 | -1) => {
      for (let k = n + step; k >= 0 && k < lines.length; k += step) {
        const y = info[k] as (typeof info)[number]
        if (y.code !== '' || y.str) return y
      }
      return undefined
    }
    const prev = near(-1)
    const next = near(1)
    if (!py) {
      // C varargs in a parameter list broken over lines
      if (!prev || !/[,(]$/.test(prev.code)) return { line: n + 1, text: bare }
      continue
    }
    // a stub body is alone in its block: after the block's header or docstring, before a dedent
    const opensBlock = prev !== undefined && prev.indent < x.indent && prev.code.endsWith(':')
    const afterDoc = prev !== undefined && prev.indent === x.indent && (prev.str || /^[rRbBuUfF]*["']/.test(prev.code))
    const last = next === undefined || next.indent < x.indent
    if (!((opensBlock || afterDoc) && last)) return { line: n + 1, text: bare }
  }
  return null
}

function clipText(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}

interface TopChunk {
  /** 0-based lines [start, end) */
  start: number
  end: number
  names: string[]
  /** a definition (def, class, import, assignment), a docstring, or another statement */
  kind: 'def' | 'doc' | 'stmt'
}

const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
)

/** the names a top-level Python statement (tokens [i, j), no nl) binds, and what kind of statement it is */
function pyStatement(
  code: string,
  toks: Token[],
  i: number,
  j: number,
): { kind: TopChunk['kind'] | 'deco'; names: string[] } {
  const text = (k: number) => (k < j ? code.slice((toks[k] as Token).start, (toks[k] as Token).end) : '')
  let k = i
  if (text(k) === 'async') k++
  const w = text(k)
  if (w === '@') return { kind: 'deco', names: [] }
  if ((w === 'def' || w === 'class') && toks[k + 1]?.kind === 'id') return { kind: 'def', names: [text(k + 1)] }
  if (w === 'import' || w === 'from') {
    let m = i + 1
    if (w === 'from') while (m < j && text(m) !== 'import') m++
    const names: string[] = []
    // import a.b as c, d / from m import (x as y, z)
    for (let p = w === 'from' ? m + 1 : m; p < j; p++) {
      if (toks[p]?.kind !== 'id') continue
      if (text(p + 1) === 'as') {
        names.push(text(p + 2))
        p += 2
      } else {
        names.push(text(p))
        while (p + 1 < j && text(p + 1) !== ',') p++
      }
    }
    return { kind: 'def', names }
  }
  if (toks[i]?.kind === 'str' && j === i + 1) return { kind: 'doc', names: [] }
  // an assignment: `A = 1`, `A, B = 1, 2`, `A: float = 1`; not `a.b = 1` or `a[0] = 1`
  let depth = 0
  let eq = -1
  for (let p = i; p < j && eq < 0; p++) {
    const t = text(p)
    if (t === '(' || t === '[' || t === '{') depth++
    else if (t === ')' || t === ']' || t === '}') depth--
    else if (t === '=' && depth === 0) eq = p
  }
  if (eq < 0) return { kind: 'stmt', names: [] }
  let end = eq
  for (let p = i; p < eq; p++) if (text(p) === ':') end = Math.min(end, p)
  const names: string[] = []
  for (let p = i; p < end; p++) {
    const t = toks[p] as Token
    const s = text(p)
    if (t.kind === 'id') {
      if (PY_KEYWORDS.has(s) || text(p + 1) === '[' || text(p + 1) === '.') return { kind: 'stmt', names: [] }
      names.push(s)
    } else if (!['(', ')', '[', ']', ',', '*'].includes(s)) return { kind: 'stmt', names: [] }
  }
  return names.length > 0 ? { kind: 'def', names } : { kind: 'stmt', names: [] }
}

/** the top-level statements of Python code (decorators joined to what they decorate), with the names each binds */
function pythonTopLevel(code: string): { chunks: TopChunk[]; uses: Set<string> } {
  const toks = tokenize(code, 'python')
  const chunks: TopChunk[] = []
  const uses = new Set<string>()
  let deco = -1
  let i = 0
  while (i < toks.length) {
    let j = i
    while (j < toks.length && (toks[j] as Token).kind !== 'nl') j++
    if (j > i) {
      const first = toks[i] as Token
      const lastTok = toks[j - 1] as Token
      const endLine = lastTok.line + (code.slice(lastTok.start, lastTok.end).match(/\n/g)?.length ?? 0) + 1
      if (first.depth === 0) {
        const st = pyStatement(code, toks, i, j)
        if (st.kind === 'deco') {
          if (deco < 0) deco = first.line
        } else {
          chunks.push({ start: deco >= 0 ? deco : first.line, end: endLine, names: st.names, kind: st.kind })
          deco = -1
        }
      } else if (chunks.length > 0) {
        const c = chunks[chunks.length - 1] as TopChunk
        c.end = Math.max(c.end, endLine)
      }
      for (let p = i; p < j; p++) {
        const t = toks[p] as Token
        const prev = p > i ? code.slice((toks[p - 1] as Token).start, (toks[p - 1] as Token).end) : ''
        if (t.kind === 'id' && prev !== '.') uses.add(code.slice(t.start, t.end))
      }
    }
    i = j + 1
  }
  return { chunks, uses }
}

const CLIKE_KEYWORDS = new Set(
  'if else for while do switch case return break continue goto sizeof typeof new delete throw try catch finally await yield import export from default static const let var function class struct enum union typedef extern inline void int long short char float double unsigned signed bool auto register volatile template typename namespace using public private protected virtual operator this true false null undefined'.split(
    ' ',
  ),
)

// words before a name that make it an expression, not a declaration (`await f()`, `return x;`)
const NOT_A_TYPE = new Set(['return', 'await', 'new', 'typeof', 'throw', 'yield', 'case', 'else', 'delete', 'in', 'of'])

/** the names defined at the top level of C-like code (functions, variables, classes, #defines), and the names used */
function clikeTopLevel(code: string, language: Language | string): { names: Set<string>; uses: Set<string> } {
  const toks = tokenize(code, language)
  const text = (k: number) => (toks[k] ? code.slice((toks[k] as Token).start, (toks[k] as Token).end) : '')
  const names = new Set<string>()
  const uses = new Set<string>()
  let braces = 0
  let parens = 0
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k] as Token
    const s = text(k)
    if (s === '{') braces++
    else if (s === '}') braces = Math.max(0, braces - 1)
    else if (s === '(') parens++
    else if (s === ')') parens = Math.max(0, parens - 1)
    if (t.kind !== 'id') continue
    const prev = text(k - 1)
    if (prev !== '.' && prev !== '->' && prev !== '::') uses.add(s)
    if (braces !== 0 || parens !== 0 || CLIKE_KEYWORDS.has(s)) continue
    const next = text(k + 1)
    const named =
      ['function', 'class', 'struct', 'enum', 'union', 'interface', 'type', 'define'].includes(prev) ||
      (['const', 'let', 'var'].includes(prev) && ['=', ':', ';', ','].includes(next)) ||
      // `double A = 0.5;`, `int f(int x) {`: a name after a type
      (((toks[k - 1]?.kind === 'id' && !NOT_A_TYPE.has(prev)) || prev === '*' || prev === '&') &&
        ['=', '(', ';', '[', ','].includes(next))
    if (named) names.add(s)
  }
  return { names, uses }
}

function commonIndent(lines: string[]): string {
  let common: string | null = null
  for (const l of lines) {
    if (l.trim() === '') continue
    const ws = l.slice(0, l.length - l.trimStart().length)
    if (common === null) common = ws
    else {
      let n = 0
      while (n < common.length && n < ws.length && common[n] === ws[n]) n++
      common = common.slice(0, n)
    }
  }
  return common ?? ''
}

const listNames = (ns: string[]) =>
  ns.length <= 1 ? (ns[0] ?? '') : `${ns.slice(0, -1).join(', ')} and ${ns[ns.length - 1]}`

/**
 * A rewrite holding the region's content alone may be a snippet: only the definitions the model changed
 * ("only predict needs to change"), using the region's other definitions without repeating them. Taken as
 * the whole region it would delete those. For Python, the snippet's top-level definitions replace the
 * region's of the same names (new ones go beside them, in the snippet's order); where that is not clear
 * the rewrite is refused. For other languages, a rewrite that leaves out most of the region's definitions
 * and uses one it left out is refused. Null when the rewrite is a whole region (take it as it is).
 */
export function partialRegion(
  region: string,
  snippet: string,
  language: Language | string,
): { merged: string; note: string } | { reason: string } | null {
  const whole = 'answer with the whole program'
  if (lexFamily(language) !== 'python') {
    const r = clikeTopLevel(region, language)
    const s = clikeTopLevel(snippet, language)
    const dropped = [...r.names].filter((n) => !s.names.has(n))
    const usedDropped = dropped.filter((n) => s.uses.has(n))
    if (r.names.size < 2 || dropped.length * 2 <= r.names.size || usedDropped.length === 0) return null
    const kept = [...r.names].filter((n) => s.names.has(n))
    return {
      reason: `its rewrite is a part of the EVOLVE-BLOCK: it defines ${kept.length > 0 ? `only ${listNames(kept)}` : 'none'} of its ${listNames([...r.names])}, and uses ${listNames(usedDropped)} without defining ${usedDropped.length > 1 ? 'them' : 'it'}: ${whole}`,
    }
  }
  const rLines = region.split('\n')
  const indent = commonIndent(rLines)
  const sLines = snippet.split('\n')
  const sIndent = commonIndent(sLines)
  const dedent = (ls: string[], ws: string) => ls.map((l) => (l.startsWith(ws) ? l.slice(ws.length) : l.trimStart()))
  const rd = dedent(rLines, indent)
  const sd = dedent(sLines, sIndent)
  const r = pythonTopLevel(rd.join('\n'))
  const s = pythonTopLevel(sd.join('\n'))
  const regionNames = r.chunks.flatMap((c) => c.names)
  const snippetNames = new Set(s.chunks.flatMap((c) => c.names))
  const missing = [...new Set(regionNames)].filter((n) => !snippetNames.has(n) && s.uses.has(n))
  if (missing.length === 0) return null
  const kept = [...new Set(regionNames)].filter((n) => snippetNames.has(n))
  const refuse = (why: string) => ({
    reason: `its rewrite is a part of the EVOLVE-BLOCK: it uses ${listNames(missing)} without defining ${missing.length > 1 ? 'them' : 'it'}, and ${why}: ${whole}`,
  })
  if (kept.length === 0) return refuse('redefines none of the block')
  if (s.chunks.some((c) => c.kind === 'stmt'))
    return refuse('holds statements besides definitions, which have no place to go in the block')
  const owner = new Map<string, number>()
  for (const [ci, c] of r.chunks.entries())
    for (const n of c.names) {
      if (owner.has(n) && snippetNames.has(n)) return refuse(`${n} is defined more than once in the block`)
      owner.set(n, ci)
    }
  const seen = new Set<string>()
  for (const c of s.chunks)
    for (const n of c.names) {
      if (seen.has(n)) return refuse(`it defines ${n} more than once`)
      seen.add(n)
    }
  // a region statement replaced must not bind a name the snippet leaves out (`A, B = 1, 2` for `A = 3`)
  const replace = new Map<number, string[]>()
  const removed = new Set<number>()
  const before = new Map<number, string[][]>()
  const after = new Map<number, string[][]>()
  let pending: string[][] = []
  let anchor = -1
  for (const c of s.chunks) {
    if (c.kind === 'doc') continue
    const text = sd.slice(c.start, c.end).map((l) => (l.trim() === '' ? l : indent + l))
    const hits = [...new Set(c.names.filter((n) => owner.has(n)).map((n) => owner.get(n) as number))].sort(
      (x, y) => x - y,
    )
    if (hits.length === 0) {
      if (anchor < 0) pending.push(text)
      else after.set(anchor, [...(after.get(anchor) ?? []), text])
      continue
    }
    for (const h of hits) {
      const lost = (r.chunks[h] as TopChunk).names.filter((n) => !snippetNames.has(n))
      if (lost.length > 0) return refuse(`it redefines a part of a statement that also defines ${listNames(lost)}`)
    }
    const first = hits[0] as number
    replace.set(first, text)
    for (const h of hits.slice(1)) removed.add(h)
    if (pending.length > 0) before.set(first, pending)
    pending = []
    anchor = first
  }
  const out: string[] = []
  let from = 0
  for (const [ci, c] of r.chunks.entries()) {
    out.push(...rLines.slice(from, c.start))
    for (const t of before.get(ci) ?? []) out.push(...t, '')
    if (replace.has(ci)) out.push(...(replace.get(ci) as string[]))
    else if (!removed.has(ci)) out.push(...rLines.slice(c.start, c.end))
    for (const t of after.get(ci) ?? []) out.push('', ...t)
    from = c.end
  }
  out.push(...rLines.slice(from))
  return {
    merged: out.join('\n'),
    note: `its rewrite held only ${listNames(kept)} of the EVOLVE-BLOCK (not ${listNames(missing)}, which it uses), so it replaced ${kept.length > 1 ? 'those definitions' : 'that definition'} in the block`,
  }
}
