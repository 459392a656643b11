// Shapes that travel from the console's API to the browser. Plain data (numbers as milliseconds
// and plain numbers, never bigint or Date) so they survive any transport and are cheap to merge.

/** One run_metrics row: a run's (island = -1) or an island's state at an evaluation count. */
export interface MetricPoint {
  id: number
  island: number
  evalCount: number
  /** ms since the epoch */
  t: number
  best: number | null
  mean: number | null
  median: number | null
  /** diversity measures: mean pairwise code distance, MAP-Elites coverage, (run only) distance between islands */
  code: number | null
  coverage: number | null
  interIsland: number | null
  population: number
  evalsPerSec: number
  failureRate: number
  spendUsd: number
  /** the pipeline (run rows, means over the interval): model requests in flight, candidates waiting for a worker, workers busy, workers' capacity, the requests' limit */
  requests?: number | null
  waiting?: number | null
  busy?: number | null
  capacity?: number | null
  requestLimit?: number | null
}

/** One finished evaluation, as a point of the fitness scatter. */
export interface ScorePoint {
  id: string
  evalIndex: number
  island: number
  score: number | null
  valid: boolean
  origin: string
  /** evaluatedAt, ms since the epoch */
  t: number
}

/** A numbered run event (status change, stagnation, intervention…). */
export interface RunEventRow {
  id: number
  type: string
  payload: Record<string, unknown>
  t: number
}

/** The parts of the run row the dashboard header shows; sent again whenever one changes. */
export interface RunHead {
  status: string
  statusReason: string | null
  evaluations: number
  bestScore: number | null
  bestCandidateId: string | null
  spendUsd: number
  /** some model sent no token counts: the spend is an estimate (run-config.ts spendText) */
  spendEstimated: boolean
  seedScore: number | null
  finishedAt: number | null
  /** the engine (host:pid) that holds the run's lease now; null when none drives it */
  drivenBy?: string | null
}

export interface LiveCursor {
  /** last evaluation index delivered (-1: none) */
  c: number
  /** last run_metrics id delivered (0: none) */
  m: number
  /** last run_events id delivered (0: none) */
  e: number
}

export type LiveMessage =
  | {
      type: 'batch'
      cursor: string
      points: ScorePoint[]
      metrics: MetricPoint[]
      events: RunEventRow[]
      run: RunHead | null
      more: boolean
    }
  /** the client missed too much to backfill point by point: it reloads its snapshot from this cursor */
  | { type: 'reset'; cursor: string; run: RunHead | null }
  | { type: 'heartbeat'; cursor: string; at: number }

/** Downsampled chart data for a whole run (or an evaluation range of it). */
export interface SeriesSnapshot {
  /** what the data is as of: the live subscription continues from here */
  cursor: string
  range: { lo: number; hi: number } | null
  /** evaluations in the run at the time (the x extent) */
  evaluations: number
  metrics: MetricPoint[]
  points: ScorePoint[]
  /** how many rows these were drawn from */
  totals: { metrics: number; points: number }
}
