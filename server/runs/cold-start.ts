// The cold start of a run: the seed programs evaluated once, then differently configured generators
// (from the seeds and from each other, or from the description when there is no seed) fill a pool,
// which is clustered into islands, each in its own niche. The request path (requester.ts) screens
// the pool's answers against each other through this class.
import { randomUUID } from 'node:crypto'
import { assignColdStart } from '../engine/evolution.ts'
import { analyzeCode, nearDuplicate, similarity, type CodeSketch } from '../engine/novelty.ts'
import { chooseStrategies } from '../engine/strategies.ts'
import { coldStartSize } from '../../client-safe/run-config.ts'
import type { DriverDeps, Mode } from './driver.ts'
import type { RunParts } from './load.ts'
import type { ColdStrategy, PlannedRequest } from './planner.ts'
import { startPrograms } from './seeds.ts'
import type { RunState } from './state.ts'

/** the cold start's pool: the seed, the generators' candidates and the repairs made before islands exist */
const COLD_POOL = [{ origin: { in: ['seed', 'cold-start'] } }, { origin: 'repair', island: -1 }]

interface ColdStartPool {
  target: number
  made: number
  attempts: number
  index: number
  members: Array<{ id: string; code: string }>
  sketches: CodeSketch[]
  /** the seed programs (the generators rewrite the valid ones in turn) */
  seeds: number
  /** no seed program at all: the generators write first programs from the description until one is valid */
  scratch: boolean
  strategies: ColdStrategy[]
  /** whose turn it is among the seed programs */
  turn: number
}

/** What a stage needs of the driver's loop. */
export interface RunLoop {
  halted(): boolean
  /** resolves when `cond` holds */
  until(cond: () => boolean): Promise<void>
  /** what the loop plans requests for ('idle': nothing) */
  setMode(mode: Mode): void
  progress(msg: string): void
  /** ends the run as failed once what is in flight is done */
  fail(reason: string): void
}

export interface ColdStartDeps extends Pick<DriverDeps, 'db' | 'events' | 'log' | 'hooks'>, RunParts {
  runId: string
  state: RunState
  loop: RunLoop
  /** aborted when the run ends, stops or pauses: the cold start's retrieval is cancelled with it */
  retrievals: AbortSignal
}

/** cold-start requests per wanted candidate at most: answers rejected before evaluation (duplicates,
 * no program in them) cost a model call each but no budget, so this bounds what a cold start spends */
const ATTEMPTS_PER_TARGET = 5

const paren = (text: string) => (text ? ` (${text})` : '')
/** the status reason of a run whose cold start placed its programs on islands */
const COLD_START_DONE = 'the cold start placed its programs on islands'

export class ColdStart {
  /** the pool while the cold start runs */
  private cold: ColdStartPool | null = null

  constructor(private readonly d: ColdStartDeps) {}

  /** whether a request's answer joins the cold start's pool */
  takes(req: PlannedRequest): boolean {
    return this.cold !== null && (req.kind === 'cold-start' || req.island < 0)
  }

  /** whether an answer for the pool is a near duplicate of one of its members */
  nearDuplicate(code: string, sketch: CodeSketch): boolean {
    const c = this.cold!
    const { config, language } = this.d.state
    const near = c.sketches.findIndex((sk) => similarity(sk, sketch) >= config.noveltyThreshold)
    return near >= 0 && nearDuplicate(code, c.members[near]?.code ?? '', language, config.noveltyThreshold)
  }

  /** an answer for the pool passed the screening */
  screened(req: PlannedRequest, sketch: CodeSketch) {
    this.cold!.sketches.push(sketch)
    if (req.kind === 'cold-start') this.cold!.made++
  }

  /** an answer for the pool is stored as a candidate */
  stored(id: string, code: string) {
    this.cold!.members.push({ id, code })
  }

  async finished() {
    const { db, runId } = this.d
    const n = await db.prisma.candidate.count({
      where: { runId, OR: COLD_POOL, status: { in: ['queued', 'running'] } },
    })
    const assigned = await db.prisma.candidate.count({
      where: { runId, origin: { in: ['seed', 'cold-start'] }, island: { gte: 0 } },
    })
    return n === 0 && assigned > 0
  }

  /** whether the cold start wants another generator request now */
  private wanted(): boolean {
    const c = this.cold!
    const d = this.d
    if (c.attempts >= Math.max(c.target, 1) * ATTEMPTS_PER_TARGET) return false
    if (c.made + d.pool.size < c.target) return true
    // a problem with no program yet: one more first program at a time, until one is valid
    return (
      c.scratch &&
      !this.valid() &&
      d.pool.size === 0 &&
      d.dispatcher.size === 0 &&
      d.ingestor.backlog === 0 &&
      d.repairs.size === 0
    )
  }

  private valid() {
    return this.cold!.members.some((m) => (this.d.state.scores.get(m.id) ?? null) !== null)
  }

  next(): PlannedRequest | null {
    const c = this.cold!
    if (!this.wanted()) return null
    const s = this.d.state
    let from: { id: string; code: string } | null
    const valid = c.members.filter((m) => (s.scores.get(m.id) ?? null) !== null)
    if (c.scratch && !valid.length) from = null
    else if (c.attempts % 3 === 0 && c.members.length > 1)
      from = (valid.length ? valid : c.members)[s.rng.int(valid.length || c.members.length)]!
    else {
      // the seed programs in turn (the valid ones), or, with none, the first valid program written
      const bases = c.members.slice(0, c.seeds).filter((m) => (s.scores.get(m.id) ?? null) !== null)
      const pool = bases.length ? bases : valid.length ? valid.slice(0, 1) : c.members.slice(0, Math.max(1, c.seeds))
      from = pool[c.turn++ % pool.length]!
    }
    const req = this.d.planner.coldStart(c.index, from, this.d.pool.saturated(), c.strategies)
    if (!req) return null
    c.attempts++
    c.index++
    return req
  }

  private nextBlocked() {
    return !this.wanted() || this.d.budget.blocked() !== null
  }

  async run() {
    const d = this.d
    const { db, runId, state: s, loop } = d
    const language = s.language
    // 1. the seed programs: the problem's own and the run's (a fork's candidate, uploads, knowledge
    // documents tagged `seed`), each evaluated once (a resumed run skips those it stored already)
    const starts = startPrograms(
      s.problem,
      s.config,
      language,
      Math.max(1, s.config.budget.maxEvals - d.budget.evaluations - 1),
    )
    const todo = starts.filter((p) => !s.hashes.has(p.prepared.codeHash))
    for (const p of todo) {
      const id = randomUUID()
      d.budget.hold()
      s.hashes.add(p.prepared.codeHash)
      await d.store.insertCandidate({
        id,
        seq: s.takeSeq(),
        island: -1,
        parentIds: [],
        origin: 'seed',
        operator: 'seed',
        operatorParams: { description: p.description, seedIndex: p.index },
        code: p.code,
        codeHash: p.prepared.codeHash,
        tokensIn: 0,
        tokensOut: 0,
        costUsd: 0,
      })
      d.dispatcher.submit({
        id,
        island: -1,
        origin: 'seed',
        parentIds: [],
        parentScore: null,
        arm: null,
        cost: 0,
        attempt: 0,
        code: p.code,
        prepared: p.prepared,
        operatorParams: { description: p.description, seedIndex: p.index },
      })
    }
    if (todo.length)
      loop.progress(`cold start: evaluating ${todo.length === 1 ? 'the seed program' : `${todo.length} seed programs`}`)
    await loop.until(() => loop.halted() || (d.dispatcher.size === 0 && d.ingestor.backlog === 0))
    if (loop.halted()) return
    const seeds = await db.prisma.candidate.findMany({
      where: { runId, origin: 'seed' },
      select: { id: true, code: true },
      orderBy: { seq: 'asc' },
    })
    const scratch = seeds.length === 0
    if (scratch && s.config.mutator !== 'llm') {
      loop.fail(
        'the problem has no seed program and the run has no model to write one (use an LLM run, or give seed programs)',
      )
      return
    }
    const target = Math.max(scratch ? 1 : 0, Math.min(coldStartSize(s.config), s.config.budget.maxEvals - seeds.length))
    // 2. differently configured generators, from the seeds and from each other, all at once (with
    // no seed, first programs written from the description)
    const existing = await db.prisma.candidate.findMany({
      where: { runId, origin: 'cold-start', status: { not: 'rejected' } },
      select: { id: true, code: true },
      orderBy: { seq: 'asc' },
    })
    const members = [...seeds, ...existing]
    const strategies = s.config.mutator === 'llm' ? await this.strategies() : []
    this.cold = {
      target,
      made: existing.length,
      attempts: 0,
      index: existing.length,
      members,
      sketches: members.map((m) => analyzeCode(m.code, language).sketch),
      seeds: seeds.length,
      scratch,
      strategies,
      turn: 0,
    }
    if (this.cold.made < target) {
      const how = s.config.mutator === 'llm' ? `${strategies.length} strategies × models` : 'operator variants'
      loop.progress(
        `cold start: ${target} candidates from ${how}${scratch ? ', written from the description (the problem has no seed program)' : seeds.length > 1 ? ` over ${seeds.length} seed programs` : ''}`,
      )
    }
    loop.setMode('cold-start')
    await loop.until(
      () =>
        loop.halted() ||
        (d.pool.size === 0 &&
          d.dispatcher.size === 0 &&
          d.ingestor.backlog === 0 &&
          this.nextBlocked() &&
          (d.repairs.size === 0 || d.budget.blocked() !== null)),
    )
    loop.setMode('idle')
    await d.store.drain()
    if (loop.halted()) return
    if (scratch) await this.reportFirstValid()
    await this.intoIslands()
    this.cold = null
    await d.metrics.write(true)
  }

  /** 3. the evaluated pool clustered into islands, each in its own niche: the run evolves from here */
  private async intoIslands() {
    const { db, runId, state: s } = this.d
    const evaluated = await db.prisma.candidate.findMany({
      where: { runId, OR: COLD_POOL, status: 'evaluated' },
      select: { id: true, code: true, score: true, features: true, evalIndex: true },
      orderBy: { evalIndex: 'asc' },
    })
    const K = s.config.islands
    const groups = assignColdStart(
      evaluated.map((c) => ({
        id: c.id,
        score: c.score,
        features: (c.features ?? {}) as Record<string, number>,
        code: c.code,
      })),
      K,
      { direction: s.direction, features: s.problem.spec.features, language: s.language, seed: `${s.config.seed}` },
    )
    const primary = new Map<string, number>()
    const replicas: Array<{ from: number; to: number; id: string }> = []
    groups.forEach((ids, island) => {
      for (const id of ids) {
        if (!primary.has(id)) primary.set(id, island)
        else replicas.push({ from: primary.get(id)!, to: island, id })
      }
    })
    // invalid cold-start candidates stay out of the populations but keep an island for the record
    evaluated.forEach((c, i) => {
      !primary.has(c.id) && primary.set(c.id, i % K)
    })
    const statusEvent = await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(
        `UPDATE candidates c SET island = a.island FROM jsonb_to_recordset($1::jsonb) AS a(id text, island int) WHERE c.id = a.id`,
        JSON.stringify([...primary].map(([id, island]) => ({ id, island }))),
      )
      if (replicas.length) {
        await tx.migration.createMany({
          data: replicas.map((r) => ({
            runId,
            fromIsland: r.from,
            toIsland: r.to,
            candidateId: r.id,
            atEval: evaluated.length,
          })),
          skipDuplicates: true,
        })
      }
      await tx.run.update({ where: { id: runId }, data: { status: 'evolving', statusReason: null } })
      // in the run's numbered log, as every other change of status: the activity feed reads it back
      return tx.runEvent.create({
        data: { runId, type: 'status', payload: { status: 'evolving', reason: COLD_START_DONE } },
        select: { id: true },
      })
    })
    s.status = 'evolving'
    for (const c of evaluated) {
      await this.d.ingestor.intoEvolution(
        {
          id: c.id,
          island: primary.get(c.id)!,
          code: c.code,
          parentIds: [],
          parentScore: null,
          arm: null,
          cost: 0,
          origin: 'cold-start',
        },
        c.score,
        (c.features ?? {}) as Record<string, number>,
      )
    }
    if (replicas.length) this.d.ingestor.applyMigration(replicas.map((r) => ({ ...r, codeHash: '', score: 0 })))
    this.d.events.publish({
      id: String(statusEvent.id),
      runId,
      type: 'status',
      payload: { status: 'evolving', reason: COLD_START_DONE },
    })
    // the proposals it turned away, so that "8 candidates" followed by "1 evaluated" is explained
    const [{ n: rejected } = { n: 0 }] = await db.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM candidates WHERE run_id = $1 AND origin = 'cold-start' AND status = 'rejected'",
      [runId],
    )
    this.d.loop.progress(
      `cold start done: ${evaluated.length} evaluated${rejected ? paren(`${rejected} more rejected before evaluation; ${await this.topRejection()}`) : ''}, islands of ${s.evo.islands.map((i) => i.size).join('/')} members`,
    )
  }

  /** The cold start's strategies: drawn for this problem, with passages of its knowledge base. */
  private async strategies(): Promise<ColdStrategy[]> {
    const { state: s, hooks, log } = this.d
    const text = [
      s.problem.name,
      s.problem.description,
      ...(s.problem.spec.tags ?? []),
      s.problem.spec.family ?? '',
    ].join('\n')
    let passages: Array<{ id: string; title?: string; text: string }> = []
    let retrievalId: string | null = null
    if (hooks?.retrieve) {
      const text = `${s.problem.name}\n${s.problem.description.slice(0, 3000)}`
      let settled = false
      const retrieval = hooks
        .retrieve({
          runId: this.d.runId,
          island: -1,
          problemId: s.problem.id,
          queryText: text,
          topicText: text,
          trigger: 'cold-start',
          signal: this.d.retrievals,
        })
        .catch((e) => {
          // cancelled by a stop: the cold start went on without it and nothing was written
          if (!this.d.retrievals.aborted) log.warn(`cold start: no knowledge passages (${(e as Error).message})`)
          return null
        })
        .finally(() => {
          settled = true
        })
      // a stop does not wait for a slow embedding model: the strategies go without its passages
      const r = await Promise.race([
        retrieval,
        this.d.loop.until(() => settled || this.d.loop.halted()).then(() => null),
      ])
      if (r) (passages = r.chunks.slice(0, 3)), (retrievalId = r.retrievalId)
    }
    return chooseStrategies(text, passages, s.rng.fork('cold-start-strategies'), 8).map((st) => ({
      text: st.text,
      ...(retrievalId && st.id.startsWith('knowledge:')
        ? { retrieval: { retrievalId, chunkIds: [st.id.slice('knowledge:'.length)] } }
        : {}),
    }))
  }

  /** The cold start's most common reason to reject an answer, with how many it covered ('' when none). */
  private async topRejection() {
    // counted from the stored answers, not this process's: a resumed or taken-over cold start had said "5 of 0"
    const [top] = await this.d.db.sql<{ reason: string; n: number; total: number }>(
      `SELECT reject_reason AS reason, count(*)::int AS n,
          (SELECT count(*)::int FROM candidates WHERE run_id = $1 AND origin = 'cold-start') AS total
        FROM candidates
        WHERE run_id = $1 AND origin = 'cold-start' AND status = 'rejected' AND reject_reason IS NOT NULL
        GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
      [this.d.runId],
    )
    return top ? `${top.n} of ${top.total} answers: ${top.reason}` : ''
  }

  /** A problem without a seed program: how many first programs the cold start needed until one was valid. */
  private async reportFirstValid() {
    const { db, runId } = this.d
    const rows = await db.prisma.candidate.findMany({
      where: { runId, OR: COLD_POOL, status: 'evaluated' },
      select: { id: true, valid: true, score: true },
      orderBy: { evalIndex: 'asc' },
    })
    const first = rows.findIndex((r) => r.valid && r.score !== null)
    const payload = {
      seedless: true,
      evaluated: rows.length,
      firstValidAfter: first >= 0 ? first + 1 : null,
      firstValidId: first >= 0 ? rows[first]!.id : null,
    }
    const row = await db.prisma.runEvent.create({
      data: { runId, type: 'cold-start', payload },
      select: { id: true },
    })
    this.d.events.publish({ id: String(row.id), runId, type: 'cold-start', payload })
    this.d.loop.progress(
      first >= 0
        ? `cold start: the first valid program came after ${first + 1} written from the description`
        : rows.length
          ? `cold start: none of the ${rows.length} programs written from the description was valid`
          : `cold start: no answer gave a program to evaluate${paren(await this.topRejection())}`,
    )
  }
}
