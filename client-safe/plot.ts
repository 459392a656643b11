// Geometry of the fitness chart's evaluation dots, which the browser paints on a canvas over the
// SVG chart (a few thousand SVG circles re-rendered several times a second are what made a live
// dashboard slow; a canvas redraws them in about a millisecond). Pure.

export interface PlotArea {
  left: number
  top: number
  right: number
  bottom: number
}

export interface Domain {
  x: [number, number]
  y: [number, number]
}

/** Data → pixel (y grows downwards); null outside the plot area. */
export function toPixel(x: number, y: number, d: Domain, a: PlotArea): [number, number] | null {
  const fx = (x - d.x[0]) / (d.x[1] - d.x[0] || 1)
  const fy = (y - d.y[0]) / (d.y[1] - d.y[0] || 1)
  if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1)) return null
  return [a.left + fx * (a.right - a.left), a.bottom - fy * (a.bottom - a.top)]
}

/** Pixel → data x (clamped to the domain). */
export function fromPixelX(px: number, d: Domain, a: PlotArea): number {
  const f = Math.min(1, Math.max(0, (px - a.left) / Math.max(1, a.right - a.left)))
  return d.x[0] + f * (d.x[1] - d.x[0])
}

/** The drawn point nearest to a pixel, within `maxPx` (null when none is that close). */
export function nearest<T>(
  points: readonly T[],
  px: number,
  py: number,
  at: (t: T) => [number, number] | null,
  maxPx = 6,
): T | null {
  let best: T | null = null
  let bestD = maxPx * maxPx
  for (const p of points) {
    const xy = at(p)
    if (!xy) continue
    const d = (xy[0] - px) ** 2 + (xy[1] - py) ** 2
    if (d <= bestD) {
      bestD = d
      best = p
    }
  }
  return best
}
