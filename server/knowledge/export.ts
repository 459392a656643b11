// A knowledge document as a markdown file and back: what `fm-agent kb export` writes and `kb import`
// reads, so a curated base can be backed up, reviewed in git and moved to another data folder or
// server. The writing is client-safe/knowledge-export.ts's (the console's Download all writes the
// same files); the reading is here.
//
// The file is a front matter block that `kb import` recognizes by its first key (`fm-agent-export`)
// and takes off again, followed by the document's content exactly as stored. Only that block is
// taken off, so a document that itself opens with front matter or a `---` rule comes back unchanged.
import YAML from 'yaml'
import { splitFrontMatter } from '../../client-safe/front-matter.ts'
import { DOC_FORMATS, type DocFormat } from './formats.ts'
import { EXPORT_MARKER } from '../../client-safe/knowledge-export.ts'

export interface ExportedDoc {
  title: string | null
  tags: string[]
  problem: string | null
  format: DocFormat
  /** the document's text, without the export's front matter */
  content: string
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
    format: DOC_FORMATS.includes(format as DocFormat) ? (format as DocFormat) : 'markdown',
    content: block.body,
  }
}

/** How many leading characters of `text` are an export's front matter (0 for any other file). */
export function exportHeaderLength(text: string): number {
  const block = exportBlock(text)
  return block ? text.length - block.body.length : 0
}
