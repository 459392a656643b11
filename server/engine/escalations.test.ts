import { describe, expect, it } from 'vitest'
import { planMigrateIn, planRestart } from './escalations.ts'

type M = { id: string; score: number | null; codeHash: string; pinned?: boolean; banned?: boolean }
const island = (...members: M[]) => ({ members: () => members })
const m = (id: string, score: number | null, extra: Partial<M> = {}): M => ({
  id,
  score,
  codeHash: `h-${id}`,
  ...extra,
})

describe('migrate-in', () => {
  it('copies the best valid members of every other island into the stalled one, never code it holds', () => {
    const islands = [
      island(m('a1', 1), m('a2', 2)),
      island(m('b1', 5), m('b2', 4), m('b3', 3), m('bx', null)),
      island(m('c1', 9, { banned: true }), m('c2', 7), { id: 'c3', score: 8, codeHash: 'h-a1' }),
    ]
    const plan = planMigrateIn(islands, 0, { direction: 'max', perIsland: 2 })
    expect(plan).toMatchObject({ island: 0, action: 'migrate-in', removed: [] })
    expect(plan.moves.map((x) => [x.from, x.to, x.id])).toEqual([
      [1, 0, 'b1'],
      [1, 0, 'b2'],
      [2, 0, 'c2'],
    ])
    // lower is better: the other end
    expect(planMigrateIn(islands, 0, { direction: 'min', perIsland: 1 }).moves.map((x) => x.id)).toEqual(['b3', 'c2'])
  })

  it('plans nothing when no other island has a valid program', () => {
    expect(planMigrateIn([island(m('a', 1)), island(m('b', null))], 0, { direction: 'max' }).moves).toEqual([])
  })
})

describe('restart-from-elites', () => {
  const archive = [
    { id: 'b1', score: 9, codeHash: 'h-b1' },
    { id: 'a1', score: 8, codeHash: 'h-a1' },
    { id: 'gone', score: 7, codeHash: 'h-gone' },
    { id: 'c1', score: 6, codeHash: 'h-c1' },
    { id: 'c2', score: 5, codeHash: 'h-c2' },
  ]
  const islands = () => [
    island(m('a1', 8), m('a2', 1), m('a3', 2, { pinned: true })),
    island(m('b1', 9)),
    island(m('c1', 6), m('c2', 5)),
  ]

  it('empties the island but for its pinned members and the elites it holds, and brings the archive’s elites that an island still holds', () => {
    const plan = planRestart(islands(), 0, archive, { size: 3 })
    expect(plan.removed).toEqual(['a2'])
    expect(plan.moves.map((x) => [x.from, x.id])).toEqual([
      [1, 'b1'],
      [2, 'c1'],
    ])
  })

  it('changes nothing when the archive has nothing another island could give', () => {
    expect(planRestart(islands(), 1, [{ id: 'b1', score: 9, codeHash: 'h-b1' }], { size: 4 })).toMatchObject({
      removed: [],
      moves: [],
    })
  })
})
