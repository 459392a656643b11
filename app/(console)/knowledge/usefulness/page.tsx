'use client'
// Chunks ranked by usefulness: the mean fitness change (against the parent) of the candidates
// whose prompts included them, shrunk toward 0 when they are few. Not how often they were used.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useState } from 'react'
import { KnowledgeChunkHistory } from '../../../../components/knowledge-chunk-history.tsx'
import { fmtDelta, KnowledgeTabs } from '../../../../components/knowledge-tabs.tsx'
import { errorMessage, useTRPC } from '../../../../components/trpc.tsx'
import { sectionOf } from '../../../../client-safe/knowledge-title.ts'

export default function UsefulnessPage() {
  const trpc = useTRPC()
  const problems = useQuery(trpc.problems.list.queryOptions())
  const [order, setOrder] = useState<'best' | 'worst'>('best')
  const [problemId, setProblemId] = useState('')
  const [chunk, setChunk] = useState<string | null>(null)
  const rank = useQuery(
    trpc.knowledge.usefulness.queryOptions({ order, limit: 200, ...(problemId ? { problemId } : {}) }),
  )
  return (
    <div className="grid">
      <h1 style={{ margin: 0 }}>Knowledge</h1>
      <KnowledgeTabs />
      <div className="card" style={{ overflowX: 'auto' }}>
        <div className="row between" style={{ marginBottom: 8 }}>
          <div className="muted small" style={{ maxWidth: 640 }}>
            Usefulness = sum of the fitness changes of the candidates a chunk informed ÷ (their number + 2): a mean that
            needs several outcomes to move far from 0. A chunk used often by candidates that did not improve stays near
            0.
          </div>
          <div className="row">
            <select aria-label="Order" value={order} onChange={(e) => setOrder(e.target.value as 'best' | 'worst')}>
              <option value="best">most useful first</option>
              <option value="worst">least useful first</option>
            </select>
            <select aria-label="Problem" value={problemId} onChange={(e) => setProblemId(e.target.value)}>
              <option value="">all problems</option>
              {problems.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.id}
                </option>
              ))}
            </select>
          </div>
        </div>
        {rank.isLoading ? (
          <div className="muted">Loading…</div>
        ) : rank.error ? (
          <div className="alert error">{errorMessage(rank.error)}</div>
        ) : !rank.data?.length ? (
          <div className="empty">
            No chunk has informed a candidate yet. Retrieval happens when an island stalls, or when an expert asks from
            a run&apos;s page.
          </div>
        ) : (
          <div className="scroll-x">
            <table className="table" data-testid="usefulness-table">
              <thead>
                <tr>
                  <th>document › section</th>
                  <th className="num">usefulness</th>
                  <th className="num">mean change</th>
                  <th className="num">outcomes</th>
                  <th className="num">uses</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rank.data.map((c) => (
                  <tr key={c.chunkId}>
                    <td style={{ whiteSpace: 'normal' }}>
                      <Link href={`/knowledge/doc/${c.docId}`}>{c.docTitle}</Link>
                      {sectionOf(c.docTitle, c.heading) && (
                        <span className="muted"> › {sectionOf(c.docTitle, c.heading)}</span>
                      )}
                      <div className="muted small">{c.excerpt.slice(0, 140)}</div>
                    </td>
                    <td className="num mono">{fmtDelta(c.usefulness)}</td>
                    <td className="num mono">{fmtDelta(c.meanDelta)}</td>
                    <td className="num">{c.outcomes}</td>
                    <td className="num">{c.uses}</td>
                    <td>
                      <button className="small" onClick={() => setChunk(chunk === c.chunkId ? null : c.chunkId)}>
                        {chunk === c.chunkId ? 'Hide' : 'History'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {chunk && <KnowledgeChunkHistory chunkId={chunk} />}
      </div>
    </div>
  )
}
