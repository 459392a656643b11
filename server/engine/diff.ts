// Parsing model answers and applying their edits. Real answers come wrapped in prose, <think> blocks and
// markdown fences, with CRLF line ends and indentation that drifted from the parent's; this module turns
// them into edits and applies them, all or none, explaining precisely what did not apply.
import { findEvolveBlocks, isLineRangeEditable, isOffsetRangeEditable, type EvolveBlocks } from './code.ts'

export interface SearchReplaceBlock {
  search: string
  replace: string
  /** 1-based line of the SEARCH marker in the (think-stripped) answer */
  line: number
}

export interface ParseIssue {
  /** 1-based line in the (think-stripped) answer, 0 when not tied to a line */
  line: number
  message: string
  /** the block was thrown away (malformed): the answer's edit is incomplete without it */
  discarded?: boolean
}

export interface FencedBlock {
  /** the info string's first word, lower-cased ('' when none) */
  lang: string
  body: string
  /** 1-based line of the opening fence */
  line: number
  closed: boolean
}

export interface ParsedAnswer {
  /** 'diff': SEARCH/REPLACE blocks; 'full': a whole program in a fenced block; 'none': neither */
  kind: 'diff' | 'full' | 'none'
  blocks: SearchReplaceBlock[]
  /** the full program when kind is 'full' */
  code: string | null
  /** its fence's language tag when kind is 'full' ('' untagged) */
  lang?: string
  issues: ParseIssue[]
  /** the answer with reasoning blocks removed, LF line ends */
  text: string
  /** kind 'none' because the answer is a unified diff (`---`/`+++`/`@@` hunks), which is not applied */
  unifiedDiff?: boolean
}

const THINK_TAGS = 'think|thinking|reasoning|reflection|scratchpad'
const THINK_BLOCK_RE = new RegExp(`<(${THINK_TAGS})\\b[^>]*>[\\s\\S]*?<\\/\\1\\s*>`, 'gi')
const THINK_CLOSE_RE = new RegExp(`<\\/(?:${THINK_TAGS})\\s*>`, 'gi')
const THINK_OPEN_RE = new RegExp(`<(?:${THINK_TAGS})\\b[^>]*>`, 'i')

/**
 * Remove reasoning blocks: closed `<think>…</think>` pairs; an orphan closing tag (servers that strip the
 * opening one) drops everything before it; an unclosed opening tag (truncated reasoning) drops the rest.
 */
export function stripThinking(text: string): { text: string; thinking: string } {
  let thinking = ''
  let t = text.replace(/\r\n?/g, '\n')
  t = t.replace(THINK_BLOCK_RE, (m) => {
    thinking += m + '\n'
    return ''
  })
  let lastClose = -1
  let lastCloseLen = 0
  for (const m of t.matchAll(THINK_CLOSE_RE)) {
    lastClose = m.index ?? -1
    lastCloseLen = m[0].length
  }
  if (lastClose >= 0) {
    thinking += t.slice(0, lastClose)
    t = t.slice(lastClose + lastCloseLen)
  }
  const open = THINK_OPEN_RE.exec(t)
  if (open) {
    thinking += t.slice(open.index)
    t = t.slice(0, open.index)
  }
  return { text: t, thinking }
}

const SEARCH_RE = /^\s*<{5,9}\s*SEARCH\b.*$/i
const DIVIDER_RE = /^\s*={5,9}\s*$/
const REPLACE_RE = /^\s*>{5,9}\s*REPLACE\b.*$/i
const FENCE_RE = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/

function isFenceLine(l: string): boolean {
  return /^\s*(`{3,}|~{3,})[^`]*$/.test(l)
}

/** a fenced wrapper inside one side of a block (```python … ```) is the model's formatting, not code */
function unwrapFence(lines: string[]): string[] {
  let a = 0
  let b = lines.length
  while (a < b && (lines[a] as string).trim() === '') a++
  while (b > a && (lines[b - 1] as string).trim() === '') b--
  if (b - a >= 2 && isFenceLine(lines[a] as string) && /^\s*(`{3,}|~{3,})\s*$/.test(lines[b - 1] as string)) {
    return lines.slice(a + 1, b - 1)
  }
  return lines
}

/** SEARCH/REPLACE blocks with 5–9 marker characters, tolerant of fences, CRLF and a missing final newline */
export function parseSearchReplace(text: string): { blocks: SearchReplaceBlock[]; issues: ParseIssue[] } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  const blocks: SearchReplaceBlock[] = []
  const issues: ParseIssue[] = []
  let state: 'out' | 'search' | 'replace' = 'out'
  let startLine = 0
  let search: string[] = []
  let replace: string[] = []
  let dividers = 0
  const emit = () => {
    if (dividers > 1) {
      issues.push({
        line: startLine,
        message: `block at line ${startLine} has ${dividers} "=======" dividers: discarded`,
        discarded: true,
      })
    } else {
      blocks.push({ search: unwrapFence(search).join('\n'), replace: unwrapFence(replace).join('\n'), line: startLine })
    }
  }
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string
    if (SEARCH_RE.test(l)) {
      if (state === 'search') {
        issues.push({
          line: startLine,
          message: `block at line ${startLine} has no "=======" divider before the next SEARCH: discarded`,
          discarded: true,
        })
      } else if (state === 'replace') {
        issues.push({
          line: startLine,
          message: `block at line ${startLine} has no REPLACE marker; it ends at the next SEARCH (line ${i + 1})`,
        })
        emit()
      }
      state = 'search'
      startLine = i + 1
      search = []
      replace = []
      dividers = 0
      continue
    }
    if (state === 'out') {
      if (DIVIDER_RE.test(l) || REPLACE_RE.test(l)) {
        // a lone "=======" in prose or code is common; only the REPLACE marker is worth reporting
        if (REPLACE_RE.test(l))
          issues.push({ line: i + 1, message: `REPLACE marker on line ${i + 1} without a SEARCH` })
      }
      continue
    }
    if (state === 'search') {
      if (DIVIDER_RE.test(l)) {
        state = 'replace'
        dividers = 1
      } else if (REPLACE_RE.test(l)) {
        issues.push({
          line: startLine,
          message: `block at line ${startLine} has no "=======" divider: discarded`,
          discarded: true,
        })
        state = 'out'
      } else search.push(l)
      continue
    }
    // state === 'replace'
    if (REPLACE_RE.test(l)) {
      emit()
      state = 'out'
    } else if (DIVIDER_RE.test(l)) {
      dividers++
      replace.push(l)
    } else replace.push(l)
  }
  if (state === 'search') {
    issues.push({
      line: startLine,
      message: `block at line ${startLine} ends before its "=======" divider: discarded`,
      discarded: true,
    })
  } else if (state === 'replace') {
    // accept only when the model visibly finished (closed its fence); otherwise the replacement may be truncated
    let b = replace.length
    while (b > 0 && (replace[b - 1] as string).trim() === '') b--
    if (b > 0 && /^\s*(`{3,}|~{3,})\s*$/.test(replace[b - 1] as string) && !replace.slice(0, b - 1).some(isFenceLine)) {
      replace = replace.slice(0, b - 1)
      issues.push({
        line: startLine,
        message: `block at line ${startLine} has no REPLACE marker; accepted up to the closing fence`,
      })
      emit()
    } else {
      issues.push({
        line: startLine,
        message: `block at line ${startLine} has no REPLACE marker (answer truncated?): discarded`,
        discarded: true,
      })
    }
  }
  return { blocks, issues }
}

/** markdown fenced blocks (``` or ~~~, any length ≥ 3); an unclosed last fence runs to the end */
export function extractFencedBlocks(text: string): FencedBlock[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  const out: FencedBlock[] = []
  let i = 0
  while (i < lines.length) {
    const m = FENCE_RE.exec(lines[i] as string)
    if (!m) {
      i++
      continue
    }
    const fence = m[1] as string
    const lang = (m[2] ?? '')
      .replace(/^\{?\.?/, '')
      .replace(/[},].*$/, '')
      .toLowerCase()
    const body: string[] = []
    let j = i + 1
    let closed = false
    for (; j < lines.length; j++) {
      const l = (lines[j] as string).trim()
      if (l.length >= fence.length && l[0] === fence[0] && /^(`+|~+)$/.test(l)) {
        closed = true
        break
      }
      body.push(lines[j] as string)
    }
    out.push({ lang, body: body.join('\n'), line: i + 1, closed })
    i = j + 1
  }
  return out
}

const LANG_ALIASES: Record<string, string[]> = {
  python: ['python', 'py', 'python3', 'py3'],
  javascript: ['javascript', 'js', 'node', 'mjs', 'cjs', 'jsx'],
  typescript: ['typescript', 'ts', 'tsx'],
  c: ['c', 'h'],
  cpp: ['cpp', 'c++', 'cc', 'cxx', 'hpp', 'cuda', 'cu'],
  cuda: ['cuda', 'cu', 'cpp', 'c++'],
}

export function languageMatchesTag(language: string, tag: string): boolean {
  const aliases = LANG_ALIASES[language] ?? [language]
  return aliases.includes(tag)
}

const LANGUAGE_NAMES: Record<string, string> = {
  python: 'Python',
  javascript: 'JavaScript',
  typescript: 'TypeScript',
  c: 'C',
  cpp: 'C++',
  cuda: 'CUDA',
}

/** how a language is written in a sentence */
export const languageName = (language: string) => LANGUAGE_NAMES[language] ?? language

/** languages whose programs a model may fairly tag as each other's (C tagged cpp, JavaScript tagged ts) */
const FAMILY: Record<string, string> = { c: 'c', cpp: 'c', cuda: 'c', javascript: 'js', typescript: 'js', python: 'py' }

/**
 * The language a fence's tag names when it is a language programs are written in, of another family
 * than `language` (a Python problem answered in JavaScript); else null. Tags of the same family (a C
 * program tagged cpp, a CUDA one tagged c++) pass.
 */
export function otherLanguageTag(language: string, tag: string): string | null {
  const t = tag.toLowerCase()
  if (!t || languageMatchesTag(language, t)) return null
  for (const [name, aliases] of Object.entries(LANG_ALIASES))
    if (aliases.includes(t)) return FAMILY[name] === (FAMILY[language] ?? language) ? null : LANGUAGE_NAMES[name]!
  return null
}

const NON_CODE_TAGS = new Set([
  'diff',
  'patch',
  'text',
  'txt',
  'markdown',
  'md',
  'json',
  'yaml',
  'bash',
  'sh',
  'shell',
  'console',
  'output',
])

/**
 * The whole program in a fenced block: blocks tagged with the target language first, then untagged ones,
 * then other code tags; within the best class the longest closed block (an unclosed one is a truncated
 * answer and only used when nothing else exists). Blocks holding SEARCH/REPLACE markers or unified-diff hunks
 * are never a program.
 */
export function extractFullProgram(
  text: string,
  language: string,
  current?: string,
): { code: string; fence: FencedBlock } | null {
  // a block holding EVOLVE-BLOCK markers, or half or more of the fixed code of `current` (the program
  // being rewritten), is the program: a longer block beside it is a usage example or a test
  const fixed = new Set<string>()
  if (current !== undefined) {
    const blocks = findEvolveBlocks(current)
    if (blocks.hasMarkers)
      current.split('\n').forEach((l, i) => {
        const k = l.trim()
        if (k.length > 3 && !k.includes('EVOLVE-BLOCK') && !isLineRangeEditable(blocks, i, i + 1)) fixed.add(k)
      })
  }
  const anchored = (body: string) => {
    if (/EVOLVE-BLOCK-(?:START|END)\b/.test(body)) return true
    if (fixed.size === 0) return false
    const held = new Set(body.split('\n').map((l) => l.trim()))
    return [...fixed].filter((k) => held.has(k)).length * 2 >= fixed.size
  }
  let best: { f: FencedBlock; rank: number } | null = null
  for (const f of extractFencedBlocks(text)) {
    if (f.body.trim() === '') continue
    if (/^\s*<{5,9}\s*SEARCH/im.test(f.body)) continue
    if (hasHunks(f.body)) continue
    let rank: number
    if (languageMatchesTag(language, f.lang)) rank = 3
    else if (f.lang === '') rank = 2
    else if (NON_CODE_TAGS.has(f.lang)) rank = 0
    else rank = 1
    if (rank === 0) continue
    rank = (anchored(f.body) ? 8 : 0) + rank * 2 + (f.closed ? 1 : 0)
    if (!best || rank > best.rank || (rank === best.rank && f.body.length > best.f.body.length)) best = { f, rank }
  }
  if (!best) return null
  let code = best.f.body
  if (!code.endsWith('\n')) code += '\n'
  return { code, fence: best.f }
}

const isChangeLine = (l: string) => /^[-+]/.test(l) && !/^(?:---|\+\+\+)(?:\s|$)/.test(l)

/** `@@` hunk lines or `---`/`+++` headers, with `-`/`+` lines: never a program's text */
function hasHunks(text: string): boolean {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  const hunk = lines.some((l) => /^@@(?:\s|$)/.test(l))
  const headers = lines.some((l, i) => /^--- \S/.test(l) && /^\+\+\+ \S/.test(lines[i + 1] ?? ''))
  return (hunk || headers) && lines.some(isChangeLine)
}

/**
 * A unified diff (a ```diff or ```patch fence, or `@@` hunks or `---`/`+++` headers, with `-`/`+` lines).
 * Models often answer this way; it is named to the model rather than reported as "no edit", since
 * line-numbered hunks against a program the model only saw once are not applied.
 */
export function isUnifiedDiff(text: string): boolean {
  if (/^\s*<{5,9}\s*SEARCH/im.test(text)) return false
  for (const f of extractFencedBlocks(text))
    if ((f.lang === 'diff' || f.lang === 'patch') && f.body.split('\n').some(isChangeLine)) return true
  return hasHunks(text)
}

/** why a unified diff is refused, for the rejection and the model alike */
export const UNIFIED_DIFF_REFUSAL = 'it is a unified diff, which is not accepted: answer with SEARCH/REPLACE blocks'

/**
 * Parse a model answer. SEARCH/REPLACE blocks win unless `prefer` is 'full' and a full program exists.
 * When the visible answer holds nothing usable but the reasoning does, the reasoning is parsed (and an
 * issue says so): some models put their final edit inside their think block.
 */
export function parseAnswer(answer: string, language: string, prefer: 'diff' | 'full' = 'diff'): ParsedAnswer {
  const { text, thinking } = stripThinking(answer)
  const attempt = (t: string): ParsedAnswer => {
    const { blocks, issues } = parseSearchReplace(t)
    const full = blocks.length === 0 || prefer === 'full' ? extractFullProgram(t, language) : null
    if (blocks.length > 0 && !(prefer === 'full' && full)) return { kind: 'diff', blocks, code: null, issues, text: t }
    if (full) return { kind: 'full', blocks: [], code: full.code, lang: full.fence.lang, issues, text: t }
    return { kind: 'none', blocks: [], code: null, issues, text: t }
  }
  const r = attempt(text)
  if (r.kind === 'none' && thinking.trim() !== '') {
    const inner = attempt(thinking.replace(new RegExp(`</?(?:${THINK_TAGS})\\b[^>]*>`, 'gi'), ''))
    if (inner.kind !== 'none') {
      inner.issues.unshift({
        line: 0,
        message: 'the answer had no edit outside its reasoning block; the reasoning block was used',
      })
      inner.text = text
      return inner
    }
  }
  if (r.kind === 'none' && isUnifiedDiff(r.text)) {
    r.unifiedDiff = true
    r.issues.push({ line: 0, message: UNIFIED_DIFF_REFUSAL })
  }
  return r
}

// ---------------------------------------------------------------------------------------------
// applying SEARCH/REPLACE blocks

export type ApplyFailureReason = 'empty-search' | 'not-found' | 'ambiguous' | 'outside-evolve-block'

export interface ApplyFailure {
  /** index of the block in the list given */
  index: number
  reason: ApplyFailureReason
  search: string
  /** a precise, human explanation (fit to feed back to the model) */
  detail: string
  /** 1-based lines of the matches (ambiguous / outside) */
  lines?: number[]
}

export type MatchTier = 'exact' | 'whitespace' | 'loose' | 'substring'

export interface ApplyResult {
  /** the edited code when every block applied; the code given, unchanged, when any block failed */
  code: string
  /** blocks applied to `code`: all of them, or 0 when any failed */
  applied: number
  /** blocks that found their place (each applied to the result of the ones before it) */
  matched: number
  failed: ApplyFailure[]
  /** how each matching block matched: 1-based line of the match in the code as it was when applied */
  matches: Array<{ index: number; tier: MatchTier; line: number }>
  /** indices of matching blocks whose replacement equals their search (nothing changed) */
  noops: number[]
}

export interface ApplyOptions {
  /** restrict edits to EVOLVE-BLOCK regions when the code has markers (default true) */
  respectEvolveBlocks?: boolean
}

function collapse(l: string): string {
  return l.trim().replace(/\s+/g, ' ')
}

function trimBlankEdges(lines: string[]): string[] {
  let a = 0
  let b = lines.length
  while (a < b && (lines[a] as string).trim() === '') a++
  while (b > a && (lines[b - 1] as string).trim() === '') b--
  return a === 0 && b === lines.length ? lines : lines.slice(a, b)
}

function leadingWs(l: string): string {
  const m = /^[ \t]*/.exec(l)
  return m ? m[0] : ''
}

function wsWidth(ws: string): number {
  let w = 0
  for (let i = 0; i < ws.length; i++) w += ws.charCodeAt(i) === 9 ? 4 : 1
  return w
}

function makeIndent(width: number, useTabs: boolean): string {
  if (width <= 0) return ''
  return useTabs ? '\t'.repeat(Math.floor(width / 4)) + ' '.repeat(width % 4) : ' '.repeat(width)
}

/** re-indent `lines` so that the model's indentation of `searchFirst` maps onto the code's `codeFirst` */
function rebaseIndent(lines: string[], searchFirst: string, codeFirst: string, fileUsesTabs: boolean): string[] {
  const sw = leadingWs(searchFirst)
  const cw = leadingWs(codeFirst)
  // no shortcut when sw === cw: later lines may still use tabs where the code uses spaces
  const delta = wsWidth(cw) - wsWidth(sw)
  const useTabs = cw === '' ? fileUsesTabs : cw.includes('\t')
  return lines.map((l) => {
    if (l.trim() === '') return ''
    const lw = leadingWs(l)
    return makeIndent(Math.max(0, wsWidth(lw) + delta), useTabs) + l.slice(lw.length)
  })
}

interface LineIndex {
  lines: string[]
  /** indices of non-blank lines and their collapsed text */
  nbIdx: number[]
  nbKey: string[]
  /** nbKey without any whitespace, computed on first use */
  nbSqueezed?: string[]
  blocks: EvolveBlocks
}

function indexCode(code: string): LineIndex {
  const lines = code.split('\n')
  const nbIdx: number[] = []
  const nbKey: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const k = collapse(lines[i] as string)
    if (k !== '') {
      nbIdx.push(i)
      nbKey.push(k)
    }
  }
  return { lines, nbIdx, nbKey, blocks: findEvolveBlocks(code) }
}

interface Match {
  start: number
  end: number
}

function exactMatches(ix: LineIndex, s: string[]): Match[] {
  const out: Match[] = []
  const L = ix.lines
  const m = s.length
  const first = s[0] as string
  for (let i = 0; i + m <= L.length; i++) {
    if (L[i] !== first) continue
    let ok = true
    for (let k = 1; k < m; k++) {
      if (L[i + k] !== s[k]) {
        ok = false
        break
      }
    }
    if (ok) out.push({ start: i, end: i + m })
  }
  return out
}

function squeeze(k: string): string {
  return k.replace(/\s+/g, '')
}

function whitespaceMatches(ix: LineIndex, sKeys: string[], squeezed = false): Match[] {
  const out: Match[] = []
  if (squeezed && !ix.nbSqueezed) ix.nbSqueezed = ix.nbKey.map(squeeze)
  const K = squeezed ? (ix.nbSqueezed as string[]) : ix.nbKey
  const m = sKeys.length
  const first = sKeys[0] as string
  for (let i = 0; i + m <= K.length; i++) {
    if (K[i] !== first) continue
    let ok = true
    for (let k = 1; k < m; k++) {
      if (K[i + k] !== sKeys[k]) {
        ok = false
        break
      }
    }
    if (ok) out.push({ start: ix.nbIdx[i] as number, end: (ix.nbIdx[i + m - 1] as number) + 1 })
  }
  return out
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$.]/.test(c)
}

/** occurrences of `needle` in `hay` whose ends do not cut through an identifier or a number */
function substringMatches(hay: string, needle: string): number[] {
  const out: number[] = []
  if (needle.length === 0) return out
  let i = hay.indexOf(needle)
  while (i >= 0 && out.length < 50) {
    const before = hay[i - 1]
    const after = hay[i + needle.length]
    const cutStart = isWordChar(before) && isWordChar(needle[0])
    const cutEnd = isWordChar(after) && isWordChar(needle[needle.length - 1])
    if (!cutStart && !cutEnd) out.push(i)
    i = hay.indexOf(needle, i + 1)
  }
  return out
}

function clip(s: string, n = 80): string {
  const t = s.trim()
  return t.length > n ? t.slice(0, n - 1) + '…' : t
}

/** the longest run of search lines found in order somewhere: the most useful "why not found" for a model */
function explainNotFound(ix: LineIndex, sKeys: string[]): string {
  let bestLen = 0
  let bestAt = -1
  const K = ix.nbKey
  let tried = 0
  for (let start = 0; start < sKeys.length && bestLen === 0; start++) {
    const key = sKeys[start] as string
    for (let i = 0; i < K.length && tried < 5000; i++) {
      if (K[i] !== key) continue
      tried++
      let k = 0
      while (start + k < sKeys.length && i + k < K.length && K[i + k] === sKeys[start + k]) k++
      if (k > bestLen) {
        bestLen = k
        bestAt = i
      }
    }
    if (bestLen > 0) {
      const codeLine = (ix.nbIdx[bestAt] as number) + 1
      if (start > 0) {
        return `search line 1 (\`${clip(sKeys[0] as string)}\`) is not in the code; lines ${start + 1}–${start + bestLen} match from line ${codeLine}`
      }
      const nextSearch = sKeys[bestLen]
      const nextCode = K[bestAt + bestLen]
      return (
        `the first ${bestLen} of ${sKeys.length} search lines match at line ${codeLine}, then search line ${bestLen + 1} ` +
        `(\`${clip(nextSearch ?? '')}\`) differs from the code's \`${clip(nextCode ?? '<end of file>')}\``
      )
    }
  }
  return `no line of the search text occurs in the code (first search line: \`${clip(sKeys[0] as string)}\`)`
}

/**
 * Apply SEARCH/REPLACE blocks in order, each to the result of the previous ones. Matching: exact lines first,
 * then whitespace-tolerant (trimmed lines, runs of spaces collapsed, blank lines ignored) with the replacement
 * re-indented to the matched location, then the same with all whitespace removed ('loose'), then a unique
 * in-line substring. With several matches, the one inside
 * the EVOLVE-BLOCK regions wins if it is alone there. All or nothing: when any block fails (a block refused
 * for editing outside the EVOLVE-BLOCK regions included), none applies and the code comes back unchanged,
 * since the blocks of one answer often depend on each other (a call in one, its definition in another) and
 * the rest alone is a program the model never wrote. Every block is still tried, so each failure is reported.
 */
export function applySearchReplace(
  code: string,
  blocks: readonly SearchReplaceBlock[],
  opts: ApplyOptions = {},
): ApplyResult {
  const respect = opts.respectEvolveBlocks !== false
  const crlf = code.includes('\r\n')
  let cur = crlf ? code.replace(/\r\n/g, '\n') : code
  const failed: ApplyFailure[] = []
  const matches: ApplyResult['matches'] = []
  const noops: number[] = []
  let applied = 0
  let ix = indexCode(cur)

  blocks.forEach((block, index) => {
    const searchRaw = block.search.replace(/\r\n?/g, '\n')
    const replaceRaw = block.replace.replace(/\r\n?/g, '\n')
    let s = trimBlankEdges(searchRaw.split('\n'))
    let r = trimBlankEdges(replaceRaw.split('\n'))
    // models often quote the EVOLVE-BLOCK marker lines as context; when both sides keep them unchanged
    // at the same edge, they are context, not an edit of the markers
    const isMarker = (l: string | undefined) =>
      l !== undefined && /EVOLVE-BLOCK-(START|END)/.test(l) && /^\s*(#|\/\/|\/\*|--|;|%)/.test(l)
    while (s.length > 1 && isMarker(s[0]) && r.length > 0 && collapse(r[0] as string) === collapse(s[0] as string)) {
      s = trimBlankEdges(s.slice(1))
      r = trimBlankEdges(r.slice(1))
    }
    while (
      s.length > 1 &&
      isMarker(s[s.length - 1]) &&
      r.length > 0 &&
      collapse(r[r.length - 1] as string) === collapse(s[s.length - 1] as string)
    ) {
      s = trimBlankEdges(s.slice(0, -1))
      r = trimBlankEdges(r.slice(0, -1))
    }
    if (s.length === 0) {
      failed.push({
        index,
        reason: 'empty-search',
        search: block.search,
        detail: 'the SEARCH section is empty: nothing to locate',
      })
      return
    }
    const editable = (m: Match) => !respect || isLineRangeEditable(ix.blocks, m.start, m.end)
    const sKeys = s.map(collapse).filter((k) => k !== '')

    const pick = (cands: Match[]): Match | ApplyFailure => {
      if (cands.length === 1) {
        const m = cands[0] as Match
        if (editable(m)) return m
        return {
          index,
          reason: 'outside-evolve-block',
          search: block.search,
          detail: `the search text matches at line ${m.start + 1}, outside the EVOLVE-BLOCK regions (only code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END may change)`,
          lines: [m.start + 1],
        }
      }
      const inside = cands.filter(editable)
      if (inside.length === 1) return inside[0] as Match
      const where = (inside.length > 0 ? inside : cands).map((m) => m.start + 1)
      if (inside.length === 0) {
        return {
          index,
          reason: 'outside-evolve-block',
          search: block.search,
          detail: `the search text matches ${cands.length} times (lines ${where.join(', ')}), all outside the EVOLVE-BLOCK regions`,
          lines: where,
        }
      }
      return {
        index,
        reason: 'ambiguous',
        search: block.search,
        detail: `the search text matches ${inside.length} times (lines ${where.join(', ')}); add surrounding lines to make it unique`,
        lines: where,
      }
    }

    let tier: MatchTier = 'exact'
    let found: Match | ApplyFailure | null = null
    const ex = exactMatches(ix, s)
    if (ex.length > 0) found = pick(ex)
    else {
      const ws = sKeys.length > 0 ? whitespaceMatches(ix, sKeys) : []
      if (ws.length > 0) {
        tier = 'whitespace'
        found = pick(ws)
      } else if (sKeys.length > 0) {
        // models also re-space inside lines ("x=a+1" for "x = a + 1"): compare with all whitespace removed
        const loose = whitespaceMatches(ix, sKeys.map(squeeze), true)
        if (loose.length > 0) {
          tier = 'loose'
          found = pick(loose)
        }
      }
    }

    if (found && 'reason' in found) {
      failed.push(found)
      return
    }

    if (found) {
      const m = found
      let newLines = r
      if (tier === 'whitespace' || tier === 'loose') {
        const sFirst = s.find((l) => l.trim() !== '') as string
        newLines = rebaseIndent(r, sFirst, ix.lines[m.start] as string, /^\t/m.test(cur))
      }
      const old = ix.lines.slice(m.start, m.end)
      if (old.length === newLines.length && old.every((l, k) => l === newLines[k])) noops.push(index)
      const lines = ix.lines.slice(0, m.start).concat(newLines, ix.lines.slice(m.end))
      cur = lines.join('\n')
      ix = indexCode(cur)
      applied++
      matches.push({ index, tier, line: m.start + 1 })
      return
    }

    // last resort: a fragment of a line (or lines) that occurs once, not cutting through a word
    const needle = searchRaw.trim()
    if (needle.length >= 3) {
      const hits = substringMatches(cur, needle)
      const inside = hits.filter((h) => !respect || isOffsetRangeEditable(ix.blocks, h, h + needle.length))
      const lineOf = (off: number) => cur.slice(0, off).split('\n').length
      if (hits.length === 1 && inside.length === 0) {
        failed.push({
          index,
          reason: 'outside-evolve-block',
          search: block.search,
          detail: `the search text occurs at line ${lineOf(hits[0] as number)}, outside the EVOLVE-BLOCK regions`,
          lines: [lineOf(hits[0] as number)],
        })
        return
      }
      if (inside.length === 1) {
        const h = inside[0] as number
        const rep = replaceRaw.trim()
        if (rep === needle) noops.push(index)
        const line = lineOf(h)
        cur = cur.slice(0, h) + rep + cur.slice(h + needle.length)
        ix = indexCode(cur)
        applied++
        matches.push({ index, tier: 'substring', line })
        return
      }
      if (inside.length > 1) {
        const where = inside.map(lineOf)
        failed.push({
          index,
          reason: 'ambiguous',
          search: block.search,
          detail: `the search text occurs ${inside.length} times (lines ${where.join(', ')}); add surrounding lines to make it unique`,
          lines: where,
        })
        return
      }
    }
    failed.push({
      index,
      reason: 'not-found',
      search: block.search,
      detail: explainNotFound(ix, sKeys.length > 0 ? sKeys : [collapse(searchRaw)]),
    })
  })

  if (failed.length > 0) return { code, applied: 0, matched: applied, failed, matches, noops }
  if (crlf) cur = cur.replace(/\n/g, '\r\n')
  return { code: cur, applied, matched: applied, failed, matches, noops }
}

/** one-line summary of an application, for logs and the prompt's feedback on the last attempt */
export function describeApply(result: ApplyResult): string {
  const total = result.matched + result.failed.length
  const why = (f: ApplyFailure) => `${f.reason} (${f.detail})`
  if (result.failed.length === 0 || result.matched === 0) {
    const parts = [`${result.applied} of ${total} edit block(s) applied`]
    for (const f of result.failed) parts.push(`block ${f.index + 1}: ${why(f)}`)
    return parts.join('; ')
  }
  // some blocks matched, yet none applied: say which ones held the whole edit back
  const [only] = result.failed
  if (result.failed.length === 1 && only) return `block ${only.index + 1} of ${total} did not apply: ${why(only)}`
  return `${result.failed.length} of ${total} blocks did not apply: ${result.failed.map((f) => `block ${f.index + 1}: ${why(f)}`).join('; ')}`
}

// ---------------------------------------------------------------------------------------------
// unified diff (for storing a candidate's change against its parent and showing it)

type Op = { kind: ' ' | '-' | '+'; line: string }

/** Myers' O((N+M)·D) line diff; beyond maxEdits differing lines the middle is reported as one replacement */
function diffLines(a: string[], b: string[], maxEdits: number): Op[] {
  // trim the common prefix and suffix first: most edits are local
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  const A = a.slice(pre, a.length - suf)
  const B = b.slice(pre, b.length - suf)
  const head: Op[] = a.slice(0, pre).map((line) => ({ kind: ' ', line }))
  const tail: Op[] = a.slice(a.length - suf).map((line) => ({ kind: ' ', line }))
  const N = A.length
  const M = B.length
  const max = N + M
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  let found = -1
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    // only the diagonals step d can read: O(D²) memory instead of O(D·(N+M))
    trace.push(v.slice(offset - d - 1, offset + d + 2))
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1
      let y = x - k
      while (x < N && y < M && A[x] === B[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= N && y >= M) {
        found = d
        break
      }
    }
    if (found >= 0) break
  }
  if (found < 0) {
    return [
      ...head,
      ...A.map((line): Op => ({ kind: '-', line })),
      ...B.map((line): Op => ({ kind: '+', line })),
      ...tail,
    ]
  }
  // backtrack
  const mid: Op[] = []
  let x = N
  let y = M
  for (let d = found; d > 0; d--) {
    const vv = trace[d] as Int32Array
    const at = (kk: number) => vv[kk + d + 1] as number
    const k = x - y
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
    const prevX = at(prevK)
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) {
      mid.push({ kind: ' ', line: A[x - 1] as string })
      x--
      y--
    }
    if (x === prevX) mid.push({ kind: '+', line: B[y - 1] as string })
    else mid.push({ kind: '-', line: A[x - 1] as string })
    x = prevX
    y = prevY
  }
  while (x > 0 && y > 0) {
    mid.push({ kind: ' ', line: A[x - 1] as string })
    x--
    y--
  }
  mid.reverse()
  return [...head, ...mid, ...tail]
}

/**
 * A unified diff (`--- a` / `+++ b` / `@@ -l,n +l,n @@` hunks with `context` lines), '' when equal.
 * Line ends are normalized to LF first.
 */
export function unifiedDiff(
  a: string,
  b: string,
  opts: { context?: number; fromLabel?: string; toLabel?: string; maxEdits?: number } = {},
): string {
  const A = a.replace(/\r\n?/g, '\n')
  const B = b.replace(/\r\n?/g, '\n')
  if (A === B) return ''
  const ctx = opts.context ?? 3
  const ops = diffLines(A.split('\n'), B.split('\n'), opts.maxEdits ?? 1000)
  const out = [`--- ${opts.fromLabel ?? 'parent'}`, `+++ ${opts.toLabel ?? 'child'}`]
  // line numbers before each op
  const la: number[] = []
  const lb: number[] = []
  let ia = 1
  let ib = 1
  for (const op of ops) {
    la.push(ia)
    lb.push(ib)
    if (op.kind !== '+') ia++
    if (op.kind !== '-') ib++
  }
  let i = 0
  while (i < ops.length) {
    if ((ops[i] as Op).kind === ' ') {
      i++
      continue
    }
    const start = Math.max(0, i - ctx)
    let end = i
    // extend while the next change is within 2·context lines
    for (;;) {
      while (end < ops.length && (ops[end] as Op).kind !== ' ') end++
      let j = end
      while (j < ops.length && (ops[j] as Op).kind === ' ' && j - end < 2 * ctx) j++
      if (j < ops.length && (ops[j] as Op).kind !== ' ' && j - end <= 2 * ctx) end = j
      else break
    }
    const stop = Math.min(ops.length, end + ctx)
    const slice = ops.slice(start, stop)
    const na = slice.filter((o) => o.kind !== '+').length
    const nb = slice.filter((o) => o.kind !== '-').length
    out.push(
      `@@ -${na === 0 ? (la[start] as number) - 1 : la[start]},${na} +${nb === 0 ? (lb[start] as number) - 1 : lb[start]},${nb} @@`,
    )
    for (const o of slice) out.push(o.kind + o.line)
    i = stop
  }
  return out.join('\n') + '\n'
}
