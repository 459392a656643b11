// A knowledge document as the markdown file `fm-agent kb export` writes (server/knowledge/export.ts
// reads it back for `kb import`), and its file name: here so the console's "Download all" writes the
// same files. Pure.

export const EXPORT_MARKER = 'fm-agent-export'
export const EXPORT_VERSION = 1
/** Characters of the title kept in a file name (before the id that makes it unique). */
const MAX_SLUG_CHARS = 60

export interface ExportableDoc {
  id: string
  title: string
  tags: string[]
  problemId: string | null
  format: string
  sourcePath: string | null
  content: string
}

/**
 * The file for one document. Every value is written as a JSON string (a valid YAML scalar on one
 * line), so no title or path can end the block early or be read back as something else.
 */
export function documentToMarkdown(doc: ExportableDoc): string {
  const lines = [
    `${EXPORT_MARKER}: ${EXPORT_VERSION}`,
    `title: ${JSON.stringify(doc.title)}`,
    `tags: ${JSON.stringify(doc.tags)}`,
    ...(doc.problemId ? [`problem: ${JSON.stringify(doc.problemId)}`] : []),
    ...(doc.format !== 'markdown' ? [`format: ${JSON.stringify(doc.format)}`] : []),
    '# where it was exported from; kb import does not read these',
    `id: ${JSON.stringify(doc.id)}`,
    ...(doc.sourcePath ? [`source: ${JSON.stringify(doc.sourcePath)}`] : []),
  ]
  return `---\n${lines.join('\n')}\n---\n${doc.content}`
}

/**
 * A file name for a document: its title as lowercase ASCII words and the start of its id, so the
 * same document gets the same name in every export (a git diff shows edits, not renames) and two
 * documents never share one. Only [a-z0-9-] and `.md`: never a path, never a hidden or reserved
 * name. `taken` (lowercased names already used in this export) makes it unique even when ids share
 * their start, and on case-insensitive file systems.
 */
export function exportFileName(doc: { id: string; title: string }, taken: Set<string>): string {
  const slug =
    doc.title
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, MAX_SLUG_CHARS)
      .replace(/^-+|-+$/g, '') || 'document'
  const id = doc.id.toLowerCase().replace(/[^a-z0-9-]/g, '') || 'doc'
  let name = `${slug}-${id.slice(0, 8)}.md`
  if (taken.has(name)) name = `${slug}-${id}.md`
  for (let n = 2; taken.has(name); n++) name = `${slug}-${id}-${n}.md`
  taken.add(name)
  return name
}

/** documents per page of knowledge.list (its input's bound) */
export const LIST_PAGE = 500

/**
 * Every document's id once, a page of the newest-first list at a time (`list(offset)` reads one):
 * a document edited meanwhile moves up the list and can come round again. Yields each page's new
 * ids with the list's total; ends at the total or at an empty page.
 */
export async function* documentIdPages(
  list: (offset: number) => Promise<{ total: number; docs: { id: string }[] }>,
): AsyncGenerator<{ ids: string[]; total: number }> {
  const seen = new Set<string>()
  let offset = 0
  let total = 0
  do {
    const page = await list(offset)
    total = page.total
    offset += page.docs.length
    yield { ids: page.docs.map((d) => d.id).filter((id) => !seen.has(id) && (seen.add(id), true)), total }
    if (!page.docs.length) break
  } while (offset < total)
}

// The console's "Download all": the files `kb export` writes, in one tar archive written here
// (ustar, with a pax record where a name is longer than the header holds), so that `tar -xf` gives
// the folder `kb import` reads back. Built page by page; nothing here holds more than one file.
const BLOCK = 512
const encoder = new TextEncoder()

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

function header(name: string, size: number, mtimeS: number, type: '0' | 'x'): Uint8Array {
  const h = new Uint8Array(BLOCK)
  const put = (text: string, at: number) => h.set(encoder.encode(text), at)
  put(name, 0)
  put(octal(0o644, 8), 100)
  put(octal(0, 8), 108)
  put(octal(0, 8), 116)
  put(octal(size, 12), 124)
  put(octal(Math.max(0, Math.floor(mtimeS)), 12), 136)
  put('        ', 148)
  put(type, 156)
  put('ustar\u000000', 257)
  let sum = 0
  for (const b of h) sum += b
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return h
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK)
  out.set(data)
  return out
}

/** One file of the archive: its header block(s) and its text, padded to whole blocks. */
export function tarEntry(name: string, text: string, mtimeS: number): Uint8Array[] {
  const data = encoder.encode(text)
  const parts: Uint8Array[] = []
  const nameBytes = encoder.encode(name).length
  let short = name
  if (nameBytes > 99) {
    // a pax record's length counts its own digits
    const rest = ` path=${name}\n`
    const restBytes = encoder.encode(rest).length
    let len = restBytes
    while (String(len).length + restBytes !== len) len = String(len).length + restBytes
    const pax = encoder.encode(`${len}${rest}`)
    parts.push(header('PaxHeader', pax.length, mtimeS, 'x'), padded(pax))
    short = name.slice(0, 90)
  }
  parts.push(header(short, data.length, mtimeS, '0'), padded(data))
  return parts
}

/** what ends an archive: two empty blocks */
export function tarEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK)
}

/** The archive's name: the knowledge base and the day, so downloads of different days stand apart. */
export function archiveName(now: Date): string {
  return `fm-agent-knowledge-${now.toISOString().slice(0, 10)}.tar`
}
