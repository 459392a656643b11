'use client'
// Evaluator integrity: the run's top candidates scored on the problem's held-out stage (instances
// the search never saw) beside their search score, flagged when they fall short (server/runs/held-out.ts).
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { fmt } from '../client-safe/format.ts'
import { ErrorBox, shortId, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

export function HeldOutPanel({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const { can } = useRole()
  const q = useQuery(trpc.runs.heldOut.queryOptions({ runId }, { refetchInterval: 5000 }))
  const check = useMutation(trpc.runs.checkHeldOut.mutationOptions({ onSuccess: () => void q.refetch() }))
  const d = q.data
  if (!d?.declared) return q.error ? <ErrorBox error={q.error} /> : null
  const pct = (v: number | null) => (v === null ? '–' : `${v > 0 ? '−' : '+'}${Math.abs(Math.round(v * 1000) / 10)}%`)
  return (
    <div className="card w12" data-testid="held-out">
      <div className="panel-head">
        <h2>Held-out check</h2>
        <span className="muted small">
          {d.description ?? 'instances the search never saw'} · overfit when worse by more than{' '}
          {Math.round(d.tolerance * 100)}%
        </span>
      </div>
      {d.candidates.length === 0 ? (
        <div className="muted small">No valid candidate yet.</div>
      ) : (
        <table className="table small">
          <thead>
            <tr>
              <th>candidate</th>
              <th>search {d.primaryMetric}</th>
              <th>held-out {d.primaryMetric}</th>
              <th>held-out vs search</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {d.candidates.map((c) => (
              <tr
                key={c.id}
                data-testid="held-out-row"
                data-overfit={c.overfit === null ? 'unknown' : String(c.overfit)}
              >
                <td>
                  <Link href={`/runs/${runId}/candidates/${c.id}`} className="mono">
                    {shortId(c.id)}
                  </Link>
                </td>
                <td>{fmt(c.searchScore)}</td>
                <td>
                  {!c.heldOut ? (
                    <span className="muted">not checked</span>
                  ) : c.heldOut.status !== 'evaluated' ? (
                    <span className="muted">{c.heldOut.status}</span>
                  ) : c.heldOut.valid ? (
                    fmt(c.heldOut.score ?? null)
                  ) : (
                    <span className="bad" title={c.heldOut.error}>
                      invalid
                    </span>
                  )}
                </td>
                <td>{pct(c.gap)}</td>
                <td>
                  {c.overfit ? (
                    <span className="badge bad">overfit</span>
                  ) : c.overfit === false ? (
                    <span className="badge good">holds</span>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can('expert') && (
        <div className="row small" style={{ marginTop: 6 }}>
          <button className="small" onClick={() => check.mutate({ runId })} disabled={check.isPending}>
            Re-evaluate the top {d.topK} on the held-out stage
          </button>
          {check.error && <span className="alert error">{errorMessage(check.error)}</span>}
        </div>
      )}
    </div>
  )
}
