'use client'
// Evaluator integrity: the run's top candidates scored on the problem's held-out stage (instances
// the search never saw) beside their search score, flagged when they fall short (server/runs/held-out.ts).
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { fmt } from '../client-safe/format.ts'
import { gapText, heldOutScored, overfitRule } from '../client-safe/held-out.ts'
import { ErrorBox, shortId, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

export function HeldOutPanel({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const { can } = useRole()
  const q = useQuery(trpc.runs.heldOut.queryOptions({ runId }, { refetchInterval: 5000 }))
  const check = useMutation(trpc.runs.checkHeldOut.mutationOptions({ onSuccess: () => void q.refetch() }))
  const d = q.data
  if (!d?.declared) return q.error ? <ErrorBox error={q.error} /> : null
  const calibrated = heldOutScored(d.baseline?.heldOut ?? null)
  return (
    <div className="card w12" data-testid="held-out">
      <div className="panel-head">
        <h2>Held-out check</h2>
        <span className="muted small">
          {d.description ?? 'instances the search never saw'} · {overfitRule(d.tolerance, calibrated)}
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
            {d.baseline && !d.candidates.some((c) => c.id === d.baseline?.id) && (
              <tr data-testid="held-out-baseline" className="muted">
                <td>
                  <Link href={`/runs/${runId}/candidates/${d.baseline.id}`} className="mono">
                    {shortId(d.baseline.id)}
                  </Link>{' '}
                  seed
                </td>
                <td>{fmt(d.baseline.searchScore)}</td>
                <td>
                  <HeldScore held={d.baseline.heldOut} />
                </td>
                <td>the baseline</td>
                <td />
              </tr>
            )}
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
                  {c.id === d.baseline?.id && ' seed'}
                </td>
                <td>{fmt(c.searchScore)}</td>
                <td>
                  <HeldScore held={c.heldOut} />
                </td>
                <td>{gapText(c.gap, c.basis)}</td>
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

function HeldScore({
  held,
}: {
  held: { status: string; valid?: boolean; score?: number | null; error?: string } | null
}) {
  if (!held) return <span className="muted">not checked</span>
  if (held.status !== 'evaluated') return <span className="muted">{held.status}</span>
  if (held.valid) return <>{fmt(held.score ?? null)}</>
  return (
    <span className="bad" title={held.error}>
      invalid
    </span>
  )
}
