// The live subscription's cursor: one string holding the three positions a client has seen
// (evaluations by eval_index, run_metrics by id, run_events by id). It is the SSE event id, so a
// reconnecting browser sends it back (tRPC's lastEventId) and receives exactly what it missed.
import type { LiveCursor } from '../../client-safe/types.ts'

const PATTERN = /^c(-?\d{1,12})\.m(\d{1,18})\.e(\d{1,18})$/

export const START_CURSOR: LiveCursor = { c: -1, m: 0, e: 0 }

export function encodeCursor(c: LiveCursor): string {
  return `c${c.c}.m${c.m}.e${c.e}`
}

/** null for anything that is not a cursor this server wrote (the client then starts from its snapshot) */
export function decodeCursor(s: string | null | undefined): LiveCursor | null {
  if (!s) return null
  const m = PATTERN.exec(s)
  if (!m) return null
  const c = { c: Number(m[1]), m: Number(m[2]), e: Number(m[3]) }
  if (!Number.isSafeInteger(c.m) || !Number.isSafeInteger(c.e) || c.c < -1) return null
  return c
}

/** the later of two cursors, position by position */
export function maxCursor(a: LiveCursor, b: LiveCursor): LiveCursor {
  return { c: Math.max(a.c, b.c), m: Math.max(a.m, b.m), e: Math.max(a.e, b.e) }
}
