'use client'
// One metric per island over evaluations or time (diversity, throughput, failure rate, spend):
// a small multi-line chart, with an optional budget line.
import { memo, useMemo } from 'react'
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { islandColor, pivotMetrics, seriesKey, type MetricField } from '../../client-safe/series.ts'
import { fmt } from '../../client-safe/format.ts'
import { axisTicks, distinctFormat, rowsExtent, timeTicks } from '../../client-safe/ticks.ts'
import type { MetricPoint } from '../../client-safe/types.ts'

export interface MetricChartProps {
  metrics: MetricPoint[]
  field: MetricField
  /** which series: island indices, -1 for the run */
  series: number[]
  xAxis: 'evals' | 'time'
  range: { lo: number; hi: number } | null
  height?: number
  testId?: string
  limit?: { value: number; label: string } | null
  format?: (v: number) => string
  yMax?: number
}

export const MetricChart = memo(function MetricChart(p: MetricChartProps) {
  const rows = useMemo(
    () => pivotMetrics(p.metrics, p.field, { x: p.xAxis, islands: p.series, range: p.range }),
    [p.metrics, p.field, p.xAxis, p.series, p.range],
  )
  const f = p.format ?? ((v: number) => fmt(v, 3))
  // explicit ticks: round values whose labels never repeat (the axis spans 0 to the data or yMax)
  const axes = useMemo(() => {
    const ext = rowsExtent(rows)
    const xDom: [number, number] = p.range && p.xAxis === 'evals' ? [p.range.lo, p.range.hi] : (ext.x ?? [0, 1])
    const top = p.yMax ?? Math.max(ext.y?.[1] ?? 0, p.limit?.value ?? 0)
    const yDom: [number, number] = [Math.min(0, ext.y?.[0] ?? 0), top > 0 ? top : 1]
    const y = axisTicks(yDom, 4)
    return {
      xDom,
      yDom: [yDom[0], Math.max(yDom[1], y.ticks[y.ticks.length - 1] ?? yDom[1])] as [number, number],
      x: p.xAxis === 'time' ? timeTicks(xDom, 5) : axisTicks(xDom, 5, { integer: true }),
      y: { ticks: y.ticks, format: distinctFormat(y.ticks, p.format, y.format) },
    }
  }, [rows, p.range, p.xAxis, p.yMax, p.limit, p.format])
  return (
    <div data-testid={p.testId} data-points={rows.length}>
      <ResponsiveContainer width="100%" height={p.height ?? 170}>
        <LineChart data={rows} margin={{ top: 6, right: 28, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#2a323d" strokeDasharray="3 3" />
          <XAxis
            type="number"
            dataKey="x"
            domain={axes.xDom}
            allowDataOverflow
            ticks={axes.x.ticks}
            interval={0}
            tick={{ fill: '#9aa5b1', fontSize: 10 }}
            tickFormatter={axes.x.format}
            height={22}
          />
          <YAxis
            width={52}
            domain={axes.yDom}
            ticks={axes.y.ticks}
            interval={0}
            tick={{ fill: '#9aa5b1', fontSize: 10 }}
            tickFormatter={axes.y.format}
          />
          <Tooltip
            contentStyle={{ background: '#161b22', border: '1px solid #2a323d', fontSize: 12 }}
            labelFormatter={(v) => (p.xAxis === 'time' ? new Date(Number(v)).toLocaleTimeString() : `evaluation ${v}`)}
            formatter={(v) => f(Number(v))}
          />
          {p.limit && (
            <ReferenceLine
              y={p.limit.value}
              stroke="#f85149"
              strokeDasharray="6 4"
              label={{ value: p.limit.label, fill: '#f85149', fontSize: 10, position: 'insideTopRight' }}
              ifOverflow="extendDomain"
            />
          )}
          {p.series.map((i) => (
            <Line
              key={i}
              name={i < 0 ? 'run' : `island ${i}`}
              dataKey={seriesKey(i)}
              stroke={islandColor(i)}
              strokeWidth={i < 0 ? 2 : 1.4}
              dot={false}
              connectNulls
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  )
})
