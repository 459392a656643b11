// The Workers panel's headline load. Workers report how many evaluations they run at one instant;
// evaluations of a few milliseconds are rarely caught in it, so a run keeping its workers busy 99 %
// of the time can read "0 running". On a live run's dashboard the panel shows instead the workers'
// mean busy over the run's last metric intervals: the figure the pipeline panel judges by.
import { recentPipeline } from './pipeline.ts'
import type { MetricPoint } from './types.ts'

export interface RecentBusy {
  /** mean evaluations running over the window (run_metrics' `busy`, itself a mean per interval) */
  busy: number
  capacity: number
  /** the window's length */
  seconds: number
}

/**
 * The workers' mean busy over a run's last `window` intervals: recentPipeline's, the figures
 * pipelineVerdict judges by, so the two panels agree. Null before there is one, or without capacity.
 */
export function recentBusy(metrics: readonly MetricPoint[], window = 5): RecentBusy | null {
  const r = recentPipeline(metrics, window)
  return r?.capacity ? { busy: r.busy, capacity: r.capacity, seconds: r.seconds } : null
}

/** What the instant count is, for its tooltip. */
export const INSTANT_NOTE =
  'Counted at one instant: evaluations that take milliseconds are rarely caught in it. A live run’s dashboard shows the mean over its last seconds.'

/** The panel's headline: the run's recent mean where there is one, else the instant count named as such. */
export function workersLine(
  summary: { online: number; running: number },
  capacity: number | null,
  recent: RecentBusy | null,
): string {
  const cap = `capacity ${capacity ?? '–'}`
  if (recent) {
    const pct = Math.round((100 * recent.busy) / recent.capacity)
    const over = recent.seconds >= 1.5 ? `the last ${Math.round(recent.seconds)} s` : 'the last second'
    return `${summary.online} online · busy ${pct}% of ${over} (${recent.busy.toFixed(1)} of ${recent.capacity} evaluations running on average) · ${cap}`
  }
  const n = summary.running
  return `${summary.online} online · ${n} evaluation${n === 1 ? '' : 's'} running at this instant · ${cap}`
}
