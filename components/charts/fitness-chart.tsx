'use client'
// Best and mean fitness per island, over evaluations (with every evaluation as a dot) or over
// time, and the problem's reference value as a line; or as the distance to the run's best on a
// log scale, where late, small gains stay visible. The lines are SVG (recharts); the dots are
// painted on a canvas laid over the plot area, so thousands of them redraw in a millisecond as
// results stream in. Hover a dot to see it, click it to open the candidate; drag across the
// chart to zoom into an evaluation range (the server then sends it at full resolution). The page
// records when each evaluation's dot was first painted (window.__fmChart), for
// bench/console-latency.ts.
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { CartesianGrid, ComposedChart, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { fromPixelX, nearest, toPixel, type PlotArea } from '../../client-safe/plot.ts'
import {
  distanceToBest,
  fitnessSummary,
  islandColor,
  logDistance,
  logDistanceFloor,
  pivotMetrics,
  REFERENCE_COLOR,
  robustDomain,
  paintOrder,
  scatterByIsland,
  seriesKey,
  yDomain,
  type PivotRow,
} from '../../client-safe/series.ts'
import { fmt } from '../../client-safe/format.ts'
import { isBetter } from '../../client-safe/score.ts'
import { axisTicks, logTicks, timeTicks } from '../../client-safe/ticks.ts'
import type { MetricPoint, ScorePoint } from '../../client-safe/types.ts'

export interface FitnessChartProps {
  metrics: MetricPoint[]
  points: ScorePoint[]
  islands: number
  reference: { value: number; source: string } | null
  direction: 'max' | 'min'
  /** the run's best score (distance mode measures from it; default: the best drawn) */
  best?: number | null
  xAxis: 'evals' | 'time'
  range: { lo: number; hi: number } | null
  onZoom?: (r: { lo: number; hi: number }) => void
  /** a click on a dot */
  onOpen?: (candidateId: string) => void
  height?: number
}

// room on the right for the last tick's label ("100000" is centred on the axis' end)
const MARGIN = { top: 8, right: 28, bottom: 4, left: 0 }
const Y_WIDTH = 64
const X_HEIGHT = 34
type Dot = { x: number; y: number; id: string; island: number; score: number }

declare global {
  interface Window {
    __fmChart?: { seen: Record<number, number>; renders: number; points: number }
  }
}

export const FitnessChart = memo(function FitnessChart(p: FitnessChartProps) {
  const [showMean, setShowMean] = useState(true)
  const [showPoints, setShowPoints] = useState(true)
  const [fullY, setFullY] = useState(false)
  const [yMode, setYMode] = useState<'score' | 'distance'>('score')
  const islands = useMemo(() => Array.from({ length: p.islands }, (_, i) => i), [p.islands])
  const bestRaw = useMemo(
    () => pivotMetrics(p.metrics, 'best', { x: p.xAxis, range: p.range }),
    [p.metrics, p.xAxis, p.range],
  )
  const meanRaw = useMemo(
    () => (showMean ? pivotMetrics(p.metrics, 'mean', { x: p.xAxis, islands, range: p.range }) : []),
    [p.metrics, p.xAxis, islands, showMean, p.range],
  )
  const scatterRaw = useMemo(() => {
    const byIsland = scatterByIsland(p.points, p.range)
    if (p.xAxis === 'time') {
      const t = new Map(p.points.map((x) => [x.id, x.t]))
      for (const arr of byIsland.values()) for (const q of arr) q.x = t.get(q.id) ?? q.x
    }
    return byIsland
  }, [p.points, p.xAxis, p.range])
  // distance mode: every value becomes log10 of its distance to the run's best (the best on the floor)
  const log = useMemo(() => {
    if (yMode !== 'distance') return null
    let runBest = typeof p.best === 'number' && Number.isFinite(p.best) ? p.best : null
    if (runBest === null) {
      for (const r of bestRaw) if (typeof r.run === 'number' && isBetter(r.run, runBest, p.direction)) runBest = r.run
      for (const a of scatterRaw.values()) for (const q of a) if (isBetter(q.y, runBest, p.direction)) runBest = q.y
    }
    if (runBest === null) return null
    const b = runBest
    const dist: number[] = []
    for (const r of bestRaw)
      for (const [k, v] of Object.entries(r))
        if (k !== 'x' && typeof v === 'number') dist.push(distanceToBest(v, b, p.direction))
    for (const a of scatterRaw.values()) for (const q of a) dist.push(distanceToBest(q.y, b, p.direction))
    return { best: b, floor: logDistanceFloor(dist, b) }
  }, [yMode, p.best, p.direction, bestRaw, scatterRaw])
  const toY = useMemo(
    () => (log ? (v: number) => logDistance(v, log.best, p.direction, log.floor) : null),
    [log, p.direction],
  )
  const best = useMemo(() => (toY ? mapRows(bestRaw, toY) : bestRaw), [bestRaw, toY])
  const mean = useMemo(() => (toY ? mapRows(meanRaw, toY) : meanRaw), [meanRaw, toY])
  const scatter = useMemo(() => {
    const out = new Map<number, Array<{ x: number; y: number; id: string; score: number }>>()
    for (const [i, arr] of scatterRaw)
      out.set(
        i,
        arr.map((q) => ({ ...q, score: q.y, y: toY ? toY(q.y) : q.y })),
      )
    return out
  }, [scatterRaw, toY])
  const drawnPoints = useMemo(() => [...scatter.values()].reduce((n, a) => n + a.length, 0), [scatter])
  const xs = useMemo(() => {
    let lo = Infinity
    let hi = -Infinity
    for (const r of best) (lo = Math.min(lo, r.x)), (hi = Math.max(hi, r.x))
    for (const a of scatter.values()) for (const q of a) (lo = Math.min(lo, q.x)), (hi = Math.max(hi, q.x))
    if (p.range && p.xAxis === 'evals') return [p.range.lo, p.range.hi] as [number, number]
    return Number.isFinite(lo) ? ([lo, hi === lo ? lo + 1 : hi] as [number, number]) : ([0, 1] as [number, number])
  }, [best, scatter, p.range, p.xAxis])
  const yDom = useMemo((): [number, number] => {
    const lines: number[] = []
    for (const r of best) for (const [k, v] of Object.entries(r)) if (k !== 'x' && typeof v === 'number') lines.push(v)
    const pts: number[] = []
    if (showPoints) for (const a of scatter.values()) for (const q of a) pts.push(q.y)
    // distances: smaller is better, the floor (the best) always in view; no reference line
    const reference = log ? null : p.reference?.value
    const direction = log ? 'min' : p.direction
    if (log) lines.push(log.floor)
    if (fullY) {
      for (const r of mean)
        for (const [k, v] of Object.entries(r)) if (k !== 'x' && typeof v === 'number') lines.push(v)
      return yDomain([...lines, ...pts], reference) ?? [0, 1]
    }
    return robustDomain(lines, pts, reference, direction) ?? [0, 1]
  }, [best, mean, scatter, showPoints, fullY, p.reference, p.direction, log])
  const yTicks = useMemo(() => (log ? logTicks(yDom, 7) : axisTicks(yDom, 6)), [yDom, log])
  const xTicks = useMemo(
    () => (p.xAxis === 'time' ? timeTicks(xs, 6) : axisTicks(xs, 6, { integer: true })),
    [xs, p.xAxis],
  )
  /** a value on the y axis back in words, for tooltips */
  const yText = (v: number, digits = 6) =>
    log ? (v <= log.floor ? 'at the best' : `${fmt(10 ** v, 3)} from the best`) : fmt(v, digits)

  const dots: Dot[] = useMemo(() => (showPoints ? paintOrder(scatter) : []), [scatter, showPoints])

  // the plot area inside the chart (recharts lays it out from the margins and the axes' sizes)
  const wrap = useRef<HTMLDivElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const height = p.height ?? 320
  const [width, setWidth] = useState(0)
  useLayoutEffect(() => {
    const el = wrap.current
    if (!el) return
    const ro = new ResizeObserver(() => setWidth(el.clientWidth))
    ro.observe(el)
    setWidth(el.clientWidth)
    return () => ro.disconnect()
  }, [])
  const area: PlotArea = useMemo(
    () => ({
      left: MARGIN.left + Y_WIDTH,
      top: MARGIN.top,
      right: Math.max(MARGIN.left + Y_WIDTH + 1, width - MARGIN.right),
      bottom: height - MARGIN.bottom - X_HEIGHT,
    }),
    [width, height],
  )
  const domain = useMemo(() => ({ x: xs, y: yDom as [number, number] }), [xs, yDom])

  // paint the dots; then note when each new evaluation's dot was first on screen
  useEffect(() => {
    const c = canvas.current
    if (!c || width === 0) return
    const dpr = window.devicePixelRatio || 1
    if (c.width !== Math.round(width * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(width * dpr)
      c.height = Math.round(height * dpr)
    }
    const ctx = c.getContext('2d')
    if (!ctx) return
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, width, height)
    ctx.globalAlpha = 0.5
    let island = Number.NaN
    for (const d of dots) {
      const xy = toPixel(d.x, d.y, domain, area)
      if (!xy) continue
      if (d.island !== island) ctx.fillStyle = islandColor((island = d.island))
      ctx.beginPath()
      ctx.arc(xy[0], xy[1], 2.6, 0, Math.PI * 2)
      ctx.fill()
    }
    const hook = (window.__fmChart ??= { seen: {}, renders: 0, points: 0 })
    hook.renders++
    hook.points = dots.length
    const fresh: number[] = []
    for (const q of p.points) if (q.valid && !(q.evalIndex in hook.seen)) fresh.push(q.evalIndex)
    if (fresh.length)
      requestAnimationFrame(() => {
        const t = performance.timeOrigin + performance.now()
        for (const i of fresh) hook.seen[i] ??= t
      })
  }, [dots, domain, area, width, height, p.points])

  // drag to zoom (evaluations axis), hover and click a dot
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null)
  const [hover, setHover] = useState<{ dot: Dot; px: number; py: number } | null>(null)
  const pos = (e: React.MouseEvent): [number, number] => {
    const r = wrap.current?.getBoundingClientRect()
    return [e.clientX - (r?.left ?? 0), e.clientY - (r?.top ?? 0)]
  }
  const canZoom = p.xAxis === 'evals' && !!p.onZoom
  const hit = (px: number, py: number) => nearest(dots, px, py, (d) => toPixel(d.x, d.y, domain, area))

  const label = p.xAxis === 'evals' ? 'evaluations' : 'time'
  const showReference = !!p.reference && !log
  // left out of the default view when far from every score (robustDomain): said in the legend
  const referenceInView = !!p.reference && p.reference.value >= yDom[0] && p.reference.value <= yDom[1]
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
          {showReference && p.reference && (
            <span title={p.reference.source}>
              <i style={{ background: REFERENCE_COLOR }} />
              reference {fmt(p.reference.value)}
              {!referenceInView && (
                <span className="muted" data-testid="reference-off-scale">
                  {' '}
                  (off this scale: full y range shows it)
                </span>
              )}
            </span>
          )}
        </div>
        <div className="row">
          <div className="seg" role="group" aria-label="y axis">
            <button
              className={yMode === 'score' ? 'on' : ''}
              aria-pressed={yMode === 'score'}
              onClick={() => setYMode('score')}
            >
              score
            </button>
            <button
              className={yMode === 'distance' ? 'on' : ''}
              aria-pressed={yMode === 'distance'}
              onClick={() => setYMode('distance')}
              title="how far each value is from the run's best, on a log scale: late, small gains stay visible"
            >
              distance to the best (log)
            </button>
          </div>
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }}>
            <input type="checkbox" checked={showMean} onChange={(e) => setShowMean(e.target.checked)} /> mean
          </label>
          <label className="row small" style={{ flexDirection: 'row', gap: 4 }}>
            <input type="checkbox" checked={showPoints} onChange={(e) => setShowPoints(e.target.checked)} /> evaluations
          </label>
          <label
            className="row small"
            style={{ flexDirection: 'row', gap: 4 }}
            title="off: the y axis leaves out the worst quarter of evaluations, so progress stays visible"
          >
            <input type="checkbox" checked={fullY} onChange={(e) => setFullY(e.target.checked)} /> full y range
          </label>
        </div>
      </div>
      <div
        className="chart-wrap"
        ref={wrap}
        role="figure"
        aria-label={fitnessSummary(bestRaw, p.islands, 'score', p.xAxis)}
        data-testid="fitness-chart"
        data-points={drawnPoints}
        data-lines={best.length}
        data-x={p.xAxis}
        data-y={log ? 'distance' : 'score'}
        style={{ cursor: hover ? 'pointer' : canZoom ? 'crosshair' : undefined }}
        onMouseDown={(e) => canZoom && setDrag({ a: pos(e)[0], b: pos(e)[0] })}
        onMouseMove={(e) => {
          const [px, py] = pos(e)
          if (drag) return setDrag({ ...drag, b: px })
          const d = hit(px, py)
          setHover(d ? { dot: d, px, py } : null)
        }}
        onMouseUp={(e) => {
          if (drag && Math.abs(drag.b - drag.a) > 6 && p.onZoom) {
            const lo = Math.floor(fromPixelX(Math.min(drag.a, drag.b), domain, area))
            const hi = Math.ceil(fromPixelX(Math.max(drag.a, drag.b), domain, area))
            if (hi > lo) p.onZoom({ lo: Math.max(0, lo), hi })
          } else {
            const [px, py] = pos(e)
            const d = hit(px, py)
            if (d && p.onOpen) p.onOpen(d.id)
          }
          setDrag(null)
        }}
        onMouseLeave={() => (setDrag(null), setHover(null))}
        title={canZoom ? 'drag to zoom into a range of evaluations; click a dot to open its candidate' : undefined}
      >
        <ResponsiveContainer width="100%" height={height}>
          <ComposedChart margin={MARGIN}>
            <CartesianGrid stroke="#2a323d" strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="x"
              domain={xs}
              allowDataOverflow
              ticks={xTicks.ticks}
              interval={0}
              tick={{ fill: '#9aa5b1', fontSize: 11 }}
              tickFormatter={xTicks.format}
              label={{ value: label, position: 'insideBottomRight', offset: -2, fill: '#9aa5b1', fontSize: 11 }}
              height={X_HEIGHT}
            />
            <YAxis
              width={Y_WIDTH}
              domain={yDom}
              allowDataOverflow
              ticks={yTicks.ticks}
              interval={0}
              tick={{ fill: '#9aa5b1', fontSize: 11 }}
              tickFormatter={yTicks.format}
            />
            <Tooltip
              content={({ active, payload, label }) => {
                const rows = (payload ?? []).filter(
                  (e) => e.dataKey !== 'x' && e.name !== 'x' && typeof e.value === 'number',
                )
                if (!active || !rows.length || hover) return null
                const x = rows.find((r) => (r.payload as { x?: number } | undefined)?.x !== undefined)?.payload as
                  | { x?: number }
                  | undefined
                const at = x?.x ?? Number(label)
                return (
                  <div className="chart-tip">
                    <div className="muted">
                      {p.xAxis === 'time' ? new Date(at).toLocaleTimeString() : `evaluation ${Math.round(at)}`}
                    </div>
                    {rows.map((r, i) => (
                      <div key={i}>
                        <i style={{ background: String(r.color ?? '#fff') }} /> {r.name}:{' '}
                        <span className="mono">{yText(Number(r.value))}</span>
                      </div>
                    ))}
                  </div>
                )
              }}
            />
            {showReference && p.reference && referenceInView && (
              <ReferenceLine
                y={p.reference.value}
                stroke={REFERENCE_COLOR}
                strokeDasharray="6 4"
                ifOverflow="discard"
              />
            )}
            {showMean &&
              islands.map((i) => (
                <Line
                  key={`m${i}`}
                  name={`island ${i} mean`}
                  data={mean}
                  dataKey={seriesKey(i)}
                  stroke={islandColor(i)}
                  strokeOpacity={0.6}
                  strokeDasharray="4 3"
                  dot={false}
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
            {islands.map((i) => (
              <Line
                key={`b${i}`}
                name={`island ${i} best`}
                data={best}
                dataKey={seriesKey(i)}
                type="stepAfter"
                stroke={islandColor(i)}
                strokeWidth={1.6}
                dot={false}
                connectNulls
                isAnimationActive={false}
              />
            ))}
            <Line
              name="run best"
              data={best}
              dataKey="run"
              type="stepAfter"
              stroke={islandColor(-1)}
              strokeWidth={2.4}
              dot={false}
              connectNulls
              isAnimationActive={false}
            />
          </ComposedChart>
        </ResponsiveContainer>
        <canvas
          ref={canvas}
          data-testid="fitness-dots"
          style={{ position: 'absolute', left: 0, top: 0, width, height, pointerEvents: 'none' }}
        />
        {hover && !drag && (
          <div
            className="chart-tip"
            style={{
              position: 'absolute',
              left: Math.min(hover.px + 12, width - 190),
              top: Math.max(0, hover.py - 52),
              pointerEvents: 'none',
            }}
          >
            <div>
              <i style={{ background: islandColor(hover.dot.island) }} /> island {hover.dot.island} ·{' '}
              {p.xAxis === 'time' ? new Date(hover.dot.x).toLocaleTimeString() : `evaluation ${hover.dot.x}`}
            </div>
            <div className="mono">
              {fmt(hover.dot.score, 8)}
              {log ? ` · ${yText(hover.dot.y)}` : ''}
            </div>
            <div className="muted">{hover.dot.id.slice(0, 8)} · click to open</div>
          </div>
        )}
        {drag && Math.abs(drag.b - drag.a) > 2 && (
          <div className="chart-sel" style={{ left: Math.min(drag.a, drag.b), width: Math.abs(drag.b - drag.a) }} />
        )}
      </div>
    </div>
  )
})

function mapRows(rows: readonly PivotRow[], f: (v: number) => number): PivotRow[] {
  return rows.map((r) => {
    const o: PivotRow = { x: r.x }
    for (const [k, v] of Object.entries(r)) if (k !== 'x') o[k] = typeof v === 'number' ? f(v) : v
    return o
  })
}
