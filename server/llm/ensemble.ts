// An ensemble of models with weights and per-model statistics. Choosing a member is the engine's
// job (its cost-aware bandit in server/engine/bandit.ts); the ensemble exposes the members, their
// weights (priors) and the stats the bandit learns from, and records every call made through it.
import { modelId, type ModelConfig, type ModelConfigInput } from '../../client-safe/model-config.ts'
import {
  LlmClient,
  type CompleteOptions,
  type LlmClientOptions,
  type LlmCompletion,
  type LlmResult,
  type Prompt,
} from './client.ts'
import type { LlmError, LlmErrorKind } from './errors.ts'

export interface ModelStats {
  calls: number
  ok: number
  failed: number
  errorsByKind: Partial<Record<LlmErrorKind, number>>
  tokensIn: number
  tokensOut: number
  costUsd: number
  /** sum of latencies of all calls (ms) */
  latencyMsTotal: number
  /** attempts beyond the first, over all calls */
  retries: number
  /** engine-reported rewards (e.g. fitness improvements), for the bandit */
  rewards: number
  rewardSum: number
  lastError?: { kind: LlmErrorKind; message: string; at: number }
}

export interface EnsembleMember {
  /** unique within the ensemble: the config's label or `provider:model` (suffixed #2, #3... on clashes) */
  id: string
  config: ModelConfig
  weight: number
  client: LlmClient
  stats: ModelStats
}

export type EnsembleEvent =
  | { type: 'call'; memberId: string; ok: true; completion: LlmCompletion }
  | { type: 'call'; memberId: string; ok: false; error: LlmError }
  | { type: 'reward'; memberId: string; reward: number }

export type EnsembleListener = (event: EnsembleEvent) => void

function emptyStats(): ModelStats {
  return {
    calls: 0,
    ok: 0,
    failed: 0,
    errorsByKind: {},
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    latencyMsTotal: 0,
    retries: 0,
    rewards: 0,
    rewardSum: 0,
  }
}

export class Ensemble {
  readonly members: readonly EnsembleMember[]
  readonly #byId = new Map<string, EnsembleMember>()
  readonly #listeners = new Set<EnsembleListener>()

  constructor(configs: readonly (ModelConfigInput | ModelConfig)[], options: LlmClientOptions = {}) {
    if (configs.length === 0) throw new Error('an ensemble needs at least one model')
    const members: EnsembleMember[] = []
    for (const c of configs) {
      const client = new LlmClient(c, options)
      let id = modelId(client.config)
      for (let n = 2; this.#byId.has(id); n++) id = `${modelId(client.config)}#${n}`
      const member: EnsembleMember = {
        id,
        config: client.config,
        weight: client.config.weight,
        client,
        stats: emptyStats(),
      }
      members.push(member)
      this.#byId.set(id, member)
    }
    this.members = members
  }

  get ids(): string[] {
    return this.members.map((m) => m.id)
  }

  /** Weights in member order (priors for the bandit). */
  weights(): number[] {
    return this.members.map((m) => m.weight)
  }

  /** Weights normalised to sum 1 (uniform when all are 0). */
  normalizedWeights(): number[] {
    const w = this.weights()
    const sum = w.reduce((a, b) => a + b, 0)
    return sum > 0 ? w.map((x) => x / sum) : w.map(() => 1 / w.length)
  }

  get(id: string): EnsembleMember {
    const m = this.#byId.get(id)
    if (!m) throw new Error(`no model "${id}" in the ensemble (have: ${this.ids.join(', ')})`)
    return m
  }

  has(id: string): boolean {
    return this.#byId.has(id)
  }

  setWeight(id: string, weight: number): void {
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new Error(`weight must be a finite number ≥ 0, got ${weight}`)
    this.get(id).weight = weight
  }

  /** Subscribes to call and reward events; returns the unsubscribe function. */
  subscribe(listener: EnsembleListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #emit(event: EnsembleEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event)
      } catch {
        // a listener's failure must not break a call
      }
    }
  }

  /** Records the outcome of a call made outside the ensemble (e.g. replayed from the database). */
  recordCall(id: string, outcome: LlmResult): void {
    const m = this.get(id)
    const s = m.stats
    s.calls++
    if (outcome.ok) {
      s.ok++
      s.tokensIn += outcome.tokensIn
      s.tokensOut += outcome.tokensOut
      s.costUsd += outcome.costUsd
      s.latencyMsTotal += outcome.latencyMs
      s.retries += Math.max(0, outcome.attempts - 1)
      const { ok: _ok, ...completion } = outcome
      this.#emit({ type: 'call', memberId: id, ok: true, completion })
    } else {
      const e = outcome.error
      s.failed++
      s.errorsByKind[e.kind] = (s.errorsByKind[e.kind] ?? 0) + 1
      s.tokensIn += e.tokensIn
      s.tokensOut += e.tokensOut
      s.costUsd += e.costUsd
      s.latencyMsTotal += e.latencyMs
      s.retries += Math.max(0, e.attempts - 1)
      s.lastError = { kind: e.kind, message: e.message, at: Date.now() }
      this.#emit({ type: 'call', memberId: id, ok: false, error: e })
    }
  }

  /** Lets the engine credit a member with a reward (e.g. the fitness gain of its candidate). */
  recordReward(id: string, reward: number): void {
    const s = this.get(id).stats
    s.rewards++
    s.rewardSum += reward
    this.#emit({ type: 'reward', memberId: id, reward })
  }

  /** Calls member `id` and records the outcome. Never rejects. */
  async tryComplete(
    id: string,
    prompt: Prompt,
    options: CompleteOptions = {},
  ): Promise<LlmResult & { memberId: string }> {
    const result = await this.get(id).client.tryComplete(prompt, options)
    this.recordCall(id, result)
    return { ...result, memberId: id }
  }

  /** Calls member `id` and records the outcome; rejects with the LlmError on failure. */
  async complete(
    id: string,
    prompt: Prompt,
    options: CompleteOptions = {},
  ): Promise<LlmCompletion & { memberId: string }> {
    const result = await this.tryComplete(id, prompt, options)
    if (!result.ok) throw result.error
    const { ok: _ok, ...completion } = result
    return completion
  }

  /** Sums over all members. */
  totals(): { calls: number; ok: number; failed: number; tokensIn: number; tokensOut: number; costUsd: number } {
    const t = { calls: 0, ok: 0, failed: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 }
    for (const { stats: s } of this.members) {
      t.calls += s.calls
      t.ok += s.ok
      t.failed += s.failed
      t.tokensIn += s.tokensIn
      t.tokensOut += s.tokensOut
      t.costUsd += s.costUsd
    }
    t.costUsd = Math.round(t.costUsd * 1e9) / 1e9
    return t
  }

  /** JSON-safe snapshot: ids, configs (no keys), weights and stats. */
  snapshot(): { id: string; config: ModelConfig; weight: number; stats: ModelStats }[] {
    return this.members.map((m) => ({ id: m.id, config: m.config, weight: m.weight, stats: structuredClone(m.stats) }))
  }
}
