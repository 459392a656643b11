// What a stalled island's escalations do (stagnation.ts suggests them at levels 2 and 3; an expert
// may ask for them from the console), planned from the populations as they are, without changing
// them: the caller records the plan, then applies it (EvolutionEngine.applyEscalation), so that a
// resumed run replays exactly what was done.
//   migrate-in           the best members of every other island are copied into the stalled one
//   restart-from-elites  the stalled island is emptied (pinned members stay) and reseeded with the
//                        run's elite archive (the best distinct programs of every island)
import { isBetter } from './fitness.ts'
import type { Direction } from './fitness.ts'
import type { MigrationMove } from './islands.ts'

export const ESCALATIONS = ['migrate-in', 'restart-from-elites'] as const
export type EscalationAction = (typeof ESCALATIONS)[number]

export interface EscalationPlan {
  island: number
  action: EscalationAction
  /** members removed from the island first (restart) */
  removed: string[]
  /** members copied into it, from the island that holds them */
  moves: MigrationMove[]
}

/** What the planner reads of an island. */
export interface EscalationIsland {
  members(): Iterable<{ id: string; score: number | null; codeHash: string; pinned?: boolean; banned?: boolean }>
}

const valid = (m: { score: number | null; banned?: boolean }): m is { score: number; banned?: boolean } =>
  !m.banned && typeof m.score === 'number' && Number.isFinite(m.score)

function best<T extends { score: number }>(items: T[], n: number, direction: Direction): T[] {
  return items
    .sort((a, b) => (isBetter(a.score, b.score, direction) ? -1 : isBetter(b.score, a.score, direction) ? 1 : 0))
    .slice(0, n)
}

/** The `perIsland` best valid members of each other island, minus code the stalled island already holds. */
export function planMigrateIn(
  islands: readonly EscalationIsland[],
  island: number,
  opts: { direction: Direction; perIsland?: number },
): EscalationPlan {
  const held = new Set([...islands[island]!.members()].map((m) => m.codeHash))
  const moves: MigrationMove[] = []
  islands.forEach((isl, from) => {
    if (from === island) return
    const candidates = [...isl.members()].filter(valid).filter((m) => !held.has(m.codeHash)) as Array<{
      id: string
      score: number
      codeHash: string
    }>
    for (const m of best(candidates, Math.max(1, opts.perIsland ?? 2), opts.direction)) {
      held.add(m.codeHash)
      moves.push({ from, to: island, id: m.id, codeHash: m.codeHash, score: m.score })
    }
  })
  return { island, action: 'migrate-in', removed: [], moves }
}

/**
 * The stalled island's unpinned members out, the archive's elites in (best first, at most `size`,
 * distinct by code); an elite the island holds already stays. Elites no island holds any more (the
 * archive keeps the best ever made) cannot be copied and are left out. Empty when the archive has
 * nothing to bring: the island is then left as it is.
 */
export function planRestart(
  islands: readonly EscalationIsland[],
  island: number,
  archive: ReadonlyArray<{ id: string; score: number; codeHash: string }>,
  opts: { size: number },
): EscalationPlan {
  const where = new Map<string, number>()
  islands.forEach((isl, i) => {
    for (const m of isl.members()) if (!m.banned && (!where.has(m.id) || i === island)) where.set(m.id, i)
  })
  const keep = new Set<string>()
  const seen = new Set<string>()
  const moves: MigrationMove[] = []
  for (const e of archive) {
    if (keep.size + moves.length >= opts.size) break
    const from = where.get(e.id)
    if (from === undefined || seen.has(e.codeHash)) continue
    seen.add(e.codeHash)
    if (from === island) keep.add(e.id)
    else moves.push({ from, to: island, id: e.id, codeHash: e.codeHash, score: e.score })
  }
  if (!moves.length) return { island, action: 'restart-from-elites', removed: [], moves: [] }
  const removed = [...islands[island]!.members()]
    .filter((m) => !m.pinned && !keep.has(m.id) && !seen.has(m.codeHash))
    .map((m) => m.id)
  return { island, action: 'restart-from-elites', removed, moves }
}
