'use client'
// A knowledge document: Monaco editor with a live markdown preview, title, scope and tags; its
// chunks with their usefulness, and each chunk's retrieval history. Viewers see it read-only.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { KnowledgeChunkHistory } from './knowledge-chunk-history.tsx'
import { Markdown } from './knowledge-markdown.tsx'
import { EmbedBadge, fmtDelta } from './knowledge-tabs.tsx'
import { CodeEditor, monacoLanguage } from './monaco/index.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

type Format = 'markdown' | 'text' | 'code'

const languageOfPath = (p: string | null | undefined) => {
  const ext = p?.split('.').pop()?.toLowerCase() ?? ''
  const map: Record<string, string> = {
    py: 'python',
    js: 'javascript',
    mjs: 'javascript',
    ts: 'typescript',
    tsx: 'typescript',
    c: 'c',
    h: 'c',
    cc: 'cpp',
    cpp: 'cpp',
    hpp: 'cpp',
    cu: 'cuda',
    go: 'go',
    rs: 'rust',
    java: 'java',
    jl: 'julia',
    rb: 'ruby',
    sh: 'shell',
    sql: 'sql',
  }
  return map[ext]
}

export function KnowledgeDocEditor({ docId }: { docId?: string }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const router = useRouter()
  const me = useQuery(trpc.account.me.queryOptions())
  const canWrite = me.data?.role === 'expert' || me.data?.role === 'admin'
  const problems = useQuery(trpc.problems.list.queryOptions())
  const doc = useQuery({ ...trpc.knowledge.get.queryOptions({ id: docId ?? '' }), enabled: !!docId })
  const [draft, setDraft] = useState<{
    title: string
    format: Format
    problemId: string
    tags: string
    content: string
    /** the revision the edit started from: saving over a newer one is refused (another expert saved) */
    base: string | undefined
  } | null>(null)
  const [chunk, setChunk] = useState<string | null>(null)
  const [confirmDelete, setConfirmDelete] = useState(false)

  const loaded = docId ? doc.data : null
  const value = draft ?? {
    title: loaded?.title ?? '',
    format: ((loaded?.format as Format) ?? 'markdown') as Format,
    problemId: loaded?.problemId ?? '',
    tags: loaded?.tags.join(', ') ?? '',
    content: loaded?.content ?? '',
    base: loaded?.revision,
  }
  const set = (patch: Partial<typeof value>) => setDraft({ ...value, ...patch })
  const tagList = value.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)

  const invalidate = () => qc.invalidateQueries({ queryKey: trpc.knowledge.pathKey() })
  const create = useMutation(
    trpc.knowledge.create.mutationOptions({
      onSuccess: (d) => {
        invalidate()
        router.push(`/knowledge/doc/${d.id}`)
      },
    }),
  )
  const update = useMutation(trpc.knowledge.update.mutationOptions({ onSuccess: () => (setDraft(null), invalidate()) }))
  const remove = useMutation(
    trpc.knowledge.delete.mutationOptions({ onSuccess: () => (invalidate(), router.push('/knowledge')) }),
  )
  const busy = create.isPending || update.isPending || remove.isPending
  const error = create.error ?? update.error ?? remove.error

  if (docId && doc.isLoading) return <div className="muted">Loading…</div>
  if (docId && doc.error) return <div className="alert error">{errorMessage(doc.error)}</div>

  const save = () => {
    const body = {
      title: value.title,
      content: value.content,
      format: value.format,
      tags: tagList,
      problemId: value.problemId || null,
    }
    if (docId) update.mutate({ id: docId, ...body, baseRevision: value.base })
    else create.mutate(body)
  }
  const lang =
    value.format === 'markdown'
      ? 'markdown'
      : value.format === 'code'
        ? monacoLanguage(languageOfPath(loaded?.sourcePath))
        : 'plaintext'

  return (
    <div className="grid">
      <div className="card form">
        <div className="row between">
          <h2 style={{ margin: 0 }}>{docId ? (canWrite ? 'Edit document' : 'Document') : 'New document'}</h2>
          {loaded && (
            <div className="row">
              <EmbedBadge status={loaded.embedStatus} error={loaded.embedError} />
              {loaded.embeddingModel && <span className="muted small mono">{loaded.embeddingModel}</span>}
            </div>
          )}
        </div>
        {me.data && !canWrite && (
          <div className="muted small" data-testid="doc-read-only">
            {docId ? 'Experts edit documents; you can read them.' : 'Experts add documents; you can read them.'}
          </div>
        )}
        {loaded?.embedStatus === 'failed' && (
          <div className="alert">
            The document is saved and found by full-text search, but its embedding failed: {loaded.embedError}. An admin
            can re-embed it from the Embedding model tab.
          </div>
        )}
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <label style={{ flex: 2, minWidth: 240 }}>
            Title {docId ? '' : '(empty: taken from the first heading)'}
            <input
              value={value.title}
              onChange={(e) => set({ title: e.target.value })}
              maxLength={200}
              disabled={!canWrite}
              aria-label="Title"
            />
          </label>
          <label>
            Format
            <select
              value={value.format}
              onChange={(e) => set({ format: e.target.value as Format })}
              disabled={!canWrite}
              aria-label="Format"
            >
              <option value="markdown">markdown</option>
              <option value="text">text</option>
              <option value="code">code</option>
            </select>
          </label>
          <label>
            Scope
            <select
              value={value.problemId}
              onChange={(e) => set({ problemId: e.target.value })}
              disabled={!canWrite}
              aria-label="Scope"
            >
              <option value="">global</option>
              {problems.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.id}
                </option>
              ))}
            </select>
          </label>
          <label style={{ flex: 1, minWidth: 200 }}>
            Tags (comma-separated)
            <input
              value={value.tags}
              onChange={(e) => set({ tags: e.target.value })}
              maxLength={800}
              disabled={!canWrite}
              aria-label="Tags"
            />
          </label>
        </div>
        <div
          className="grid two"
          style={{ gridTemplateColumns: value.format === 'markdown' ? 'repeat(auto-fit, minmax(380px, 1fr))' : '1fr' }}
        >
          <div>
            <CodeEditor
              key={`${docId ?? 'new'}:${loaded?.updatedAt ? new Date(loaded.updatedAt).getTime() : 0}:${value.format}`}
              defaultValue={value.content}
              language={lang}
              onChange={(content) => set({ content })}
              readOnly={!canWrite}
              wordWrap={value.format !== 'code'}
              height={460}
              ariaLabel="Document text"
              testId="doc-editor"
            />
            <div className="muted small" style={{ marginTop: 4 }}>
              {value.content.length.toLocaleString()} characters (at most 524,288); chunks of at most 2,000 characters,
              cut at headings and never inside a code block.
            </div>
          </div>
          {value.format === 'markdown' && (
            <div
              className="card"
              style={{ maxHeight: 480, overflow: 'auto', background: 'var(--bg)' }}
              aria-label="preview"
            >
              <h3>Preview</h3>
              {value.content.trim() ? (
                <Markdown source={value.content} testId="doc-preview" />
              ) : (
                <div className="muted small">Nothing to preview yet.</div>
              )}
            </div>
          )}
        </div>
        {error && (
          <div className="alert error" data-testid="doc-save-error">
            {errorMessage(error)}
            {update.error?.data?.code === 'CONFLICT' && (
              <div className="row" style={{ marginTop: 6 }}>
                <button
                  onClick={() => {
                    // their version replaces this draft: copy your text first if you want to keep it
                    setDraft(null)
                    update.reset()
                    void doc.refetch()
                  }}
                >
                  Discard my edit and load their version
                </button>
              </div>
            )}
          </div>
        )}
        {update.isSuccess && !draft && <div className="alert info">Saved.</div>}
        {canWrite && (
          <div className="row between">
            <button className="primary" onClick={save} disabled={busy || !value.content.trim() || (!!docId && !draft)}>
              {docId ? 'Save' : 'Create'}
            </button>
            {docId &&
              (confirmDelete ? (
                <span className="row">
                  Delete “{loaded?.title}” and its chunks?
                  <button className="danger" onClick={() => remove.mutate({ id: docId })} disabled={busy}>
                    Delete
                  </button>
                  <button onClick={() => setConfirmDelete(false)}>Keep</button>
                </span>
              ) : (
                <button className="danger" onClick={() => setConfirmDelete(true)}>
                  Delete…
                </button>
              ))}
          </div>
        )}
      </div>
      {loaded && (
        <div className="card" style={{ overflowX: 'auto' }}>
          <h2>Chunks</h2>
          <div className="scroll-x">
            <table className="table" data-testid="chunks-table">
              <thead>
                <tr>
                  <th className="num">#</th>
                  <th>heading</th>
                  <th className="num">chars</th>
                  <th
                    className="num"
                    title="mean fitness gain of the candidates it informed, shrunk toward 0 when they are few"
                  >
                    usefulness
                  </th>
                  <th className="num">uses</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {loaded.chunks.map((c) => (
                  <tr key={c.id}>
                    <td className="num">{c.ord + 1}</td>
                    <td style={{ whiteSpace: 'normal' }}>
                      {c.heading ?? <span className="muted">{c.content.slice(0, 80)}</span>}
                    </td>
                    <td className="num">{c.content.length}</td>
                    <td className="num mono">{fmtDelta(c.usefulness)}</td>
                    <td className="num">{c.uses}</td>
                    <td>
                      <button className="small" onClick={() => setChunk(chunk === c.id ? null : c.id)}>
                        {chunk === c.id ? 'Hide history' : 'History'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {chunk && <KnowledgeChunkHistory chunkId={chunk} />}
        </div>
      )}
    </div>
  )
}
