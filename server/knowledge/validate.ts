// Checks on what users hand the knowledge base. Each refusal names the problem and the bound, so
// the console and the CLI can show it as is.
import { KnowledgeInputError } from './errors.ts'
import { HIGHLIGHT_END, HIGHLIGHT_START } from '../../client-safe/highlight.ts'
import {
  formatBytes,
  MAX_DOC_CHARS,
  MAX_FILE_BYTES,
  MAX_LINE_CHARS,
  MAX_SOURCE_PATH_CHARS,
  MAX_TAG_CHARS,
  MAX_TAGS,
  MAX_TITLE_CHARS,
} from './limits.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Bytes read from a file to text: refuses binary data (a NUL byte, invalid UTF-8) and files over
 * the size cap. A UTF-8 byte-order mark is dropped.
 */
export function decodeText(bytes: Uint8Array, what: string, maxBytes = MAX_FILE_BYTES): string {
  if (bytes.byteLength > maxBytes) {
    throw new KnowledgeInputError(
      `${what} is ${formatBytes(bytes.byteLength)}, over the ${formatBytes(maxBytes)} file limit; split it into smaller documents`,
    )
  }
  // UTF-16 with its byte order mark (what Windows editors save as "Unicode"): text, in another encoding
  const utf16 =
    bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : null
  if (utf16) {
    try {
      return new TextDecoder(utf16, { fatal: true }).decode(bytes.subarray(2))
    } catch {
      throw new KnowledgeInputError(`${what} starts as UTF-16 text but is not valid UTF-16; convert it to UTF-8 first`)
    }
  }
  if (bytes.indexOf(0) !== -1)
    throw new KnowledgeInputError(
      `${what} looks binary (it contains NUL bytes); only text, markdown and code are taken`,
    )
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new KnowledgeInputError(
      `${what} is not valid UTF-8 text (binary, or another encoding: convert it to UTF-8 first)`,
    )
  }
  return text
}

/** Lone UTF-16 surrogates cannot be stored as text and mean the input was corrupted on the way. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** terminal colour and cursor sequences: ESC [ parameters letter */
const ANSI_ESCAPE = /\u001B\[[0-9;?]*[A-Za-z]/g
/** C0 controls other than tab, line feed, carriage return and form feed. */
const CONTROL = /[\u0001-\u0008\u000B\u000E-\u001F\u007F]/g
const HAS_CONTROL = /[\u0000-\u0008\u000B\u000E-\u001F\u007F]/

/**
 * Document text as it will be stored: line endings normalized to \n, highlight markers removed.
 * Refuses empty, huge, binary-looking and malformed (over-long lines, broken characters) text.
 */
export function normalizeContent(raw: string, what = 'the document'): string {
  if (raw.includes('\u0000'))
    throw new KnowledgeInputError(
      `${what} looks binary (it contains NUL characters); only text, markdown and code are taken`,
    )
  if (LONE_SURROGATE.test(raw))
    throw new KnowledgeInputError(`${what} is malformed: it holds broken characters (unpaired UTF-16 surrogates)`)
  // a pasted terminal log's colours (ANSI escape sequences) are formatting, not text
  raw = raw.replace(ANSI_ESCAPE, '')
  const controls = raw.match(CONTROL)?.length ?? 0
  if (controls > 0 && controls > raw.length / 1000) {
    throw new KnowledgeInputError(
      `${what} looks binary (${controls} control characters); only text, markdown and code are taken`,
    )
  }
  const text = raw
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, '')
    .replaceAll(HIGHLIGHT_START, '')
    .replaceAll(HIGHLIGHT_END, '')
  if (!text.trim()) throw new KnowledgeInputError(`${what} is empty; write something in it first`)
  // the bound counts the final newline a stored document gets: one taken at the bound stays editable
  const stored = text.endsWith('\n') ? text.length : text.length + 1
  if (stored > MAX_DOC_CHARS) {
    throw new KnowledgeInputError(
      `${what} has ${text.length.toLocaleString('en-US')} characters${text.length > MAX_DOC_CHARS ? '' : ` (${stored.toLocaleString('en-US')} with the final newline a document ends with)`}, over the ${MAX_DOC_CHARS.toLocaleString('en-US')}-character limit per document; split it into smaller documents`,
    )
  }
  let line = 1
  let start = 0
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 10) {
      if (i - start > MAX_LINE_CHARS) {
        throw new KnowledgeInputError(
          `${what} is malformed: line ${line} has ${(i - start).toLocaleString('en-US')} characters (over ${MAX_LINE_CHARS.toLocaleString('en-US')}); minified or generated files are not useful knowledge`,
        )
      }
      line++
      start = i + 1
    }
  }
  return text.endsWith('\n') ? text : text + '\n'
}

export function normalizeTitle(raw: string): string {
  const title = raw.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim()
  if (!title) throw new KnowledgeInputError('the title is empty')
  if (title.length > MAX_TITLE_CHARS)
    throw new KnowledgeInputError(
      `the title has ${title.length} characters, over the ${MAX_TITLE_CHARS}-character limit`,
    )
  if (LONE_SURROGATE.test(title)) throw new KnowledgeInputError('the title is malformed (broken characters)')
  return title
}

const TAG = /^[a-z0-9][a-z0-9._+-]*$/

/** Tags are lower-case words (letters, digits, . _ + -); duplicates are dropped, order kept. */
export function normalizeTags(raw: readonly string[] | undefined): string[] {
  const out: string[] = []
  for (const r of raw ?? []) {
    const t = r.trim().toLowerCase().replace(/\s+/g, '-')
    if (!t) continue
    if (t.length > MAX_TAG_CHARS)
      throw new KnowledgeInputError(`tag "${t.slice(0, 20)}…" is over ${MAX_TAG_CHARS} characters`)
    if (!TAG.test(t))
      throw new KnowledgeInputError(
        `tag "${t}" may hold only letters, digits and . _ + - (and must start with a letter or digit)`,
      )
    if (!out.includes(t)) out.push(t)
  }
  if (out.length > MAX_TAGS)
    throw new KnowledgeInputError(`a document takes at most ${MAX_TAGS} tags (got ${out.length})`)
  return out
}

export function normalizeSourcePath(raw: string | null | undefined): string | null {
  if (raw == null) return null
  const p = raw.trim()
  if (!p) return null
  if (p.length > MAX_SOURCE_PATH_CHARS)
    throw new KnowledgeInputError(`the source path is over ${MAX_SOURCE_PATH_CHARS} characters`)
  if (HAS_CONTROL.test(p)) throw new KnowledgeInputError('the source path holds control characters')
  return p
}
