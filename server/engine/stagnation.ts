// Per-island stagnation detection: no improvement of the island's best by more than a relative epsilon over
// a window of the island's evaluations. Entering and leaving the stagnant state use different thresholds
// (hysteresis), so a long plateau with tiny gains does not flap between alerts; a plateau that persists
// escalates, and the exploration boost grows with it. An island at the problem's proven optimum is done,
// not stalled: it never enters stagnation, and leaves it on its next evaluation if it was in it.
import { gain, improvesBy, isBetter, isValidScore, type Direction } from './fitness.ts'

/** the relative improvement an island's best must make to count as one (stagnation's default epsilon) */
export const STAGNATION_EPSILON = 1e-3

/** how close (relative) a best must come to a proven optimum to count as having reached it */
export const OPTIMUM_TOLERANCE = 1e-9

export type StagnationSuggestion = 'raise-exploration' | 'retrieve-knowledge' | 'migrate-in' | 'restart-from-elites'

export interface StagnationEvent {
  island: number
  kind: 'stagnant' | 'escalated' | 'recovered'
  /** island evaluation count at the last improvement (the plateau started after it) */
  since: number
  /** island evaluation count now */
  at: number
  /** escalation level: 1 on entering, +1 per further window without recovery; 0 when recovered */
  level: number
  best: number | null
  /** what the orchestrator should do, most important first */
  suggestions: StagnationSuggestion[]
  /** exploration boost now in force for the island */
  boost: number
  message: string
}

export interface StagnationOptions {
  direction: Direction
  /** island evaluations without improvement before the island is stagnant (default 50) */
  window?: number
  /** relative improvement that counts (default 1e-3) */
  epsilon?: number
  /** relative improvement over the plateau's best that ends a stagnation (default 2 × epsilon) */
  exitEpsilon?: number
  /** exploration boost per escalation level (default 0.15) and its cap (default 0.6) */
  boostPerLevel?: number
  maxBoost?: number
  /**
   * the problem's proven optimum (`reference.optimal`): no program can beat it, so an island whose best
   * reached it has nothing left to find and alarming anyone about its plateau would be false
   */
  optimum?: number
}

export interface IslandStagnation {
  evaluations: number
  best: number | null
  lastImprovementAt: number
  stagnant: boolean
  level: number
  /** best when the current stagnation began */
  plateauBest: number | null
  /** evaluation count at the last escalation (or entry) */
  lastEscalationAt: number
  /** evaluation count of the last improvement before the current stagnation (absent in older snapshots) */
  plateauSince?: number
  episodes: number
}

export interface StagnationSnapshot {
  islands: Record<string, IslandStagnation>
}

const SUGGESTIONS: StagnationSuggestion[][] = [
  [],
  ['raise-exploration', 'retrieve-knowledge'],
  ['migrate-in', 'retrieve-knowledge', 'raise-exploration'],
  ['restart-from-elites', 'retrieve-knowledge', 'raise-exploration'],
]

export class StagnationDetector {
  private readonly o: Required<Omit<StagnationOptions, 'optimum'>> & { optimum: number | null }
  private readonly islands = new Map<number, IslandStagnation>()

  constructor(opts: StagnationOptions) {
    const epsilon = opts.epsilon ?? STAGNATION_EPSILON
    this.o = {
      direction: opts.direction,
      window: Math.max(1, opts.window ?? 50),
      epsilon,
      exitEpsilon: opts.exitEpsilon ?? 2 * epsilon,
      boostPerLevel: opts.boostPerLevel ?? 0.15,
      maxBoost: opts.maxBoost ?? 0.6,
      optimum: isValidScore(opts.optimum) ? opts.optimum : null,
    }
  }

  /** whether `best` has reached the proven optimum: equal within a relative tolerance, or beyond it */
  atOptimum(best: number | null | undefined): boolean {
    const opt = this.o.optimum
    if (opt === null || !isValidScore(best)) return false
    return gain(opt, best, this.o.direction) <= Math.max(OPTIMUM_TOLERANCE * Math.abs(opt), 1e-12)
  }

  state(island: number): IslandStagnation {
    let s = this.islands.get(island)
    if (!s) {
      s = {
        evaluations: 0,
        best: null,
        lastImprovementAt: 0,
        stagnant: false,
        level: 0,
        plateauBest: null,
        lastEscalationAt: 0,
        episodes: 0,
      }
      this.islands.set(island, s)
    }
    return s
  }

  /** the exploration boost to add to the island's exploration knob now */
  boost(island: number): number {
    const s = this.islands.get(island)
    return s?.stagnant && !this.atOptimum(s.best) ? Math.min(this.o.maxBoost, this.o.boostPerLevel * s.level) : 0
  }

  isStagnant(island: number): boolean {
    return this.islands.get(island)?.stagnant ?? false
  }

  /**
   * Record one finished evaluation on an island (valid or not: failures count toward the window too) and
   * return the events it triggers (usually none).
   */
  observe(island: number, score: number | null | undefined): StagnationEvent[] {
    const s = this.state(island)
    s.evaluations++
    const events: StagnationEvent[] = []
    if (isValidScore(score)) {
      if (s.best === null || improvesBy(score, s.best, this.o.direction, this.o.epsilon))
        s.lastImprovementAt = s.evaluations
      if (isBetter(score, s.best, this.o.direction)) s.best = score
      if (s.stagnant && improvesBy(s.best, s.plateauBest, this.o.direction, this.o.exitEpsilon)) {
        s.stagnant = false
        s.level = 0
        events.push(this.event(island, s, 'recovered'))
      }
    }
    if (this.atOptimum(s.best)) {
      // outside the score check: an island restored stagnant at the optimum leaves on any evaluation
      if (s.stagnant) {
        s.stagnant = false
        s.level = 0
        events.push(this.event(island, s, 'recovered'))
      }
      return events
    }
    if (!s.stagnant && s.evaluations - s.lastImprovementAt >= this.o.window) {
      s.stagnant = true
      s.level = 1
      s.plateauBest = s.best
      s.plateauSince = s.lastImprovementAt
      s.lastEscalationAt = s.evaluations
      s.episodes++
      events.push(this.event(island, s, 'stagnant'))
    } else if (s.stagnant && s.evaluations - s.lastEscalationAt >= this.o.window) {
      s.level++
      s.lastEscalationAt = s.evaluations
      events.push(this.event(island, s, 'escalated'))
    }
    return events
  }

  private event(island: number, s: IslandStagnation, kind: StagnationEvent['kind']): StagnationEvent {
    const suggestions =
      kind === 'recovered' ? [] : (SUGGESTIONS[Math.min(s.level, SUGGESTIONS.length - 1)] as StagnationSuggestion[])
    const boost = this.boost(island)
    // a stalled island may gain a little without leaving its plateau (less than exitEpsilon over it):
    // its escalations count from the plateau's start, against what would end it
    const message =
      kind === 'recovered' && this.atOptimum(s.best)
        ? `island ${island} reached the proven optimum ${this.o.optimum} (best ${s.best}) and is no longer stagnant`
        : kind === 'recovered'
          ? `island ${island} improved to ${s.best} and is no longer stagnant`
          : kind === 'stagnant'
            ? `island ${island}: no improvement above ${this.o.epsilon} (relative) for ${s.evaluations - s.lastImprovementAt} evaluations (best ${s.best}); level ${s.level}`
            : `island ${island}: still no improvement above ${this.o.exitEpsilon} (relative) over its plateau's best ${s.plateauBest}, ${s.evaluations - (s.plateauSince ?? s.lastImprovementAt)} evaluations in (best ${s.best}); level ${s.level}`
    return {
      island,
      kind,
      since: s.lastImprovementAt,
      at: s.evaluations,
      level: s.level,
      best: s.best,
      suggestions,
      boost,
      message,
    }
  }

  toJSON(): StagnationSnapshot {
    return { islands: Object.fromEntries([...this.islands].map(([k, v]) => [String(k), { ...v }])) }
  }

  static fromJSON(opts: StagnationOptions, snap: StagnationSnapshot): StagnationDetector {
    const d = new StagnationDetector(opts)
    for (const [k, v] of Object.entries(snap.islands)) d.islands.set(Number(k), { ...v })
    return d
  }
}
