// The run's time series (run_metrics), written at most once a second: per island and run-wide
// fitness and diversity, throughput and failures over the last 30 s, spend, and the pipeline
// (model requests in flight, candidates waiting for a worker, workers busy: means over the
// interval), so a user sees whether the model or the workers limit the run.
import type { Db } from '../db.ts'
import { fitnessStats } from '../engine/fitness.ts'
import type { EventBus } from '../events.ts'
import type { GaugeMean } from './concurrency.ts'
import type { RunState } from './state.ts'

const INTERVAL_MS = 1000
const WINDOW_MS = 30_000

export interface PipelineGauges {
  requests: GaugeMean
  waiting: GaugeMean
  busy: GaugeMean
  capacity: () => number
  limit: () => number
}

export interface PipelineFigures {
  requests: number
  waiting: number
  busy: number
  capacity: number
  limit: number
}

export class MetricsWriter {
  private last = 0
  private readonly window: Array<{ t: number; valid: boolean }> = []
  /** islands whose best changed since the last write */
  private readonly islandBest = new Map<number, { score: number; candidateId: string }>()
  /** the whole run's pipeline means (for the summary and the benchmarks) */
  readonly totals = { requests: 0, waiting: 0, busy: 0, span: 0 }
  latest: PipelineFigures | null = null

  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly state: RunState,
    private readonly gauges: PipelineGauges,
    private readonly counters: () => { evaluations: number; spendUsd: number; activeS: number },
  ) {}

  observe(valid: boolean) {
    this.window.push({ t: Date.now(), valid })
  }

  noteIslandBest(island: number, score: number, candidateId: string) {
    this.islandBest.set(island, { score, candidateId })
  }

  async write(force = false) {
    const now = Date.now()
    if (!force && now - this.last < INTERVAL_MS) return
    const s = this.state
    if (!s.evo) return
    const span = this.last ? (now - this.last) / 1000 : 0
    this.last = now
    while (this.window.length && now - this.window[0].t > WINDOW_MS) this.window.shift()
    const seconds = this.window.length > 1 ? (now - this.window[0].t) / 1000 : 0
    const evalsPerSec = seconds > 0 ? this.window.length / seconds : 0
    const failureRate = this.window.length ? this.window.filter((w) => !w.valid).length / this.window.length : 0
    const pipeline: PipelineFigures = {
      requests: round(this.gauges.requests.take()),
      waiting: round(this.gauges.waiting.take()),
      busy: round(this.gauges.busy.take()),
      capacity: this.gauges.capacity(),
      limit: this.gauges.limit(),
    }
    if (span > 0) {
      this.totals.requests += pipeline.requests * span
      this.totals.waiting += pipeline.waiting * span
      this.totals.busy += pipeline.busy * span
      this.totals.span += span
    }
    this.latest = pipeline
    const { evaluations, spendUsd, activeS } = this.counters()
    const rows = s.evo.islands.map((isl, i) => {
      const d = isl.diversity({ seed: evaluations })
      return {
        island: i,
        best: d.fitness.best,
        mean: d.fitness.mean,
        median: d.fitness.median,
        population: d.size,
        // no coverage without features (a one-cell grid is always "full")
        diversity: {
          code: round(d.codeDistance),
          ...(d.coverage !== null ? { coverage: round(d.coverage) } : {}),
        } as Record<string, number>,
      }
    })
    const all = fitnessStats(
      s.evo.islands.flatMap((i) => [...i.members()].map((m) => m.score)),
      s.direction,
    )
    const rd = s.evo.diversity()
    rows.push({
      island: -1,
      best: s.bestScore,
      mean: all.mean,
      median: all.median,
      population: rows.reduce((n, r) => n + r.population, 0),
      diversity: {
        code: round(rd.codeDistance),
        ...(rd.coverage !== null ? { coverage: round(rd.coverage) } : {}),
        interIsland: round(rd.interIslandDistance),
      },
    })
    const data = rows.map((r) => ({
      evalCount: evaluations,
      evalsPerSec,
      failureRate,
      spendUsd,
      ...r,
      ...(r.island === -1 ? { pipeline: { ...pipeline } } : {}),
    }))
    // one raw statement: through Prisma this was a transaction of three, each dearer to prepare
    await this.db.sql(
      `INSERT INTO run_metrics (run_id, island, eval_count, best, mean, median, diversity, population, evals_per_sec,
         failure_rate, spend_usd, pipeline, active_s)
       SELECT $1, island, $3, best, mean, median, diversity, population, $4, $5, $6, pipeline, $7
         FROM jsonb_to_recordset($2::jsonb) AS x(island int, best float8, mean float8, median float8, diversity jsonb,
           population int, pipeline jsonb)`,
      // the run's own clock (not the rows' timestamps): a chart against time skips a stop or a crash
      [s.runId, JSON.stringify(data), evaluations, evalsPerSec, failureRate, spendUsd, activeS],
    )
    if (this.islandBest.size) {
      const best = [...this.islandBest].map(([index, b]) => ({ index, score: b.score, id: b.candidateId }))
      this.islandBest.clear()
      await this.db.sql(
        `UPDATE islands i SET best_score = b.score, best_candidate_id = b.id, stagnant = false, updated_at = now()
           FROM jsonb_to_recordset($2::jsonb) AS b(index int, score float8, id text) WHERE i.run_id = $1 AND i.index = b.index`,
        [s.runId, JSON.stringify(best)],
      )
    }
    this.events.publish({
      runId: s.runId,
      type: 'metrics',
      payload: { evalCount: evaluations, rows: data },
    })
  }

  /** means over the whole run so far */
  runMeans() {
    const t = this.totals.span
    return t > 0
      ? {
          requests: round(this.totals.requests / t),
          waiting: round(this.totals.waiting / t),
          busy: round(this.totals.busy / t),
        }
      : null
  }
}

export function round(x: number) {
  return Math.round(x * 1e4) / 1e4
}
