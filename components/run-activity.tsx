'use client'
// The run's numbered event log as a feed: status changes, stagnation, escalations with their
// outcome, and every intervention (who did what), newest first.
import Link from 'next/link'
import { useMemo } from 'react'
import { foldStagnationEvents, type FeedRow } from '../client-safe/series.ts'
import type { RunEventRow } from '../client-safe/types.ts'
import { shortId } from './run-ui.tsx'

function describe(e: FeedRow, runId: string) {
  const p = e.payload as Record<string, unknown>
  const who = p.actor ? <strong>{String(p.actor)}</strong> : null
  const island = p.island === null || p.island === undefined ? 'the run' : `island ${p.island}`
  const cand = (id: unknown) =>
    typeof id === 'string' ? (
      <Link href={`/runs/${runId}/candidates/${id}`} className="mono">
        {shortId(id)}
      </Link>
    ) : null
  switch (e.type) {
    case 'status':
      return (
        <>
          status <strong>{String(p.status)}</strong>
          {p.reason ? ` (${String(p.reason)})` : ''}
        </>
      )
    case 'stagnation':
      if (e.folded && e.folded.count > 1)
        return (
          <>
            {island}: still stuck, levels {e.folded.fromLevel}–{e.folded.toLevel} ({e.folded.count} alerts) —{' '}
            {String(p.message ?? '')}
          </>
        )
      return (
        <>
          {island}: {String(p.kind)} — {String(p.message ?? '')}
        </>
      )
    case 'escalation': {
      const by =
        p.trigger === 'expert' ? (
          <>asked by {p.actor ? <strong>{String(p.actor)}</strong> : 'an expert'}</>
        ) : (
          'on stagnation'
        )
      const what = p.action === 'migrate-in' ? 'brought in the best of other islands' : 'restarted from the elites'
      if (p.status !== 'done')
        return (
          <>
            {island}: {String(p.action)} ({by}) <span className="badge">skipped</span> {String(p.reason ?? '')}
          </>
        )
      return (
        <>
          {island}: {what} ({by}) <span className="badge good">done</span> {String(p.joined)} in
          {Number(p.removedCount) ? `, ${String(p.removedCount)} out` : ''}
        </>
      )
    }
    case 'intervention':
      switch (p.action) {
        case 'island.migrate-in':
          return (
            <>
              {who} asked {island} to bring in the best of other islands
            </>
          )
        case 'island.restart-from-elites':
          return (
            <>
              {who} asked {island} to restart from the elites
            </>
          )
        case 'guidance.create':
          return (
            <>
              {who} gave a hint to {island}: “{String(p.text ?? '')}”
            </>
          )
        case 'guidance.withdraw':
          return (
            <>
              {who} withdrew a hint ({island})
            </>
          )
        case 'run.exploration':
          return (
            <>
              {who} set exploration of {island} to {String(p.value)} (was {String(p.before ?? '–')})
            </>
          )
        case 'run.weights':
          return (
            <>
              {who} changed the weights:{' '}
              {(p.weights as Array<Record<string, unknown>> | undefined)
                ?.map((w) => `${String(w.model ?? w.operator)} ${String(w.weight)}`)
                .join(', ')}
            </>
          )
        case 'run.retrieve':
          return (
            <>
              {who} retrieved knowledge for {island} ({String(p.chunks)} chunks)
            </>
          )
        case 'candidate.pin':
          return (
            <>
              {who} pinned {cand(p.candidateId)}
            </>
          )
        case 'candidate.unpin':
          return (
            <>
              {who} unpinned {cand(p.candidateId)}
            </>
          )
        case 'candidate.ban':
          return (
            <>
              {who} banned {cand(p.candidateId)}
              {p.reason ? `: ${String(p.reason)}` : ''}
            </>
          )
        case 'candidate.rate':
          return (
            <>
              {who} rated {cand(p.candidateId)} {Number(p.value) > 0 ? '▲ promising' : '▼ a dead end'}
              {p.note ? `: ${String(p.note)}` : ''}
            </>
          )
        case 'candidate.unrate':
          return (
            <>
              {who} withdrew a rating of {cand(p.candidateId)}
            </>
          )
        case 'candidate.expert-edit':
          return (
            <>
              {who} submitted an edit {cand(p.candidateId)} of {cand(p.parentId)} to island {String(p.island)}
            </>
          )
        default:
          return (
            <>
              {who} {String(p.action)}
            </>
          )
      }
    case 'command': {
      // an engine's acknowledgement of an intervention (the control channel)
      const reason = (p.result as { reason?: unknown } | null)?.reason
      if (p.status === 'refused')
        return (
          <>
            engine {String(p.appliedBy ?? '')} <span className="badge bad">refused</span> {String(p.kind)} from {who}:{' '}
            {String(reason ?? '')}
          </>
        )
      return (
        <>
          engine {String(p.appliedBy ?? '')} <span className="badge good">applied</span> {String(p.kind)} from {who}
        </>
      )
    }
    default:
      return <>{e.type}</>
  }
}

export function ActivityFeed({ events, runId }: { events: RunEventRow[]; runId: string }) {
  const shown = useMemo(() => foldStagnationEvents(events).reverse().slice(0, 200), [events])
  if (!shown.length) return <div className="muted small">Nothing yet.</div>
  return (
    <div className="feed" data-testid="activity">
      {shown.map((e) => (
        <div key={e.id}>
          <span className="muted mono">{new Date(e.t).toLocaleTimeString()}</span> {describe(e, runId)}
        </div>
      ))}
    </div>
  )
}
