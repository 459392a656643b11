// Lineage of a run's candidates, laid out for the console: the best path (the chain of primary
// parents that led to the best candidate) on the first lane, the frontier (each island's current
// best) and whatever the user expanded on lanes below. Chains of candidates that are not shown
// collapse into one edge that says how many generations it hides, so a run of 100,000 candidates
// opens as a few dozen nodes. Pure: the service fetches nodes, this decides edges and positions.
import { improvesBy, isBetter } from '../../client-safe/score.ts'
import { STAGNATION_EPSILON } from '../engine/stagnation.ts'

export interface LineageNode {
  id: string
  parentIds: string[]
  score: number | null
  valid: boolean | null
  evalIndex: number | null
  island: number
  origin: string
  seq: number
  operator: string | null
  status: string
  /** experts' rating: 1 promising, -1 dead end, 0 (or absent) none */
  rating?: number
}

export interface PlacedNode extends LineageNode {
  /** column (generations compressed to the shown ones) and lane */
  x: number
  y: number
  generation: number
  onBestPath: boolean
  frontier: boolean
  /** improved on its primary parent (in the problem's direction) */
  improved: boolean
  /** its primary parent was not fetched: the chain above it is cut */
  cut: boolean
}

export interface LineageEdge {
  from: string
  to: string
  /** candidates between the two that are not shown */
  hidden: number
  bestPath: boolean
  /** a crossover's second parent */
  secondary: boolean
  /** the child is a repair of the failed parent */
  repair: boolean
}

export interface LineageView {
  nodes: PlacedNode[]
  edges: LineageEdge[]
  bestPath: string[]
  columns: number
  lanes: number
}

/** Primary-parent chain from the root to `id` (inclusive), over the fetched nodes. */
export function ancestry(byId: ReadonlyMap<string, LineageNode>, id: string, limit = 100_000): string[] {
  const chain: string[] = []
  const seen = new Set<string>()
  let cur: string | undefined = id
  while (cur && byId.has(cur) && !seen.has(cur) && chain.length < limit) {
    seen.add(cur)
    chain.push(cur)
    cur = byId.get(cur)!.parentIds[0]
  }
  return chain.reverse()
}

function isImprovement(n: LineageNode, parent: LineageNode | undefined, direction: 'max' | 'min') {
  if (!parent || n.score === null || !n.valid) return false
  if (parent.score === null || !parent.valid) return true
  return isBetter(n.score, parent.score, direction)
}

/**
 * Which nodes of a best path to show when collapsed: the root, the best, every step that improved
 * (by what the stall detector calls an improvement, since the last one shown), was rated by an
 * expert, or was made differently (an expert edit, a crossover, a migration to another island); the
 * rest are folded into edges.
 */
export function milestones(
  path: readonly string[],
  byId: ReadonlyMap<string, LineageNode>,
  direction: 'max' | 'min',
): string[] {
  // an improvement counts as one when it gains what the stall detector calls one over the last
  // improvement shown: a long run's many small steps (the scale tester's 50,000-candidate path kept
  // 1,801 nodes, 150 screens wide) fold into edges until together they make one
  let shown: number | null = null
  return path.filter((id, i) => {
    const n = byId.get(id)!
    const p = byId.get(path[i - 1]!)
    const improved =
      isImprovement(n, p, direction) && (shown === null || improvesBy(n.score, shown, direction, STAGNATION_EPSILON))
    if ((i === 0 || improved) && n.valid && n.score !== null) shown = n.score
    if (i === 0 || i === path.length - 1) return true
    // a repair shows with the failure it fixed
    const next = path[i + 1] !== undefined ? byId.get(path[i + 1]!) : undefined
    return (
      improved ||
      // what an expert marked stays in sight
      !!n.rating ||
      n.origin === 'expert-edit' ||
      n.origin === 'crossover' ||
      n.origin === 'repair' ||
      next?.origin === 'repair' ||
      (p !== undefined && p.island !== n.island)
    )
  })
}

export function buildLineage(input: {
  nodes: readonly LineageNode[]
  /** ids to draw; others only connect them */
  visible: ReadonlySet<string>
  bestId: string | null
  frontier?: readonly string[]
  direction: 'max' | 'min'
}): LineageView {
  const byId = new Map(input.nodes.map((n) => [n.id, n]))
  const bestPath = input.bestId && byId.has(input.bestId) ? ancestry(byId, input.bestId) : []
  const onPath = new Set(bestPath)
  const frontier = new Set(input.frontier ?? [])
  const visible = new Set([...input.visible].filter((id) => byId.has(id)))

  // generation: primary-parent steps from the root (memoised; cycles cannot occur in real data but are cut)
  const gen = new Map<string, number>()
  const generation = (id: string): number => {
    const known = gen.get(id)
    if (known !== undefined) return known
    const stack: string[] = []
    let cur: string | undefined = id
    while (cur && byId.has(cur) && !gen.has(cur) && !stack.includes(cur)) {
      stack.push(cur)
      cur = byId.get(cur)!.parentIds[0]
    }
    let g = cur && gen.has(cur) ? gen.get(cur)! : -1
    for (let i = stack.length - 1; i >= 0; i--) gen.set(stack[i]!, ++g)
    return gen.get(id)!
  }

  // edges: from each visible node up through hidden ancestors to the nearest visible one
  const edges: LineageEdge[] = []
  const nearestVisible = (start: string | undefined): { id: string; hidden: number } | null => {
    let cur = start
    let hidden = 0
    const seen = new Set<string>()
    while (cur && byId.has(cur) && !seen.has(cur)) {
      if (visible.has(cur)) return { id: cur, hidden }
      seen.add(cur)
      hidden++
      cur = byId.get(cur)!.parentIds[0]
    }
    return null
  }
  for (const id of visible) {
    const n = byId.get(id)!
    const up = nearestVisible(n.parentIds[0])
    if (up)
      edges.push({
        from: up.id,
        to: id,
        hidden: up.hidden,
        bestPath: onPath.has(id) && onPath.has(up.id),
        secondary: false,
        repair: n.origin === 'repair' && up.hidden === 0,
      })
    for (const p of n.parentIds.slice(1)) {
      const s = nearestVisible(p)
      if (s && s.id !== up?.id)
        edges.push({ from: s.id, to: id, hidden: s.hidden, bestPath: false, secondary: true, repair: false })
    }
  }

  // columns: the distinct generations that are shown, in order (hidden stretches take no width)
  const shown = [...visible]
  const gens = [...new Set(shown.map(generation))].sort((a, b) => a - b)
  const column = new Map(gens.map((g, i) => [g, i]))

  // lanes: the best path on lane 0; the others placed column by column, near their parent's lane
  const lane = new Map<string, number>()
  const taken = new Set<string>()
  const key = (x: number, y: number) => `${x}:${y}`
  for (const id of shown) {
    if (!onPath.has(id)) continue
    const x = column.get(generation(id))!
    lane.set(id, 0)
    taken.add(key(x, 0))
  }
  const parentOf = new Map(edges.filter((e) => !e.secondary).map((e) => [e.to, e.from]))
  const rest = shown
    .filter((id) => !onPath.has(id))
    .sort(
      (a, b) =>
        generation(a) - generation(b) ||
        byId.get(a)!.island - byId.get(b)!.island ||
        byId.get(a)!.seq - byId.get(b)!.seq,
    )
  for (const id of rest) {
    const x = column.get(generation(id))!
    const p = parentOf.get(id)
    let y = Math.max(1, p !== undefined && !onPath.has(p) ? (lane.get(p) ?? 1) : 1)
    while (taken.has(key(x, y))) y++
    lane.set(id, y)
    taken.add(key(x, y))
  }

  const nodes: PlacedNode[] = shown
    .map((id) => {
      const n = byId.get(id)!
      const parent = n.parentIds[0] ? byId.get(n.parentIds[0]) : undefined
      return {
        ...n,
        x: column.get(generation(id))!,
        y: lane.get(id)!,
        generation: generation(id),
        onBestPath: onPath.has(id),
        frontier: frontier.has(id),
        improved: isImprovement(n, parent, input.direction),
        cut: n.parentIds.length > 0 && !parent,
      }
    })
    .sort((a, b) => a.x - b.x || a.y - b.y)
  const lanes = nodes.reduce((m, n) => Math.max(m, n.y + 1), 0)
  return { nodes, edges, bestPath, columns: gens.length, lanes }
}
