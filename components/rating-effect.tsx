'use client'
// Do rated-up parents produce better children? The children of rated candidates (made after the
// rating) against the children of unrated ones over the same stretch of the run, judged by each
// child's gain over its own parent (server/steering/ratings.ts).
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import type { Comparison, GroupStats } from '../server/steering/guidance-stats.ts'
import { fmt } from '../client-safe/format.ts'
import { ErrorBox } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

const pct = (v: number | null) => (v === null ? '–' : `${Math.round(v * 100)}%`)

export function RatingEffect({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const q = useQuery(trpc.candidates.ratingEffect.queryOptions({ runId }, { refetchInterval: 15_000 }))
  const d = q.data
  return (
    <div className="card" data-testid="rating-effect">
      <div className="panel-head">
        <h2>Rated parents and their children</h2>
        <span className="muted small">
          {d ? `${d.rated.up} rated promising · ${d.rated.down} rated a dead end` : ''} ·{' '}
          <Link href={`/runs/${runId}/candidates?rating=up`}>see them</Link>
        </span>
      </div>
      {q.error ? (
        <ErrorBox error={q.error} />
      ) : !d ? (
        <div className="muted small">Loading…</div>
      ) : !d.up && !d.down ? (
        <div className="muted small">
          No candidate of this run is rated yet. Rate one from its page (▲ promising, ▼ dead end).
        </div>
      ) : (
        <div className="row" style={{ alignItems: 'flex-start', gap: 28 }}>
          {d.up && <Side label="children of ▲ promising parents" c={d.up} testId="rating-effect-up" />}
          {d.down && <Side label="children of ▼ dead-end parents" c={d.down} testId="rating-effect-down" />}
        </div>
      )}
    </div>
  )
}

function Side({ label, c, testId }: { label: string; c: Comparison; testId: string }) {
  const cls = c.verdict === 'better' ? 'good' : c.verdict === 'worse' ? 'bad' : ''
  return (
    <div className="small" data-testid={testId} data-n={c.under.n}>
      <div className="cmp">
        <span className="h" />
        <span className="h">{label}</span>
        <span className="h">children of unrated parents</span>
        <Row label="children" a={c.under} b={c.without} f={(s) => String(s.n)} />
        <Row label="valid" a={c.under} b={c.without} f={(s) => pct(s.validRate)} />
        <Row label="mean score" a={c.under} b={c.without} f={(s) => fmt(s.mean)} />
        <Row label="best score" a={c.under} b={c.without} f={(s) => fmt(s.best)} />
        <Row label="beat their parent" a={c.under} b={c.without} f={(s) => pct(s.improvedRate)} />
      </div>
      <div style={{ marginTop: 4 }}>
        <span className={`badge ${cls}`}>{c.verdict}</span>
        {c.meanGain !== null && (
          <span className="muted">
            {' '}
            · judged by each child’s gain over its own parent: theirs is {fmt(Math.abs(c.meanGain), 3)}{' '}
            {c.meanGain >= 0 ? 'better' : 'worse'} on average (a rated parent’s own head start does not count)
          </span>
        )}
      </div>
    </div>
  )
}

function Row({ label, a, b, f }: { label: string; a: GroupStats; b: GroupStats; f: (s: GroupStats) => string }) {
  return (
    <>
      <span className="h">{label}</span>
      <span>{f(a)}</span>
      <span>{f(b)}</span>
    </>
  )
}
