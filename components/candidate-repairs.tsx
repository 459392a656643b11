'use client'
// A candidate's repair chain: the failed child, each repair a model made of it (with the error
// it was asked to fix), and whether the last one runs. Shown when the candidate is part of one.
import Link from 'next/link'
import { fmt } from '../client-safe/format.ts'
import type { RepairStep } from '../server/queries/candidates.ts'
import { shortId } from './run-ui.tsx'

export function CandidateRepairs({
  runId,
  id,
  steps,
  due,
}: {
  runId: string
  id: string
  steps: RepairStep[]
  due: boolean
}) {
  if (!steps.length && !due) return null
  const last = steps[steps.length - 1]
  const owed = due && last?.id === id && last.valid === false
  return (
    <div className="card" data-testid="repair-chain">
      <h2>Repair chain</h2>
      <ol className="small" style={{ margin: 0, paddingLeft: 18 }}>
        {steps.map((s, i) => (
          <li key={s.id} data-testid="repair-step" data-valid={String(s.valid)} style={{ marginBottom: 6 }}>
            {s.id === id ? (
              <strong className="mono">{shortId(s.id)}</strong>
            ) : (
              <Link className="mono" href={`/runs/${runId}/candidates/${s.id}`}>
                {shortId(s.id)}
              </Link>
            )}{' '}
            {i === 0 ? (s.origin === 'repair' ? 'repair' : `${s.origin} (the first failure)`) : `repair ${i}`}
            {' · '}
            {s.status !== 'evaluated' ? (
              s.status
            ) : s.valid ? (
              <span style={{ color: 'var(--good)' }}>valid, {fmt(s.score, 6)}</span>
            ) : (
              <span style={{ color: 'var(--bad)' }}>failed</span>
            )}
            {s.valid === false && (s.error?.message || s.feedback) && (
              <div className="muted mono" style={{ whiteSpace: 'pre-wrap' }}>
                {s.error?.kind ? `${s.error.kind}: ` : ''}
                {(s.error?.message ?? s.feedback ?? '').slice(0, 400)}
              </div>
            )}
          </li>
        ))}
      </ol>
      {owed && (
        <div className="muted small">A repair of this failure is owed: the engine asks a model for it next.</div>
      )}
    </div>
  )
}
