// Ingestion of evaluation results, in the order they finished: stored first (group-committed with
// whatever else finished meanwhile, each at the next evaluation index), then applied to the
// search state: the island, its MAP-Elites grid and the archive, the bandit, the knowledge that
// informed the candidate, stagnation and migration.
import { ESCALATIONS, type EscalationAction } from '../engine/escalations.ts'
import { escalate } from './escalations.ts'
import type { EvalResult } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import { pgJson } from '../db/pg-json.ts'
import { improvement, isBetter, noScoreReason, scoreFromMetrics } from '../engine/fitness.ts'
import { improvesBy } from '../../client-safe/score.ts'
import { JUDGE_METRIC } from '../engine/judge.ts'
import type { MigrationMove } from '../engine/islands.ts'
import { STAGNATION_EPSILON, type StagnationEvent } from '../engine/stagnation.ts'
import type { EventBus } from '../events.ts'
import { type Logger, logError } from '../log.ts'
import type { Budget } from './budget.ts'
import type { InFlight } from './dispatcher.ts'
import type { Judge } from './judge.ts'
import type { DriverHooks } from './hooks.ts'
import type { MetricsWriter } from './metrics.ts'
import type { RunState } from './state.ts'
import type { RunStore } from './store.ts'

const MAX_CONSECUTIVE_INFRA = 5
const SNAPSHOT_EVERY_MS = 5000
/** the run's memory of candidates is pruned back to its populations once it holds this many more */
const PRUNE_SLACK = 1000

export interface IngestDeps {
  db: Db
  events: EventBus
  log: Logger
  hooks?: DriverHooks
  state: RunState
  store: RunStore
  budget: Budget
  metrics: MetricsWriter
  /** ids still in flight (their code stays cached) */
  inFlight: () => ReadonlySet<string>
  failNow: (reason: string) => void
  progress: (msg: string) => void
  /** something changed: the engine plans more and re-checks what it waits for */
  notify: () => void
  /** the run's judge model, when it has one */
  judge?: Judge | null
  /** an island stalled: knowledge for its next prompts (its window starts once they are there) */
  retrieve: (island: number, trigger: 'stagnation' | 'expert') => Promise<unknown>
  /** failed children owed a repair: decided before the result is stored, queued once it is */
  repairs?: {
    due(f: InFlight, r: EvalResult, valid: boolean): boolean
    add(f: InFlight, r: EvalResult, artifacts: Record<string, unknown>): void
    ids(): string[]
  }
}

export class Ingestor {
  private chain: Promise<void> = Promise.resolve()
  private pending = 0
  /** the best handed to storage so far (the store writes it with the batch that holds it) */
  private bestSeen: number | null
  private consecutiveInfra = 0
  private lastSnapshotAt = Date.now()
  /** evaluations at the island's last proposed lesson: one per stagnation window at most */
  private readonly lessonAt = new Map<number, number>()
  private lessonQueue: Promise<void> = Promise.resolve()
  /** prune the run state's per-candidate maps once they hold this many */
  private pruneAbove = PRUNE_SLACK
  /** stalled islands' retrievals in progress, one per island */
  private readonly retrieving = new Map<number, Promise<void>>()

  constructor(private readonly d: IngestDeps) {
    this.bestSeen = d.state.bestScore
  }

  /** results handed in and not yet applied */
  get backlog() {
    return this.pending
  }

  /** Takes a final result in; resolves once its row is stored (the queue marks it delivered then). */
  add(f: InFlight, r: EvalResult): Promise<void> {
    const s = this.d.state
    const spec = s.problem.spec
    const score = scoreFromMetrics(
      r.metrics as Record<string, number>,
      { primaryMetric: spec.primaryMetric, direction: spec.direction },
      r.valid,
    )
    const valid = r.valid && score !== null
    const artifacts = {
      ...r.artifacts,
      ...(r.valid && score === null ? { feedback: noScoreReason(r.metrics, spec.primaryMetric, r.artifacts) } : {}),
    }
    let best: { score: number; candidateId: string } | null = null
    if (valid && (this.bestSeen === null || isBetter(score!, this.bestSeen, spec.direction))) {
      this.bestSeen = score
      best = { score: score!, candidateId: f.id }
    }
    const repairDue = this.d.repairs?.due(f, r, valid) ?? false
    const write = this.d.store.recordResults(
      [
        {
          id: f.id,
          attempt: r.attempt,
          valid,
          score: valid ? score : null,
          metrics: r.metrics,
          features: r.features,
          artifacts,
          error: r.error ?? null,
          timing: r.timing,
          workerId: r.workerId,
          repairDue,
        },
      ],
      best,
    )
    this.pending++
    // the judge's call starts once the result is stored, alongside other calls; it is applied in order
    const judge = this.d.judge
    const review =
      judge && valid
        ? write.then(([stored]) =>
            stored ? judge.review({ id: f.id, code: f.code, score, metrics: r.metrics, artifacts }) : null,
          )
        : null
    this.chain = this.chain
      .then(async () => {
        const [stored] = await write
        if (stored && repairDue) this.d.repairs!.add(f, r, artifacts)
        const rec = await review?.catch(
          (e) => (this.d.log.warn(`run ${s.runId}: judge call failed: ${(e as Error).message}`), null),
        )
        if (rec && stored) await judge!.store(f.id, rec)
        s.noteCritique(f.id, f.parentIds[0], rec)
        const rated = rec?.rating !== undefined
        const features = rated && judge!.feature ? { ...r.features, [JUDGE_METRIC]: rec!.rating! } : r.features
        const metrics = rated ? { ...r.metrics, [JUDGE_METRIC]: rec!.rating! } : r.metrics
        await this.apply(f, { ...r, features, metrics }, stored, valid ? score : null, artifacts)
      })
      .catch((e) => {
        logError(this.d.log, `run ${s.runId}: ingestion failed: `, e)
        this.d.failNow(`engine error while storing a result: ${(e as Error).message}`)
      })
      .finally(() => {
        this.pending--
        this.d.notify()
      })
    return write.then(() => undefined)
  }

  /** resolves when everything handed in is applied */
  idle(): Promise<void> {
    return this.chain
  }

  private async apply(
    f: InFlight,
    r: EvalResult,
    stored: { id: string; evalIndex: number } | null,
    score: number | null,
    artifacts: Record<string, unknown>,
  ) {
    const { state: s, budget } = this.d
    if (!stored) {
      // already evaluated (a duplicate delivery): the slot it held ends here
      budget.release()
      return
    }
    budget.evaluated()
    s.scores.set(f.id, score)
    s.artifacts.set(f.id, artifacts)
    s.metrics.set(f.id, r.metrics)
    this.d.metrics.observe(score !== null)
    // the evaluation system itself keeps failing (no worker can start, the queue is gone): the run
    // cannot make progress, and saying why beats spending the budget on nothing
    this.consecutiveInfra = r.error?.kind === 'infra' ? this.consecutiveInfra + 1 : 0
    if (this.consecutiveInfra >= MAX_CONSECUTIVE_INFRA)
      this.d.failNow(
        `${MAX_CONSECUTIVE_INFRA} evaluations in a row failed for infrastructure reasons, after retries: ${r.error!.message.slice(0, 500)}`,
      )
    // the run's seed score is its problem's entry program's (null when invalid), whatever other seed
    // programs (a fork's, uploads, knowledge tagged `seed`) scored; a problem without one: the best seed
    if (
      f.origin === 'seed' &&
      (f.operatorParams?.seedIndex === -1 ||
        (!s.problem.seedCode.trim() && (s.seedScore === null || isBetter(score, s.seedScore, s.direction))))
    ) {
      s.seedScore = score
      await this.d.db.sql('UPDATE runs SET seed_score = $2 WHERE id = $1', [s.runId, score])
    }
    this.d.events.publish({
      runId: s.runId,
      type: 'candidate',
      payload: {
        id: f.id,
        evalIndex: stored.evalIndex,
        island: f.island,
        origin: f.origin,
        valid: score !== null,
        score,
        parentIds: f.parentIds,
      },
    })
    if (s.status === 'evolving' && f.island >= 0)
      await this.intoEvolution(f, score, r.features as Record<string, number>)
    else if (score !== null) this.noteBest(f.id, score, null)
    await this.d.metrics.write()
    if (Date.now() - this.lastSnapshotAt >= SNAPSHOT_EVERY_MS) await this.saveSnapshot()
    // every result adds to them: without a bound a long run's memory would grow with it
    if (s.status === 'evolving' && s.artifacts.size > this.pruneAbove) {
      s.prune([...this.d.inFlight(), ...(this.d.repairs?.ids() ?? [])])
      this.pruneAbove = 2 * s.artifacts.size + PRUNE_SLACK
    }
  }

  async saveSnapshot() {
    const s = this.d.state
    this.lastSnapshotAt = Date.now()
    // the time run so far goes with it: a crash loses at most a snapshot's interval of it
    const activeS = this.d.budget.activeS()
    if (!s.evo || s.status === 'cold-start' || s.status === 'created')
      return void (await this.d.db.sql('UPDATE runs SET active_s = $2, active_at = now() WHERE id = $1', [
        s.runId,
        activeS,
      ]))
    await this.d.db.sql('UPDATE runs SET engine_state = $2::jsonb, active_s = $3, active_at = now() WHERE id = $1', [
      s.runId,
      pgJson(s.snapshot()),
      activeS,
    ])
  }

  private noteBest(id: string, score: number, island: number | null) {
    const s = this.d.state
    if (s.bestScore === null || isBetter(score, s.bestScore, s.direction)) {
      s.bestScore = score
      s.bestCandidateId = id
      this.d.events.publish({ runId: s.runId, type: 'best', payload: { id, score, island } })
    }
  }

  /** A candidate of the evolve stage (or the cold start's, when islands are assigned) joins its island. */
  async intoEvolution(
    f: Pick<
      InFlight,
      | 'id'
      | 'island'
      | 'code'
      | 'parentIds'
      | 'parentScore'
      | 'arm'
      | 'cost'
      | 'origin'
      | 'retrieval'
      | 'description'
      | 'operatorParams'
    > & { prepared?: InFlight['prepared'] },
    score: number | null,
    features: Record<string, number>,
  ) {
    const s = this.d.state
    s.code.set(f.id, f.code)
    const outcome = s.evo.ingest({
      id: f.id,
      island: f.island,
      code: f.code,
      codeHash: f.prepared?.codeHash,
      sketch: f.prepared?.sketch,
      score,
      features,
      parentScore: f.parentIds.length ? f.parentScore : undefined,
    })
    const inFlight = this.d.inFlight()
    for (const ev of outcome.evicted) if (!inFlight.has(ev)) s.code.delete(ev)
    if (f.arm) s.bandit.update(f.arm, outcome.reward, f.cost)
    if (f.arm && f.origin !== 'cold-start' && s.config.mutator === 'local' && f.operatorParams)
      s.adapter.record(f.operatorParams, outcome.gain !== null && outcome.gain > 0)
    if (f.retrieval && f.parentIds.length && this.d.hooks?.recordOutcome) {
      // an invalid child counts against the knowledge that informed it (improvement() gives -1)
      const delta = improvement(score, f.parentScore, s.direction)
      await this.d.hooks
        .recordOutcome({ candidateId: f.id, delta })
        .catch((e) => this.d.log.warn(`knowledge outcome not recorded: ${e.message}`))
    }
    if (score !== null) {
      if (outcome.newBest) {
        this.d.metrics.noteIslandBest(f.island, score, f.id)
        // a repair's parent is a failed program: "what fixed a crash" is no lesson about the problem
        if (f.parentIds.length && s.status === 'evolving' && f.origin !== 'repair') this.proposeLesson(f, score)
      }
      this.noteBest(f.id, score, f.island)
    }
    // the ring migration first, then what a stall does: the order a resumed run replays them in
    if (outcome.migrationDue) await this.migrate()
    for (const ev of outcome.stagnation) await this.onStagnation(ev)
  }

  /** Lessons from an island's new best: one per island per stagnation window, off the hot path. */
  private proposeLesson(
    f: Pick<InFlight, 'id' | 'island' | 'code' | 'parentIds' | 'parentScore' | 'description'>,
    score: number,
  ) {
    const hooks = this.d.hooks
    const s = this.d.state
    if (!hooks?.onIslandBest) return
    // a gain the stall detector would not call an improvement (float noise, a rounding) teaches nothing
    if (f.parentScore !== null && !improvesBy(score, f.parentScore, s.direction, STAGNATION_EPSILON)) return
    const now = s.evo.evaluations
    const last = this.lessonAt.get(f.island)
    if (last !== undefined && now - last < s.config.stagnationWindow) return
    this.lessonAt.set(f.island, now)
    this.lessonQueue = this.lessonQueue.then(async () => {
      const parentCode = await s.codeOf(f.parentIds[0]).catch(() => '')
      await hooks.onIslandBest!({
        runId: s.runId,
        problemId: s.problem.id,
        candidateId: f.id,
        parentCode,
        childCode: f.code,
        parentScore: f.parentScore,
        childScore: score,
        direction: s.direction,
        operatorDescription: f.description,
      }).catch((e) => this.d.log.warn(`lesson not proposed: ${e.message}`))
    })
  }

  async lessonsDone() {
    await this.lessonQueue
  }

  /** resolves when the stalled islands' retrievals have ended (the run's end cancels them: soon) */
  async retrievalsDone() {
    await Promise.all(this.retrieving.values())
  }

  /**
   * A stalled island's retrieval, beside the results' path: awaited there, a slow embedding model
   * held every later result, the run's planning and its stop, and the passages came once the
   * budget was planned without them. An island still waiting for its passages starts no second one.
   */
  private retrieveAside(island: number) {
    if (this.retrieving.has(island)) return
    const done = this.d
      .retrieve(island, 'stagnation')
      .then(
        () => undefined,
        (e) => this.d.log.warn(`knowledge retrieval failed for island ${island}: ${(e as Error).message}`),
      )
      .finally(() => {
        this.retrieving.delete(island)
        this.d.notify()
      })
    this.retrieving.set(island, done)
  }

  private async migrate() {
    const s = this.d.state
    const moves = s.evo.planMigration()
    if (moves.length) {
      // one statement, on the result path: plain SQL rather than a query the ORM compiles each time
      await this.d.db.sql(
        `INSERT INTO migrations (run_id, from_island, to_island, candidate_id, at_eval)
         SELECT $1, m.from_island, m.to_island, m.candidate_id, $2
           FROM jsonb_to_recordset($3::jsonb) AS m(from_island int, to_island int, candidate_id text)
         ON CONFLICT (run_id, to_island, candidate_id) DO NOTHING`,
        [
          s.runId,
          s.evo.evaluations,
          JSON.stringify(moves.map((m) => ({ from_island: m.from, to_island: m.to, candidate_id: m.id }))),
        ],
      )
    }
    this.applyMigration(moves)
    for (const m of moves) if (!s.code.has(m.id)) await s.codeOf(m.id)
    if (moves.length)
      this.d.events.publish({
        runId: s.runId,
        type: 'migration',
        payload: { at: s.evo.evaluations, moves: moves.length },
      })
  }

  /** Copies members across islands; an island whose best member is now a migrant records it as its best. */
  applyMigration(moves: readonly MigrationMove[]) {
    const evo = this.d.state.evo
    evo.applyMigration(moves).forEach((o, i) => {
      const m = moves[i]
      const score = o.newBest ? evo.island(m.to).get(m.id)?.score : undefined
      if (score != null) this.d.metrics.noteIslandBest(m.to, score, m.id)
    })
  }

  private async onStagnation(ev: StagnationEvent) {
    const s = this.d.state
    await this.d.db.prisma.island.update({
      where: { runId_index: { runId: s.runId, index: ev.island } },
      data: { stagnant: ev.kind !== 'recovered' },
    })
    const row = await this.d.db.prisma.runEvent.create({
      data: { runId: s.runId, type: 'stagnation', payload: JSON.parse(JSON.stringify(ev)) },
      select: { id: true },
    })
    this.d.events.publish({ id: String(row.id), runId: s.runId, type: 'stagnation', payload: ev })
    if (ev.kind !== 'recovered') {
      this.d.progress(`island ${ev.island} stalled: ${ev.message}`)
      if (ev.suggestions.includes('retrieve-knowledge')) this.retrieveAside(ev.island)
      const action = ev.suggestions.find((x): x is EscalationAction => (ESCALATIONS as readonly string[]).includes(x))
      if (action) await escalate(this.d, { island: ev.island, action, trigger: 'stagnation' })
    }
  }
}
