// The knobs of a run and the interventions applied to it: pins, bans, ratings, mutation weights,
// exploration, an expert's edit, knowledge put into an island's prompts, an escalation. Commands
// arrive through the control channel (inbox.ts); each application is idempotent, since a failover
// may apply a command again.
import { randomUUID } from 'node:crypto'
import { CostAwareBandit } from '../engine/bandit.ts'
import type { EscalationAction } from '../engine/escalations.ts'
import { analyzeCode } from '../engine/novelty.ts'
import { PreconditionError } from '../errors.ts'
import type { RunConfig } from '../../client-safe/run-config.ts'
import type { InFlight } from './dispatcher.ts'
import type { DriverDeps } from './driver.ts'
import { escalate, type EscalationOutcome } from './escalations.ts'
import type { Applied, PendingCommand } from './inbox.ts'
import type { RunParts } from './load.ts'
import { promptTitle } from '../knowledge/rag.ts'
import { replaceBannedBest } from './service.ts'
import { twinReason } from './twin.ts'
import type { RunState } from './state.ts'

export interface KnobsDeps extends Pick<DriverDeps, 'db' | 'events' | 'log' | 'hooks'> {
  runId: string
  state: RunState
  /** the pipeline's parts, once the run is loaded */
  parts(): Pick<RunParts, 'budget' | 'store' | 'dispatcher' | 'pool'> | null
  pause(reason?: string): void
  stop(reason: string): void
  progress(msg: string): void
  /** aborted when the run ends, stops or pauses: its retrievals in flight are cancelled */
  retrievals: AbortSignal
}

/** An expert's retrieval the run's end cancelled: refused (the command says so), not failed. */
const CANCELLED_RETRIEVAL =
  'the run ended, stopped or paused before the knowledge retrieval finished; ask again once the run is running'

export class RunKnobs {
  constructor(private readonly d: KnobsDeps) {}

  setExploration(value: number, island?: number) {
    this.d.state.evo?.setExploration(value, island)
  }

  setPinned(id: string, pinned: boolean) {
    this.d.state.evo?.setPinned(id, pinned)
  }

  ban(id: string) {
    this.d.state.evo?.ban(id)
    this.d.state.banned.add(id)
  }

  /** An expert's rating (-1, 0, 1): a bounded bonus or penalty in parent selection (config.ratingWeight). */
  setRating(id: string, rating: -1 | 0 | 1) {
    this.d.state.evo?.setRating(id, rating)
  }

  /**
   * Mid-run change of the mutation weights (the models of an LLM run, the offline operators of a
   * local run). The bandit gets new priors and keeps what it observed; an arm at weight 0 is not
   * chosen any more. The caller persists the config (run.config) so a resume sees the same weights.
   */
  setMutationWeights(input: { models?: number[]; localOperators?: RunConfig['localOperators'] }) {
    const s = this.d.state
    if (!s.bandit) throw new Error('the run has not started yet')
    const config: RunConfig = {
      ...s.config,
      localOperators: input.localOperators ?? s.config.localOperators,
      models: s.config.models.map((m, i) => ({ ...m, weight: input.models?.[i] ?? m.weight })),
    }
    const arms = s.armsFor(config)
    if (!arms.some((a) => a.weight > 0)) throw new Error('at least one model or operator needs a weight above 0')
    const prior = new CostAwareBandit(arms, s.banditOptions()).toJSON()
    const seen = s.bandit.toJSON()
    // successes and failures observed so far are added onto the new prior (the bandit runs without decay)
    const merged = prior.arms.map((p) => {
      const o = seen.arms.find((a) => a.id === p.id)
      return o ? { ...o, alpha: p.alpha + o.rewardSum, beta: p.beta + o.pulls - o.rewardSum } : p
    })
    s.bandit = CostAwareBandit.fromJSON(arms, { arms: merged }, s.banditOptions())
    s.config = config
  }

  /** What the console shows of the run's knobs and pipeline. */
  controlState() {
    const s = this.d.state
    const p = this.d.parts()
    const snap = s.evo?.snapshot()
    const weights = new Map(s.bandit ? s.armsFor(s.config).map((a) => [a.id, a.weight]) : [])
    return {
      exploration: snap?.exploration ?? s.config?.exploration ?? null,
      islandExploration: snap
        ? Object.fromEntries(Object.entries(snap.islandExploration).map(([k, v]) => [Number(k), v]))
        : {},
      effectiveExploration: s.evo ? s.evo.islands.map((_, i) => s.evo.effectiveExploration(i)) : [],
      arms: s.bandit ? s.bandit.stats().map((a) => ({ ...a, weight: weights.get(a.id) ?? 1 })) : [],
      pipeline: p
        ? {
            requests: p.pool.size,
            limit: p.pool.limit.current,
            maxRequests: p.pool.limit.max,
            evaluating: p.dispatcher.size,
            waiting: p.dispatcher.waiting(),
            capacity: p.dispatcher.capacity(),
          }
        : null,
    }
  }

  /** The islands whose population holds this candidate now (empty when evicted, banned or not yet evaluated). */
  populationOf(id: string): number[] {
    const evo = this.d.state.evo
    if (!evo) return []
    return evo.islands.flatMap((isl, i) => (isl.has(id) ? [i] : []))
  }

  /** An expert's edit of a candidate: evaluated like any candidate, placed on the chosen island, within the budget. */
  async submitExpertEdit(input: {
    candidateId?: string
    parentId: string
    code: string
    island: number
    authorId: string | null
  }): Promise<string> {
    const s = this.d.state
    const p = this.d.parts()
    // applied again after a failover: the candidate exists already
    if (
      input.candidateId &&
      (await this.d.db.prisma.candidate.findUnique({ where: { id: input.candidateId }, select: { id: true } }))
    )
      return input.candidateId
    if (s.status !== 'evolving')
      throw new PreconditionError('the run is still in its cold start; edits join an island once it evolves')
    const prepared = analyzeCode(input.code, s.language)
    // a program the run has (two experts sending the same edit, an edit that changes nothing) would
    // spend an evaluation on a known result and never join an island
    const twin = await twinReason(this.d.db, this.d.runId, prepared.codeHash, input.parentId)
    if (twin) throw new PreconditionError(twin)
    if (!p?.budget.reserve()) {
      throw new PreconditionError(
        `the run has no evaluation left in its budget (${p?.budget.blocked() ?? 'not started'}); resume it with a larger --max-evals to evaluate an edit`,
      )
    }
    const f: InFlight = {
      id: input.candidateId ?? randomUUID(),
      island: input.island,
      origin: 'expert-edit',
      parentIds: [input.parentId],
      parentScore: s.scores.get(input.parentId) ?? null,
      arm: null,
      cost: 0,
      attempt: 0,
      code: input.code,
      prepared,
      description: 'expert edit',
    }
    s.hashes.add(prepared.codeHash)
    try {
      await p.store.insertCandidate({
        id: f.id,
        seq: s.takeSeq(),
        island: f.island,
        parentIds: f.parentIds,
        origin: f.origin,
        operator: 'expert-edit',
        operatorParams: { description: 'edited by an expert' },
        code: f.code,
        codeHash: prepared.codeHash,
        tokensIn: 0,
        tokensOut: 0,
        costUsd: 0,
        createdById: input.authorId,
      })
    } catch (e) {
      p.budget.release()
      throw e
    }
    p.dispatcher.submit(f)
    return f.id
  }

  /** One intervention from the control channel. Idempotent: a failover may apply it again. */
  async apply(c: PendingCommand): Promise<Applied> {
    const p = c.payload
    const s = this.d.state
    const ok = (result: Record<string, unknown> = {}): Applied => ({ status: 'applied', result })
    switch (c.kind) {
      case 'guidance.reload':
        await s.reloadGuidance()
        return ok({ active: s.guidance.length })
      case 'candidate.pin':
        this.setPinned(String(p.candidateId), !!p.pinned)
        return ok({ islands: this.populationOf(String(p.candidateId)) })
      case 'candidate.ban': {
        const id = String(p.candidateId)
        this.ban(id)
        // children accepted before the ban are stored before it is acknowledged (their rows predate
        // it); answers checked after it are turned away (requester.ts)
        await this.d.parts()?.store.drain()
        // the run's best cannot be a banned program: the best of the others takes its place, here
        // and in the row (a later, better candidate replaces it as usual)
        const s = this.d.state
        if (s.bestCandidateId === id) {
          const next = await replaceBannedBest(this.d.db, this.d.runId, id)
          s.bestCandidateId = next.candidateId
          s.bestScore = next.score
          if (next.candidateId)
            this.d.events.publish({
              runId: this.d.runId,
              type: 'best',
              payload: { id: next.candidateId, score: next.score, island: null },
            })
        }
        return ok()
      }
      case 'candidate.rate':
        this.setRating(String(p.candidateId), Math.sign(Number(p.rating)) as -1 | 0 | 1)
        return ok()
      case 'run.weights':
        this.setMutationWeights({
          models: p.models as number[] | undefined,
          localOperators: p.localOperators as RunConfig['localOperators'] | undefined,
        })
        return ok({ arms: this.controlState().arms.map((a) => ({ id: a.id, weight: a.weight })) })
      case 'run.exploration':
        this.setExploration(Number(p.value), p.island === null || p.island === undefined ? undefined : Number(p.island))
        return ok({ effectiveExploration: this.controlState().effectiveExploration })
      case 'run.pause':
        this.d.pause(p.reason === undefined ? undefined : String(p.reason))
        return ok()
      case 'run.stop':
        this.d.stop(String(p.reason ?? 'stopped by a user'))
        return ok()
      case 'run.retrieve':
        return ok({ chunks: await this.retrieveFor(Number(p.island), 'expert') })
      case 'knowledge.use':
        return ok({
          chunks: await this.useRetrieval(p as { retrievalId: string; island: number | null; chunkIds: string[] }),
        })
      case 'candidate.expert-edit':
        return ok({
          candidateId: await this.submitExpertEdit({
            candidateId: String(p.candidateId),
            parentId: String(p.parentId),
            code: String(p.code),
            island: Number(p.island),
            authorId: (p.authorId as string | null) ?? null,
          }),
        })
      case 'island.escalate': {
        if (s.status !== 'evolving')
          return {
            status: 'refused',
            result: { reason: `the run is in its ${s.status} stage: islands exist once it evolves` },
          }
        const island = Number(p.island)
        if (!Number.isInteger(island) || island < 0 || island >= s.evo.islands.length)
          return { status: 'refused', result: { reason: `no island ${String(p.island)}` } }
        // applied once: a failover that sees the command again finds its recorded outcome
        const [done] = await this.d.db.sql<{ payload: EscalationOutcome }>(
          `SELECT payload FROM run_events WHERE run_id = $1 AND type = 'escalation' AND payload->>'commandId' = $2`,
          [this.d.runId, String(c.id)],
        )
        const o = done
          ? done.payload
          : await escalate(
              { db: this.d.db, events: this.d.events, state: s, progress: (m) => this.d.progress(m) },
              {
                island,
                action: p.action as EscalationAction,
                trigger: 'expert',
                actor: c.actorLabel,
                commandId: String(c.id),
              },
            )
        return o.status === 'done'
          ? ok({ joined: o.joined, removed: o.removedCount })
          : { status: 'refused', result: { reason: o.reason } }
      }
      default:
        return { status: 'refused', result: { reason: `this engine does not know the command "${c.kind}"` } }
    }
  }

  /** An expert's choice of retrieved passages: put into the prompts of one island (or all) for a while. */
  private async useRetrieval(p: { retrievalId: string; island: number | null; chunkIds: string[] }): Promise<number> {
    const s = this.d.state
    const rows = await this.d.db.prisma.knowledgeChunk.findMany({
      where: { id: { in: p.chunkIds } },
      select: { id: true, content: true, heading: true, doc: { select: { title: true, sourcePath: true } } },
    })
    const byId = new Map(rows.map((r) => [r.id, r]))
    const chunks = p.chunkIds.flatMap((id) => {
      const r = byId.get(id)
      return r
        ? [
            {
              id,
              text: r.content,
              title: promptTitle(r.doc.title, r.heading),
              source: r.doc.sourcePath ?? undefined,
            },
          ]
        : []
    })
    if (!chunks.length) return 0
    const islands = p.island === null || p.island === undefined ? s.evo.islands.map((_, i) => i) : [p.island]
    for (const i of islands)
      s.knowledge.set(i, {
        retrievalId: p.retrievalId,
        chunks,
        until: this.d.parts()!.budget.evaluations + s.config.stagnationWindow,
      })
    return chunks.length
  }

  /** Passages of the knowledge base for an island's next prompts (it stalled, or an expert asked). */
  async retrieveFor(island: number, trigger: 'stagnation' | 'expert'): Promise<number> {
    const { state: s, hooks, runId, retrievals: signal } = this.d
    if (!hooks?.retrieve) return 0
    // offline operators read no prompt: a stalled island's passages would be logged and never used
    if (s.config.mutator === 'local' && trigger === 'stagnation') return 0
    if (signal.aborted) return this.cancelled(trigger)
    const best = s.evo.island(island).best()
    const bestCode = best ? await s.codeOf(best.id).catch(() => '') : ''
    // what the evaluator said of the island's best: the words of where it is stuck
    const said = best ? (await s.artifactsOf(best.id).catch(() => undefined))?.feedback : undefined
    const feedback = typeof said === 'string' ? said.slice(0, 1000) : ''
    const topicText = `${s.problem.name}\n${s.problem.description.slice(0, 1500)}`
    const queryText = `${topicText}\n${feedback}\n${bestCode.slice(0, 3000)}`
    try {
      const r = await hooks.retrieve({ runId, island, problemId: s.problem.id, queryText, topicText, trigger, signal })
      // a stall's retrieval runs beside the run (ingest.ts): one that ended meanwhile reads no prompt
      if (trigger === 'stagnation' && s.status !== 'evolving') return 0
      // the window counts from now, when the passages can reach a prompt, not from the stall
      if (r?.chunks.length) {
        s.knowledge.set(island, { ...r, until: this.d.parts()!.budget.evaluations + s.config.stagnationWindow })
        this.d.events.publish({ runId, type: 'retrieval', payload: { island, trigger, chunks: r.chunks.length } })
        const titles = [...new Set(r.chunks.map((c) => c.title))]
        this.d.progress(
          `island ${island}: ${r.chunks.length} passage(s) of the knowledge base for its next prompts (${titles.slice(0, 3).join('; ')}${titles.length > 3 ? `; ${titles.length - 3} more` : ''})`,
        )
      }
      return r?.chunks.length ?? 0
    } catch (e) {
      // cancelled by the run's end, stop or pause: no failure, and nothing was written
      if (signal.aborted) return this.cancelled(trigger)
      // a run that ended meanwhile may have closed what the retrieval wrote to: nothing to tell
      if (trigger === 'stagnation' && s.status !== 'evolving') return 0
      this.d.log.warn(`knowledge retrieval failed for island ${island}: ${(e as Error).message}`)
      return 0
    }
  }

  /** A stall's retrieval ends quietly; an expert is told, by the command's refusal, to ask again. */
  private cancelled(trigger: 'stagnation' | 'expert'): number {
    if (trigger === 'expert') throw new PreconditionError(CANCELLED_RETRIEVAL)
    return 0
  }
}
