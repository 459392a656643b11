'use client'
// The frame of a run's pages: its header (problem, status and why, live connection), the admin's
// run controls (pause, resume, stop) and the tabs. The live state is provided to every tab.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname, useRouter } from 'next/navigation'
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { resumeTotal, suggestedTotal } from '../client-safe/run-form.ts'
import { noWorkerOnline } from '../client-safe/pipeline.ts'
import { settingsRows } from '../client-safe/compare.ts'
import { drivenByNow, engineMissing } from '../client-safe/live-store.ts'
import { WatchButton } from './notifications.tsx'
import { ConnectionBadge, RunLiveProvider, useRunLive } from './run-live.tsx'
import { Age, ErrorBox, shortId, StatusBadge, useNow, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

export function RunShell({ runId, children }: { runId: string; children: ReactNode }) {
  return (
    <RunLiveProvider runId={runId}>
      <RunHeader />
      <RunTabs runId={runId} />
      {children}
    </RunLiveProvider>
  )
}

function RunTabs({ runId }: { runId: string }) {
  const path = usePathname()
  const base = `/runs/${runId}`
  const tabs = [
    { href: base, label: 'Dashboard', on: path === base },
    { href: `${base}/candidates`, label: 'Candidates', on: path.startsWith(`${base}/candidates`) },
    { href: `${base}/lineage`, label: 'Lineage', on: path.startsWith(`${base}/lineage`) },
    { href: `${base}/guidance`, label: 'Guidance', on: path.startsWith(`${base}/guidance`) },
    { href: `${base}/notifications`, label: 'Notifications', on: path.startsWith(`${base}/notifications`) },
  ]
  return (
    <nav className="tabs" aria-label="run">
      {tabs.map((t) => (
        <Link key={t.href} href={t.href} className={t.on ? 'active' : ''} aria-current={t.on ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  )
}

function RunHeader() {
  const { overview, live, status, runId } = useRunLive()
  const now = useNow(5000)
  const trpc = useTRPC()
  const workers = useQuery(trpc.workers.list.queryOptions(undefined, { refetchInterval: 5000 }))
  const o = overview.data
  if (overview.error) return <ErrorBox error={overview.error} title="This run could not be loaded" />
  if (!o) return <div className="muted">Loading the run…</div>
  const reason = live.head?.statusReason ?? o.statusReason
  const st = status ?? o.status
  const drivenBy = drivenByNow(live.head, o.lease)
  const mutator =
    o.config.mutator === 'llm'
      ? `models: ${o.config.models.map((m) => m.label ?? `${m.provider}:${m.model}`).join(', ')}`
      : 'offline program operators (no model)'
  return (
    <>
      <div className="run-head">
        <div>
          <h1>
            <span data-testid="run-title">{o.name || `Run ${shortId(o.id)}`}</span>
            <StatusBadge status={st} title={reason ?? undefined} />
            <ConnectionBadge />
          </h1>
          {/* read out by a screen reader when the run's status changes */}
          <span className="visually-hidden" role="status" data-testid="status-announcement">
            Run {st}
          </span>
          <div className="sub">
            <span className="mono">{o.problem.id}</span> · {o.problem.name} ·{' '}
            {o.problem.direction === 'max' ? 'maximize' : 'minimize'}{' '}
            <span className="mono">{o.problem.primaryMetric}</span> · {o.config.islands}{' '}
            {o.config.islands === 1 ? 'island' : 'islands'} · {mutator} · created <Age t={o.createdAt} />
            {drivenBy && (
              <>
                {' '}
                · driven by{' '}
                <span className="mono" data-testid="driven-by">
                  {drivenBy}
                </span>
              </>
            )}
          </div>
          <RunFamily family={o.family} />
          <details className="small" data-testid="run-settings">
            <summary>settings</summary>
            <table className="table small">
              <tbody>
                {settingsRows(o.config as unknown as Record<string, unknown>).map((r) => (
                  <tr key={r.path}>
                    <td className="mono">{r.path}</td>
                    <td className="mono">{r.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </div>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <WatchButton runId={runId} />
          <a
            className="btn"
            href={`/api/runs/${runId}/export`}
            download
            title="every candidate with its metrics and artifacts, the run's history and (for admins) its problem's files: what fm-agent import reads"
          >
            Export
          </a>
          <RunActions
            runId={runId}
            status={st}
            maxEvals={o.config.budget.maxEvals}
            evaluations={live.head?.evaluations ?? o.evaluations}
            bestId={live.head?.bestCandidateId ?? o.bestCandidateId}
          />
        </div>
      </div>
      {engineMissing(st, drivenBy, { createdAt: o.createdAt, leaseUntil: o.lease?.until ?? null }, now) && (
        <div className="alert warn" role="status" data-testid="no-engine" style={{ marginBottom: 10 }}>
          <strong>No engine drives this run.</strong> It waits for one: in server mode start{' '}
          <code>fm-agent engine</code> (it takes up runs that are waiting, and those whose engine stopped).
        </div>
      )}
      {noWorkerOnline(st, workers.data) && (
        <div className="alert warn" role="status" data-testid="no-worker" style={{ marginBottom: 10 }}>
          <strong>No worker is online:</strong> this run&apos;s evaluations wait for one. Start{' '}
          <code>fm-agent worker</code> on a worker machine, or see the Workers page.
        </div>
      )}
      {st === 'failed' && (
        <div className="alert error" role="alert" data-testid="run-failed" style={{ marginBottom: 10 }}>
          <strong>The run failed.</strong> {reason ?? 'No reason was recorded.'}
        </div>
      )}
      {(st === 'stopped' || st === 'paused' || st === 'completed') && reason && (
        <div className="alert info" style={{ marginBottom: 10 }}>
          {st === 'completed' ? 'Completed' : st === 'paused' ? 'Paused' : 'Stopped'}: {reason}
        </div>
      )}
    </>
  )
}

/** Forks: the run and candidate this one started from, and the runs started from this one. */
function RunFamily({
  family,
}: {
  family: {
    forkedFrom: { runId: string; runName: string | null; exists: boolean; candidateId: string | null } | null
    forks: Array<{ id: string; name: string | null; status: string; candidateId: string | null }>
  }
}) {
  const { forkedFrom: from, forks } = family
  if (!from && !forks.length) return null
  return (
    <div className="sub" data-testid="run-family">
      {from && (
        <span data-testid="forked-from">
          forked from{' '}
          {from.exists ? (
            <Link href={`/runs/${from.runId}`}>{from.runName || `run ${shortId(from.runId)}`}</Link>
          ) : (
            <span className="mono">{shortId(from.runId)} (deleted)</span>
          )}
          {from.candidateId && from.exists && (
            <>
              , candidate{' '}
              <Link className="mono" href={`/runs/${from.runId}/candidates/${from.candidateId}`}>
                {shortId(from.candidateId)}
              </Link>
            </>
          )}
        </span>
      )}
      {from && forks.length > 0 && ' · '}
      {forks.length > 0 && (
        <span data-testid="forks">
          {forks.length} run{forks.length === 1 ? '' : 's'} forked from this one:{' '}
          {forks.map((f, i) => (
            <span key={f.id}>
              {i > 0 && ', '}
              <Link href={`/runs/${f.id}`}>{f.name || shortId(f.id)}</Link> <span className="muted">({f.status})</span>
            </span>
          ))}
        </span>
      )}
    </div>
  )
}

function RunActions({
  runId,
  status,
  maxEvals,
  evaluations,
  bestId,
}: {
  runId: string
  status: string
  maxEvals: number
  evaluations: number
  bestId: string | null
}) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  const [more, setMore] = useState('')
  const done = () => void qc.invalidateQueries({ queryKey: trpc.runs.overview.queryKey({ runId }) })
  // a pause is a command the engine applies at its next step (a cold start's batch may take a while):
  // said until the run is no longer active
  const [pauseAsked, setPauseAsked] = useState(false)
  const pause = useMutation(
    trpc.runs.pause.mutationOptions({
      onSuccess: () => {
        setPauseAsked(true)
        done()
      },
    }),
  )
  const stop = useMutation(trpc.runs.stop.mutationOptions({ onSuccess: done }))
  const resume = useMutation(trpc.runs.resume.mutationOptions({ onSuccess: done }))
  const router = useRouter()
  const remove = useMutation(trpc.runs.delete.mutationOptions({ onSuccess: () => router.push('/runs') }))
  const active = ['created', 'cold-start', 'evolving'].includes(status)
  if (pauseAsked && !active) setPauseAsked(false)
  const err = pause.error ?? stop.error ?? resume.error ?? remove.error
  // a pressed button is disabled while its command is out, then replaced (Pause → Resume): the
  // focus, lost with it, goes to the row's first control instead of the page's start
  const row = useRef<HTMLDivElement>(null)
  const focusInRow = useRef(false)
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when a button of the row is disabled or replaced
  useEffect(() => {
    if (focusInRow.current && document.activeElement === document.body)
      row.current?.querySelector<HTMLElement>('button:not([disabled]), a, input')?.focus()
  }, [status, pause.isPending, stop.isPending, resume.isPending, pauseAsked])
  if (!can('admin')) return <span className="muted small">Admins pause, resume and stop runs.</span>
  const total = resumeTotal(more, { evaluations, maxEvals, status })
  const target = 'total' in total ? total.total : null
  return (
    <div
      className="row"
      style={{ alignItems: 'flex-end' }}
      ref={row}
      onFocus={() => {
        focusInRow.current = true
      }}
      onBlur={(e) => {
        // moved elsewhere on purpose; a focus lost to nothing (a button disabled) stays the row's
        if (e.relatedTarget && !row.current?.contains(e.relatedTarget)) focusInRow.current = false
      }}
    >
      {active && (
        <button
          onClick={() => pause.mutate({ runId })}
          disabled={pause.isPending || pauseAsked || status === 'created'}
        >
          {pauseAsked ? 'Pausing…' : 'Pause'}
        </button>
      )}
      {bestId && (
        <Link
          className="btn"
          href={`/runs/new?fork=${runId}&candidate=${bestId}`}
          title="a new run whose cold start begins from this run's best candidate, with this run's settings to edit"
        >
          New run from the best
        </Link>
      )}
      {!active && (
        <>
          <label title="the run's new total of evaluations">
            evaluations (total)
            <input
              style={{ width: 100 }}
              inputMode="numeric"
              placeholder={String(suggestedTotal({ evaluations, maxEvals, status }))}
              value={more}
              aria-invalid={'error' in total}
              aria-describedby={'error' in total ? 'resume-total-error' : undefined}
              onChange={(e) => setMore(e.target.value)}
            />
          </label>
          <button
            className="primary"
            onClick={() =>
              target !== null &&
              resume.mutate({ runId, maxEvals: target > maxEvals || status === 'completed' ? target : undefined })
            }
            disabled={resume.isPending || target === null}
          >
            Resume
          </button>
          {'error' in total && (
            <span id="resume-total-error" className="badge bad" role="alert">
              {total.error}
            </span>
          )}
        </>
      )}
      {/* a paused run too: its pending edits are refused rather than applied at a resume nobody wants */}
      {(active || status === 'paused') && (
        <button
          className="danger"
          onClick={() => {
            if (
              window.confirm(
                'Stop this run? In-flight evaluations are recorded as not finished. It can be resumed later.',
              )
            )
              stop.mutate({ runId })
          }}
          disabled={stop.isPending}
        >
          Stop
        </button>
      )}
      {!active && (
        <button
          className="danger"
          onClick={() => {
            if (
              window.confirm(
                `Delete this run and its ${evaluations} evaluated candidates, with its events, metrics and hints? This cannot be undone.`,
              )
            )
              remove.mutate({ runId })
          }}
          disabled={remove.isPending}
        >
          Delete
        </button>
      )}
      {err && (
        <span className="badge bad" role="alert">
          {errorMessage(err)}
        </span>
      )}
    </div>
  )
}
