'use client'
// Import files or a whole folder from the user's machine: the browser reads them, refuses binary
// and oversized ones on the spot, and sends the texts in batches under the API's body limit.
// The server checks everything again (it is the one that decides). Every file picked gets a row
// in the results, whatever happened to its batch.
import { useMutation } from '@tanstack/react-query'
import { TRPCClientError } from '@trpc/client'
import { useState } from 'react'
import {
  batchImportFiles,
  type ImportFileText,
  type ImportOutcome,
  importText,
  MAX_FILE_BYTES,
  sendImportBatches,
} from '../client-safe/knowledge-import.ts'
import { isNotebookPath, MAX_NOTEBOOK_BYTES, notebookToMarkdown } from '../client-safe/notebook.ts'
import { errorMessage, useTRPC } from './trpc.tsx'

type Result = ImportOutcome

async function readFile(f: File): Promise<ImportFileText | Result> {
  const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name
  const notebook = isNotebookPath(path)
  const max = notebook ? MAX_NOTEBOOK_BYTES : MAX_FILE_BYTES
  if (f.size > max)
    return { path, status: 'skipped', reason: `${Math.round(f.size / 1024)} KiB, over the ${max >> 20} MiB file limit` }
  const bytes = new Uint8Array(await f.arrayBuffer())
  if (bytes.includes(0)) return { path, status: 'skipped', reason: 'looks binary (it contains NUL bytes)' }
  let content: string
  try {
    content = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { path, status: 'skipped', reason: 'not valid UTF-8 text' }
  }
  if (notebook) {
    // sent as markdown: a notebook's JSON is mostly images, over the document limit
    const r = notebookToMarkdown(content)
    if ('error' in r) return { path, status: 'skipped', reason: r.error }
    content = r.markdown
  }
  // the API refuses a whole request holding one over-long file: it is left out here, with the reason
  const checked = importText(content)
  return 'reason' in checked ? { path, status: 'skipped', reason: checked.reason } : { path, content: checked.content }
}

const isBadRequest = (e: unknown) =>
  e instanceof TRPCClientError && (e.data as { code?: string } | undefined)?.code === 'BAD_REQUEST'

export function KnowledgeImport({ problems, onDone }: { problems: Array<{ id: string }>; onDone?: () => void }) {
  const trpc = useTRPC()
  const [problemId, setProblemId] = useState('')
  const [tags, setTags] = useState('')
  const [results, setResults] = useState<Result[] | null>(null)
  const [progress, setProgress] = useState<string | null>(null)
  // files whose path already holds a document with other content, waiting for the user's choice
  const [conflicts, setConflicts] = useState<{ files: ImportFileText[]; problemId: string; tags: string[] } | null>(
    null,
  )
  const importFiles = useMutation(trpc.knowledge.import.mutationOptions())

  const send = (
    files: ImportFileText[],
    scope: string,
    tagList: string[],
    ifDifferent: 'refuse' | 'replace' | 'keep-both',
  ) =>
    sendImportBatches(
      batchImportFiles(files),
      (b) =>
        importFiles.mutateAsync({
          files: b,
          problemId: scope || null,
          ...(tagList.length ? { tags: tagList } : {}),
          ifDifferent,
        }),
      {
        describe: errorMessage,
        isBadRequest,
        onProgress: (p) => setProgress(`sending ${p.batch} of ${p.batches} (${p.files} files)…`),
      },
    )

  const run = async (list: FileList | null) => {
    if (!list?.length) return
    setResults(null)
    setConflicts(null)
    const files = Array.from(list).filter(
      (f) =>
        !f.name.startsWith('.') &&
        !/(^|\/)(\.|node_modules\/)/.test((f as File & { webkitRelativePath?: string }).webkitRelativePath ?? ''),
    )
    const out: Result[] = []
    const ready: ImportFileText[] = []
    const tagList = tags
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
    try {
      for (const f of files) {
        const r = await readFile(f)
        if ('content' in r) ready.push(r)
        else out.push(r)
      }
      // a browser knows a file's name, not where it lives: the same name is no proof that it is
      // the same document, so the server only reports such files and the user decides
      out.push(...(await send(ready, problemId, tagList, 'refuse')))
      const waiting = new Set(out.filter((r) => r.status === 'conflict').map((r) => r.path))
      if (waiting.size) setConflicts({ files: ready.filter((f) => waiting.has(f.path)), problemId, tags: tagList })
    } catch (e) {
      // a file the browser could not read: said in the results, never an uncaught error
      const seen = new Set(out.map((r) => r.path))
      for (const f of files) {
        const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name
        if (!seen.has(path)) out.push({ path, status: 'failed', reason: errorMessage(e) })
      }
    } finally {
      setProgress(null)
      setResults(out)
      onDone?.()
    }
  }

  const resolve = async (choice: 'replace' | 'keep-both' | 'skip') => {
    if (!conflicts) return
    setConflicts(null)
    const outcome: Result[] =
      choice === 'skip'
        ? conflicts.files.map((f) => ({
            path: f.path,
            status: 'skipped',
            reason: 'not imported: a document with different content already came from this path',
          }))
        : await send(conflicts.files, conflicts.problemId, conflicts.tags, choice)
    const byPath = new Map(outcome.map((r) => [r.path, r]))
    setProgress(null)
    setResults((prev) => (prev ?? []).map((r) => (r.status === 'conflict' ? (byPath.get(r.path) ?? r) : r)))
    onDone?.()
  }

  const detail = (r: Result) => {
    if (r.status === 'conflict') return `${r.reason}: replace it, keep both or skip (above)`
    if (r.reason && (r.status === 'failed' || r.status === 'skipped')) return r.reason
    const what = `${r.title} · ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}${r.embedStatus && r.embedStatus !== 'ready' ? ` · embedding ${r.embedStatus}` : ''}`
    if (r.status === 'updated') return `replaced the earlier content of this document: ${what}`
    if (r.storedAs) return `kept beside the existing document, as ${r.storedAs}: ${what}`
    return r.reason ? `${what} · ${r.reason}` : what
  }

  return (
    <div className="card form" aria-label="import files">
      <h2>Import files</h2>
      <div className="muted small">
        Markdown, text, code and Jupyter notebook files (a folder's hidden entries are skipped). At most 2 MiB (a
        notebook 32 MiB: its images are left out) and 524,288 characters per file; PDF is not taken: convert it to text
        first. A file whose path already holds a document with other content is not replaced unless you say so.
      </div>
      <div className="row">
        <label>
          Scope
          <select value={problemId} onChange={(e) => setProblemId(e.target.value)}>
            <option value="">global</option>
            {problems.map((p) => (
              <option key={p.id} value={p.id}>
                {p.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Tags (comma-separated)
          <input
            value={tags}
            onChange={(e) => setTags(e.target.value)}
            placeholder="e.g. tsp, heuristics"
            maxLength={400}
          />
        </label>
        <label>
          Files
          <input type="file" multiple onChange={(e) => run(e.target.files)} aria-label="Choose files to import" />
        </label>
        <label>
          A folder
          <input
            type="file"
            multiple
            ref={(el) => {
              // not in React's typings: the attribute that makes the picker choose folders
              if (el) el.setAttribute('webkitdirectory', '')
            }}
            onChange={(e) => run(e.target.files)}
            aria-label="Choose a folder to import"
          />
        </label>
      </div>
      {progress && <div className="muted small">{progress}</div>}
      {conflicts && (
        <div className="alert" role="alertdialog" aria-label="replace existing documents?">
          <div>
            {conflicts.files.length === 1
              ? 'A document was already imported from this path, with different content:'
              : `Documents were already imported from these ${conflicts.files.length} paths, with different content:`}
          </div>
          <ul className="small">
            {(results ?? [])
              .filter((r) => r.status === 'conflict')
              .map((r) => (
                <li key={r.path}>
                  <span className="mono">{r.path}</span> holds “{r.title}”
                </li>
              ))}
          </ul>
          <div className="row">
            <button type="button" className="danger" onClick={() => resolve('replace')}>
              Replace {conflicts.files.length === 1 ? 'it' : 'them'}
            </button>
            <button type="button" onClick={() => resolve('keep-both')}>
              Keep both
            </button>
            <button type="button" onClick={() => resolve('skip')}>
              Skip {conflicts.files.length === 1 ? 'it' : 'them'}
            </button>
          </div>
        </div>
      )}
      {results && (
        <div className="scroll-x">
          <table className="table" data-testid="import-results">
            <thead>
              <tr>
                <th>file</th>
                <th>result</th>
                <th>details</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r, i) => (
                <tr key={`${i}:${r.path}`}>
                  <td className="mono small">{r.path}</td>
                  <td>
                    <span
                      className={`badge ${r.status === 'failed' ? 'bad' : r.status === 'skipped' || r.status === 'conflict' || r.status === 'updated' ? 'warn' : 'good'}`}
                    >
                      {r.status === 'updated' ? 'replaced' : r.status}
                    </span>
                  </td>
                  <td className="small" style={{ whiteSpace: 'normal' }}>
                    {detail(r)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
