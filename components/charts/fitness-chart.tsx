'use client'
// Best and mean fitness per island, over evaluations (with every evaluation as a dot) or over
// time, and the problem's reference value as a line. Drag across the chart to zoom into an
// evaluation range (the server then sends that range at full resolution). The page records when
// each evaluation's point first reached the chart (window.__fmChart), for bench/console-latency.ts.
import { memo, useEffect, useMemo, useRef, useState } from 'react'
import { CartesianGrid, ComposedChart, Line, ReferenceLine, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from 'recharts'
import { islandColor, pivotMetrics, robustDomain, scatterByIsland, seriesKey, yDomain, fmt } from '../../server/console/series.ts'
import type { MetricPoint, ScorePoint } from '../../server/console/types.ts'

export interface FitnessChartProps {
  metrics: MetricPoint[]
  points: ScorePoint[]
  islands: number
  reference: { value: number; source: string } | null
  direction: 'max' | 'min'
  xAxis: 'evals' | 'time'
  range: { lo: number; hi: number } | null
  onZoom?: (r: { lo: number; hi: number }) => void
  height?: number
}

const MARGIN = { top: 8, right: 16, bottom: 4, left: 0 }
const Y_WIDTH = 64

declare global {
  interface Window {
    __fmChart?: { seen: Record<number, number>; renders: number; points: number }
  }
}

export const FitnessChart = memo(function FitnessChart(p: FitnessChartProps) {
  const [showMean, setShowMean] = useState(true)
  const [showPoints, setShowPoints] = useState(true)
  const [fullY, setFullY] = useState(false)
  const islands = useMemo(() => Array.from({ length: p.islands }, (_, i) => i), [p.islands])
  const best = useMemo(() => pivotMetrics(p.metrics, 'best', { x: p.xAxis, range: p.range }), [p.metrics, p.xAxis, p.range])
  const mean = useMemo(() => (showMean ? pivotMetrics(p.metrics, 'mean', { x: p.xAxis, islands, range: p.range }) : []), [p.metrics, p.xAxis, islands, showMean, p.range])
  const scatter = useMemo(() => {
    const byIsland = scatterByIsland(p.points, p.range)
    if (p.xAxis === 'time') {
      const t = new Map(p.points.map((x) => [x.id, x.t]))
      for (const arr of byIsland.values()) for (const q of arr) q.x = t.get(q.id) ?? q.x
    }
    return byIsland
  }, [p.points, p.xAxis, p.range])
  const drawnPoints = useMemo(() => [...scatter.values()].reduce((n, a) => n + a.length, 0), [scatter])
  const xs = useMemo(() => {
    let lo = Infinity
    let hi = -Infinity
    for (const r of best) (lo = Math.min(lo, r.x)), (hi = Math.max(hi, r.x))
    for (const a of scatter.values()) for (const q of a) (lo = Math.min(lo, q.x)), (hi = Math.max(hi, q.x))
    if (p.range && p.xAxis === 'evals') return [p.range.lo, p.range.hi] as [number, number]
    return Number.isFinite(lo) ? ([lo, hi === lo ? lo + 1 : hi] as [number, number]) : ([0, 1] as [number, number])
  }, [best, scatter, p.range, p.xAxis])
  const yDom = useMemo(() => {
    const lines: number[] = []
    for (const r of best) for (const [k, v] of Object.entries(r)) if (k !== 'x' && typeof v === 'number') lines.push(v)
    const pts: number[] = []
    if (showPoints) for (const a of scatter.values()) for (const q of a) pts.push(q.y)
    if (fullY) {
      for (const r of mean) for (const [k, v] of Object.entries(r)) if (k !== 'x' && typeof v === 'number') lines.push(v)
      return yDomain([...lines, ...pts], p.reference?.value) ?? [0, 1]
    }
    return robustDomain(lines, pts, p.reference?.value, p.direction) ?? [0, 1]
  }, [best, mean, scatter, showPoints, fullY, p.reference, p.direction])

  // when each evaluation's point reached the chart (after the browser painted it)
  useEffect(() => {
    const hook = (window.__fmChart ??= { seen: {}, renders: 0, points: 0 })
    hook.renders++
    hook.points = drawnPoints
    const fresh: number[] = []
    for (const q of p.points) if (q.valid && !(q.evalIndex in hook.seen)) fresh.push(q.evalIndex)
    if (!fresh.length) return
    requestAnimationFrame(() => {
      const t = performance.timeOrigin + performance.now()
      for (const i of fresh) hook.seen[i] ??= t
    })
  }, [p.points, drawnPoints])

  // drag to zoom (evaluations axis)
  const wrap = useRef<HTMLDivElement>(null)
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null)
  const toX = (px: number) => {
    const w = wrap.current?.clientWidth ?? 1
    const left = MARGIN.left + Y_WIDTH
    const right = w - MARGIN.right
    const f = Math.min(1, Math.max(0, (px - left) / Math.max(1, right - left)))
    return xs[0] + f * (xs[1] - xs[0])
  }
  const pos = (e: React.MouseEvent) => e.clientX - (wrap.current?.getBoundingClientRect().left ?? 0)
  const canZoom = p.xAxis === 'evals' && !!p.onZoom

  const label = p.xAxis === 'evals' ? 'evaluations' : 'time'
  return (
    <div>
      <div className="row between small" style={{ marginBottom: 4 }}>
        <div className="legend">
          {islands.map((i) => (
            <span key={i}>
              <i style={{ background: islandColor(i) }} />
              island {i}
            </span>
          ))}
          <span>
            <i style={{ background: islandColor(-1) }} />
            run best
          </span>
          {p.reference && (
            <span title={p.reference.source}>
              <i style={{ background: '#ff7eb6' }} />
              reference {fmt(p.reference.value)}
            </span>
          )}
        </div>
        <div className="row">
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }}>
            <input type="checkbox" checked={showMean} onChange={(e) => setShowMean(e.target.checked)} /> mean
          </label>
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }}>
            <input type="checkbox" checked={showPoints} onChange={(e) => setShowPoints(e.target.checked)} /> evaluations
          </label>
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }} title="off: the y axis leaves out the worst 10% of evaluations, so progress stays visible">
            <input type="checkbox" checked={fullY} onChange={(e) => setFullY(e.target.checked)} /> full y range
          </label>
        </div>
      </div>
      <div
        className="chart-wrap"
        ref={wrap}
        data-testid="fitness-chart"
        data-points={drawnPoints}
        data-lines={best.length}
        data-x={p.xAxis}
        onMouseDown={(e) => canZoom && setDrag({ a: pos(e), b: pos(e) })}
        onMouseMove={(e) => drag && setDrag({ ...drag, b: pos(e) })}
        onMouseUp={() => {
          if (drag && Math.abs(drag.b - drag.a) > 6 && p.onZoom) {
            const lo = Math.floor(toX(Math.min(drag.a, drag.b)))
            const hi = Math.ceil(toX(Math.max(drag.a, drag.b)))
            if (hi > lo) p.onZoom({ lo: Math.max(0, lo), hi })
          }
          setDrag(null)
        }}
        onMouseLeave={() => setDrag(null)}
        title={canZoom ? 'drag to zoom into a range of evaluations' : undefined}
      >
        <ResponsiveContainer width="100%" height={p.height ?? 320}>
          <ComposedChart margin={MARGIN}>
            <CartesianGrid stroke="#2a323d" strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="x"
              domain={xs}
              allowDataOverflow
              tick={{ fill: '#9aa5b1', fontSize: 11 }}
              tickFormatter={(v: number) => (p.xAxis === 'time' ? new Date(v).toLocaleTimeString() : String(Math.round(v)))}
              label={{ value: label, position: 'insideBottomRight', offset: -2, fill: '#9aa5b1', fontSize: 11 }}
              height={34}
            />
            <YAxis width={Y_WIDTH} domain={yDom} allowDataOverflow tick={{ fill: '#9aa5b1', fontSize: 11 }} tickFormatter={(v: number) => fmt(v, 3)} />
            <Tooltip
              contentStyle={{ background: '#161b22', border: '1px solid #2a323d', fontSize: 12 }}
              labelFormatter={(v) => (p.xAxis === 'time' ? new Date(Number(v)).toLocaleTimeString() : `evaluation ${v}`)}
              formatter={(v) => fmt(Number(v))}
            />
            {p.reference && <ReferenceLine y={p.reference.value} stroke="#ff7eb6" strokeDasharray="6 4" ifOverflow="extendDomain" />}
            {showPoints &&
              islands.map((i) => (
                <Scatter key={`s${i}`} name={`island ${i} evaluation`} data={scatter.get(i) ?? []} dataKey="y" fill={islandColor(i)} fillOpacity={0.45} shape="circle" isAnimationActive={false} legendType="none" />
              ))}
            {showMean &&
              islands.map((i) => (
                <Line key={`m${i}`} name={`island ${i} mean`} data={mean} dataKey={seriesKey(i)} stroke={islandColor(i)} strokeOpacity={0.6} strokeDasharray="4 3" dot={false} connectNulls isAnimationActive={false} />
              ))}
            {islands.map((i) => (
              <Line key={`b${i}`} name={`island ${i} best`} data={best} dataKey={seriesKey(i)} type="stepAfter" stroke={islandColor(i)} strokeWidth={1.6} dot={false} connectNulls isAnimationActive={false} />
            ))}
            <Line name="run best" data={best} dataKey="run" type="stepAfter" stroke={islandColor(-1)} strokeWidth={2.4} dot={false} connectNulls isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
        {drag && Math.abs(drag.b - drag.a) > 2 && <div className="chart-sel" style={{ left: Math.min(drag.a, drag.b), width: Math.abs(drag.b - drag.a) }} />}
      </div>
    </div>
  )
})
