'use client'
// Knowledge: list and search the documents (hybrid search, with highlights), add or import.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useState, type FormEvent } from 'react'
import { KnowledgeDownload } from '../../../components/knowledge-download.tsx'
import { Highlight } from '../../../components/knowledge-highlight.tsx'
import { KnowledgeImport } from '../../../components/knowledge-import.tsx'
import { KnowledgeStarter } from '../../../components/knowledge-starter.tsx'
import { EmbedBadge, KnowledgeTabs } from '../../../components/knowledge-tabs.tsx'
import { errorMessage, useTRPC } from '../../../components/trpc.tsx'
import { NO_WORD_MATCH, wordMatch } from '../../../client-safe/knowledge-search.ts'
import { sectionOf } from '../../../client-safe/knowledge-title.ts'

type Scope = '' | '__global__' | string

function scopeInput(scope: Scope) {
  return scope === '' ? {} : scope === '__global__' ? { problemId: null } : { problemId: scope }
}

/** documents per page of the list */
const DOCS_PAGE = 100

export default function KnowledgePage() {
  const trpc = useTRPC()
  const me = useQuery(trpc.account.me.queryOptions())
  const canWrite = me.data?.role === 'expert' || me.data?.role === 'admin'
  const problems = useQuery(trpc.problems.list.queryOptions())
  const tags = useQuery(trpc.knowledge.tags.queryOptions())
  const status = useQuery(trpc.knowledge.embeddingStatus.queryOptions(undefined, { refetchInterval: 5000 }))
  const [text, setText] = useState('')
  const [scope, setScope] = useState<Scope>('')
  const [tag, setTag] = useState('')
  const [filter, setFilter] = useState('')
  const [query, setQuery] = useState<{ text: string; scope: Scope; tag: string } | null>(null)
  const [showImport, setShowImport] = useState(false)
  // a page of documents; any change of what is listed goes back to the first
  const [page, setPage] = useState(0)
  const listed = `${scope}\u0000${tag}\u0000${filter}`
  const [listedBefore, setListedBefore] = useState(listed)
  if (listed !== listedBefore) {
    setListedBefore(listed)
    setPage(0)
  }

  const search = useQuery({
    ...trpc.knowledge.search.queryOptions({
      text: query?.text ?? ' ',
      k: 20,
      ...scopeInput(query?.scope ?? ''),
      ...(query?.tag ? { tags: [query.tag] } : {}),
    }),
    enabled: !!query,
  })
  const docs = useQuery(
    trpc.knowledge.list.queryOptions({
      ...scopeInput(scope),
      ...(tag ? { tag } : {}),
      ...(filter ? { text: filter } : {}),
      limit: DOCS_PAGE,
      offset: page * DOCS_PAGE,
    }),
  )

  const submit = (e: FormEvent) => {
    e.preventDefault()
    setQuery(text.trim() ? { text: text.trim(), scope, tag } : null)
  }

  return (
    <div className="grid">
      <div className="row between">
        <h1 style={{ margin: 0 }}>Knowledge</h1>
        <div className="row">
          {status.data?.total !== 0 && <KnowledgeDownload />}
          {canWrite && (
            <>
              <button onClick={() => setShowImport((s) => !s)} aria-expanded={showImport}>
                Import files
              </button>
              <Link className="btn primary" href="/knowledge/new">
                New document
              </Link>
            </>
          )}
        </div>
      </div>
      <KnowledgeTabs />
      {status.data && (
        <div className="muted small" data-testid="embedding-summary">
          Embedding model <span className="mono">{status.data.modelId}</span>: {status.data.ready} of{' '}
          {status.data.total} documents embedded
          {status.data.pending ? `, ${status.data.pending} pending` : ''}
          {status.data.failed ? `, ${status.data.failed} failed` : ''}
          {status.data.job?.running ? ` · re-embedding ${status.data.job.done}/${status.data.job.total}` : ''} ·{' '}
          <Link href="/knowledge/model">details</Link>
        </div>
      )}
      {showImport && canWrite && <KnowledgeImport problems={problems.data ?? []} onDone={() => docs.refetch()} />}
      {status.data?.total === 0 && <KnowledgeStarter canWrite={canWrite} />}

      <form className="card row" onSubmit={submit} role="search" aria-label="search the knowledge base">
        <input
          aria-label="Search text"
          placeholder="Search by words or meaning, e.g. “escape a local optimum”"
          value={text}
          onChange={(e) => setText(e.target.value)}
          style={{ flex: 1, minWidth: 260 }}
          maxLength={1000}
        />
        <select aria-label="Scope" value={scope} onChange={(e) => setScope(e.target.value)}>
          <option value="">all documents</option>
          <option value="__global__">global only</option>
          {problems.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.id} (+ global)
            </option>
          ))}
        </select>
        <select aria-label="Tag" value={tag} onChange={(e) => setTag(e.target.value)}>
          <option value="">any tag</option>
          {tags.data?.map((t) => (
            <option key={t.tag} value={t.tag}>
              {t.tag} ({t.docs})
            </option>
          ))}
        </select>
        <button className="primary">Search</button>
        {query && (
          <button type="button" onClick={() => (setQuery(null), setText(''))}>
            Clear
          </button>
        )}
      </form>

      {query ? (
        <div className="card" data-testid="search-results">
          <div className="row between">
            <h2 style={{ margin: 0 }}>Results for “{query.text}”</h2>
            {search.data && (
              <span className="muted small">
                {search.data.hits.length} chunks · {search.data.ms.toFixed(0)} ms · model {search.data.modelId}
                {search.data.vector.used
                  ? search.data.vector.exact
                    ? ' · every chunk compared'
                    : ` · ef_search ${search.data.efSearch}`
                  : ' · full text only'}
              </span>
            )}
          </div>
          {search.data && !search.data.vector.used && search.data.vector.error && (
            <div className="alert" style={{ marginTop: 8 }}>
              The vector half is unavailable ({search.data.vector.error}); these results come from full-text search
              only.
            </div>
          )}
          {search.isLoading ? (
            <div className="muted">Searching…</div>
          ) : search.error ? (
            <div className="alert error">{errorMessage(search.error)}</div>
          ) : !search.data?.hits.length ? (
            <div className="empty">Nothing matches.</div>
          ) : (
            <>
              {!wordMatch(search.data) && (
                <div className="alert" data-testid="no-word-match" style={{ marginTop: 8 }}>
                  {NO_WORD_MATCH}
                </div>
              )}
              <ol style={{ paddingLeft: 20, margin: '10px 0 0' }}>
                {search.data.hits.map((h) => (
                  <li key={h.chunkId} style={{ marginBottom: 12 }} data-testid="search-hit">
                    <div className="row" style={{ gap: 6 }}>
                      <Link href={`/knowledge/doc/${h.docId}`} style={{ fontWeight: 600 }}>
                        {h.title}
                      </Link>
                      {sectionOf(h.title, h.heading) && (
                        <span className="muted small">§ {sectionOf(h.title, h.heading)}</span>
                      )}
                      {h.textRank && (
                        <span className="badge info" title="rank in the full-text half">
                          words #{h.textRank}
                        </span>
                      )}
                      {h.vectorRank && (
                        <span
                          className="badge"
                          title={`rank in the vector half; cosine similarity ${h.similarity?.toFixed(3)}`}
                        >
                          vector #{h.vectorRank}
                          {h.similarity !== null ? ` · ${h.similarity.toFixed(2)}` : ''}
                        </span>
                      )}
                      {h.problemId ? (
                        <span className="badge">{h.problemId}</span>
                      ) : (
                        <span className="badge">global</span>
                      )}
                    </div>
                    <div>
                      <Highlight text={h.highlight} />
                    </div>
                    {h.sourcePath && <div className="muted small mono">{h.sourcePath}</div>}
                  </li>
                ))}
              </ol>
            </>
          )}
        </div>
      ) : (
        <div className="card" style={{ overflowX: 'auto' }}>
          <div className="row between" style={{ marginBottom: 8 }}>
            <h2 style={{ margin: 0 }}>
              Documents {docs.data ? <span className="muted small">({docs.data.total})</span> : null}
            </h2>
            <input
              aria-label="Filter by title"
              placeholder="filter by title or path"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              maxLength={200}
            />
          </div>
          {docs.isLoading ? (
            <div className="muted">Loading…</div>
          ) : docs.error ? (
            <div className="alert error">{errorMessage(docs.error)}</div>
          ) : !docs.data?.docs.length ? (
            <div className="empty">
              The knowledge base is empty. {canWrite ? 'Add a document or import files' : 'An expert can add documents'}
              , or run <code>fm-agent kb import &lt;folder&gt;</code>.
            </div>
          ) : (
            <div className="scroll-x">
              <table className="table" data-testid="documents-table">
                <thead>
                  <tr>
                    <th>title</th>
                    <th>scope</th>
                    <th>tags</th>
                    <th className="num">chunks</th>
                    <th>embedding</th>
                    <th>updated</th>
                  </tr>
                </thead>
                <tbody>
                  {docs.data.docs.map((d) => (
                    <tr key={d.id}>
                      <td style={{ whiteSpace: 'normal', overflowWrap: 'anywhere', maxWidth: 520 }}>
                        <Link href={`/knowledge/doc/${d.id}`}>{d.title}</Link>
                        {d.sourcePath && <div className="muted small mono">{d.sourcePath}</div>}
                      </td>
                      <td>{d.problemId ?? <span className="muted">global</span>}</td>
                      <td>
                        {d.tags.map((t) => (
                          <span key={t} className="badge" style={{ marginRight: 4 }}>
                            {t}
                          </span>
                        ))}
                      </td>
                      <td className="num">{d.chunkCount}</td>
                      <td>
                        <EmbedBadge status={d.embedStatus} error={d.embedError} />
                      </td>
                      <td className="muted small">{new Date(d.updatedAt).toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {docs.data.total > DOCS_PAGE && (
                <div className="row" style={{ marginTop: 8 }} data-testid="documents-pages">
                  <button onClick={() => setPage(page - 1)} disabled={page === 0}>
                    ← Previous
                  </button>
                  <span className="muted small">
                    {page * DOCS_PAGE + 1}–{Math.min(docs.data.total, (page + 1) * DOCS_PAGE)} of {docs.data.total}
                  </span>
                  <button onClick={() => setPage(page + 1)} disabled={(page + 1) * DOCS_PAGE >= docs.data.total}>
                    Next →
                  </button>
                </div>
              )}
            </div>
          )}
        </div>
      )}
    </div>
  )
}
