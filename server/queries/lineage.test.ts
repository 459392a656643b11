import { describe, expect, it } from 'vitest'
import { ancestry, buildLineage, milestones, type LineageNode } from './lineage.ts'

let seq = 0
const node = (id: string, parentIds: string[], score: number | null, island = 0, origin = 'mutation'): LineageNode => ({
  id,
  parentIds,
  score,
  valid: score !== null,
  evalIndex: seq,
  island,
  origin,
  seq: seq++,
  operator: null,
  status: 'evaluated',
})

// seed → a → b → c → best ; a → x → y (island 1 frontier) ; c + y → z (crossover)
const nodes = [
  node('seed', [], 1, -1, 'seed'),
  node('a', ['seed'], 2),
  node('b', ['a'], 2),
  node('c', ['b'], 3),
  node('best', ['c'], 4),
  node('x', ['a'], 1.5, 1),
  node('y', ['x'], 1.8, 1),
  node('z', ['c', 'y'], 3.5, 0, 'crossover'),
]
const byId = new Map(nodes.map((n) => [n.id, n]))

describe('lineage', () => {
  it('follows primary parents and picks milestones', () => {
    expect(ancestry(byId, 'best')).toEqual(['seed', 'a', 'b', 'c', 'best'])
    expect(milestones(['seed', 'a', 'b', 'c', 'best'], byId, 'max')).toEqual(['seed', 'a', 'c', 'best'])
  })

  it("folds a long path's small steps until together they make an improvement", () => {
    // 100 steps of +0.0002 from 1: each a better score, fifty of them 1 % together
    const steps = [node('s0', [], 1, 0, 'seed')]
    for (let i = 1; i <= 100; i++) steps.push(node(`s${i}`, [`s${i - 1}`], 1 + 0.0002 * i))
    const path = steps.map((n) => n.id)
    const shown = milestones(path, new Map(steps.map((n) => [n.id, n])), 'max')
    // the root, the best, and a step each time the gain since the last shown passes 0.1 %
    expect(shown.length).toBeGreaterThan(10)
    expect(shown.length).toBeLessThan(25)
    expect(shown[0]).toBe('s0')
    expect(shown.at(-1)).toBe('s100')
  })

  it('collapses hidden chains into counted edges and lays the best path on lane 0', () => {
    const v = buildLineage({
      nodes,
      visible: new Set(['seed', 'a', 'c', 'best', 'y']),
      bestId: 'best',
      frontier: ['y'],
      direction: 'max',
    })
    expect(v.bestPath).toEqual(['seed', 'a', 'b', 'c', 'best'])
    const edge = (from: string, to: string) => v.edges.find((e) => e.from === from && e.to === to)
    expect(edge('a', 'c')).toMatchObject({ hidden: 1, bestPath: true })
    expect(edge('a', 'y')).toMatchObject({ hidden: 1, bestPath: false })
    const pos = Object.fromEntries(v.nodes.map((n) => [n.id, n]))
    expect(['seed', 'a', 'c', 'best'].map((id) => pos[id]!.y)).toEqual([0, 0, 0, 0])
    expect(pos.y!.y).toBeGreaterThan(0)
    expect(pos.y!.frontier).toBe(true)
    // columns are the shown generations only: seed 0, a 1, (b, x hidden at 2), c/y 3, best 4
    expect(v.columns).toBe(4)
    expect(pos.c!.x).toBe(pos.y!.x)
    expect(pos.best!.improved).toBe(true)
  })

  it('draws a crossover with its second parent and marks cut chains', () => {
    const v = buildLineage({
      nodes: nodes.filter((n) => n.id !== 'seed'),
      visible: new Set(['a', 'c', 'y', 'z']),
      bestId: 'z',
      direction: 'max',
    })
    expect(v.edges.find((e) => e.to === 'z' && e.secondary)).toMatchObject({ from: 'y' })
    expect(v.nodes.find((n) => n.id === 'a')!.cut).toBe(true)
    const lanes = new Set(v.nodes.map((n) => `${n.x}:${n.y}`))
    expect(lanes.size).toBe(v.nodes.length)
  })

  it('keeps a repair chain on the best path: the failure and the repair that fixed it, joined by a repair edge', () => {
    // seed → m (better) → f (failed) → r (repair of f, the best) ; with plain steps between
    const chain = [
      node('s', [], 1, 0, 'seed'),
      node('m1', ['s'], 1),
      node('m', ['m1'], 2),
      node('f', ['m'], null),
      node('r', ['f'], 3, 0, 'repair'),
    ]
    const ids = new Map(chain.map((n) => [n.id, n]))
    expect(milestones(['s', 'm1', 'm', 'f', 'r'], ids, 'max')).toEqual(['s', 'm', 'f', 'r'])
    const v = buildLineage({ nodes: chain, visible: new Set(['s', 'm', 'f', 'r']), bestId: 'r', direction: 'max' })
    expect(v.edges.find((e) => e.to === 'r')).toMatchObject({ from: 'f', repair: true, bestPath: true })
    expect(v.edges.find((e) => e.to === 'f')).toMatchObject({ from: 'm', repair: false })
  })
})
