'use client'
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRole } from '../../../components/run-ui.tsx'
import { errorMessage, useTRPC } from '../../../components/trpc.tsx'
import { mergedFix } from '../../../client-safe/needs.ts'

export default function ProblemsPage() {
  const trpc = useTRPC()
  const problems = useQuery(trpc.problems.list.queryOptions())
  const { can } = useRole()
  const remove = useMutation(trpc.problems.delete.mutationOptions({ onSettled: () => void problems.refetch() }))
  const blocked = (problems.data ?? []).filter((p) => p.runnable && !p.runnable.ok && !p.runnable.gpu)
  const fix = mergedFix(blocked.map((p) => p.runnable!))
  return (
    <div className="grid">
      <h1>Problems</h1>
      {blocked.length > 0 && (
        <div className="alert error" data-testid="problems-prerequisites">
          {blocked.length} problem{blocked.length === 1 ? '' : 's'} cannot run on this machine:{' '}
          {blocked[0].runnable!.text}
          {blocked.length > 1 ? ' (and more, per problem below)' : ''}.{' '}
          {fix && (
            <>
              Fix on the server: <code>{fix}</code> (or restart with <code>npm start</code> as root, which installs it).
            </>
          )}
        </div>
      )}
      {remove.error && (
        <div className="alert error" role="alert" data-testid="problem-delete-error">
          {errorMessage(remove.error)}
        </div>
      )}
      <div className="card" style={{ overflowX: 'auto' }}>
        {problems.isLoading ? (
          <div className="muted">Loading…</div>
        ) : problems.error ? (
          <div className="alert error">{problems.error.message}</div>
        ) : !problems.data?.length ? (
          <div className="empty">
            No problems yet. Import a folder with <code>fm-agent problem import &lt;folder&gt;</code> (check it first
            with <code>fm-agent problem check</code>).
          </div>
        ) : (
          <div className="scroll-x">
            <table className="table" data-testid="problems-table">
              <thead>
                <tr>
                  <th>id</th>
                  <th>name</th>
                  <th>direction</th>
                  <th>metric</th>
                  <th className="num">reference</th>
                  <th>language</th>
                  <th>runs here</th>
                  <th>source of the reference</th>
                  {can('admin') && <th />}
                </tr>
              </thead>
              <tbody>
                {problems.data.map((p) => (
                  <tr key={p.id}>
                    <td className="mono">
                      <Link href={`/runs/new?problem=${encodeURIComponent(p.id)}`} title="start a run of this problem">
                        {p.id}
                      </Link>
                    </td>
                    <td>{p.name}</td>
                    <td>
                      <span className="badge">{p.direction === 'max' ? 'maximize' : 'minimize'}</span>
                    </td>
                    <td className="mono">{p.primaryMetric}</td>
                    <td className="num mono">{p.reference?.value ?? '–'}</td>
                    <td>
                      {p.language}
                      {p.gpu && (
                        <span className="badge warn" style={{ marginLeft: 6 }}>
                          GPU
                        </span>
                      )}
                      {p.format === 'openevolve' && (
                        <span
                          className="badge"
                          style={{ marginLeft: 6 }}
                          title="OpenEvolve format: evaluator.py imports the program into its own process, so FM Agent cannot protect this problem's score or private files from candidate code (it does protect programs the evaluator runs in a subprocess)"
                        >
                          OpenEvolve · score not protected
                        </span>
                      )}
                    </td>
                    <td data-testid={`runs-here-${p.id}`}>
                      {!p.runnable ? (
                        <span className="muted small">on the workers</span>
                      ) : p.runnable.ok ? (
                        <span className="badge good">ready</span>
                      ) : (
                        <span
                          className={`badge ${p.runnable.gpu ? 'warn' : 'bad'}`}
                          title={p.runnable.fix ?? undefined}
                        >
                          needs {p.runnable.missing.join(', ')}
                        </span>
                      )}
                    </td>
                    <td className="muted small" style={{ whiteSpace: 'normal', minWidth: 260 }}>
                      {/* long sources (a paper's citation) made every row tall: two lines, the rest on hover */}
                      <div className="clamp2" title={p.reference?.source}>
                        {p.reference?.source ?? ''}
                      </div>
                    </td>
                    {can('admin') && (
                      <td>
                        {!p.builtin && (
                          <button
                            className="small danger"
                            aria-label={`delete problem ${p.id}`}
                            disabled={remove.isPending}
                            onClick={() => {
                              if (
                                window.confirm(
                                  `Delete the imported problem ${p.id}? Its knowledge documents are kept. Runs of it must be deleted first.`,
                                )
                              )
                                remove.mutate({ id: p.id })
                            }}
                          >
                            Delete
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </div>
  )
}
