// Jupyter notebooks (.ipynb) are imported as markdown: markdown cells as they are, code cells as
// fenced code in the kernel's language, each followed by its text output (bounded). Images and other
// rich outputs are left out: a knowledge chunk is text a model reads. nbformat 4, and 3's worksheets.
// Pure, for every side that reads files: the CLI and the browser convert before sending (a notebook's
// JSON is mostly base64 images, far over the document limit), the server converts what arrives raw.

/** per code cell: the start of a long output is what says what it showed */
export const MAX_OUTPUT_CHARS = 2_000
/** Largest notebook file read: its images are dropped, and the markdown left must fit a document. */
export const MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024

export const isNotebookPath = (path: string) => path.toLowerCase().endsWith('.ipynb')

type Json = Record<string, unknown>
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x)
/** a notebook's multi-line string: one string, or a list of lines */
const joined = (s: unknown): string =>
  Array.isArray(s) ? s.filter((l) => typeof l === 'string').join('') : typeof s === 'string' ? s : ''
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

/** The notebook as markdown, or why it is not a notebook. */
export function notebookToMarkdown(raw: string): { markdown: string } | { error: string } {
  let nb: unknown
  try {
    nb = JSON.parse(raw)
  } catch (e) {
    return { error: `not a Jupyter notebook: ${(e as Error).message}` }
  }
  const sheet = isObject(nb) && Array.isArray(nb.worksheets) ? nb.worksheets[0] : null
  const cells = isObject(nb) ? (Array.isArray(nb.cells) ? nb.cells : isObject(sheet) ? sheet.cells : null) : null
  if (!isObject(nb) || !Array.isArray(cells)) return { error: 'not a Jupyter notebook: it has no list of cells' }
  const language = kernelLanguage(nb.metadata)
  const parts: string[] = []
  for (const c of cells) {
    if (!isObject(c)) continue
    const source = joined(c.source ?? c.input).trimEnd()
    if (c.cell_type === 'code') {
      if (source.trim()) parts.push(fence(source, language))
      const output = outputText(c.outputs)
      if (output) parts.push(fence(output, 'text'))
    } else if (c.cell_type === 'heading' && source.trim()) {
      const level = Math.min(6, Math.max(1, Number(c.level) || 1))
      parts.push(`${'#'.repeat(level)} ${source.trim()}`)
    } else if (source.trim()) parts.push(withoutInlineImages(source)) // markdown and raw cells
  }
  if (!parts.length) return { error: 'a notebook whose cells hold no text' }
  return { markdown: `${parts.join('\n\n')}\n` }
}

/** Images pasted into a markdown cell are data URIs, often one line of megabytes: their alt text stays. */
function withoutInlineImages(md: string): string {
  return md
    .replace(/!\[([^\]\n]*)\]\(\s*data:[^)]*\)/g, (_, alt: string) => `(image${alt.trim() ? `: ${alt.trim()}` : ''})`)
    .replace(/<img\b[^>]*\bsrc\s*=\s*["']data:[^>]*>/gi, '(image)')
}

function kernelLanguage(metadata: unknown): string {
  if (!isObject(metadata)) return 'python'
  const kernel = isObject(metadata.kernelspec) ? metadata.kernelspec.language : undefined
  const info = isObject(metadata.language_info) ? metadata.language_info.name : undefined
  const name = typeof kernel === 'string' ? kernel : typeof info === 'string' ? info : metadata.language
  return typeof name === 'string' && /^[\w+#-]{1,30}$/.test(name) ? name.toLowerCase() : 'python'
}

/** A code cell's printed and returned text, without colour codes, at most MAX_OUTPUT_CHARS. */
function outputText(outputs: unknown): string {
  if (!Array.isArray(outputs)) return ''
  const texts: string[] = []
  for (const o of outputs) {
    if (!isObject(o)) continue
    if (
      o.output_type === 'stream' ||
      o.output_type === 'pyout' ||
      o.output_type === 'execute_result' ||
      o.output_type === 'display_data'
    ) {
      const data = isObject(o.data) ? o.data : o
      texts.push(joined(o.output_type === 'stream' ? o.text : (data['text/plain'] ?? data.text)))
    } else if (o.output_type === 'error' || o.output_type === 'pyerr') {
      texts.push(`${joined(o.ename)}: ${joined(o.evalue)}`)
    }
  }
  const text = texts.join('\n').replace(ANSI, '').trimEnd()
  if (text.length <= MAX_OUTPUT_CHARS) return text
  return `${text.slice(0, MAX_OUTPUT_CHARS)}\n… (${(text.length - MAX_OUTPUT_CHARS).toLocaleString('en-US')} more characters)`
}

/** A fenced block whose fence no backtick run inside it can close. */
function fence(body: string, language: string): string {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length))
  const ticks = '`'.repeat(longest + 1)
  return `${ticks}${language}\n${body}\n${ticks}`
}
