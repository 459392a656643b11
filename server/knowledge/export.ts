// A knowledge document as a markdown file and back: what `fm-agent kb export` writes and `kb import`
// reads, so a curated base can be backed up, reviewed in git and moved to another data folder or
// server. Pure (no Node modules, no database): the console can render the same file.
//
// The file is a front matter block that `kb import` recognizes by its first key (`fm-agent-export`)
// and takes off again, followed by the document's content exactly as stored. Only that block is
// taken off, so a document that itself opens with front matter or a `---` rule comes back unchanged.
import YAML from 'yaml'
import { splitFrontMatter } from '../../client-safe/front-matter.ts'
import type { DocFormat } from './formats.ts'

export const EXPORT_MARKER = 'fm-agent-export'
const EXPORT_VERSION = 1
const FORMATS: readonly DocFormat[] = ['markdown', 'text', 'code']
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

export interface ExportedDoc {
  title: string | null
  tags: string[]
  problem: string | null
  format: DocFormat
  /** the document's text, without the export's front matter */
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

/** The parsed export block of a file, or null when the file is not one `kb export` wrote. */
function exportBlock(text: string): { data: Record<string, unknown>; body: string } | null {
  const { frontMatter, body } = splitFrontMatter(text)
  // a user's own front matter stays part of the document: only a block opening with the marker is ours
  if (frontMatter === null || !frontMatter.startsWith(`${EXPORT_MARKER}:`)) return null
  let data: unknown
  try {
    data = YAML.parse(frontMatter)
  } catch {
    return null
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null
  return { data: data as Record<string, unknown>, body }
}

/** A file `kb export` wrote, as the document it holds; null for any other file. */
export function parseExportedDocument(text: string): ExportedDoc | null {
  const block = exportBlock(text)
  if (!block) return null
  const { title, tags, problem, format } = block.data
  return {
    title: typeof title === 'string' && title.trim() ? title : null,
    tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
    problem: typeof problem === 'string' && problem.trim() ? problem.trim() : null,
    format: FORMATS.includes(format as DocFormat) ? (format as DocFormat) : 'markdown',
    content: block.body,
  }
}

/** How many leading characters of `text` are an export's front matter (0 for any other file). */
export function exportHeaderLength(text: string): number {
  const block = exportBlock(text)
  return block ? text.length - block.body.length : 0
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
