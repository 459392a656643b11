'use client'
// The engine's pipeline over evaluations or time: model requests (or operator proposals) in flight, candidates waiting for
// a worker, workers busy against their capacity. Shaping and the verdict are pure
// (client-safe/pipeline.ts); this only draws.
import { memo, useMemo } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { pipelineRows, requestsName } from '../../client-safe/pipeline.ts'
import { fmt } from '../../client-safe/format.ts'
import type { MetricPoint } from '../../client-safe/types.ts'

const LINES = [
  { key: 'requests', name: '', color: '#58a6ff', dash: undefined }, // named by the run's mutator
  { key: 'waiting', name: 'candidates waiting for a worker', color: '#d29922', dash: undefined },
  { key: 'busy', name: 'workers busy', color: '#3fb950', dash: undefined },
  { key: 'capacity', name: 'workers', color: '#3fb950', dash: '5 4' },
] as const

export const PipelineChart = memo(function PipelineChart(p: {
  metrics: MetricPoint[]
  xAxis: 'evals' | 'time'
  range: { lo: number; hi: number } | null
  height?: number
  /** a run on the offline operators: its requests are their proposals */
  offline?: boolean
}) {
  const rows = useMemo(() => pipelineRows(p.metrics, { x: p.xAxis, range: p.range }), [p.metrics, p.xAxis, p.range])
  if (!rows.length)
    return (
      <div className="empty small" data-testid="pipeline">
        No pipeline figures yet: they appear once the run evaluates.
      </div>
    )
  return (
    <div data-testid="pipeline" data-points={rows.length}>
      <ResponsiveContainer width="100%" height={p.height ?? 190}>
        <LineChart data={rows} margin={{ top: 6, right: 28, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#2a323d" strokeDasharray="3 3" />
          <XAxis
            type="number"
            dataKey="x"
            domain={['dataMin', 'dataMax']}
            tick={{ fill: '#9aa5b1', fontSize: 10 }}
            tickFormatter={(v: number) =>
              p.xAxis === 'time' ? new Date(v).toLocaleTimeString() : String(Math.round(v))
            }
            height={22}
          />
          <YAxis width={40} domain={[0, 'auto']} allowDecimals={false} tick={{ fill: '#9aa5b1', fontSize: 10 }} />
          <Tooltip
            contentStyle={{ background: '#161b22', border: '1px solid #2a323d', fontSize: 12 }}
            labelFormatter={(v) => (p.xAxis === 'time' ? new Date(Number(v)).toLocaleTimeString() : `evaluation ${v}`)}
            formatter={(v) => fmt(Number(v), 2)}
          />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {LINES.map((l) => (
            <Line
              key={l.key}
              name={l.key === 'requests' ? `${requestsName(!!p.offline)} in flight` : l.name}
              dataKey={l.key}
              stroke={l.color}
              strokeDasharray={l.dash}
              strokeWidth={1.6}
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
