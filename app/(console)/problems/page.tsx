'use client'
import { useQuery } from '@tanstack/react-query'
import { useTRPC } from '../../../components/trpc.tsx'

export default function ProblemsPage() {
  const trpc = useTRPC()
  const problems = useQuery(trpc.problems.list.queryOptions())
  return (
    <div className="grid">
      <h1>Problems</h1>
      <div className="card" style={{ overflowX: 'auto' }}>
        {problems.isLoading ? (
          <div className="muted">Loading…</div>
        ) : problems.error ? (
          <div className="alert error">{problems.error.message}</div>
        ) : !problems.data?.length ? (
          <div className="empty">No problems yet. Import a folder with <code>fm-agent problem check &lt;folder&gt;</code>.</div>
        ) : (
          <table className="table" data-testid="problems-table">
            <thead>
              <tr>
                <th>id</th>
                <th>name</th>
                <th>direction</th>
                <th>metric</th>
                <th className="num">reference</th>
                <th>language</th>
                <th>source of the reference</th>
              </tr>
            </thead>
            <tbody>
              {problems.data.map((p) => (
                <tr key={p.id}>
                  <td className="mono">{p.id}</td>
                  <td>{p.name}</td>
                  <td>
                    <span className="badge">{p.direction === 'max' ? 'maximize' : 'minimize'}</span>
                  </td>
                  <td className="mono">{p.primaryMetric}</td>
                  <td className="num mono">{p.reference?.value ?? '–'}</td>
                  <td>
                    {p.language}
                    {p.gpu && <span className="badge warn" style={{ marginLeft: 6 }}>GPU</span>}
                    {p.format === 'openevolve' && <span className="badge" style={{ marginLeft: 6 }}>OpenEvolve</span>}
                  </td>
                  <td className="muted small" style={{ whiteSpace: 'normal', minWidth: 260 }}>{p.reference?.source ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  )
}
