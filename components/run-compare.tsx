'use client'
// Runs side by side (2–8, same problem or not): best so far against evaluations, active time or
// spend; the final table; what differs in their configurations; CSV. The URL holds the runs
// (/runs/compare?runs=a,b), so a comparison can be shared. Shaping: client-safe/compare.ts.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter, useSearchParams } from 'next/navigation'
import { memo, useMemo, useState } from 'react'
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import {
  compareCaveat,
  directionNote,
  bestRunId,
  canShowProgress,
  compareCsv,
  compareHref,
  compareLines,
  configDiff,
  defaultYMode,
  finalTable,
  linesExtent,
  MAX_COMPARE,
  MIN_COMPARE,
  parseRunIds,
  spendAxisNote,
  type CompareData,
  type CompareX,
  type CompareY,
} from '../client-safe/compare.ts'
import { spendNote, spendText } from '../client-safe/run-config.ts'
import { islandColor } from '../client-safe/series.ts'
import { duration, fmt } from '../client-safe/format.ts'
import { axisTicks, durationTicks } from '../client-safe/ticks.ts'
import { ErrorBox, StatusBadge, usd } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

export function RunCompare() {
  const trpc = useTRPC()
  const router = useRouter()
  const params = useSearchParams()
  const ids = useMemo(() => parseRunIds(params.get('runs')), [params])
  const setIds = (next: string[]) => router.replace(compareHref(next))
  const enough = ids.length >= MIN_COMPARE
  const q = useQuery(trpc.runs.compare.queryOptions({ runIds: ids }, { enabled: enough, refetchInterval: 10_000 }))
  const runs = useQuery(trpc.runs.list.queryOptions({ limit: 200 }))
  const choices = (runs.data ?? []).filter((r) => !ids.includes(r.id))
  return (
    <div className="grid" data-testid="compare">
      <div className="row between">
        <h1 style={{ margin: 0 }}>Compare runs</h1>
        <Link href="/runs">back to the runs</Link>
      </div>
      <div className="row small">
        {(q.data?.runs ?? []).map((r, i) => (
          <span key={r.id} className="badge" style={{ borderColor: islandColor(i) }}>
            <i className="swatch" style={{ background: islandColor(i) }} />{' '}
            <span className="clip-name" title={r.name || r.id}>
              {r.name || r.id.slice(0, 8)}
            </span>{' '}
            <button
              className="small"
              style={{ padding: '0 5px' }}
              aria-label={`remove ${r.name || r.id.slice(0, 8)}`}
              onClick={() => setIds(ids.filter((x) => x !== r.id))}
            >
              ×
            </button>
          </span>
        ))}
        {ids.length < MAX_COMPARE && (
          <select aria-label="add a run" value="" onChange={(e) => e.target.value && setIds([...ids, e.target.value])}>
            <option value="">add a run…</option>
            {choices.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name || r.id.slice(0, 8)} · {r.problemId} · {r.status}
              </option>
            ))}
          </select>
        )}
      </div>
      {!enough ? (
        <div className="empty">
          Pick two to {MAX_COMPARE} runs: tick them in the <Link href="/runs">run list</Link>, or add them here.
        </div>
      ) : q.error ? (
        <ErrorBox error={q.error} title="The runs could not be compared" />
      ) : !q.data ? (
        <div className="muted">Loading…</div>
      ) : (
        <>
          {q.data.missing.length > 0 && (
            <div className="alert" role="status" data-testid="compare-missing">
              {q.data.missing.length === 1 ? 'A run' : `${q.data.missing.length} runs`} in this link no longer exist
              {q.data.missing.length === 1 ? 's' : ''} (deleted): {q.data.missing.map((m) => m.slice(0, 8)).join(', ')}.{' '}
              <button className="small" onClick={() => setIds(ids.filter((x) => !q.data!.missing.includes(x)))}>
                Remove from the comparison
              </button>
            </div>
          )}
          <CompareBody data={q.data} />
        </>
      )}
    </div>
  )
}

function CompareBody({ data }: { data: CompareData }) {
  const [x, setX] = useState<CompareX>('evals')
  const [yChoice, setY] = useState<CompareY | null>(null)
  const [allSettings, setAllSettings] = useState(false)
  const progressOk = canShowProgress(data.runs)
  const y = yChoice && (yChoice === 'score' || progressOk) ? yChoice : defaultYMode(data.runs)
  const table = finalTable(data.runs)
  const winner = bestRunId(data.runs)
  const diff = useMemo(() => configDiff(data.runs.map((r) => r.config)), [data.runs])
  const shown = allSettings ? diff : diff.filter((d) => d.differs)
  const problems = new Set(data.runs.map((r) => r.problemId))
  const download = () => {
    const blob = new Blob([compareCsv(data.runs)], { type: 'text/csv' })
    const a = document.createElement('a')
    a.href = URL.createObjectURL(blob)
    a.download = `fm-agent-compare-${data.runs.map((r) => r.id.slice(0, 8)).join('-')}.csv`
    a.click()
    setTimeout(() => URL.revokeObjectURL(a.href), 1000)
  }
  return (
    <>
      <div className="card">
        <div className="panel-head">
          <h2>Best so far</h2>
          <div className="row">
            <div className="seg" role="group" aria-label="compare x axis">
              <button className={x === 'evals' ? 'on' : ''} aria-pressed={x === 'evals'} onClick={() => setX('evals')}>
                evaluations
              </button>
              <button
                className={x === 'time' ? 'on' : ''}
                aria-pressed={x === 'time'}
                onClick={() => setX('time')}
                title="the time each run has run, over all its sessions: not the time it sat stopped or paused"
              >
                active time
              </button>
              <button className={x === 'spend' ? 'on' : ''} aria-pressed={x === 'spend'} onClick={() => setX('spend')}>
                spend
              </button>
            </div>
            <div className="seg" role="group" aria-label="compare y axis">
              <button className={y === 'score' ? 'on' : ''} aria-pressed={y === 'score'} onClick={() => setY('score')}>
                score
              </button>
              <button
                className={y === 'progress' ? 'on' : ''}
                aria-pressed={y === 'progress'}
                onClick={() => setY('progress')}
                disabled={!progressOk}
                title={
                  progressOk
                    ? 'from the seed (0) to the problem’s reference (1)'
                    : 'needs every run’s seed score and a reference value'
                }
              >
                progress to the reference
              </button>
            </div>
          </div>
        </div>
        <CompareChart data={data} x={x} y={y} />
        <div className="small muted">
          {problems.size > 1 && y === 'score'
            ? 'These runs are of different problems: their scores are on different scales. '
            : ''}
          {y === 'progress'
            ? '0 is each run’s seed score, 1 its problem’s reference value. '
            : directionNote(data.runs)}
          {x === 'spend' && data.runs.every((r) => r.mutator === 'local')
            ? 'Offline operators spend nothing: every line sits at $0.'
            : ''}
          {x === 'spend' && spendAxisNote(data.runs) ? (
            <span data-testid="compare-spend-unknown">{spendAxisNote(data.runs)}</span>
          ) : null}
        </div>
      </div>
      <div className="card">
        <div className="panel-head">
          <h2>Where they ended</h2>
          <button onClick={download}>Download CSV</button>
        </div>
        <div className="scroll-x">
          <table className="table" data-testid="compare-table">
            <thead>
              <tr>
                <th>run</th>
                <th>problem</th>
                <th>status</th>
                <th className="num">best</th>
                <th className="num">progress</th>
                <th className="num">evaluations</th>
                <th className="num">spend</th>
                <th className="num" title="the time it has run, over all its sessions">
                  active time
                </th>
                <th className="num">islands</th>
                <th>models</th>
              </tr>
            </thead>
            <tbody>
              {table.map((r, i) => (
                <tr key={r.runId} data-testid="compare-row" data-run={r.runId}>
                  <td>
                    <i className="swatch" style={{ background: islandColor(i) }} />{' '}
                    <Link href={`/runs/${r.runId}`} className="clip-name" title={r.label}>
                      {r.label}
                    </Link>
                    {winner === r.runId && (
                      <span className="badge good" style={{ marginLeft: 6 }}>
                        best
                      </span>
                    )}
                  </td>
                  <td className="mono">{r.problemId}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="num mono">
                    {data.runs[i]!.bestCandidateId ? (
                      <Link href={`/runs/${r.runId}/candidates/${data.runs[i]!.bestCandidateId}`}>
                        {fmt(r.best, 6)}
                      </Link>
                    ) : (
                      fmt(r.best, 6)
                    )}
                  </td>
                  <td className="num mono">{r.progress === null ? '–' : `${(r.progress * 100).toFixed(1)}%`}</td>
                  <td className="num">{r.evaluations}</td>
                  <td className="num" title={spendNote(r.spendUsd, r.unpriced, r.spendEstimated) ?? undefined}>
                    {spendText(r.spendUsd, r.unpriced, usd, r.spendEstimated)}
                  </td>
                  <td className="num">{r.activeS === null ? '–' : duration(r.activeS)}</td>
                  <td className="num">{r.islands}</td>
                  <td className="small">{r.models}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {compareCaveat(data.runs) && (
            <div className="small muted" data-testid="compare-caveat">
              {compareCaveat(data.runs)}
            </div>
          )}
        </div>
      </div>
      <div className="card">
        <div className="panel-head">
          <h2>Configuration</h2>
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }}>
            <input type="checkbox" checked={allSettings} onChange={(e) => setAllSettings(e.target.checked)} /> show
            identical settings too
          </label>
        </div>
        {shown.length === 0 ? (
          <div className="muted small" data-testid="config-same">
            These runs have the same configuration{problems.size > 1 ? ' (on different problems)' : ''}.
          </div>
        ) : (
          <div className="scroll-x">
            <table className="table small" data-testid="config-diff">
              <thead>
                <tr>
                  <th>setting</th>
                  {data.runs.map((r, i) => (
                    <th key={r.id}>
                      <i className="swatch" style={{ background: islandColor(i) }} />{' '}
                      <span className="clip-name" title={r.name || r.id}>
                        {r.name || r.id.slice(0, 8)}
                      </span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {shown.map((d) => (
                  <tr key={d.path} data-testid="config-diff-row" data-path={d.path} data-differs={d.differs}>
                    <td className="mono">{d.path}</td>
                    {d.values.map((v, i) => (
                      <td key={i} className="mono" style={d.differs ? { color: 'var(--warn)' } : undefined}>
                        {v === '' ? <span className="muted">–</span> : v}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  )
}

const CompareChart = memo(function CompareChart({ data, x, y }: { data: CompareData; x: CompareX; y: CompareY }) {
  const lines = useMemo(() => compareLines(data, x, y), [data, x, y])
  const ext = linesExtent(lines)
  const xt = useMemo(() => {
    if (!ext) return null
    if (x === 'time') return durationTicks(ext.x, 6)
    const t = axisTicks(ext.x, 6, { integer: x === 'evals' })
    return x === 'spend' ? { ticks: t.ticks, format: (v: number) => `$${t.format(v)}` } : t
  }, [ext, x])
  const yt = useMemo(() => {
    if (!ext) return null
    if (y === 'score') return axisTicks(ext.y, 6)
    // progress: round percentages
    const t = axisTicks([ext.y[0] * 100, ext.y[1] * 100], 6)
    return { ticks: t.ticks.map((v) => v / 100), format: (v: number) => `${t.format(v * 100)}%` }
  }, [ext, y])
  const points = lines.reduce((n, l) => n + l.points.length, 0)
  if (!ext || !xt || !yt)
    return (
      <div className="empty small" data-testid="compare-chart" data-lines={0}>
        {x === 'spend' && data.runs.every((r) => r.unpriced.length)
          ? 'No run’s spend is known: each called a model without a price.'
          : 'No metric rows yet: the runs have not reported progress.'}
      </div>
    )
  const xLabel = x === 'evals' ? 'evaluations' : x === 'time' ? 'active time' : 'spend (USD)'
  return (
    <div
      data-testid="compare-chart"
      data-lines={lines.filter((l) => l.points.length).length}
      data-points={points}
      data-x={x}
      data-y={y}
    >
      <ResponsiveContainer width="100%" height={340}>
        <LineChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#2a323d" strokeDasharray="3 3" />
          <XAxis
            type="number"
            dataKey="x"
            domain={ext.x}
            allowDataOverflow
            ticks={xt.ticks}
            interval={0}
            tickFormatter={xt.format}
            tick={{ fill: '#9aa5b1', fontSize: 11 }}
            height={34}
            label={{ value: xLabel, position: 'insideBottomRight', offset: -2, fill: '#9aa5b1', fontSize: 11 }}
          />
          <YAxis
            type="number"
            domain={ext.y}
            allowDataOverflow
            ticks={yt.ticks}
            interval={0}
            tickFormatter={yt.format}
            tick={{ fill: '#9aa5b1', fontSize: 11 }}
            width={70}
          />
          <Tooltip
            contentStyle={{ background: '#161b22', border: '1px solid #2a323d', fontSize: 12 }}
            labelFormatter={(v) =>
              x === 'evals' ? `evaluation ${v}` : x === 'time' ? duration(Number(v)) : usd(Number(v))
            }
            formatter={(v) => (y === 'progress' ? `${(Number(v) * 100).toFixed(2)}%` : fmt(Number(v), 6))}
          />
          {lines.map((l, i) => (
            <Line
              key={l.runId}
              name={l.label}
              data={l.points}
              dataKey="y"
              type="stepAfter"
              stroke={islandColor(i)}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  )
})
