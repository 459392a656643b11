// A cost-aware bandit over mutation sources (models, offline operators): which one gives the most fitness
// gain per unit of cost. Rewards are the child's normalized gain over its parent in [0, 1]; costs are
// tokens × price (offline operators cost ≈ 0, so a floor keeps the ratio finite). Config weights enter as
// prior pseudo-observations, so a preferred model leads at first and the data take over.
import type { Rng } from './rng.ts'

export type BanditPolicy = 'thompson' | 'ucb1'

export interface ArmConfig {
  id: string
  /** preference from the run config (> 0; default 1): the prior */
  weight?: number
  /** expected cost of one call before any is observed (default: the floor) */
  expectedCost?: number
}

export interface BanditOptions {
  policy?: BanditPolicy
  /** costs below this count as this (default 1e-4, i.e. a hundredth of a cent when costs are dollars) */
  costFloor?: number
  /** score = reward / cost^costExponent; 1 = pure gain per cost, 0 = ignore cost (default 1) */
  costExponent?: number
  /** prior pseudo-observations per arm (default 4) */
  priorStrength?: number
  /** prior mean reward of the highest-weight arm (default 0.3) */
  priorMean?: number
  /** per-update forgetting factor in (0, 1]; < 1 tracks a non-stationary run (default 1) */
  decay?: number
  /** UCB exploration constant (default 0.5) */
  ucbC?: number
}

interface ArmState {
  id: string
  /** Beta posterior over the mean reward (fractional successes/failures) */
  alpha: number
  beta: number
  pulls: number
  /** exponentially-forgotten cost statistics */
  costSum: number
  costN: number
  rewardSum: number
}

export interface ArmStats {
  id: string
  pulls: number
  meanReward: number
  meanCost: number
  /** posterior mean reward per cost^exponent: what the bandit believes now */
  value: number
}

export interface BanditSnapshot {
  arms: ArmState[]
}

/**
 * Map a relative improvement (fitness.ts `improvement`) to a reward in [0, 1): 0 for no gain or a loss,
 * saturating for large gains (`scale` is the gain worth ≈ 0.63). Invalid children give 0.
 */
export function rewardFromImprovement(gain: number | null | undefined, scale = 0.01): number {
  if (typeof gain !== 'number' || !(gain > 0)) return 0
  return 1 - Math.exp(-gain / scale)
}

/** Marsaglia–Tsang gamma sampler (shape ≥ 1 directly, < 1 via boosting) */
function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.max(rng.next(), 1e-300) ** (1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = rng.normal()
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = rng.next()
    if (u < 1 - 0.0331 * x * x * x * x) return d * v
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a)
  const y = sampleGamma(rng, b)
  return x / (x + y)
}

export class CostAwareBandit {
  private readonly arms: ArmState[]
  private readonly o: Required<BanditOptions>

  constructor(arms: readonly ArmConfig[], opts: BanditOptions = {}) {
    if (arms.length === 0) throw new RangeError('CostAwareBandit needs at least one arm')
    this.o = {
      policy: opts.policy ?? 'thompson',
      costFloor: opts.costFloor ?? 1e-4,
      costExponent: opts.costExponent ?? 1,
      priorStrength: opts.priorStrength ?? 4,
      priorMean: opts.priorMean ?? 0.3,
      decay: opts.decay ?? 1,
      ucbC: opts.ucbC ?? 0.5,
    }
    const maxW = Math.max(...arms.map((a) => (a.weight !== undefined && a.weight > 0 ? a.weight : 1)))
    this.arms = arms.map((a) => {
      const w = (a.weight !== undefined && a.weight > 0 ? a.weight : 1) / maxW
      const mu = Math.min(0.95, Math.max(0.01, this.o.priorMean * w))
      const n0 = this.o.priorStrength
      const c0 = Math.max(a.expectedCost ?? this.o.costFloor, this.o.costFloor)
      return { id: a.id, alpha: 1 + n0 * mu, beta: 1 + n0 * (1 - mu), pulls: 0, costSum: c0, costN: 1, rewardSum: 0 }
    })
  }

  get armIds(): string[] {
    return this.arms.map((a) => a.id)
  }

  private cost(a: ArmState): number {
    return Math.max(this.o.costFloor, a.costSum / a.costN)
  }

  private costFactor(a: ArmState): number {
    return this.cost(a) ** this.o.costExponent
  }

  /** pick an arm; `allowed` restricts the choice (e.g. models over budget removed) */
  choose(rng: Rng, allowed?: ReadonlySet<string> | readonly string[]): string {
    const ok = allowed ? new Set(allowed) : null
    const cands = this.arms.filter((a) => !ok || ok.has(a.id))
    if (cands.length === 0) throw new RangeError('CostAwareBandit.choose: no allowed arm')
    let best = cands[0] as ArmState
    let bestScore = -Infinity
    const total = cands.reduce((s, a) => s + a.alpha + a.beta - 2, 0)
    for (const a of cands) {
      let r: number
      if (this.o.policy === 'thompson') r = sampleBeta(rng, a.alpha, a.beta)
      else {
        const n = a.alpha + a.beta - 2
        const mean = a.alpha / (a.alpha + a.beta)
        r = mean + this.o.ucbC * Math.sqrt((2 * Math.log(Math.max(2, total))) / Math.max(n, 1e-9))
        // tiny random tie-break keeps equal arms from always resolving to the first
        r += rng.next() * 1e-12
      }
      const score = r / this.costFactor(a)
      if (score > bestScore) {
        bestScore = score
        best = a
      }
    }
    return best.id
  }

  /** record an outcome: reward in [0, 1] (see rewardFromImprovement) and the call's cost (≥ 0) */
  update(armId: string, reward: number, cost: number): void {
    const a = this.arms.find((x) => x.id === armId)
    if (!a) return
    const r = Math.min(1, Math.max(0, Number.isFinite(reward) ? reward : 0))
    const g = this.o.decay
    if (g < 1) {
      for (const x of this.arms) {
        x.alpha = 1 + (x.alpha - 1) * g
        x.beta = 1 + (x.beta - 1) * g
        x.costSum *= g
        x.costN *= g
      }
    }
    a.alpha += r
    a.beta += 1 - r
    a.pulls++
    a.rewardSum += r
    a.costSum += Math.max(0, Number.isFinite(cost) ? cost : 0)
    a.costN += 1
  }

  stats(): ArmStats[] {
    return this.arms.map((a) => {
      const mean = a.alpha / (a.alpha + a.beta)
      return {
        id: a.id,
        pulls: a.pulls,
        meanReward: a.pulls > 0 ? a.rewardSum / a.pulls : 0,
        meanCost: this.cost(a),
        value: mean / this.costFactor(a),
      }
    })
  }

  toJSON(): BanditSnapshot {
    return { arms: this.arms.map((a) => ({ ...a })) }
  }

  static fromJSON(arms: readonly ArmConfig[], snap: BanditSnapshot, opts: BanditOptions = {}): CostAwareBandit {
    const b = new CostAwareBandit(arms, opts)
    for (const s of snap.arms) {
      const a = b.arms.find((x) => x.id === s.id)
      if (a) Object.assign(a, s)
    }
    return b
  }
}
