'use client'
// A run's dashboard, live: headline numbers, fitness per island with the reference, two
// diversity measures per island, throughput, failures and spend against the budget, the
// MAP-Elites grid, island populations, stagnation alerts with actions, steering, workers and
// the activity feed. Everything draws from the live state (components/run-live.tsx).
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useCallback, useEffect, useMemo, useState } from 'react'
import { inRange } from '../client-safe/live-store.ts'
import { pipelineVerdict, requestsName } from '../client-safe/pipeline.ts'
import {
  budgetUse,
  gapToReference,
  latestMetric,
  openStagnationAlerts,
  type RunClock,
  runSeconds,
  throughputTile,
} from '../client-safe/series.ts'
import { duration, fmt, fullNumber } from '../client-safe/format.ts'
import { ISLAND_MEMBERS } from '../client-safe/population.ts'
import { spendTile } from '../client-safe/run-config.ts'
import { RunPictures } from './candidate-pictures.tsx'
import { FitnessChart } from './charts/fitness-chart.tsx'
import { HeldOutPanel } from './held-out-panel.tsx'
import { Heatmap } from './charts/heatmap.tsx'
import { PipelineChart } from './charts/pipeline-chart.tsx'
import { MetricChart } from './charts/metric-chart.tsx'
import { ActivityFeed } from './run-activity.tsx'
import { useRunLive } from './run-live.tsx'
import { StagnationAlerts, Steering } from './run-steering.tsx'
import { ErrorBox, Num, shortId, Tile, usd, useNow } from './run-ui.tsx'
import { WorkersTable } from './run-workers.tsx'
import { recentBusy } from '../client-safe/workers-load.ts'
import { useTRPC } from './trpc.tsx'

export function RunDashboard() {
  const L = useRunLive()
  const o = L.overview.data
  const requestSeries = L.requestSeries
  useEffect(() => requestSeries(), [requestSeries])
  const islands = o?.config.islands ?? 0
  const islandIdx = useMemo(() => Array.from({ length: islands }, (_, i) => i), [islands])
  const withRun = useMemo(() => [-1, ...islandIdx], [islandIdx])
  // zoomed: the server's full-resolution range, plus live rows that fall inside it
  const metrics = useMemo(
    () => (L.zoomed ? mergeZoom(L.zoomed.metrics, inRange(L.live.metrics, L.zoom)) : L.live.metrics),
    [L.zoomed, L.live.metrics, L.zoom],
  )
  const points = useMemo(
    () => (L.zoomed ? mergeZoomPoints(L.zoomed.points, inRange(L.live.points, L.zoom)) : L.live.points),
    [L.zoomed, L.live.points, L.zoom],
  )
  const alerts = useRunAlerts()
  const offline = o?.config.mutator === 'local'
  const configuredLimit = o?.config.maxRequestsInFlight
  const verdict = useMemo(
    () => pipelineVerdict(L.live.metrics, 5, offline, configuredLimit),
    [L.live.metrics, offline, configuredLimit],
  )
  const router = useRouter()
  const open = useCallback((id: string) => router.push(`/runs/${L.runId}/candidates/${id}`), [router, L.runId])
  if (!o) return L.overview.error ? <ErrorBox error={L.overview.error} /> : <div className="muted">Loading…</div>
  if (L.snapshot.error) return <ErrorBox error={L.snapshot.error} title="The charts could not be loaded" />

  const head = L.live.head
  const evaluations = head?.evaluations ?? o.evaluations
  const best = head?.bestScore ?? o.bestScore
  const bestId = head?.bestCandidateId ?? o.bestCandidateId
  const spend = head?.spendUsd ?? o.spendUsd
  const unpriced = o.unpriced
  const spendShown = spendTile(
    {
      spendUsd: spend,
      unpriced,
      estimated: head?.spendEstimated ?? o.spendEstimated,
      maxSpendUsd: o.config.budget.maxSpendUsd,
      offline: o.config.mutator === 'local',
    },
    usd,
  )
  const last = latestMetric(L.live.metrics, -1)
  const ref = o.problem.reference
  const gap = gapToReference(best, ref?.value, o.problem.direction)
  const active = ['created', 'cold-start', 'evolving'].includes(L.status ?? '')
  const clock = {
    activeS: o.activeS,
    activeAt: o.activeAt,
    running: L.status === 'cold-start' || L.status === 'evolving',
    finishedAt: head?.finishedAt ?? o.finishedAt,
  }
  const budget = budgetUse({ evaluations, spendUsd: spend, ...clock }, o.config.budget)
  const throughput = throughputTile({ status: L.status, evaluations, ...clock }, last)

  return (
    <div data-testid="dashboard">
      <div className="tiles">
        <Tile
          testId="tile-evaluations"
          label="evaluations"
          value={<span data-testid="evaluations">{evaluations}</span>}
          sub={`of ${o.config.budget.maxEvals} · ${o.counts.inFlight} in flight · ${o.counts.rejected} rejected before evaluation`}
          meter={budget.evals}
          progress
        />
        <Tile
          testId="tile-best"
          label={`best ${o.problem.primaryMetric}`}
          value={
            bestId ? (
              <Link href={`/runs/${o.id}/candidates/${bestId}`}>
                <Num v={best} digits={6} />
              </Link>
            ) : (
              '–'
            )
          }
          sub={
            ref
              ? `reference ${fullNumber(ref.value)}${gap !== null ? ` · ${gap <= 0 ? 'reached' : `gap ${fmt(gap, 3)}`}` : ''}`
              : 'no reference value'
          }
        />
        <Tile
          label="seed score"
          value={<Num v={head?.seedScore ?? o.seedScore} />}
          sub={o.problem.direction === 'max' ? 'higher is better' : 'lower is better'}
        />
        <Tile label="evaluations / s" value={fmt(throughput.evalsPerSec, 3)} sub={throughput.sub} />
        <Tile
          label="failure rate"
          value={last ? `${(last.failureRate * 100).toFixed(1)}%` : '–'}
          sub={`${active ? 'last 30 s' : 'its last 30 s'} · ${o.counts.invalid} invalid in all${evaluations ? ` (${((100 * o.counts.invalid) / evaluations).toFixed(1)}%)` : ''}`}
          meter={last ? last.failureRate : null}
        />
        <Tile label="spend" value={spendShown.value} sub={spendShown.sub} meter={budget.spend} progress />
        <ElapsedTile clock={clock} maxWallS={o.config.budget.maxWallS} />
      </div>
      <div className="dash">
        <div className="card w8">
          <div className="panel-head">
            <h2>Fitness per island</h2>
            <div className="row">
              {L.zoom && (
                <span className="badge info" data-testid="zoom">
                  evaluations {L.zoom.lo}–{L.zoom.hi}
                  {L.zoomLoading ? ' …' : ''}{' '}
                  <button className="small" style={{ padding: '0 6px', marginLeft: 4 }} onClick={() => L.setZoom(null)}>
                    reset zoom
                  </button>
                </span>
              )}
              <div className="seg" role="group" aria-label="x axis">
                <button
                  className={L.xAxis === 'evals' ? 'on' : ''}
                  aria-pressed={L.xAxis === 'evals'}
                  onClick={() => L.setXAxis('evals')}
                >
                  over evaluations
                </button>
                <button
                  className={L.xAxis === 'time' ? 'on' : ''}
                  aria-pressed={L.xAxis === 'time'}
                  onClick={() => L.setXAxis('time')}
                >
                  over time
                </button>
              </div>
            </div>
          </div>
          <FitnessChart
            metrics={metrics}
            points={points}
            islands={islands}
            reference={ref}
            direction={o.problem.direction}
            best={best}
            xAxis={L.xAxis}
            range={L.zoom}
            onZoom={L.setZoom}
            onOpen={open}
          />
          <div className="small muted">
            Lines: best so far (solid) and population mean (dashed) per island; dots: each evaluation.{' '}
            {o.problem.direction === 'max' ? 'Higher' : 'Lower'} is better.
            {L.snapshot.data &&
              L.snapshot.data.totals.points > L.snapshot.data.points.length &&
              ` Downsampled from ${L.snapshot.data.totals.points} evaluations (extremes kept); drag to zoom for full resolution.`}
          </div>
        </div>
        <div className="card w4">
          <div className="panel-head">
            <h2>Stagnation</h2>
          </div>
          <StagnationAlerts alerts={alerts} ended={['completed', 'stopped', 'failed'].includes(L.status ?? '')} />
          <div style={{ marginTop: 14 }}>
            <Steering />
          </div>
        </div>
        <RunPictures runId={o.id} bestId={bestId} active={active} metric={o.problem.primaryMetric} />
        <div className="card w6">
          <div className="panel-head">
            <h2>Code diversity</h2>
            <span className="muted small">mean pairwise code distance in each island; white: between islands</span>
          </div>
          <MetricChart
            testId="diversity-code"
            metrics={metrics}
            field="code"
            series={islandIdx}
            xAxis={L.xAxis}
            range={L.zoom}
            yMax={1}
          />
          <MetricChart
            testId="diversity-inter"
            metrics={metrics}
            field="interIsland"
            series={[-1]}
            xAxis={L.xAxis}
            range={L.zoom}
            height={90}
            yMax={1}
          />
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Feature coverage</h2>
            <span className="muted small">share of MAP-Elites cells filled, per island</span>
          </div>
          {o.problem.features.length ? (
            <MetricChart
              testId="diversity-coverage"
              metrics={metrics}
              field="coverage"
              series={withRun}
              xAxis={L.xAxis}
              range={L.zoom}
              yMax={1}
              format={(v) => `${Math.round(v * 100)}%`}
            />
          ) : (
            <div className="empty small" data-testid="diversity-coverage-none">
              This problem declares no features: there is no MAP-Elites grid to cover.
            </div>
          )}
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Throughput and failures</h2>
            <span className="muted small">evaluations per second; the share of evaluations that failed</span>
          </div>
          <MetricChart
            testId="throughput"
            metrics={metrics}
            field="evalsPerSec"
            series={[-1]}
            xAxis={L.xAxis}
            range={L.zoom}
            height={120}
            format={(v) => `${fmt(v, 3)}/s`}
          />
          <MetricChart
            testId="failures"
            metrics={metrics}
            field="failureRate"
            series={[-1]}
            xAxis={L.xAxis}
            range={L.zoom}
            height={110}
            yMax={1}
            format={(v) => `${Math.round(v * 100)}%`}
          />
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Pipeline</h2>
            <span className="muted small">{requestsName(offline)} and evaluations in flight</span>
          </div>
          <PipelineChart metrics={metrics} xAxis={L.xAxis} range={L.zoom} offline={offline} />
          {verdict && (
            <div
              className={verdict.limit === 'no-workers' ? 'alert error small' : 'small muted'}
              data-testid="pipeline-verdict"
              data-limit={verdict.limit}
            >
              {verdict.text}
            </div>
          )}
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Spend against the budget</h2>
          </div>
          {o.config.mutator === 'local' ? (
            <div className="empty small">
              This run mutates with offline program operators: it calls no model and spends nothing. Its budget is{' '}
              {o.config.budget.maxEvals} evaluations
              {o.config.budget.maxWallS ? ` and ${duration(o.config.budget.maxWallS)}` : ''}.
            </div>
          ) : (
            <MetricChart
              testId="spend"
              metrics={metrics}
              field="spendUsd"
              series={[-1]}
              xAxis={L.xAxis}
              range={L.zoom}
              height={230}
              format={(v) => usd(v)}
              limit={o.config.budget.maxSpendUsd ? { value: o.config.budget.maxSpendUsd, label: 'budget' } : null}
            />
          )}
        </div>
        <div className="card w6">
          <HeatmapPanel
            runId={o.id}
            islands={islands}
            features={o.problem.features.map((f) => f.name)}
            active={active}
          />
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Islands</h2>
          </div>
          <IslandsTable />
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Workers</h2>
            <Link href="/workers" className="small">
              all workers
            </Link>
          </div>
          <WorkersTable compact recent={active ? recentBusy(L.live.metrics) : null} />
        </div>
        <div className="card w6">
          <div className="panel-head">
            <h2>Activity</h2>
            <span className="muted small">status, stagnation and interventions</span>
          </div>
          <ActivityFeed events={L.live.events} runId={o.id} />
        </div>
        <HeldOutPanel runId={o.id} />
      </div>
    </div>
  )
}

/** the only tile that ticks by itself: kept apart so the charts do not redraw every second */
function ElapsedTile({ clock, maxWallS }: { clock: RunClock; maxWallS: number | null }) {
  const now = useNow(1000)
  // the time it ran: a stop or a pause does not count (as the time budget counts it)
  const wall = runSeconds(clock, now)
  return (
    <Tile
      label="elapsed"
      value={duration(wall)}
      sub={maxWallS ? `of ${duration(maxWallS)}` : 'no time cap'}
      meter={maxWallS ? Math.min(1, wall / maxWallS) : null}
      progress
    />
  )
}

/** Open stagnation alerts: folded per plateau, closed when the run ends or the island improves. */
function useRunAlerts() {
  const L = useRunLive()
  const o = L.overview.data
  return useMemo(
    () =>
      openStagnationAlerts(L.live.events, {
        status: L.status,
        direction: o?.problem.direction,
        islandBest: new Map(o?.islands.map((i) => [i.index, i.bestScore]) ?? []),
      }),
    [L.live.events, L.status, o],
  )
}

function mergeZoom<T extends { id: number }>(a: T[], b: T[]): T[] {
  const seen = new Set(a.map((x) => x.id))
  return a.concat(b.filter((x) => !seen.has(x.id)))
}
function mergeZoomPoints<T extends { evalIndex: number }>(a: T[], b: T[]): T[] {
  const seen = new Set(a.map((x) => x.evalIndex))
  return a.concat(b.filter((x) => !seen.has(x.evalIndex)))
}

function HeatmapPanel({
  runId,
  islands,
  features,
  active,
}: {
  runId: string
  islands: number
  features: string[]
  active: boolean
}) {
  const trpc = useTRPC()
  const [island, setIsland] = useState<string>('all')
  const [axes, setAxes] = useState<string[]>(features.slice(0, 2))
  const q = useQuery(
    trpc.runs.heatmap.queryOptions(
      { runId, axes, island: island === 'all' ? null : Number(island) },
      { refetchInterval: active ? 5000 : false },
    ),
  )
  return (
    <>
      <div className="panel-head">
        <h2>MAP-Elites grid</h2>
        <div className="row small">
          {features.length > 2 &&
            [0, 1].map((k) => (
              <select
                key={k}
                aria-label={`axis ${k + 1}`}
                value={axes[k]}
                onChange={(e) => setAxes(k === 0 ? [e.target.value, axes[1]!] : [axes[0]!, e.target.value])}
              >
                {features.map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
            ))}
          <select aria-label="heatmap island" value={island} onChange={(e) => setIsland(e.target.value)}>
            <option value="all">all islands</option>
            {Array.from({ length: islands }, (_, i) => (
              <option key={i} value={i}>
                island {i}
              </option>
            ))}
          </select>
        </div>
      </div>
      {q.error ? (
        <ErrorBox error={q.error} />
      ) : !q.data ? (
        <div className="muted small">
          {q.isLoading ? 'Loading…' : 'This problem declares no features: no grid to draw.'}
        </div>
      ) : (
        <Heatmap grid={q.data} runId={runId} />
      )}
    </>
  )
}

function IslandsTable() {
  const L = useRunLive()
  const trpc = useTRPC()
  const o = L.overview.data!
  const controls = useQuery(trpc.runs.controls.queryOptions({ runId: o.id }))
  const alerts = new Set(useRunAlerts().map((a) => a.island))
  const ended = ['completed', 'stopped', 'failed'].includes(L.status ?? '')
  return (
    <div className="scroll-x">
      <table className="table small" data-testid="islands">
        <thead>
          <tr>
            <th>island</th>
            <th className="num" title={ISLAND_MEMBERS.title}>
              {ISLAND_MEMBERS.heading}
            </th>
            <th className="num">best</th>
            <th className="num">median</th>
            <th className="num">code div.</th>
            <th className="num">coverage</th>
            <th className="num">exploration</th>
            <th>state</th>
          </tr>
        </thead>
        <tbody>
          {o.islands.map((i) => {
            const m = latestMetric(L.live.metrics, i.index)
            return (
              <tr key={i.index}>
                <td>{i.index}</td>
                <td className="num">{m?.population ?? i.population}</td>
                <td className="num">
                  {i.bestCandidateId ? (
                    <Link href={`/runs/${o.id}/candidates/${i.bestCandidateId}`} title={shortId(i.bestCandidateId)}>
                      {fmt(i.bestScore, 5)}
                    </Link>
                  ) : (
                    '–'
                  )}
                </td>
                <td className="num">{fmt(m?.median ?? null)}</td>
                <td className="num">{fmt(m?.code ?? null, 3)}</td>
                <td className="num">
                  {m?.coverage !== null && m?.coverage !== undefined ? `${Math.round(m.coverage * 100)}%` : '–'}
                </td>
                <td className="num">
                  {fmt(
                    controls.data?.effectiveExploration[i.index] ??
                      controls.data?.islandExploration[i.index] ??
                      controls.data?.exploration ??
                      null,
                    2,
                  )}
                </td>
                <td>
                  {alerts.has(i.index) ? (
                    <span className="badge warn">stagnant</span>
                  ) : ended ? (
                    <span className="badge">{i.stagnant ? 'ended on a plateau' : 'ended'}</span>
                  ) : (
                    <span className="badge good">improving</span>
                  )}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
