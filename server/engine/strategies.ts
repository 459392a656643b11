// The cold start's generator strategies: a pool of approaches, each saying when it fits, from
// which a run draws the ones that suit its problem (by the words of its name, description, tags
// and family), plus one strategy per knowledge-base passage found for the problem ("build on this
// idea"). Pure: the caller supplies the passages and the random source.
import type { Rng } from './rng.ts'

export interface Strategy {
  id: string
  text: string
  /** words of a problem statement that make this strategy a good fit (none: fits any problem) */
  cues: string[]
}

export const STRATEGIES: readonly Strategy[] = [
  {
    id: 'greedy',
    text: 'Greedy: build the solution step by step, always taking the locally best choice, then polish it.',
    cues: [],
  },
  {
    id: 'constructive',
    text: 'Constructive: design a clean constructive algorithm from the structure of the problem.',
    cues: [],
  },
  {
    id: 'local-search',
    text: 'Local search: start from a reasonable solution and improve it with many small moves (hill climbing, simulated annealing).',
    cues: [],
  },
  {
    id: 'math',
    text: 'Mathematical insight: exploit symmetry, known bounds or a closed-form construction.',
    cues: ['bound', 'construction', 'symmetr', 'inequality', 'extremal', 'packing', 'autocorrelation', 'proof'],
  },
  {
    id: 'simple-baseline',
    text: 'Simple and correct first: write the most straightforward program that is surely valid, then make it a little better.',
    cues: [],
  },
  {
    id: 'numeric-opt',
    text: 'Numerical optimization: parametrize the solution and optimize the parameters (gradient descent, L-BFGS, Nelder-Mead), with restarts.',
    cues: [
      'coefficient',
      'fit',
      'continuous',
      'minimize',
      'maximize',
      'error',
      'regression',
      'function',
      'float',
      'real',
    ],
  },
  {
    id: 'evolutionary',
    text: 'Population search: keep several solutions and recombine and mutate them (a small genetic algorithm or CMA-ES).',
    cues: ['optimiz', 'search', 'placement', 'layout', 'schedule'],
  },
  {
    id: 'decomposition',
    text: 'Divide and conquer: split the instance into parts, solve each well, then stitch and repair the seams.',
    cues: ['large', 'instance', 'grid', 'graph', 'tour', 'route', 'cities'],
  },
  {
    id: 'geometric',
    text: 'Geometry first: start from a regular lattice or known optimal arrangement, then perturb positions to remove overlaps and gain space.',
    cues: ['circle', 'packing', 'point', 'triangle', 'square', 'geometr', 'distance', 'area'],
  },
  {
    id: 'tour-heuristics',
    text: 'Classic tour heuristics: nearest neighbour or Christofides to start, then 2-opt and Or-opt moves until no move improves.',
    cues: ['tsp', 'tour', 'travel', 'route', 'cities', 'vehicle'],
  },
  {
    id: 'bin-rules',
    text: 'Scoring rules: score each choice (bin, slot, machine) by a formula of its remaining capacity and the item, and pick the best score.',
    cues: ['bin', 'packing', 'online', 'capacity', 'item', 'knapsack', 'schedul'],
  },
  {
    id: 'dynamic-programming',
    text: 'Dynamic programming or exact search on a reduced state space, pruned with good bounds.',
    cues: ['sequence', 'subset', 'knapsack', 'path', 'count', 'integer', 'combinator'],
  },
  {
    id: 'vectorize',
    text: 'Performance: vectorize the hot loop, keep data contiguous, avoid needless copies and allocations.',
    cues: ['kernel', 'speed', 'latency', 'runtime', 'throughput', 'matmul', 'gpu', 'cuda', 'fast', 'time'],
  },
  {
    id: 'tiling',
    text: 'Memory hierarchy: tile the computation so that blocks fit in cache (or shared memory), fuse operations, and reuse loaded data.',
    cues: ['kernel', 'matmul', 'conv', 'gpu', 'cuda', 'softmax', 'memory', 'bandwidth', 'cache'],
  },
  {
    id: 'ml-features',
    text: 'Machine learning: engineer informative features, choose a strong model family (gradient boosting, regularized linear), and validate before tuning.',
    cues: ['accuracy', 'dataset', 'classif', 'predict', 'train', 'model', 'feature', 'kaggle', 'tabular', 'digits'],
  },
  {
    id: 'ml-ensemble',
    text: 'Ensembles: combine several diverse models (bagging, stacking, averaging) and tune their main hyperparameters.',
    cues: ['accuracy', 'classif', 'predict', 'train', 'kaggle', 'tabular', 'auc', 'loss'],
  },
  {
    id: 'randomized',
    text: 'Randomized construction with many restarts: build many random solutions guided by a heuristic and keep the best.',
    cues: ['random', 'heuristic', 'combinator', 'placement', 'assignment'],
  },
]

/** How well a strategy fits a problem statement: the number of its cues the text contains. */
export function cueScore(s: Strategy, text: string): number {
  const t = text.toLowerCase()
  return s.cues.reduce((n, c) => n + (t.includes(c) ? 1 : 0), 0)
}

export interface StrategyPassage {
  id: string
  title?: string
  text: string
}

/** A strategy that asks the generator to build on a knowledge-base passage. */
export function passageStrategy(p: StrategyPassage, maxChars = 1200): Strategy {
  const body = p.text.trim().replace(/\s+\n/g, '\n')
  const cut = body.length > maxChars ? `${body.slice(0, maxChars)}…` : body
  return {
    id: `knowledge:${p.id}`,
    text: `Build on this idea from the knowledge base${p.title ? ` ("${p.title}")` : ''}:\n${cut}`,
    cues: [],
  }
}

/**
 * The strategies a run's cold start cycles through: those whose cues the problem's text matches
 * (best fit first), then the general ones, then the rest, each at most once; knowledge passages
 * interleaved every other place so that they are tried early. At most `count` (at least 4 when the
 * pool allows, so that generators differ). The order within equal fit is drawn from `rng`.
 */
export function chooseStrategies(
  problemText: string,
  passages: readonly StrategyPassage[],
  rng: Rng,
  count = 8,
): Strategy[] {
  const scored = STRATEGIES.map((s) => ({ s, fit: cueScore(s, problemText), tie: rng.next() }))
  const fitting = scored.filter((x) => x.fit > 0).sort((a, b) => b.fit - a.fit || a.tie - b.tie)
  const general = scored.filter((x) => x.s.cues.length === 0).sort((a, b) => a.tie - b.tie)
  const rest = scored.filter((x) => x.fit === 0 && x.s.cues.length > 0).sort((a, b) => a.tie - b.tie)
  const base = [...fitting, ...general, ...rest].map((x) => x.s)
  const fromKnowledge = passages.filter((p) => p.text.trim()).map((p) => passageStrategy(p))
  const out: Strategy[] = []
  let k = 0
  for (const s of base) {
    if (k < fromKnowledge.length && out.length % 2 === 1) out.push(fromKnowledge[k++]!)
    out.push(s)
  }
  return out.slice(0, Math.max(Math.min(4, out.length), count))
}
