// Splits documents into retrievable chunks. A chunk must make sense on its own inside a prompt:
//  - markdown is cut at its sections (the heading path becomes the chunk's heading), then at
//    paragraph boundaries, and never inside a fenced code block unless that block alone is over
//    the cap (its pieces are then re-fenced, so each stays valid markdown);
//  - code is cut at top-level definitions (brace depth 0 / indentation 0), with the comments and
//    decorators above a definition kept with it, and small neighbours grouped;
//  - plain text is cut at paragraphs.
import { splitFrontMatter } from '../../client-safe/front-matter.ts'
import type { DocFormat } from './formats.ts'
import { HASH_COMMENT_LANGUAGES } from './formats.ts'
import { MAX_CHUNK_CHARS, MIN_CHUNK_CHARS } from './limits.ts'

export interface Chunk {
  ord: number
  /** markdown: the heading path ("Packing › Hexagonal lattice"); code: the definitions; text: null */
  heading: string | null
  content: string
}

export interface ChunkOptions {
  /** hard cap per chunk, in characters (default MAX_CHUNK_CHARS) */
  maxChars?: number
  /** code blocks smaller than this are grouped with small neighbours (default MIN_CHUNK_CHARS) */
  minChars?: number
  /** code: the language (python, typescript, c…), for comment syntax and heading names */
  language?: string
}

const HEADING_SEPARATOR = ' › '
const MAX_HEADING_CHARS = 300

export function chunkDocument(content: string, format: DocFormat, opts: ChunkOptions = {}): Chunk[] {
  const maxChars = Math.max(200, opts.maxChars ?? MAX_CHUNK_CHARS)
  const pieces =
    format === 'markdown'
      ? chunkMarkdown(splitFrontMatter(content).body, maxChars) // its front matter is the document's title and tags
      : format === 'code'
        ? chunkCode(content, maxChars, Math.min(maxChars, opts.minChars ?? MIN_CHUNK_CHARS), opts.language ?? '')
        : splitBlocks(paragraphBlocks(content.split('\n')), maxChars).map((c) => ({ heading: null, content: c }))
  const out = pieces
    .filter((p) => p.content.trim())
    .map((p, ord) => ({ ord, heading: p.heading ? clip(p.heading, MAX_HEADING_CHARS) : null, content: p.content }))
  if (out.length === 0 && content.trim()) {
    // a document of headings only: keep its text as one chunk rather than nothing
    return splitBlocks([content.trim()], maxChars).map((c, ord) => ({ ord, heading: null, content: c }))
  }
  return out
}

function clip(s: string, n: number) {
  return s.length <= n ? s : s.slice(0, n - 1) + '…'
}

// ---------------------------------------------------------------- markdown

interface Fence {
  char: string
  len: number
  info: string
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/

function fenceOpen(line: string): Fence | null {
  const m = FENCE_OPEN.exec(line)
  if (!m) return null
  const info = m[2].trim()
  // a backtick fence's info string may not contain backticks (CommonMark)
  if (m[1][0] === '`' && info.includes('`')) return null
  return { char: m[1][0], len: m[1].length, info }
}

function closesFence(line: string, f: Fence): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line)
  return !!m && m[1][0] === f.char && m[1].length >= f.len
}

function headingText(raw: string | undefined): string {
  // closing #s are decoration; inline markup stays (it is still readable text)
  return (raw ?? '')
    .replace(/[ \t]+#+$/, '')
    .replace(/^#+$/, '')
    .trim()
}

interface Section {
  path: string[]
  lines: string[]
}

/** Markdown sections: the heading stack at each heading, and the lines until the next one. */
export function markdownSections(content: string): Section[] {
  const lines = content.split('\n')
  const sections: Section[] = []
  const stack: Array<{ level: number; text: string }> = []
  let current: Section = { path: [], lines: [] }
  let fence: Fence | null = null
  const startSection = (level: number, text: string) => {
    sections.push(current)
    while (stack.length && stack[stack.length - 1].level >= level) stack.pop()
    if (text) stack.push({ level, text })
    current = { path: stack.map((s) => s.text), lines: [] }
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (fence) {
      current.lines.push(line)
      if (closesFence(line, fence)) fence = null
      continue
    }
    const f = fenceOpen(line)
    if (f) {
      fence = f
      current.lines.push(line)
      continue
    }
    const atx = ATX.exec(line)
    if (atx) {
      startSection(atx[1].length, headingText(atx[2]))
      continue
    }
    // setext headings: a paragraph line underlined with === (level 1) or --- (level 2)
    const next = lines[i + 1]
    const prev = current.lines.length ? current.lines[current.lines.length - 1] : ''
    if (
      next !== undefined &&
      line.trim() &&
      !prev.trim() &&
      /^ {0,3}(=+|-+)[ \t]*$/.test(next) &&
      !/^ {0,3}([-*+>]|\d+[.)])\s/.test(line) &&
      !/^ {4}/.test(line)
    ) {
      startSection(next.trim()[0] === '=' ? 1 : 2, line.trim())
      i++
      continue
    }
    current.lines.push(line)
  }
  sections.push(current)
  return sections
}

function chunkMarkdown(content: string, maxChars: number): Array<{ heading: string | null; content: string }> {
  const out: Array<{ heading: string | null; content: string }> = []
  for (const s of markdownSections(content)) {
    if (!s.lines.some((l) => l.trim())) continue // a heading with no body of its own: its path lives on in the subsections
    const heading = s.path.length ? s.path.join(HEADING_SEPARATOR) : null
    for (const c of splitBlocks(markdownBlocks(s.lines), maxChars)) out.push({ heading, content: c })
  }
  return out
}

/**
 * Paragraph-level blocks of markdown lines: text between blank lines, with each fenced code
 * block (blank lines inside included) kept whole and marked as such.
 */
function markdownBlocks(lines: string[]): Array<string | FencedBlock> {
  const blocks: Array<string | FencedBlock> = []
  let para: string[] = []
  const flush = () => {
    if (para.length) blocks.push(para.join('\n'))
    para = []
  }
  for (let i = 0; i < lines.length; i++) {
    const f = fenceOpen(lines[i])
    if (f) {
      flush()
      const body: string[] = []
      let j = i + 1
      let closed = false
      for (; j < lines.length; j++) {
        if (closesFence(lines[j], f)) {
          closed = true
          break
        }
        body.push(lines[j])
      }
      // an unclosed fence runs to the end of the section (CommonMark); it is closed in the chunk
      const open = lines[i]
      const close = closed ? lines[j] : open.trim().slice(0, f.len).replace(/./g, f.char)
      blocks.push({ open, close, body })
      i = closed ? j : lines.length
      continue
    }
    if (!lines[i].trim()) flush()
    else para.push(lines[i])
  }
  flush()
  return blocks
}

interface FencedBlock {
  open: string
  close: string
  body: string[]
}

function renderBlock(b: string | FencedBlock): string {
  return typeof b === 'string' ? b : [b.open, ...b.body, b.close].join('\n')
}

/** Paragraphs of plain text (blank-line separated). */
function paragraphBlocks(lines: string[]): string[] {
  const out: string[] = []
  let para: string[] = []
  for (const l of lines) {
    if (!l.trim()) {
      if (para.length) out.push(para.join('\n'))
      para = []
    } else para.push(l)
  }
  if (para.length) out.push(para.join('\n'))
  return out
}

/** Greedy packing of blocks into chunks of at most maxChars; over-long blocks are split. */
function splitBlocks(blocks: Array<string | FencedBlock>, maxChars: number): string[] {
  const out: string[] = []
  let cur = ''
  const push = (text: string) => {
    if (!cur) cur = text
    else if (cur.length + 2 + text.length <= maxChars) cur += '\n\n' + text
    else {
      out.push(cur)
      cur = text
    }
  }
  for (const b of blocks) {
    const text = renderBlock(b)
    if (text.length <= maxChars) {
      push(text)
      continue
    }
    const parts = typeof b === 'string' ? splitLongText(b, maxChars) : splitFence(b, maxChars)
    for (const p of parts) push(p)
  }
  if (cur) out.push(cur)
  return out
}

/** A code block over the cap: pieces of whole lines, each wrapped in the original fence. */
function splitFence(b: FencedBlock, maxChars: number): string[] {
  const overhead = b.open.length + b.close.length + 2
  const room = Math.max(50, maxChars - overhead)
  const out: string[] = []
  let piece: string[] = []
  let size = 0
  const flush = () => {
    if (piece.length) out.push([b.open, ...piece, b.close].join('\n'))
    piece = []
    size = 0
  }
  for (const line of b.body) {
    for (const seg of line.length > room ? hardWrap(line, room) : [line]) {
      if (size + seg.length + 1 > room) flush()
      piece.push(seg)
      size += seg.length + 1
    }
  }
  flush()
  return out
}

/** A paragraph over the cap: cut at line ends, then sentence ends, then spaces, then anywhere. */
function splitLongText(text: string, maxChars: number): string[] {
  const out: string[] = []
  let rest = text
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars)
    let cut = window.lastIndexOf('\n')
    if (cut < maxChars / 2) {
      const m = [...window.matchAll(/[.!?;:](?=\s)/g)].pop()
      cut = m && m.index! + 1 >= maxChars / 2 ? m.index! + 1 : -1
    }
    if (cut < maxChars / 2) cut = window.lastIndexOf(' ')
    if (cut < maxChars / 4) cut = maxChars
    out.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).replace(/^\s+/, '')
  }
  if (rest.trim()) out.push(rest)
  return out
}

function hardWrap(line: string, n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < line.length; i += n) out.push(line.slice(i, i + n))
  return out
}

// ---------------------------------------------------------------- code

interface CodeBlock {
  lines: string[]
  /** only comments, decorators or blank lines: belongs to the block after it */
  prefixOnly: boolean
}

/**
 * Top-level blocks of a source file. A block starts at a line with no indentation, outside any
 * bracket, string or block comment, that does not close something (`}`, `)`, `end`) and does not
 * continue the previous line. Comment and decorator lines start a prefix that joins the next block.
 */
export function codeBlocks(content: string, language: string): CodeBlock[] {
  const hash = HASH_COMMENT_LANGUAGES.has(language)
  const lines = content.replace(/\n+$/, '').split('\n')
  const blocks: CodeBlock[] = []
  let cur: CodeBlock | null = null
  let depth = 0
  let inBlockComment = false
  let inTriple: string | null = null
  let prevContinues = false
  for (const line of lines) {
    const trimmed = line.trim()
    const atTop = depth <= 0 && !inBlockComment && !inTriple
    const indented = /^[ \t]/.test(line)
    const isPrefix =
      trimmed === '' ||
      (hash ? trimmed.startsWith('#') : /^(\/\/|\/\*|\*)/.test(trimmed)) ||
      (language === 'python' && trimmed.startsWith('@')) ||
      (language === 'rust' && trimmed.startsWith('#['))
    const closer = /^([{}\])]|\.\w|end\b|else\b|elif\b|except\b|finally\b|catch\b)/.test(trimmed)
    const starts = atTop && !indented && trimmed !== '' && !closer && !prevContinues
    if (starts) {
      // comments and decorators directly above a definition stay with it
      if (!cur?.prefixOnly) {
        cur = { lines: [], prefixOnly: true }
        blocks.push(cur)
      }
      cur.lines.push(line)
      if (!isPrefix) cur.prefixOnly = false
    } else {
      if (!cur) {
        cur = { lines: [], prefixOnly: true }
        blocks.push(cur)
      }
      // a blank line after a finished definition ends it; the blank joins the next prefix
      cur.lines.push(line)
      if (trimmed && !isPrefix) cur.prefixOnly = false
    }
    const scan = scanLine(line, hash, inBlockComment, inTriple)
    depth += scan.delta
    if (depth < 0) depth = 0
    inBlockComment = scan.inBlockComment
    inTriple = scan.inTriple
    prevContinues =
      trimmed !== '' &&
      !isPrefix &&
      /([,\\([{=+\-*/&|]|=>|\bextends|\bimplements)$/.test(trimmed) &&
      depth <= 0 &&
      !trimmed.endsWith('*/')
  }
  // merge prefix-only blocks forward (a trailing one joins the block before it)
  const merged: CodeBlock[] = []
  let pending: string[] = []
  for (const b of blocks) {
    if (b.prefixOnly) {
      pending.push(...b.lines)
      continue
    }
    merged.push({ lines: [...pending, ...b.lines], prefixOnly: false })
    pending = []
  }
  if (pending.length) {
    if (merged.length) merged[merged.length - 1].lines.push(...pending)
    else merged.push({ lines: pending, prefixOnly: true })
  }
  // blank lines at a block's end belong to the gap, not the definition
  for (const b of merged) {
    while (b.lines.length > 1 && !b.lines[b.lines.length - 1].trim()) b.lines.pop()
    while (b.lines.length > 1 && !b.lines[0].trim()) b.lines.shift()
  }
  return merged
}

/** Bracket depth change over one line, skipping strings and comments (good enough for chunking). */
function scanLine(line: string, hash: boolean, inBlockComment: boolean, inTriple: string | null) {
  let delta = 0
  let quote: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    const two = line.slice(i, i + 2)
    const three = line.slice(i, i + 3)
    if (inTriple) {
      if (three === inTriple) {
        inTriple = null
        i += 2
      }
      continue
    }
    if (inBlockComment) {
      if (two === '*/') {
        inBlockComment = false
        i++
      }
      continue
    }
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = null
      continue
    }
    if (hash && (three === '"""' || three === "'''")) {
      inTriple = three
      i += 2
      continue
    }
    if (hash && c === '#') break
    if (!hash && two === '//') break
    if (!hash && two === '/*') {
      inBlockComment = true
      i++
      continue
    }
    if (c === '"' || c === "'" || c === '`') {
      // an apostrophe inside a word (don't) in Rust lifetimes etc. is not a string
      if (c === "'" && /\w/.test(line[i - 1] ?? '') && !hash) continue
      quote = c
      continue
    }
    if (c === '{' || c === '(' || c === '[') delta++
    else if (c === '}' || c === ')' || c === ']') delta--
  }
  return { delta, inBlockComment, inTriple }
}

const DEFINITION_PATTERNS: RegExp[] = [
  /^(?:export\s+)?(?:default\s+)?(?:async\s+)?def\s+([A-Za-z_]\w*)/,
  /^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/,
  /^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/,
  /^(?:export\s+)?(?:declare\s+)?(?:interface|type|enum|namespace|module)\s+([A-Za-z_$][\w$]*)/,
  /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)/,
  /^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:fn|struct|enum|trait|impl|mod|type)\s+([A-Za-z_]\w*)/,
  /^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)/,
  /^(?:struct|union|enum|typedef|namespace|template)\b\s*([A-Za-z_]\w*)?/,
  // C-like functions: return type(s) then a name and an argument list
  /^(?:[A-Za-z_][\w:<>,*&\s]*?[\s*&])?([A-Za-z_][\w:~]*)\s*\(/,
]

/** A short name for a code block: "def pack", "class Solver", "main(", or its first line. */
export function definitionName(lines: string[]): string {
  for (const raw of lines) {
    const line = raw.trim()
    if (!line || /^(#|\/\/|\/\*|\*|@)/.test(line)) continue
    for (const p of DEFINITION_PATTERNS) {
      const m = p.exec(line)
      if (m) {
        const kw =
          /^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:pub(?:\([^)]*\))?\s+)?(def|class|function|interface|type|enum|namespace|const|let|var|fn|struct|trait|impl|mod|func|union|typedef)\b/.exec(
            line,
          )
        return m[1] ? (kw ? `${kw[1]} ${m[1]}` : m[1]) : clip(line, 60)
      }
    }
    return clip(line, 60)
  }
  return ''
}

function chunkCode(
  content: string,
  maxChars: number,
  minChars: number,
  language: string,
): Array<{ heading: string | null; content: string }> {
  const out: Array<{ heading: string | null; content: string }> = []
  let group: { names: string[]; text: string } | null = null
  const flush = () => {
    if (group) out.push({ heading: group.names.filter(Boolean).join(', ') || null, content: group.text })
    group = null
  }
  for (const b of codeBlocks(content, language)) {
    const text = b.lines.join('\n')
    const name = definitionName(b.lines)
    if (text.length > maxChars) {
      flush()
      const parts = splitCodeLines(b.lines, maxChars)
      parts.forEach((p, i) => {
        out.push({
          heading: (name || 'code') + (parts.length > 1 ? ` (part ${i + 1} of ${parts.length})` : ''),
          content: p,
        })
      })
      continue
    }
    // small neighbours (imports, constants, one-line helpers) share a chunk; definitions of
    // some size stand alone
    const g = group as { names: string[]; text: string } | null
    if (g && g.text.length < minChars && text.length < minChars && g.text.length + 2 + text.length <= maxChars) {
      g.text += '\n\n' + text
      g.names.push(name)
      continue
    }
    flush()
    group = { names: [name], text }
  }
  flush()
  return out
}

/** A definition over the cap: cut at blank lines when possible, else at any line. */
function splitCodeLines(lines: string[], maxChars: number): string[] {
  const out: string[] = []
  let cur: string[] = []
  let size = 0
  let lastBlank = -1
  const emit = (upTo: number) => {
    const piece = cur.slice(0, upTo).join('\n')
    if (piece.trim()) out.push(piece)
    cur = cur.slice(upTo)
    while (cur.length && !cur[0].trim()) cur.shift()
    size = cur.reduce((s, l) => s + l.length + 1, 0)
    lastBlank = cur.findLastIndex((l) => !l.trim())
  }
  for (const line of lines.flatMap((l) => (l.length > maxChars ? hardWrap(l, maxChars) : [l]))) {
    // prefer cutting at the piece's last blank line when it is not too early, else right here
    if (size + line.length + 1 > maxChars && lastBlank > cur.length / 2) emit(lastBlank)
    if (size + line.length + 1 > maxChars && cur.length) emit(cur.length)
    if (!line.trim()) lastBlank = cur.length
    cur.push(line)
    size += line.length + 1
  }
  emit(cur.length)
  return out
}
