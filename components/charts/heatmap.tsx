'use client'
// The MAP-Elites grid: one cell per pair of feature bins, coloured by the best score that landed
// there; a cell links to that candidate.
import Link from 'next/link'
import { memo } from 'react'
import { binLabel, heatColor, type HeatGrid } from '../../client-safe/heatmap.ts'
import { fmt } from '../../client-safe/format.ts'

export const Heatmap = memo(function Heatmap({ grid, runId }: { grid: HeatGrid; runId: string }) {
  const [ax, ay] = grid.axes
  const rows = [...grid.cells].reverse() // y grows upwards
  return (
    <div data-testid="heatmap" data-filled={grid.filled}>
      <div style={{ display: 'grid', gridTemplateColumns: '64px 1fr', gap: 4 }}>
        <div
          className="heat-axis"
          style={{ writingMode: 'vertical-rl', transform: 'rotate(180deg)', textAlign: 'center' }}
        >
          {ay ? ay.name : ''}
        </div>
        <div className="heat" style={{ gridTemplateColumns: `repeat(${ax.bins}, 1fr)` }}>
          {rows.map((row, ry) =>
            row.map((c, x) => {
              const y = rows.length - 1 - ry
              const title = `${ax.name} ${binLabel(ax, x)}${ay ? `, ${ay.name} ${binLabel(ay, y)}` : ''}${c ? `\nbest ${fmt(c.best)} (${c.count} candidate${c.count === 1 ? '' : 's'})` : '\nempty'}`
              return c?.candidateId ? (
                <Link
                  key={`${x}:${y}`}
                  className="cell"
                  href={`/runs/${runId}/candidates/${c.candidateId}`}
                  title={title}
                  style={{ background: heatColor(c.t) }}
                />
              ) : (
                <div key={`${x}:${y}`} className="cell" title={title} />
              )
            }),
          )}
        </div>
      </div>
      <div style={{ display: 'grid', gridTemplateColumns: '64px 1fr', gap: 4, marginTop: 4 }}>
        <div />
        <div>
          <div className="heat-axis row between">
            <span>{fmt(ax.min, 3)}</span>
            <span>
              {ax.name}
              {ax.auto ? ' (observed 1st–99th percentile)' : ''}
            </span>
            <span>{fmt(ax.max, 3)}</span>
          </div>
          <div className="row small muted" style={{ marginTop: 6, gap: 8 }}>
            <span>worse</span>
            <div className="heat-scale" style={{ flex: 1 }} />
            <span>better</span>
            <span>
              · {grid.filled}/{grid.total} cells ({(grid.coverage * 100).toFixed(0)}%)
            </span>
          </div>
        </div>
      </div>
    </div>
  )
})
