import { describe, expect, it } from 'vitest'
import { EliteArchive, Island, migrationDue, planMigration } from './islands.ts'

const mem = (id: string, score: number | null, x?: number, extra: object = {}) => ({
  id,
  score,
  codeHash: `h-${id}`,
  features: x === undefined ? {} : { x },
  ...extra,
})

describe('Island', () => {
  it('evicts the worst beyond capacity but keeps MAP-Elites cell bests and pinned members', () => {
    const isl = new Island({
      index: 0,
      direction: 'max',
      features: [{ name: 'x', min: 0, max: 1, bins: 4 }],
      capacity: 5,
    })
    // cell bests: a (cell 0, score 1), b (cell 3, score 2) — low scores but protected
    isl.add(mem('a', 1, 0.1))
    isl.add(mem('b', 2, 0.9))
    isl.add(mem('p', 3, 0.4, { pinned: true }))
    isl.add(mem('inv', null, 0.5))
    for (let i = 0; i < 6; i++) isl.add(mem(`c${i}`, 10 + i, 0.6))
    expect(isl.size).toBe(5)
    for (const id of ['a', 'b', 'p', 'c5']) expect(isl.has(id)).toBe(true)
    expect(isl.has('inv')).toBe(false) // invalid goes first
    expect(isl.best()?.id).toBe('c5')
    // c5 is cell best of cell 2; c4 is the best unprotected → kept as the 5th
    expect(isl.has('c4')).toBe(true)
  })

  it('rejects duplicate code and banned members; removal passes the cell on and updates the best', () => {
    const isl = new Island({ index: 0, direction: 'min', features: [{ name: 'x', min: 0, max: 1, bins: 2 }] })
    expect(isl.add(mem('a', 5, 0.1)).added).toBe(true)
    const dup = isl.add({ ...mem('z', 1, 0.1), codeHash: 'h-a' })
    expect(dup).toMatchObject({ added: false, reason: 'duplicate', duplicateOf: 'a' })
    expect(isl.add(mem('q', 1, 0.1, { banned: true })).reason).toBe('banned')
    expect(isl.add(mem('b', 3, 0.2)).newBest).toBe(true)
    expect(isl.grid.isElite('b')).toBe(true)
    isl.remove('b')
    expect(isl.best()?.id).toBe('a')
    expect(isl.grid.isElite('a')).toBe(true)
    expect(isl.checkNovelty('h-a').duplicate).toBe(true)
    expect(isl.checkNovelty('h-new').novel).toBe(true)
  })

  it('eviction stays correct under churn (heap with stale entries)', () => {
    const isl = new Island({ index: 1, direction: 'max', capacity: 50 })
    for (let i = 0; i < 3000; i++) isl.add(mem(`m${i}`, (i * 7919) % 1000))
    expect(isl.size).toBe(50)
    const kept = [...isl.members()].map((m) => m.score as number).sort((a, b) => b - a)
    expect(kept[0]).toBe(999)
    // the kept ones are the 50 best scores seen (ties by age)
    expect(kept[49]).toBeGreaterThanOrEqual(950)
  })
})

describe('EliteArchive', () => {
  it('keeps the global top-N, distinct by code, best first', () => {
    const a = new EliteArchive(3, 'min')
    a.offer({ id: 'a', score: 5, codeHash: 'x' })
    a.offer({ id: 'b', score: 3, codeHash: 'y' })
    a.offer({ id: 'c', score: 4, codeHash: 'x' }) // same code as a, better → replaces a
    a.offer({ id: 'd', score: 9, codeHash: 'z' })
    expect(a.offer({ id: 'e', score: 1, codeHash: 'w' })).toEqual({ added: true, evicted: 'd' })
    expect(a.offer({ id: 'f', score: 10, codeHash: 'v' }).added).toBe(false)
    expect(a.list().map((e) => e.id)).toEqual(['e', 'b', 'c'])
    expect(a.offer({ id: 'g', score: null, codeHash: 'u' }).added).toBe(false)
  })
})

describe('migration', () => {
  it('copies the top fraction of island i to island i+1 mod K, without duplicates', () => {
    const islands = [0, 1, 2].map((k) => new Island({ index: k, direction: 'max' }))
    for (let k = 0; k < 3; k++) for (let i = 0; i < 10; i++) islands[k]!.add(mem(`i${k}-${i}`, k * 100 + i))
    // island 1 already has island 0's best code
    islands[1]!.add({ ...mem('copy', 9), codeHash: 'h-i0-9' })
    const plan = planMigration(islands, { rate: 0.2, direction: 'max' })
    expect(plan.filter((m) => m.from === 0).map((m) => [m.to, m.id])).toEqual([[1, 'i0-8']])
    expect(plan.filter((m) => m.from === 1).map((m) => [m.to, m.id])).toEqual([
      [2, 'i1-9'],
      [2, 'i1-8'],
      [2, 'i1-7'],
    ]) // 11 members → ⌈0.2·11⌉ = 3
    expect(plan.filter((m) => m.from === 2).map((m) => [m.to, m.id])).toEqual([
      [0, 'i2-9'],
      [0, 'i2-8'],
    ])
    expect(planMigration(islands.slice(0, 1), { rate: 0.5, direction: 'max' })).toEqual([])
    expect(migrationDue(120, 100, 20)).toBe(true)
    expect(migrationDue(119, 100, 20)).toBe(false)
  })
})
