// Source-level helpers shared by the diff applier, the offline operators and the novelty index:
// a small language-aware lexer (enough to tell code from comments and strings, not a parser),
// normalization + hashing for deduplication, and EVOLVE-BLOCK region handling.
import { createHash } from 'node:crypto'
import type { Language } from '../contracts/evaluation.ts'
import { findElision, partialRegion } from './partial-rewrite.ts'

export type { Language }

/** python's comments, strings and significant indentation differ; the rest share C's lexical shape */
export type LexFamily = 'python' | 'clike'

export function lexFamily(language: Language | string): LexFamily {
  return language === 'python' || language === 'py' ? 'python' : 'clike'
}

export type TokenKind = 'id' | 'num' | 'str' | 'op' | 'nl'

export interface Token {
  kind: TokenKind
  /** char offsets into the source: text is source.slice(start, end) */
  start: number
  end: number
  /** 0-based line of the token's first char */
  line: number
  /** python only: the logical line's indentation depth (0, 1, 2…), counted like Python's INDENT/DEDENT */
  depth?: number
}

// char codes (a plain object, not an enum: the module stays erasable TypeScript for Node's type stripping)
const C = {
  TAB: 9,
  LF: 10,
  CR: 13,
  SPACE: 32,
  BANG: 33,
  DQUOTE: 34,
  HASH: 35,
  SQUOTE: 39,
  LPAREN: 40,
  RPAREN: 41,
  STAR: 42,
  COMMA: 44,
  DOT: 46,
  SLASH: 47,
  D0: 48,
  D9: 57,
  SEMI: 59,
  BACKSLASH: 92,
  LBRACKET: 91,
  RBRACKET: 93,
  BACKTICK: 96,
  LBRACE: 123,
  RBRACE: 125,
} as const

function isDigit(c: number): boolean {
  return c >= C.D0 && c <= C.D9
}
function isIdStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127
}
function isIdPart(c: number): boolean {
  return isIdStart(c) || isDigit(c)
}
/** punctuation that always stands alone (never merged into a multi-char operator) */
function isSingleOp(c: number): boolean {
  return (
    c === C.LPAREN ||
    c === C.RPAREN ||
    c === C.LBRACKET ||
    c === C.RBRACKET ||
    c === C.LBRACE ||
    c === C.RBRACE ||
    c === C.COMMA ||
    c === C.SEMI ||
    c === C.DOT
  )
}
function isOpChar(c: number): boolean {
  return c > 32 && c < 127 && !isIdPart(c) && !isSingleOp(c) && c !== C.DQUOTE && c !== C.SQUOTE && c !== C.BACKTICK
}

const PY_STRING_PREFIX = /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])$/

/**
 * Tokenize source code, dropping comments and whitespace. Strings are kept whole (one token), so a number
 * inside a string or comment never shows up as a `num` token. Python logical-line ends come out as `nl`
 * tokens (not inside brackets), each logical line's first token carrying its indentation depth.
 * Unterminated strings/comments run to the end of the input instead of throwing: candidates can be broken.
 */
export function tokenize(code: string, language: Language | string): Token[] {
  const py = lexFamily(language) === 'python'
  const out: Token[] = []
  const n = code.length
  let i = 0
  let line = 0
  let bracket = 0
  // python indentation: a stack of widths, as in Python's tokenizer
  const indents: number[] = [0]
  let atLineStart = true
  let pendingDepth = 0
  let measuredAt = -1

  const push = (kind: TokenKind, start: number, end: number, startLine: number) => {
    const t: Token = { kind, start, end, line: startLine }
    if (py && atLineStart && kind !== 'nl') {
      t.depth = pendingDepth
      atLineStart = false
    }
    out.push(t)
  }

  while (i < n) {
    const c = code.charCodeAt(i)

    // python: measure indentation at the start of each physical line that begins a logical line
    if (py && atLineStart && bracket === 0 && i !== measuredAt && (i === 0 || code.charCodeAt(i - 1) === C.LF)) {
      measuredAt = i
      let w = 0
      let j = i
      while (j < n) {
        const d = code.charCodeAt(j)
        if (d === C.SPACE) w++
        else if (d === C.TAB) w = (Math.floor(w / 8) + 1) * 8
        else break
        j++
      }
      const d = j < n ? code.charCodeAt(j) : C.LF
      if (d !== C.LF && d !== C.CR && d !== C.HASH) {
        while (indents.length > 1 && w < (indents[indents.length - 1] as number)) indents.pop()
        if (w > (indents[indents.length - 1] as number)) indents.push(w)
        pendingDepth = indents.length - 1
      }
      if (j > i) {
        i = j
        continue
      }
    }

    if (c === C.LF) {
      if (py && bracket === 0 && !atLineStart) {
        out.push({ kind: 'nl', start: i, end: i + 1, line })
        atLineStart = true
      }
      line++
      i++
      continue
    }
    if (c === C.SPACE || c === C.TAB || c === C.CR || c === 12 || c === 11) {
      i++
      continue
    }
    if (c === C.BACKSLASH && i + 1 < n && (code.charCodeAt(i + 1) === C.LF || code.charCodeAt(i + 1) === C.CR)) {
      // explicit line continuation
      i += code.charCodeAt(i + 1) === C.CR && code.charCodeAt(i + 2) === C.LF ? 3 : 2
      line++
      continue
    }

    // comments
    if (py && c === C.HASH) {
      while (i < n && code.charCodeAt(i) !== C.LF) i++
      continue
    }
    if (!py && c === C.SLASH && i + 1 < n) {
      const d = code.charCodeAt(i + 1)
      if (d === C.SLASH) {
        while (i < n && code.charCodeAt(i) !== C.LF) i++
        continue
      }
      if (d === C.STAR) {
        const endAt = code.indexOf('*/', i + 2)
        const stop = endAt < 0 ? n : endAt + 2
        for (let k = i; k < stop; k++) if (code.charCodeAt(k) === C.LF) line++
        i = stop
        continue
      }
    }

    // numbers (a leading '.' counts when a digit follows: ".5")
    if (isDigit(c) || (c === C.DOT && i + 1 < n && isDigit(code.charCodeAt(i + 1)))) {
      const start = i
      const end = scanNumber(code, i)
      push('num', start, end, line)
      i = end
      continue
    }

    // identifiers (and python string prefixes: r"…", f'…', rb"…")
    if (isIdStart(c)) {
      const start = i
      while (i < n && isIdPart(code.charCodeAt(i))) i++
      const q = i < n ? code.charCodeAt(i) : 0
      if (py && (q === C.DQUOTE || q === C.SQUOTE) && i - start <= 2 && PY_STRING_PREFIX.test(code.slice(start, i))) {
        const startLine = line
        const r = scanString(code, i, true)
        line += r.lines
        push('str', start, r.end, startLine)
        i = r.end
        continue
      }
      push('id', start, i, line)
      continue
    }

    if (c === C.DQUOTE || c === C.SQUOTE || (!py && c === C.BACKTICK)) {
      const startLine = line
      const r = scanString(code, i, py)
      line += r.lines
      push('str', i, r.end, startLine)
      i = r.end
      continue
    }

    if (isSingleOp(c)) {
      if (c === C.LPAREN || c === C.LBRACKET || c === C.LBRACE) bracket++
      else if ((c === C.RPAREN || c === C.RBRACKET || c === C.RBRACE) && bracket > 0) bracket--
      push('op', i, i + 1, line)
      i++
      continue
    }

    // maximal munch over operator characters, so "a--3" and "a - -3" stay different but "x=1" and "x = 1" do not
    const start = i
    while (i < n && isOpChar(code.charCodeAt(i))) {
      // never swallow the start of a comment into an operator
      if (py && code.charCodeAt(i) === C.HASH) break
      if (
        !py &&
        code.charCodeAt(i) === C.SLASH &&
        (code.charCodeAt(i + 1) === C.SLASH || code.charCodeAt(i + 1) === C.STAR) &&
        i > start
      )
        break
      i++
    }
    if (i === start)
      i++ // an unexpected control character: skip it
    else {
      // a sign glued to a number after another operator ("x=-1", "a*-2") is its own token: a unary minus
      const last = code.charCodeAt(i - 1)
      const nx = i < n ? code.charCodeAt(i) : 0
      if (i - start > 1 && (last === 45 || last === 43) && (isDigit(nx) || nx === C.DOT)) {
        push('op', start, i - 1, line)
        push('op', i - 1, i, line)
      } else push('op', start, i, line)
    }
  }
  if (py && !atLineStart) out.push({ kind: 'nl', start: n, end: n, line })
  return out
}

function scanNumber(code: string, i: number): number {
  const n = code.length
  const c0 = code.charCodeAt(i)
  const c1 = i + 1 < n ? code.charCodeAt(i + 1) | 0x20 : 0
  if (c0 === C.D0 && (c1 === 120 || c1 === 98 || c1 === 111)) {
    // 0x… 0b… 0o…
    i += 2
    while (i < n && isIdPart(code.charCodeAt(i))) i++
    return i
  }
  while (i < n && (isDigit(code.charCodeAt(i)) || code.charCodeAt(i) === 95 || code.charCodeAt(i) === 39)) {
    // 95 '_' (python/js separators); 39 "'" (C++14 separators) only between digits
    if (code.charCodeAt(i) === 39 && !(i + 1 < n && isDigit(code.charCodeAt(i + 1)))) break
    i++
  }
  if (i < n && code.charCodeAt(i) === C.DOT && !(i + 1 < n && code.charCodeAt(i + 1) === C.DOT)) {
    // "1." is a float but "1.." (a JS property access / a range) is not part of the number
    const after = i + 1 < n ? code.charCodeAt(i + 1) : 0
    if (!isIdStart(after) || after === 101 || after === 69 || after === 102 || after === 70) {
      i++
      while (i < n && (isDigit(code.charCodeAt(i)) || code.charCodeAt(i) === 95)) i++
    }
  }
  if (i < n && (code.charCodeAt(i) | 0x20) === 101) {
    const s = code.charCodeAt(i + 1)
    const j = s === 43 || s === 45 ? i + 2 : i + 1
    if (j < n && isDigit(code.charCodeAt(j))) {
      i = j
      while (i < n && isDigit(code.charCodeAt(i))) i++
    }
  }
  // suffixes: 1.0f, 10UL, 3j, 10n
  while (i < n && isIdPart(code.charCodeAt(i))) i++
  return i
}

function scanString(code: string, i: number, py: boolean): { end: number; lines: number } {
  const n = code.length
  const q = code.charCodeAt(i)
  let lines = 0
  if (py && code.charCodeAt(i + 1) === q && code.charCodeAt(i + 2) === q) {
    const quote = code.slice(i, i + 3)
    let j = i + 3
    while (j < n) {
      const c = code.charCodeAt(j)
      if (c === C.BACKSLASH) {
        if (code.charCodeAt(j + 1) === C.LF) lines++
        j += 2
        continue
      }
      if (c === C.LF) lines++
      if (c === q && code.startsWith(quote, j)) return { end: j + 3, lines }
      j++
    }
    return { end: n, lines }
  }
  let j = i + 1
  while (j < n) {
    const c = code.charCodeAt(j)
    if (c === C.BACKSLASH) {
      if (code.charCodeAt(j + 1) === C.LF) lines++
      j += 2
      continue
    }
    if (c === q) return { end: j + 1, lines }
    if (c === C.LF) {
      if (q !== C.BACKTICK) return { end: j, lines } // unterminated single-line string: stop at the line end
      lines++
    }
    j++
  }
  return { end: n, lines }
}

/**
 * Code with comments and insignificant whitespace removed: tokens joined by single spaces; for Python one
 * logical line per output line, prefixed by its indentation depth (so 2- and 4-space indentation agree).
 */
export function normalizeCode(code: string, language: Language | string): string {
  return normalizeTokens(code, tokenize(code, language), language)
}

/** normalizeCode over tokens already lexed from `code` */
export function normalizeTokens(code: string, toks: readonly Token[], language: Language | string): string {
  const py = lexFamily(language) === 'python'
  const parts: string[] = []
  let lineStart = true
  for (const t of toks) {
    if (t.kind === 'nl') {
      parts.push('\n')
      lineStart = true
      continue
    }
    if (py && lineStart && t.depth !== undefined) parts.push(' '.repeat(t.depth))
    else if (!lineStart) parts.push(' ')
    parts.push(code.slice(t.start, t.end))
    lineStart = false
  }
  return parts.join('')
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** sha256 of the normalized code: equal for programs that differ only in comments and whitespace */
export function codeHash(code: string, language: Language | string): string {
  return sha256Hex(normalizeCode(code, language))
}

// ---------------------------------------------------------------------------------------------
// EVOLVE-BLOCK regions

const START_RE = /^[ \t]*(?:#|\/\/|\/\*|--|;|%)[ \t]*EVOLVE-BLOCK-START\b/
const END_RE = /^[ \t]*(?:#|\/\/|\/\*|--|;|%)[ \t]*EVOLVE-BLOCK-END\b/

export interface EvolveRegion {
  index: number
  /** 0-based line of the START marker */
  startMarkerLine: number
  /** 0-based line of the END marker; equals the line count when the marker is missing (region runs to EOF) */
  endMarkerLine: number
  /** editable content: lines [contentStartLine, contentEndLine) */
  contentStartLine: number
  contentEndLine: number
  /** char offsets of the editable content [startOffset, endOffset) */
  startOffset: number
  endOffset: number
}

export interface EvolveBlocks {
  /** false when the code has no markers: then the whole file is editable */
  hasMarkers: boolean
  regions: EvolveRegion[]
  /** marker problems (nested START, END without START, missing END) in human words */
  errors: string[]
  lineCount: number
}

/** offsets of the start of every line (and one past the end) */
export function lineOffsets(code: string): number[] {
  const offs = [0]
  let i = code.indexOf('\n')
  while (i >= 0) {
    offs.push(i + 1)
    i = code.indexOf('\n', i + 1)
  }
  return offs
}

/** EVOLVE-BLOCK-START / -END markers in `#`, `//`, `/*` (or `--`, `;`, `%`) comments, each on its own line */
export function findEvolveBlocks(code: string): EvolveBlocks {
  const lines = code.split('\n')
  const offs = lineOffsets(code)
  const regions: EvolveRegion[] = []
  const errors: string[] = []
  let open = -1
  let any = false
  const close = (endLine: number) => {
    regions.push({
      index: regions.length,
      startMarkerLine: open,
      endMarkerLine: endLine,
      contentStartLine: open + 1,
      contentEndLine: endLine,
      startOffset: offs[open + 1] ?? code.length,
      endOffset: endLine < lines.length ? (offs[endLine] as number) : code.length,
    })
  }
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string
    if (l.indexOf('EVOLVE-BLOCK') < 0) continue
    if (START_RE.test(l)) {
      any = true
      if (open >= 0) {
        errors.push(`EVOLVE-BLOCK-START on line ${i + 1} inside the block opened on line ${open + 1}`)
        close(i)
      }
      open = i
    } else if (END_RE.test(l)) {
      any = true
      if (open < 0) errors.push(`EVOLVE-BLOCK-END on line ${i + 1} without a START`)
      else {
        close(i)
        open = -1
      }
    }
  }
  if (open >= 0) {
    errors.push(`EVOLVE-BLOCK-START on line ${open + 1} has no END (the block runs to the end of the file)`)
    close(lines.length)
  }
  return { hasMarkers: any && regions.length > 0, regions, errors, lineCount: lines.length }
}

/** the editable line ranges [start, end): the regions, or the whole file when there are no markers */
export function editableLineRanges(blocks: EvolveBlocks): Array<[number, number]> {
  if (!blocks.hasMarkers) return [[0, blocks.lineCount]]
  return blocks.regions.map((r) => [r.contentStartLine, r.contentEndLine])
}

/** whether lines [start, end) (0-based, end exclusive) lie inside one editable region */
export function isLineRangeEditable(blocks: EvolveBlocks, start: number, end: number): boolean {
  if (!blocks.hasMarkers) return true
  for (const r of blocks.regions) if (start >= r.contentStartLine && end <= r.contentEndLine) return true
  return false
}

/** whether char range [start, end) lies inside one editable region */
export function isOffsetRangeEditable(blocks: EvolveBlocks, start: number, end: number): boolean {
  if (!blocks.hasMarkers) return true
  for (const r of blocks.regions) if (start >= r.startOffset && end <= r.endOffset) return true
  return false
}

/** the text of each region's editable content */
export function regionContents(code: string, blocks: EvolveBlocks = findEvolveBlocks(code)): string[] {
  return blocks.regions.map((r) => code.slice(r.startOffset, r.endOffset))
}

export interface OutsideViolation {
  kind: 'markers' | 'changed'
  message: string
  /** 1-based line numbers, where they apply */
  originalLine?: number
  editedLine?: number
  expected?: string
  actual?: string
}

export interface OutsideCheck {
  ok: boolean
  violations: OutsideViolation[]
}

/** the fixed (non-editable) segments: lines before the first region, between regions, after the last */
function fixedSegments(lines: string[], blocks: EvolveBlocks): Array<[number, number]> {
  const segs: Array<[number, number]> = []
  let from = 0
  for (const r of blocks.regions) {
    segs.push([from, r.contentStartLine])
    from = r.contentEndLine
  }
  segs.push([from, lines.length])
  return segs
}

function trimTrailingBlank(lines: string[], from: number, to: number): number {
  while (to > from && (lines[to - 1] as string).trim() === '') to--
  return to
}

/**
 * Check that `edited` changed nothing outside the EVOLVE-BLOCK regions of `original` (trailing whitespace
 * and trailing blank lines at the end of the file are ignored). Reports the first differing line of each
 * fixed segment, with line numbers in both versions. With no markers in the original everything is editable.
 */
export function checkOutsideUnchanged(original: string, edited: string): OutsideCheck {
  const a = findEvolveBlocks(original)
  if (!a.hasMarkers) return { ok: true, violations: [] }
  const b = findEvolveBlocks(edited)
  if (b.errors.length > a.errors.length) {
    return {
      ok: false,
      violations: [{ kind: 'markers', message: `EVOLVE-BLOCK markers were broken: ${b.errors.join('; ')}` }],
    }
  }
  if (b.regions.length !== a.regions.length) {
    return {
      ok: false,
      violations: [
        {
          kind: 'markers',
          message: `the edit has ${b.regions.length} EVOLVE-BLOCK region(s), the original ${a.regions.length}: markers were removed or added`,
        },
      ],
    }
  }
  const la = original.replace(/\r\n/g, '\n').split('\n')
  const lb = edited.replace(/\r\n/g, '\n').split('\n')
  const sa = fixedSegments(la, a)
  const sb = fixedSegments(lb, b)
  const violations: OutsideViolation[] = []
  for (let s = 0; s < sa.length; s++) {
    const [a0, a1raw] = sa[s] as [number, number]
    const [b0, b1raw] = sb[s] as [number, number]
    const last = s === sa.length - 1
    const a1 = last ? trimTrailingBlank(la, a0, a1raw) : a1raw
    const b1 = last ? trimTrailingBlank(lb, b0, b1raw) : b1raw
    const len = Math.max(a1 - a0, b1 - b0)
    for (let k = 0; k < len; k++) {
      const x = a0 + k < a1 ? (la[a0 + k] as string).trimEnd() : undefined
      const y = b0 + k < b1 ? (lb[b0 + k] as string).trimEnd() : undefined
      if (x !== y) {
        violations.push({
          kind: 'changed',
          message:
            x === undefined
              ? `line ${b0 + k + 1} was added outside the EVOLVE-BLOCK regions`
              : y === undefined
                ? `line ${a0 + k + 1} of the original (outside the EVOLVE-BLOCK regions) was removed`
                : `line ${a0 + k + 1} of the original (outside the EVOLVE-BLOCK regions) was changed`,
          originalLine: x === undefined ? undefined : a0 + k + 1,
          editedLine: y === undefined ? undefined : b0 + k + 1,
          expected: x,
          actual: y,
        })
        break
      }
    }
  }
  return { ok: violations.length === 0, violations }
}

/** replace each region's content (contents[i] for region i; undefined keeps it); a missing final newline is added */
export function spliceRegions(original: string, contents: Array<string | undefined>): string {
  const blocks = findEvolveBlocks(original)
  if (!blocks.hasMarkers) {
    const only = contents[0]
    return only === undefined ? original : only
  }
  let out = ''
  let from = 0
  blocks.regions.forEach((r, i) => {
    out += original.slice(from, r.startOffset)
    let c = contents[i]
    if (c === undefined) c = original.slice(r.startOffset, r.endOffset)
    else if (c.length > 0 && !c.endsWith('\n') && r.endOffset < original.length) c += '\n'
    out += c
    from = r.endOffset
  })
  return out + original.slice(from)
}

export interface SpliceResult {
  /** the child program, or null when the rewrite cannot be used */
  code: string | null
  check: OutsideCheck
  /** why code is null, as a phrase that follows "answer not applied: " */
  reason?: string
  /** what the model should do instead, where the reason does not say it */
  advice?: string
  /** what was changed in the rewrite to make the child (an outside edit dropped, a snippet merged in) */
  note?: string
}

const KEEP_MARKERS_ADVICE =
  'Keep the EVOLVE-BLOCK markers and the code outside them as they are, and change only the code between them.'

/**
 * For full rewrites: keep the original's fixed parts and take only the edited program's region contents.
 * A rewrite that leaves code out ("# ... rest unchanged") is refused. Models sometimes drop the markers:
 * with a single region, an edited program without markers is accepted when it starts with the original's
 * code before the region and ends with the code after it (the middle is the new region), or when it holds
 * none of that code (it is the region's new content, or a snippet of it: see partialRegion).
 * Otherwise (regions that do not correspond one to one) code is null and `reason` says why.
 */
export function spliceFromEdited(original: string, edited: string, language: Language | string): SpliceResult {
  const check = checkOutsideUnchanged(original, edited)
  const elided = findElision(edited, language, original)
  if (elided)
    return {
      code: null,
      check,
      reason: `the rewrite leaves code out ("${elided.text}" at line ${elided.line}): answer with the whole program`,
    }
  const a = findEvolveBlocks(original)
  if (!a.hasMarkers || check.ok) return { code: edited, check }
  const b = findEvolveBlocks(edited)
  const ol = original.replace(/\r\n/g, '\n').split('\n')
  const el = edited.replace(/\r\n/g, '\n').split('\n')
  const r = a.regions[0] as EvolveRegion
  const keyed = (lines: string[], from: number, to: number) =>
    lines
      .slice(from, to)
      .map((l, i) => ({ k: l.trim(), line: from + i + 1 }))
      .filter((x) => x.k !== '')
  const before = keyed(ol, 0, r.startMarkerLine)
  const after = keyed(ol, (a.regions[a.regions.length - 1] as EvolveRegion).endMarkerLine + 1, ol.length)
  // between regions too: a program holding any of it is a whole program, not a region's content
  const fixed = new Set(
    fixedSegments(ol, a)
      .flatMap(([from, to]) => ol.slice(from, to).map((l) => l.trim()))
      .filter((k) => k.length > 3 && !START_RE.test(k) && !END_RE.test(k)),
  )
  const holdsFixed = el.some((l) => fixed.has(l.trim()))
  // the region's new content alone (no fixed code): it may be a snippet standing for a part of it
  const asRegion = (content: string): SpliceResult => {
    const p = partialRegion(regionContents(original, a)[0] as string, content, language)
    if (p && 'reason' in p) return { code: null, check, reason: p.reason }
    if (p) return { code: spliceRegions(original, [p.merged]), check, note: p.note }
    return { code: spliceRegions(original, [content]), check }
  }
  if (b.regions.length === a.regions.length && b.errors.length === 0) {
    const contents = regionContents(edited, b)
    if (a.regions.length === 1 && !holdsFixed) return asRegion(contents[0] as string)
    const dropped = check.violations
      .filter((v) => v.kind === 'changed')
      .map((v) =>
        v.originalLine === undefined
          ? `line ${v.editedLine} added`
          : v.editedLine === undefined
            ? `line ${v.originalLine} removed`
            : `line ${v.originalLine} changed`,
      )
    return {
      code: spliceRegions(original, contents),
      check,
      ...(dropped.length > 0
        ? { note: `its edit outside the EVOLVE-BLOCK regions (${dropped.join(', ')}) was dropped` }
        : {}),
    }
  }
  if (b.hasMarkers && b.errors.length > 0)
    return {
      code: null,
      check,
      reason: `its rewrite broke the EVOLVE-BLOCK markers (${b.errors[0]})`,
      advice: KEEP_MARKERS_ADVICE,
    }
  if (b.hasMarkers)
    return {
      code: null,
      check,
      reason: `its rewrite has ${b.regions.length} EVOLVE-BLOCK region(s) where the program has ${a.regions.length}`,
      advice: KEEP_MARKERS_ADVICE,
    }
  if (a.regions.length !== 1)
    return {
      code: null,
      check,
      reason: `its rewrite removed the EVOLVE-BLOCK markers, so its code cannot be matched to the program's ${a.regions.length} regions`,
      advice: KEEP_MARKERS_ADVICE,
    }
  const nb = el.map((l, i) => ({ k: l.trim(), i })).filter((x) => x.k !== '')
  const startsWith = before.every((x, i) => nb[i]?.k === x.k)
  const endsWith = after.every((x, i) => nb[nb.length - after.length + i]?.k === x.k)
  if (startsWith && endsWith && nb.length >= before.length + after.length) {
    const from = before.length > 0 ? (nb[before.length - 1] as { i: number }).i + 1 : 0
    const to = after.length > 0 ? (nb[nb.length - after.length] as { i: number }).i : el.length
    return {
      code: spliceRegions(original, [el.slice(from, to).join('\n')]),
      check,
      note: 'the EVOLVE-BLOCK markers it left out were put back',
    }
  }
  if (!holdsFixed) return asRegion(edited)
  // the first line of the fixed code that is not where it was, in the original's numbering
  const changed =
    before.find((x, i) => nb[i]?.k !== x.k)?.line ??
    after.find((x, i) => nb[nb.length - after.length + i]?.k !== x.k)?.line
  return {
    code: null,
    check,
    reason: `its rewrite removed the EVOLVE-BLOCK markers and ${changed === undefined ? 'changed the code' : `changed line ${changed}`} outside them`,
    advice: KEEP_MARKERS_ADVICE,
  }
}
