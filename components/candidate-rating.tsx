'use client'
// Experts rate a candidate: promising (up) or dead end (down), with an optional note. The
// candidate's rating (the sign of all experts' ratings) is a bounded weight in parent selection
// (the run's ratingWeight); every rating is audited and in the run's activity feed.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Age, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

export interface RatingRow {
  userId: string
  userLabel: string
  value: -1 | 0 | 1
  note: string | null
  at: number
}

export function CandidateRating({
  runId,
  id,
  rating,
  ratings,
}: {
  runId: string
  id: string
  rating: number
  ratings: RatingRow[]
}) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  const me = useQuery(trpc.account.me.queryOptions()).data
  const mine = ratings.find((r) => r.userId === me?.id) ?? null
  const [note, setNote] = useState('')
  const rate = useMutation(
    trpc.candidates.rate.mutationOptions({
      onSuccess: () => {
        setNote('')
        void qc.invalidateQueries({ queryKey: trpc.candidates.get.queryKey({ runId, id }) })
      },
    }),
  )
  const send = (value: -1 | 0 | 1) =>
    rate.mutate({ runId, id, value, note: value === 0 ? null : note || mine?.note || null })
  return (
    <div className="card" data-testid="candidate-rating" data-rating={rating}>
      <div className="panel-head">
        <h2>
          Rating{' '}
          {rating > 0 ? (
            <span className="badge good">▲ promising</span>
          ) : rating < 0 ? (
            <span className="badge bad">▼ dead end</span>
          ) : (
            <span className="badge">none</span>
          )}
        </h2>
        <span className="muted small">
          a rated-up candidate is chosen as a parent more often, a rated-down one less (bounded by the run’s rating
          weight)
        </span>
      </div>
      {can('expert') && (
        <div className="row">
          <input
            aria-label="rating note"
            placeholder="why (optional)"
            maxLength={1000}
            value={note}
            onChange={(e) => setNote(e.target.value)}
            style={{ minWidth: 240, flex: 1 }}
          />
          <button
            className={mine?.value === 1 ? 'primary' : ''}
            onClick={() => send(1)}
            disabled={rate.isPending}
            aria-pressed={mine?.value === 1}
          >
            ▲ Promising
          </button>
          <button
            className={mine?.value === -1 ? 'danger' : ''}
            onClick={() => send(-1)}
            disabled={rate.isPending}
            aria-pressed={mine?.value === -1}
          >
            ▼ Dead end
          </button>
          {mine && (
            <button onClick={() => send(0)} disabled={rate.isPending}>
              Withdraw my rating
            </button>
          )}
          {rate.error && (
            <span className="badge bad" role="alert">
              {errorMessage(rate.error)}
            </span>
          )}
        </div>
      )}
      {ratings.length > 0 ? (
        <ul className="small" data-testid="ratings" style={{ margin: '8px 0 0', paddingLeft: 18 }}>
          {ratings.map((r) => (
            <li key={r.userId} data-testid="rating">
              {r.value > 0 ? '▲' : '▼'} <strong>{r.userLabel}</strong>{' '}
              <span className="muted">
                <Age t={r.at} />
              </span>
              {r.note && <> — {r.note}</>}
            </li>
          ))}
        </ul>
      ) : (
        <div className="muted small" style={{ marginTop: 6 }}>
          No expert has rated it.
        </div>
      )}
    </div>
  )
}
