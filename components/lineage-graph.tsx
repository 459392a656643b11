'use client'
// The lineage of a run: opens collapsed to the best path (its improving steps) and the frontier
// (each island's best) plus expert edits; hidden stretches are counted on their edges. Click a
// node to see it; expand it to show its parents and children. Layout: server/queries/lineage.ts.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useEffect, useMemo, useRef } from 'react'
import { islandColor } from '../client-safe/series.ts'
import { distinctDigits, fmt, fullNumber } from '../client-safe/format.ts'
import { ErrorBox, originLabel, shortId } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

const DX = 74
const DY = 50
const PAD = 30

export function LineageGraph({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const pathname = usePathname()
  const sp = useSearchParams()
  const expand = useMemo(() => (sp.get('expand') ?? '').split(',').filter(Boolean), [sp])
  const focus = sp.get('focus')
  const selected = sp.get('sel') ?? focus
  const fullPath = sp.get('full') === '1'
  const q = useQuery(
    trpc.candidates.lineage.queryOptions(
      { runId, expand, focus, fullPath },
      { placeholderData: (p) => p, refetchInterval: 10_000 },
    ),
  )
  // open at the newest end (the best and the frontier), or at the focused candidate
  const wrap = useRef<HTMLDivElement>(null)
  const scrolled = useRef(false)
  useEffect(() => {
    const v = q.data
    if (!v || !wrap.current || scrolled.current) return
    scrolled.current = true
    const target = focus ? v.nodes.find((n) => n.id === focus) : null
    wrap.current.scrollLeft = target
      ? Math.max(0, PAD + target.x * DX - wrap.current.clientWidth / 2)
      : wrap.current.scrollWidth
  }, [q.data, focus])
  const set = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(sp.toString())
    for (const [k, v] of Object.entries(patch)) v === null || v === '' ? next.delete(k) : next.set(k, v)
    router.replace(`${pathname}?${next.toString()}`, { scroll: false })
  }
  if (q.error) return <ErrorBox error={q.error} />
  const v = q.data
  if (!v) return <div className="muted">Loading…</div>
  const pos = new Map(v.nodes.map((n) => [n.id, { x: PAD + n.x * DX, y: PAD + n.y * DY }]))
  const width = PAD * 2 + Math.max(1, v.columns) * DX
  const height = PAD * 2 + Math.max(1, v.lanes) * DY
  const sel = v.nodes.find((n) => n.id === selected) ?? null
  const scoreOf = new Map(v.nodes.filter((n) => n.valid && n.score !== null).map((n) => [n.id, n.score as number]))
  const labelDigits = distinctDigits(
    v.edges.flatMap((e) => {
      const a = scoreOf.get(e.from)
      const b = scoreOf.get(e.to)
      return a === undefined || b === undefined ? [] : [[a, b] as const]
    }),
  )
  const islands = [...new Set(v.nodes.map((n) => n.island))].sort((a, b) => a - b)
  return (
    <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 1fr) 300px' }}>
      <div>
        <div className="row between small" style={{ marginBottom: 6 }}>
          <div className="muted" data-testid="lineage-summary">
            {v.nodes.length} of {v.totalCandidates.toLocaleString()} candidates shown · best path {v.bestPath.length}{' '}
            generations
            {!fullPath && ' (its milestones: improvements, crossovers, repairs, island moves)'} · frontier: the best of
            each island
          </div>
          <div className="row">
            <label className="row" style={{ flexDirection: 'row' }}>
              <input
                type="checkbox"
                checked={fullPath}
                onChange={(e) => set({ full: e.target.checked ? '1' : null })}
              />{' '}
              whole best path
            </label>
            {(expand.length > 0 || focus) && (
              <button className="small" onClick={() => set({ expand: null, focus: null, sel: null })}>
                collapse
              </button>
            )}
          </div>
        </div>
        <div className="legend" style={{ marginBottom: 6 }}>
          {islands.map((i) => (
            <span key={i}>
              <i style={{ background: islandColor(i) }} />
              {i < 0 ? 'cold start' : `island ${i}`}
            </span>
          ))}
          <span>
            <i style={{ background: 'var(--accent)', height: 4 }} />
            best path
          </span>
          <span>
            ◆ expert edit · ■ repair (orange edge: from the failure it fixed) · ring: frontier · dashed edge: hidden
            generations
          </span>
        </div>
        <div className="lineage-wrap" data-testid="lineage" ref={wrap}>
          <svg width={width} height={height} role="group" aria-label="lineage graph">
            {v.edges.map((e) => {
              const a = pos.get(e.from)
              const b = pos.get(e.to)
              if (!a || !b) return null
              const mx = (a.x + b.x) / 2
              return (
                <g key={`${e.from}>${e.to}`}>
                  <path
                    d={`M${a.x},${a.y} C${mx},${a.y} ${mx},${b.y} ${b.x},${b.y}`}
                    fill="none"
                    stroke={e.bestPath ? '#4aa3ff' : e.secondary ? '#d2a8ff' : e.repair ? '#f0883e' : '#4b5563'}
                    strokeWidth={e.bestPath ? 3 : 1.4}
                    strokeDasharray={e.hidden > 0 ? '5 4' : e.secondary ? '2 3' : undefined}
                  />
                  {e.hidden > 0 && (
                    <text x={mx} y={(a.y + b.y) / 2 - 4} textAnchor="middle">
                      +{e.hidden}
                    </text>
                  )}
                </g>
              )
            })}
            {v.nodes.map((n) => {
              const p = pos.get(n.id)!
              const color = islandColor(n.island)
              const r = n.onBestPath ? 8 : 6
              return (
                <g
                  key={n.id}
                  className={`node${n.id === selected ? ' selected' : ''}`}
                  transform={`translate(${p.x},${p.y})`}
                  onClick={() => set({ sel: n.id })}
                  onDoubleClick={() => set({ expand: [...new Set([...expand, n.id])].join(',') })}
                  // from the keyboard too: Tab reaches each node, Enter selects it, + shows its kin
                  tabIndex={0}
                  role="button"
                  aria-pressed={n.id === selected}
                  aria-label={`${shortId(n.id)} · ${originLabel(n.origin)} · ${n.island < 0 ? 'cold start' : `island ${n.island}`} · ${n.valid ? fmt(n.score) : 'invalid'}${n.onBestPath ? ' · on the best path' : ''} (Enter: inspect, +: show its parents and children)`}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault()
                      set({ sel: n.id })
                    } else if (e.key === '+') set({ expand: [...new Set([...expand, n.id])].join(',') })
                  }}
                  data-testid="lineage-node"
                  data-id={n.id}
                  data-origin={n.origin}
                  data-rating={n.rating ?? 0}
                  data-forked-from={v.forkSources[n.id]?.candidateId}
                >
                  <title>{`${shortId(n.id)} · ${originLabel(n.origin)} · ${n.island < 0 ? 'cold start' : `island ${n.island}`} · ${n.valid ? fmt(n.score) : 'invalid'}`}</title>
                  {n.frontier && <circle r={r + 5} fill="none" stroke="#e3b341" strokeWidth={2} />}
                  {n.origin === 'expert-edit' ? (
                    <rect
                      x={-r}
                      y={-r}
                      width={r * 2}
                      height={r * 2}
                      transform="rotate(45)"
                      fill={color}
                      stroke="#fff"
                      strokeWidth={1.5}
                    />
                  ) : n.origin === 'repair' ? (
                    // a repair: a square, outlined in the repair edge's colour
                    <rect
                      x={-r}
                      y={-r}
                      width={r * 2}
                      height={r * 2}
                      fill={n.valid ? color : '#30363d'}
                      stroke="#f0883e"
                      strokeWidth={1.5}
                    />
                  ) : (
                    <circle
                      r={r}
                      fill={n.valid ? color : '#30363d'}
                      stroke={n.improved ? '#fff' : color}
                      strokeWidth={n.improved ? 1.5 : 1}
                    />
                  )}
                  {/* eight digits and an exponent fill a column at 10px */}
                  <text y={r + 12} textAnchor="middle" style={labelDigits > 6 ? { fontSize: 9 } : undefined}>
                    {n.valid ? fmt(n.score, labelDigits) : '×'}
                  </text>
                  {n.cut && (
                    <text x={-r - 14} y={4} textAnchor="middle">
                      …
                    </text>
                  )}
                  {!!n.rating && (
                    <text x={r + 7} y={-r + 2} textAnchor="middle" fill={n.rating > 0 ? 'var(--good)' : 'var(--bad)'}>
                      {n.rating > 0 ? '▲' : '▼'}
                    </text>
                  )}
                </g>
              )
            })}
          </svg>
        </div>
        <div className="small muted" style={{ marginTop: 6 }}>
          Click a node to inspect it; double-click (or “expand”) to show its parents and children.
        </div>
      </div>
      <div className="card" data-testid="lineage-selection">
        {sel ? (
          <>
            <h2>
              <Link className="mono" href={`/runs/${runId}/candidates/${sel.id}`}>
                {shortId(sel.id)}
              </Link>
            </h2>
            <dl className="kv">
              <dt>origin</dt>
              <dd>{originLabel(sel.origin)}</dd>
              <dt>island</dt>
              <dd>{sel.island < 0 ? 'cold start' : sel.island}</dd>
              <dt>score</dt>
              <dd className="mono">{sel.valid ? fullNumber(sel.score, 8) : 'invalid'}</dd>
              <dt>generation</dt>
              <dd>{sel.generation}</dd>
              <dt>operator</dt>
              <dd className="mono">{sel.operator ?? '–'}</dd>
              <dt>on best path</dt>
              <dd>{sel.onBestPath ? 'yes' : 'no'}</dd>
              <dt>improved</dt>
              <dd>{sel.improved ? 'yes, on its parent' : 'no'}</dd>
              <dt>rating</dt>
              <dd>{sel.rating ? (sel.rating > 0 ? '▲ promising' : '▼ dead end') : 'none'}</dd>
              {v.forkSources[sel.id] && (
                <>
                  <dt>copied from</dt>
                  <dd data-testid="lineage-fork-source">
                    <Link
                      className="mono"
                      href={`/runs/${v.forkSources[sel.id]!.runId}/candidates/${v.forkSources[sel.id]!.candidateId}`}
                    >
                      {shortId(v.forkSources[sel.id]!.candidateId)}
                    </Link>{' '}
                    of run{' '}
                    <Link
                      className="mono"
                      href={`/runs/${v.forkSources[sel.id]!.runId}/lineage?focus=${v.forkSources[sel.id]!.candidateId}`}
                    >
                      {shortId(v.forkSources[sel.id]!.runId)}
                    </Link>
                  </dd>
                </>
              )}
            </dl>
            <div className="row" style={{ marginTop: 10 }}>
              <button
                onClick={() => set({ expand: [...new Set([...expand, sel.id])].join(',') })}
                disabled={expand.includes(sel.id)}
              >
                Expand
              </button>
              <Link className="btn" href={`/runs/${runId}/candidates/${sel.id}`}>
                Open
              </Link>
            </div>
          </>
        ) : (
          <div className="muted small">Select a node.</div>
        )}
      </div>
    </div>
  )
}
