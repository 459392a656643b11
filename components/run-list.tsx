'use client'
// Every run at a glance: status (and why it stopped), problem, best against the reference, spend
// against its cap, progress and age. Refreshes while runs are active.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useState } from 'react'
import { RUN_STATUSES, spendNote, spendText } from '../client-safe/run-config.ts'
import { compareHref, MAX_COMPARE, MIN_COMPARE } from '../client-safe/compare.ts'
import { gapToReference } from '../client-safe/series.ts'
import { fmt, fullNumber } from '../client-safe/format.ts'
import { useRunImport } from './run-import.tsx'
import { Age, ErrorBox, Meter, shortId, StatusBadge, usd, useRole } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

/** runs a page of the list holds */
const PAGE = 200

export function RunList() {
  const trpc = useTRPC()
  const { can } = useRole()
  const importer = useRunImport()
  const [status, setStatus] = useState<string>('')
  const [picked, setPicked] = useState<string[]>([])
  const toggle = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : p.length < MAX_COMPARE ? [...p, id] : p))
  const statusFilter = (status || undefined) as (typeof RUN_STATUSES)[number] | undefined
  const runs = useQuery(trpc.runs.list.queryOptions({ status: statusFilter, limit: PAGE }, { refetchInterval: 3000 }))
  // older pages, asked for one at a time: the newest page refreshes, these rarely change
  const queryClient = useQueryClient()
  const [older, setOlder] = useState<NonNullable<typeof runs.data>>([])
  const [loadingOlder, setLoadingOlder] = useState(false)
  const total = useQuery(trpc.runs.count.queryOptions({ status: statusFilter }, { refetchInterval: 10_000 }))
  const rows = runs.data ? [...runs.data, ...older.filter((o) => !runs.data.some((r) => r.id === o.id))] : undefined
  const loadOlder = async () => {
    const last = rows?.at(-1)
    if (!last) return
    setLoadingOlder(true)
    try {
      const page = await queryClient.fetchQuery(
        trpc.runs.list.queryOptions({
          status: statusFilter,
          limit: PAGE,
          after: { createdAt: new Date(last.createdAt).toISOString(), id: last.id },
        }),
      )
      setOlder((o) => [...o, ...page])
    } finally {
      setLoadingOlder(false)
    }
  }
  return (
    <div className="grid">
      <div className="row between">
        <h1 style={{ margin: 0 }}>Runs</h1>
        <div className="row">
          <select
            aria-label="status filter"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value)
              setOlder([])
            }}
          >
            <option value="">all statuses</option>
            {RUN_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          {picked.length >= MIN_COMPARE ? (
            <Link className="btn" href={compareHref(picked)} data-testid="compare-link">
              Compare {picked.length} runs
            </Link>
          ) : (
            <span className="muted small">
              tick {MIN_COMPARE}–{MAX_COMPARE} runs to compare them
            </span>
          )}
          {can('admin') && importer.button}
          {can('admin') && (
            <Link className="btn primary" href="/runs/new">
              New run
            </Link>
          )}
        </div>
      </div>
      {importer.outcome}
      <div className="card" style={{ overflowX: 'auto' }}>
        {runs.error ? (
          <ErrorBox error={runs.error} />
        ) : !rows ? (
          <div className="muted">Loading…</div>
        ) : rows.length === 0 ? (
          <div className="empty">
            No runs {status ? `with status ${status}` : 'yet'}.{' '}
            {can('admin') ? <Link href="/runs/new">Start one</Link> : 'An admin starts runs'}, or from the command line:{' '}
            <code>fm-agent run circle-packing-26 --operators local</code>.
          </div>
        ) : (
          <div className="scroll-x">
            <table className="table" data-testid="runs-table">
              <thead>
                <tr>
                  <th aria-label="compare" />
                  <th>run</th>
                  <th>problem</th>
                  <th>status</th>
                  <th>progress</th>
                  <th className="num">best</th>
                  <th className="num">reference</th>
                  <th className="num">gap</th>
                  <th className="num">spend</th>
                  <th>mutation</th>
                  <th>created</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const gap = gapToReference(r.bestScore, r.reference?.value, r.direction as 'max' | 'min')
                  return (
                    <tr key={r.id} data-testid="run-row">
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`compare ${r.name || shortId(r.id)}`}
                          checked={picked.includes(r.id)}
                          disabled={!picked.includes(r.id) && picked.length >= MAX_COMPARE}
                          onChange={() => toggle(r.id)}
                        />
                      </td>
                      <td>
                        <Link href={`/runs/${r.id}`} className="clip-name" title={r.name || r.id}>
                          {r.name || shortId(r.id)}
                        </Link>
                      </td>
                      <td className="mono">{r.problemId}</td>
                      <td>
                        <StatusBadge status={r.status} title={r.statusReason ?? undefined} />
                        {r.status === 'failed' && r.statusReason && (
                          <div className="small" style={{ color: 'var(--bad)', whiteSpace: 'normal', maxWidth: 280 }}>
                            {r.statusReason}
                          </div>
                        )}
                      </td>
                      <td style={{ minWidth: 120 }}>
                        <span className="small">
                          {r.evaluations} / {r.maxEvals}
                        </span>
                        <Meter value={r.maxEvals ? r.evaluations / r.maxEvals : null} progress />
                      </td>
                      <td className="num mono">{fmt(r.bestScore, 6)}</td>
                      <td className="num mono" title={r.reference?.source}>
                        {fullNumber(r.reference?.value ?? null)}
                      </td>
                      <td className="num mono">
                        {gap === null ? '–' : gap <= 0 ? <span className="badge good">reached</span> : fmt(gap, 3)}
                      </td>
                      <td className="num">
                        <span title={spendNote(r.spendUsd, r.unpriced, r.spendEstimated) ?? undefined}>
                          {spendText(r.spendUsd, r.unpriced, usd, r.spendEstimated)}
                        </span>
                        {r.maxSpendUsd ? <span className="muted small"> / {usd(r.maxSpendUsd)}</span> : null}
                      </td>
                      <td className="small">
                        {r.mutator === 'llm' ? 'models' : 'offline operators'} · {r.islands}{' '}
                        {r.islands === 1 ? 'island' : 'islands'}
                      </td>
                      <td className="small">
                        <Age t={new Date(r.createdAt).getTime()} />
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
            {total.data !== undefined && total.data > rows.length && (
              <div className="row" data-testid="older-runs">
                <span className="muted small">
                  the {rows.length} newest of {total.data} runs{status ? ` ${status}` : ''}
                </span>
                <button type="button" onClick={() => void loadOlder()} disabled={loadingOlder}>
                  {loadingOlder ? 'Loading…' : 'Show older runs'}
                </button>
              </div>
            )}
          </div>
        )}
      </div>
    </div>
  )
}
