// The engine's pipeline over time for the dashboard: model requests (or an offline run's operator
// proposals) in flight, candidates waiting
// for a worker, workers busy against their capacity (run rows of run_metrics, means per interval),
// and which of the two ends limits the run now.
import type { MetricPoint } from './types.ts'

export interface PipelineRow {
  x: number
  requests: number | null
  waiting: number | null
  busy: number | null
  capacity: number | null
}

export function pipelineRows(
  metrics: readonly MetricPoint[],
  opts: { x?: 'evals' | 'time'; range?: { lo: number; hi: number } | null } = {},
): PipelineRow[] {
  const out: PipelineRow[] = []
  for (const m of metrics) {
    if (m.island !== -1 || m.requests === undefined || m.requests === null) continue
    if (opts.range && (m.evalCount < opts.range.lo || m.evalCount > opts.range.hi)) continue
    out.push({
      x: opts.x === 'time' ? m.t : m.evalCount,
      requests: m.requests,
      waiting: m.waiting ?? null,
      busy: m.busy ?? null,
      capacity: m.capacity ?? null,
    })
  }
  return out.sort((a, b) => a.x - b.x)
}

export type PipelineLimit = 'workers' | 'model' | 'no-workers' | 'balanced'

/** What a run's requests are: a model's, or (offline) the program operators' proposals. */
export const requestsName = (offline: boolean) => (offline ? 'operator proposals' : 'model requests')

/** The pipeline over a run's last `window` intervals (its run rows that carry it). */
export interface RecentPipeline {
  /** means over the window; a row without a figure counts it as 0 */
  requests: number
  waiting: number
  busy: number
  /** the last row's worker capacity (0 when none) and request limit */
  capacity: number
  limit: number | null
  /** the window's length: each row's figures are means since the row before it */
  seconds: number
}

export function recentPipeline(metrics: readonly MetricPoint[], window = 5): RecentPipeline | null {
  const all = metrics.filter((m) => m.island === -1 && typeof m.requests === 'number')
  const rows = all.slice(-window)
  const last = rows[rows.length - 1]
  if (!last) return null
  const mean = (f: (m: MetricPoint) => number | null | undefined) =>
    rows.reduce((s, m) => s + (f(m) ?? 0), 0) / rows.length
  const opened = all[all.length - rows.length - 1] ?? rows[0]!
  return {
    requests: mean((m) => m.requests),
    waiting: mean((m) => m.waiting),
    busy: mean((m) => m.busy),
    capacity: last.capacity ?? 0,
    limit: last.requestLimit ?? null,
    seconds: Math.max(0, (last.t - opened.t) / 1000),
  }
}

/** Which end limits the run, from the last few intervals (null before there is anything to say). */
export function pipelineVerdict(
  metrics: readonly MetricPoint[],
  window = 5,
  offline = false,
  /** the run's generation.maxInFlight: a limit below it is the provider's push-back */
  configuredLimit?: number,
): { limit: PipelineLimit; text: string } | null {
  const name = offline
    ? { source: 'The offline operators limit', requests: 'proposals', faster: 'A higher request limit' }
    : { source: 'The model limits', requests: 'requests', faster: 'A faster model or a higher request limit' }
  const recent = recentPipeline(metrics, window)
  if (!recent) return null
  const { requests, waiting, busy, capacity, limit } = recent
  const share = capacity > 0 ? busy / capacity : 0
  const pct = `${Math.round(share * 100)}%`
  if (capacity === 0) {
    if (requests + waiting === 0) return null
    return {
      limit: 'no-workers',
      text: 'No worker can take this run’s evaluations: start a worker (fm-agent worker) or check the Workers page.',
    }
  }
  if (share >= 0.85 && waiting >= 0.5) {
    return {
      limit: 'workers',
      text: `The workers limit this run: busy ${pct} of the time, with ${waiting.toFixed(1)} candidates waiting for one. More workers would make it faster.`,
    }
  }
  if (limit !== null && requests >= 0.8 * limit && !offline && configuredLimit && limit < configuredLimit) {
    return {
      limit: 'model',
      text: `The provider is pushing back (rate limits, timeouts or server errors): the request limit is down to ${limit} of ${configuredLimit}, with ${requests.toFixed(1)} in flight and the workers busy ${pct} of the time. It grows back as requests succeed; a higher rate limit with the provider would make the run faster.`,
    }
  }
  if (limit !== null && requests >= 0.8 * limit) {
    return {
      limit: 'model',
      text: `${name.source} this run: ${requests.toFixed(1)} ${name.requests} in flight (limit ${limit}) while the workers are busy ${pct} of the time. ${name.faster} would make it faster.`,
    }
  }
  return {
    limit: 'balanced',
    text: `${offline ? 'Operators' : 'Model'} and workers keep pace: ${requests.toFixed(1)} ${name.requests} in flight, workers busy ${pct} of the time.`,
  }
}

/**
 * Whether an active run's header says that no worker is online: from its first evaluation on (the
 * pipeline's own verdict needs the evolve stage's figures; a run started with no worker sat in its
 * cold start and said nothing). Not where this process has no evaluation backend to ask.
 */
export function noWorkerOnline(
  status: string,
  workers: { source: 'backend' | 'queue' | 'none'; summary: { online: number } } | undefined,
): boolean {
  return (
    (status === 'cold-start' || status === 'evolving') &&
    !!workers &&
    workers.source !== 'none' &&
    workers.summary.online === 0
  )
}
