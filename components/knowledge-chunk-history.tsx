'use client'
// One chunk's record: which runs and candidates it informed (and their fitness change against
// their parents), and the retrievals that returned it.
import { useQuery } from '@tanstack/react-query'
import { fmtDelta } from './knowledge-tabs.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'
import { sectionOf } from '../client-safe/knowledge-title.ts'

export function KnowledgeChunkHistory({ chunkId }: { chunkId: string }) {
  const trpc = useTRPC()
  const h = useQuery(trpc.knowledge.chunkHistory.queryOptions({ chunkId }))
  if (h.isLoading) return <div className="muted small">Loading the history…</div>
  if (h.error) return <div className="alert error">{errorMessage(h.error)}</div>
  const d = h.data!
  return (
    <div className="grid" style={{ marginTop: 12 }} data-testid="chunk-history">
      {d.chunk && (
        <div className="small">
          <b>{d.chunk.docTitle}</b>
          {sectionOf(d.chunk.docTitle, d.chunk.heading) ? ` › ${sectionOf(d.chunk.docTitle, d.chunk.heading)}` : ''} ·
          usefulness <span className="mono">{fmtDelta(d.chunk.usefulness)}</span> over {d.chunk.uses} use
          {d.chunk.uses === 1 ? '' : 's'}
        </div>
      )}
      {!d.chunk && (
        <div className="alert">
          This chunk no longer exists (its document was edited or deleted); its history is kept.
        </div>
      )}
      <h3>Candidates it informed</h3>
      {d.uses.length === 0 ? (
        <div className="muted small">No candidate's prompt has included it yet.</div>
      ) : (
        <div className="scroll-x">
          <table className="table">
            <thead>
              <tr>
                <th>run</th>
                <th className="num">island</th>
                <th>candidate</th>
                <th>trigger</th>
                <th className="num">fitness change vs parent</th>
                <th>when</th>
              </tr>
            </thead>
            <tbody>
              {d.uses.map((u) => (
                <tr key={`${u.retrievalId}:${u.candidateId}`}>
                  <td className="mono small">
                    <a href={`/runs/${u.runId}`}>{u.runId.slice(0, 8)}</a>
                  </td>
                  <td className="num">{u.island ?? '–'}</td>
                  <td className="mono small">
                    <a href={`/runs/${u.runId}/candidates/${u.candidateId}`}>
                      {u.candidateSeq != null ? `#${u.candidateSeq}` : u.candidateId.slice(0, 8)}
                    </a>
                  </td>
                  <td>{u.trigger}</td>
                  <td
                    className={`num mono ${u.delta == null ? 'muted' : ''}`}
                    style={{
                      color:
                        u.delta == null
                          ? undefined
                          : u.delta > 0
                            ? 'var(--good)'
                            : u.delta < 0
                              ? 'var(--bad)'
                              : undefined,
                    }}
                  >
                    {u.delta == null ? 'pending' : fmtDelta(u.delta)}
                  </td>
                  <td className="muted small">{new Date(u.usedAt).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Retrievals that returned it</h3>
      {d.retrievals.length === 0 ? (
        <div className="muted small">None from runs yet.</div>
      ) : (
        <div className="scroll-x">
          <table className="table">
            <thead>
              <tr>
                <th>run</th>
                <th className="num">island</th>
                <th>trigger</th>
                <th className="num">rank</th>
                <th>when</th>
              </tr>
            </thead>
            <tbody>
              {d.retrievals.map((r) => (
                <tr key={r.id}>
                  <td className="mono small">
                    {r.runId ? <a href={`/runs/${r.runId}`}>{r.runId.slice(0, 8)}</a> : '–'}
                  </td>
                  <td className="num">{r.island ?? '–'}</td>
                  <td>{r.trigger}</td>
                  <td className="num">{r.rank}</td>
                  <td className="muted small">{new Date(r.createdAt).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
