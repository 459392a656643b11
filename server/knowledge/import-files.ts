// Reading a file or a folder from disk for import (the CLI does it on the user's machine, then
// sends the texts to the API, so it works the same against a local or a remote server).
// Hidden entries, dependency and build folders and symbolic links are not followed; unsupported,
// binary and oversized files are reported as skipped with the reason, never silently dropped.
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { ImportFile, ImportResult } from './documents.ts'
import { KnowledgeInputError } from './errors.ts'
import { batchImportFiles, importText } from '../../client-safe/knowledge-import.ts'
import { MAX_NOTEBOOK_BYTES, notebookToMarkdown } from '../../client-safe/notebook.ts'
import { exportHeaderLength } from './export.ts'
import { classifyPath } from './formats.ts'
import { formatBytes, MAX_FILE_BYTES, MAX_FOLDER_FILES, MAX_IMPORT_DEPTH, MAX_IMPORT_TOTAL_CHARS } from './limits.ts'
import { decodeText } from './validate.ts'

const SKIP_DIRS = new Set(['node_modules', '__pycache__', 'dist', 'build', 'target', 'venv', '.venv', 'site-packages'])

export interface CollectedFiles {
  files: ImportFile[]
  skipped: ImportResult[]
  root: string
}

/**
 * How a path is shown: relative to the working folder when inside it, else absolute. It is stored
 * absolute (`storedPath`): a path relative to wherever the user stood names no file, and the same
 * `README.md` typed in two folders would update one document with the other's content.
 */
export function displayPath(abs: string, cwd = process.cwd()): string {
  const rel = relative(cwd, abs)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : abs
}

/** A file's path as its document keeps it: absolute, with forward slashes. */
export function storedPath(abs: string): string {
  return abs.split(sep).join('/')
}

/** "notes/a.bin looks binary…" as "looks binary…", "notes/a.txt is not valid UTF-8…" as "not valid UTF-8…" */
function withoutSubject(message: string, subject: string): string {
  if (!message.startsWith(`${subject} `)) return message
  return message.slice(subject.length + 1).replace(/^is /, '')
}

export function collectImportFiles(path: string, opts: { cwd?: string } = {}): CollectedFiles {
  const cwd = opts.cwd ?? process.cwd()
  const root = resolve(cwd, path)
  let st: Stats
  try {
    st = lstatSync(root)
  } catch {
    throw new KnowledgeInputError(`${path}: no such file or folder`)
  }
  const files: ImportFile[] = []
  const skipped: ImportResult[] = []
  let total = 0
  const take = (abs: string, size: number, single: boolean) => {
    const shown = displayPath(abs, cwd)
    const kind = classifyPath(abs)
    if ('unsupported' in kind) {
      if (single) throw new KnowledgeInputError(`${shown}: ${kind.unsupported}`)
      skipped.push({ path: storedPath(abs), status: 'skipped', reason: kind.unsupported })
      return
    }
    // a notebook's JSON is mostly images, dropped when it becomes markdown
    const maxBytes = kind.notebook ? MAX_NOTEBOOK_BYTES : MAX_FILE_BYTES
    if (size > maxBytes) {
      const reason = `${formatBytes(size)}, over the ${formatBytes(maxBytes)} file limit`
      if (single) throw new KnowledgeInputError(`${shown} is ${reason}; split it into smaller documents`)
      skipped.push({ path: storedPath(abs), status: 'skipped', reason })
      return
    }
    let content: string
    try {
      content = decodeText(readFileSync(abs), shown, maxBytes)
      if (kind.notebook) {
        const r = notebookToMarkdown(content)
        if ('error' in r) throw new KnowledgeInputError(`${shown} is ${r.error}`)
        content = r.markdown
      }
    } catch (e) {
      if (single || !(e instanceof KnowledgeInputError)) throw e
      // the listing already names the file: its reason says only what is wrong with it
      skipped.push({ path: storedPath(abs), status: 'skipped', reason: withoutSubject(e.message, shown) })
      return
    }
    // an empty file in a folder (an __init__.py, a placeholder) is nothing to import, not a failure
    if (!single && !content.trim()) {
      skipped.push({ path: storedPath(abs), status: 'skipped', reason: 'empty' })
      return
    }
    // checked here, per file, because the API refuses a whole request holding one such file
    // an exported document's header is not part of its text: a document at the limit comes back in
    const header = kind.format === 'markdown' ? exportHeaderLength(content) : 0
    const checked = importText(content.slice(header))
    if ('reason' in checked) {
      if (single) throw new KnowledgeInputError(`${shown}: ${checked.reason}`)
      skipped.push({ path: storedPath(abs), status: 'skipped', reason: checked.reason })
      return
    }
    content = content.slice(0, header) + checked.content
    if (files.length >= MAX_FOLDER_FILES)
      throw new KnowledgeInputError(
        `${path} holds more than ${MAX_FOLDER_FILES.toLocaleString('en-US')} importable files, the most one import takes; import part of it at a time`,
      )
    total += content.length
    if (total > MAX_IMPORT_TOTAL_CHARS)
      throw new KnowledgeInputError(
        `${path} holds more than ${MAX_IMPORT_TOTAL_CHARS.toLocaleString('en-US')} characters of text; import its subfolders one at a time`,
      )
    files.push({ path: storedPath(abs), content })
  }
  if (st.isSymbolicLink()) throw new KnowledgeInputError(`${path} is a symbolic link; give the path it points to`)
  if (st.isFile()) {
    take(root, st.size, true)
    return { files, skipped, root }
  }
  if (!st.isDirectory()) throw new KnowledgeInputError(`${path} is neither a file nor a folder`)
  const walk = (dir: string, depth: number) => {
    if (depth > MAX_IMPORT_DEPTH) {
      skipped.push({
        path: storedPath(dir),
        status: 'skipped',
        reason: `deeper than ${MAX_IMPORT_DEPTH} folders`,
      })
      return
    }
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const abs = join(dir, e.name)
      if (e.isSymbolicLink()) {
        skipped.push({ path: storedPath(abs), status: 'skipped', reason: 'symbolic link (not followed)' })
      } else if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(abs, depth + 1)
      } else if (e.isFile()) {
        take(abs, lstatSync(abs).size, false)
      }
    }
  }
  walk(root, 0)
  if (files.length === 0 && skipped.length === 0)
    throw new KnowledgeInputError(`${path} holds no markdown, text, code or notebook files`)
  return { files, skipped, root }
}

/**
 * Splits files into batches under a size budget (their JSON-encoded bytes), so each API request
 * stays under the server's 2 MiB body limit.
 */
export function batchFiles(files: ImportFile[], maxBytes = 1_500_000, maxFiles = 100): ImportFile[][] {
  return batchImportFiles(files, maxBytes, maxFiles)
}
