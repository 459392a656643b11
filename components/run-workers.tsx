'use client'
// Connected evaluation workers: status, isolation, capabilities and load (running / slots).
import { useQuery } from '@tanstack/react-query'
import { INSTANT_NOTE, type RecentBusy, workersLine } from '../client-safe/workers-load.ts'
import { Age, ErrorBox, Meter } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

export function WorkersTable({
  compact = false,
  recent = null,
}: {
  compact?: boolean
  /** a live run's mean busy over its last metric intervals (recentBusy): the headline then agrees with its pipeline panel */
  recent?: RecentBusy | null
}) {
  const trpc = useTRPC()
  const q = useQuery(trpc.workers.list.queryOptions(undefined, { refetchInterval: 3000 }))
  if (q.error) return <ErrorBox error={q.error} />
  if (!q.data) return <div className="muted small">Loading…</div>
  const { workers, source, capacity, summary } = q.data
  if (!workers.length)
    return (
      <div className="empty" data-testid="no-workers">
        {source === 'none'
          ? 'This process has no evaluation backend (a web-only process); workers connect to the engine process.'
          : 'No workers are connected.'}
      </div>
    )
  return (
    <div data-testid="workers">
      <div
        className="small muted"
        style={{ marginBottom: 6 }}
        data-testid="workers-summary"
        title={recent ? undefined : INSTANT_NOTE}
      >
        {workersLine(summary, capacity, recent)}
      </div>
      <div className="scroll-x">
        <table className="table small">
          <thead>
            <tr>
              <th>worker</th>
              <th>status</th>
              {!compact && <th>host</th>}
              <th title={INSTANT_NOTE}>load now</th>
              <th className="num">done</th>
              {!compact && <th>capabilities</th>}
              <th>isolation</th>
              <th>heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id} data-testid="worker-row">
                <td>{w.name}</td>
                <td>
                  <span
                    className={`badge ${w.status === 'online' ? 'good' : w.status === 'dead' ? 'bad' : 'warn'}`}
                    title={w.statusDetail ?? undefined}
                  >
                    {w.status}
                  </span>
                  {w.statusDetail && (
                    <div className="small muted" data-testid="worker-status-detail">
                      {w.statusDetail}
                    </div>
                  )}
                  {w.outdated && (
                    <span
                      className="badge bad"
                      data-testid="worker-outdated"
                      title="It runs another version of fm-agent and takes none of this version's jobs: update it and start it again."
                    >
                      other version
                    </span>
                  )}
                  {w.appRole && (
                    <span
                      className="badge warn"
                      data-testid="worker-app-role"
                      title="It connects with a role that can read the application's tables while it runs untrusted code: give it a role of its own (fm-agent worker-role create)."
                    >
                      application role
                    </span>
                  )}
                </td>
                {!compact && (
                  <td className="mono">
                    {w.host}
                    {w.pid ? ` (pid ${w.pid})` : ''}
                  </td>
                )}
                <td style={{ minWidth: 90 }}>
                  {w.running}/{w.concurrency}
                  <Meter value={w.load} />
                </td>
                <td className="num">{w.completed}</td>
                {!compact && (
                  <td>
                    {w.cpu} CPU{w.gpu ? ` · GPU ${w.gpuName ?? ''}` : ''} · {w.languages.join(', ')}
                  </td>
                )}
                <td title={w.isolation?.warnings.join('\n')}>
                  {w.isolation ? (
                    <span
                      className={`badge ${w.isolation.level === 'full' ? 'good' : w.isolation.level === 'partial' ? 'warn' : 'bad'}`}
                    >
                      {w.isolation.level} · {w.isolation.mode}
                    </span>
                  ) : (
                    '–'
                  )}
                </td>
                <td>
                  <Age t={w.lastHeartbeat} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}
