'use client'
// The audit log for admins: every intervention with its author, time, target and the state before
// and after, newest first, filtered by action (prefix), actor and run, paged backwards by event id.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useState, type FormEvent } from 'react'
import { errorMessage, useTRPC } from './trpc.tsx'

interface Filters {
  action: string
  actor: string
  runId: string
}

const PAGE = 50

/** Compact JSON of a before/after value; long ones fold away. */
function StateCell({ value, label }: { value: unknown; label: string }) {
  if (value === null || value === undefined) return <span className="muted">–</span>
  const text = JSON.stringify(value, null, 1)
  if (text.length <= 80)
    return (
      <code className="small" data-testid={`audit-${label}`}>
        {text.replace(/\n\s*/g, ' ')}
      </code>
    )
  return (
    <details>
      <summary className="small">{text.replace(/\n\s*/g, ' ').slice(0, 60)}…</summary>
      <pre className="small" data-testid={`audit-${label}`} style={{ whiteSpace: 'pre-wrap', maxWidth: 420 }}>
        {text}
      </pre>
    </details>
  )
}

export function AuditLog() {
  const trpc = useTRPC()
  const [draft, setDraft] = useState<Filters>({ action: '', actor: '', runId: '' })
  const [filters, setFilters] = useState<Filters>(draft)
  // cursors of the pages above the current one (for "Newer")
  const [stack, setStack] = useState<bigint[]>([])
  const [before, setBefore] = useState<bigint | undefined>(undefined)
  const input = {
    ...(filters.action.trim() ? { action: filters.action.trim() } : {}),
    ...(filters.actor.trim() ? { actor: filters.actor.trim() } : {}),
    ...(filters.runId.trim() ? { runId: filters.runId.trim() } : {}),
    ...(before !== undefined ? { before } : {}),
    limit: PAGE,
  }
  const log = useQuery(trpc.audit.list.queryOptions(input))
  const apply = (e: FormEvent) => {
    e.preventDefault()
    setFilters(draft)
    setStack([])
    setBefore(undefined)
  }
  const older = () => {
    if (!log.data?.next) return
    setStack((s) => [...s, before ?? -1n])
    setBefore(log.data.next)
  }
  const newer = () => {
    const s = [...stack]
    const prev = s.pop()
    setStack(s)
    setBefore(prev === undefined || prev === -1n ? undefined : prev)
  }
  return (
    <div className="grid">
      <form className="card row" onSubmit={apply} aria-label="audit filters">
        <label className="row small">
          Action
          <input
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            placeholder="e.g. guidance. or user.update"
            maxLength={100}
          />
        </label>
        <label className="row small">
          Actor
          <input
            value={draft.actor}
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
            placeholder="email or name"
            maxLength={254}
          />
        </label>
        <label className="row small">
          Run
          <input
            value={draft.runId}
            onChange={(e) => setDraft({ ...draft, runId: e.target.value })}
            placeholder="run id"
            maxLength={64}
          />
        </label>
        <button className="primary" type="submit">
          Filter
        </button>
        {(filters.action || filters.actor || filters.runId) && (
          <button
            type="button"
            onClick={() => {
              const empty = { action: '', actor: '', runId: '' }
              setDraft(empty)
              setFilters(empty)
              setStack([])
              setBefore(undefined)
            }}
          >
            Clear
          </button>
        )}
      </form>
      {log.error && <div className="alert error">{errorMessage(log.error)}</div>}
      <div className="card" style={{ overflowX: 'auto' }}>
        {log.data && log.data.rows.length === 0 ? (
          <div className="empty">No audit events match.</div>
        ) : (
          <div className="scroll-x">
            <table className="table" data-testid="audit-table">
              <thead>
                <tr>
                  <th>time</th>
                  <th>actor</th>
                  <th>action</th>
                  <th>target</th>
                  <th>run</th>
                  <th>before</th>
                  <th>after</th>
                </tr>
              </thead>
              <tbody>
                {log.data?.rows.map((e) => (
                  <tr key={String(e.id)} data-testid="audit-row">
                    <td className="small" title={new Date(e.createdAt).toISOString()}>
                      {new Date(e.createdAt).toLocaleString()}
                    </td>
                    <td className="small">{e.actorLabel}</td>
                    <td className="mono small">{e.action}</td>
                    <td className="small">
                      {e.targetType}
                      {e.targetId ? <span className="muted mono"> {e.targetId.slice(0, 12)}</span> : null}
                    </td>
                    <td className="small mono">
                      {e.runId ? (
                        <Link href={`/runs/${e.runId}`}>{e.runId.slice(0, 8)}</Link>
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                    <td style={{ whiteSpace: 'normal' }}>
                      <StateCell value={e.before} label="before" />
                    </td>
                    <td style={{ whiteSpace: 'normal' }}>
                      <StateCell value={e.after} label="after" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <div className="row">
        <button onClick={newer} disabled={stack.length === 0}>
          Newer
        </button>
        <button onClick={older} disabled={!log.data?.next}>
          Older
        </button>
        <span className="muted small">
          {log.isFetching ? 'loading…' : `${log.data?.rows.length ?? 0} events on this page`}
        </span>
      </div>
    </div>
  )
}
