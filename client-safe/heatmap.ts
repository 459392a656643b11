// The MAP-Elites grid as a heatmap: axes from the problem's feature descriptors (fixed bins, or
// ranged from what was observed), cells holding the best score that landed there. Pure; the
// SQL that counts cells uses the same axis arithmetic (binExpression mirrors binOf).
import type { FeatureSpec } from '../server/contracts/problem.ts'
import { formatNumber } from './format.ts'

export interface HeatAxis {
  name: string
  min: number
  max: number
  bins: number
  /** true when min/max came from observed values (the problem gave none) */
  auto: boolean
}

export interface HeatCell {
  x: number
  y: number
  best: number
  count: number
  candidateId: string | null
}

export interface HeatGrid {
  axes: [HeatAxis] | [HeatAxis, HeatAxis]
  /** cells[y][x]: null where nothing landed */
  cells: Array<Array<(HeatCell & { t: number }) | null>>
  filled: number
  total: number
  coverage: number
  range: { lo: number; hi: number } | null
}

export const DEFAULT_BINS = 10

export function featureName(f: FeatureSpec): string {
  return typeof f === 'string' ? f : f.name
}

/**
 * The axis of one feature. Bounds the problem gives win; missing ones come from the observed
 * extent; a degenerate extent is widened so there is something to bin.
 */
export function resolveAxis(
  spec: FeatureSpec,
  observed: { min: number | null; max: number | null } | undefined,
): HeatAxis {
  const s = typeof spec === 'string' ? { name: spec } : spec
  let min = s.min ?? observed?.min ?? 0
  let max = s.max ?? observed?.max ?? 1
  const auto = s.min === undefined || s.max === undefined
  if (!Number.isFinite(min)) min = 0
  if (!Number.isFinite(max)) max = min + 1
  if (max < min) [min, max] = [max, min]
  if (max === min) {
    const pad = Math.abs(min) * 0.05 || 0.5
    min -= pad
    max += pad
  }
  return { name: s.name, min, max, bins: Math.max(1, Math.min(100, s.bins ?? DEFAULT_BINS)), auto }
}

/** Which bin a value falls in (values outside the axis go to the edge bins, as the engine's grid does). */
export function binOf(v: number, axis: HeatAxis): number {
  if (!Number.isFinite(v)) return 0
  const b = Math.floor(((v - axis.min) / (axis.max - axis.min)) * axis.bins)
  return b < 0 ? 0 : b >= axis.bins ? axis.bins - 1 : b
}

/** Bin labels, e.g. "0.25–0.5" */
export function binLabel(axis: HeatAxis, b: number): string {
  const w = (axis.max - axis.min) / axis.bins
  const r = (v: number) => formatNumber(v, 3)
  return `${r(axis.min + b * w)}–${r(axis.min + (b + 1) * w)}`
}

/**
 * The grid from counted cells: colour position t in [0, 1] per cell by rank, 1 for the best score
 * of the grid (in the problem's direction), 0 for the worst.
 */
export function buildGrid(
  axes: [HeatAxis] | [HeatAxis, HeatAxis],
  cells: readonly HeatCell[],
  direction: 'max' | 'min',
  range: { lo: number; hi: number } | null = null,
): HeatGrid {
  const nx = axes[0].bins
  const ny = axes.length === 2 ? axes[1].bins : 1
  const grid: HeatGrid['cells'] = Array.from({ length: ny }, () => Array.from({ length: nx }, () => null))
  // colour by rank, not by value: scores are often skewed (a few huge errors), ranks stay readable
  const sorted = [...new Set(cells.map((c) => c.best))].sort((a, b) => (direction === 'max' ? a - b : b - a))
  const rank = new Map(sorted.map((v, i) => [v, sorted.length > 1 ? i / (sorted.length - 1) : 1]))
  let filled = 0
  for (const c of cells) {
    if (c.x < 0 || c.x >= nx || c.y < 0 || c.y >= ny) continue
    const t = rank.get(c.best)!
    if (!grid[c.y]![c.x]) filled++
    grid[c.y]![c.x] = { ...c, t }
  }
  return { axes, cells: grid, filled, total: nx * ny, coverage: filled / (nx * ny), range }
}

/** Heat colour for t in [0, 1] (dark blue → teal → yellow), readable on the dark theme. */
export function heatColor(t: number): string {
  const stops: Array<[number, [number, number, number]]> = [
    [0, [32, 46, 92]],
    [0.5, [26, 152, 140]],
    [1, [246, 211, 70]],
  ]
  const x = Math.min(1, Math.max(0, t))
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i]!
    const [t0, c0] = stops[i - 1]!
    if (x <= t1) {
      const f = (x - t0) / (t1 - t0)
      const c = c0.map((v, k) => Math.round(v + (c1[k]! - v) * f))
      return `rgb(${c[0]}, ${c[1]}, ${c[2]})`
    }
  }
  return 'rgb(246, 211, 70)'
}

/** Picks the two axes to draw: the requested ones when valid, else the first two features. */
export function chooseAxes(features: readonly FeatureSpec[], wanted?: readonly string[]): string[] {
  const names = features.map(featureName)
  const picked = (wanted ?? []).filter((n) => names.includes(n))
  for (const n of names) if (picked.length < Math.min(2, names.length) && !picked.includes(n)) picked.push(n)
  return picked.slice(0, 2)
}
