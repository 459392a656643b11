import { describe, expect, it } from 'vitest'
import { CostAwareBandit, rewardFromImprovement, sampleBeta } from './bandit.ts'
import { Rng } from './rng.ts'

function simulate(
  policy: 'thompson' | 'ucb1',
  arms: Record<string, { p: number; cost: number }>,
  rounds = 1500,
  seed = 1,
) {
  const rng = new Rng(seed)
  const b = new CostAwareBandit(
    Object.keys(arms).map((id) => ({ id })),
    { policy, costFloor: 1e-6 },
  )
  const lateCounts: Record<string, number> = {}
  for (let t = 0; t < rounds; t++) {
    const id = b.choose(rng)
    const arm = arms[id]!
    b.update(id, rng.chance(arm.p) ? 1 : 0, arm.cost)
    if (t >= rounds - 500) lateCounts[id] = (lateCounts[id] ?? 0) + 1
  }
  return { b, lateCounts }
}

describe('CostAwareBandit', () => {
  for (const policy of ['thompson', 'ucb1'] as const) {
    it(`${policy}: converges to the arm with the most reward per cost`, () => {
      // b has the higher success rate but costs 3× more: a is better per cost
      const r1 = simulate(policy, { a: { p: 0.3, cost: 1 }, b: { p: 0.5, cost: 3 } })
      expect(r1.lateCounts.a ?? 0).toBeGreaterThan(400)
      // make b cheap: now b wins
      const r2 = simulate(policy, { a: { p: 0.3, cost: 1 }, b: { p: 0.5, cost: 1 } })
      expect(r2.lateCounts.b ?? 0).toBeGreaterThan(400)
    })
  }

  it('a free offline operator is not infinitely good: the floor bounds its advantage', () => {
    const rng = new Rng(3)
    const b = new CostAwareBandit([{ id: 'op' }, { id: 'llm' }], { costFloor: 0.001 })
    for (let i = 0; i < 300; i++) {
      b.update('op', 0, 0) // never helps
      b.update('llm', rng.chance(0.5) ? 1 : 0, 0.002)
    }
    const counts = { op: 0, llm: 0 }
    for (let i = 0; i < 500; i++) counts[b.choose(rng) as 'op' | 'llm']++
    expect(counts.llm).toBeGreaterThan(450)
  })

  it('config weights act as priors, then data take over; state round-trips', () => {
    const rng = new Rng(4)
    const arms = [
      { id: 'fav', weight: 5 },
      { id: 'other', weight: 1 },
    ]
    const b = new CostAwareBandit(arms)
    let fav = 0
    for (let i = 0; i < 400; i++) if (b.choose(rng) === 'fav') fav++
    expect(fav).toBeGreaterThan(240)
    for (let i = 0; i < 200; i++) {
      b.update('fav', 0, 1e-4)
      b.update('other', 0.6, 1e-4)
    }
    let other = 0
    for (let i = 0; i < 400; i++) if (b.choose(rng) === 'other') other++
    expect(other).toBeGreaterThan(360)
    const c = CostAwareBandit.fromJSON(arms, JSON.parse(JSON.stringify(b.toJSON())))
    expect(c.stats()).toEqual(b.stats())
    expect(c.choose(new Rng(9), ['fav'])).toBe('fav')
  })

  it('rewards: none for losses, saturating for gains; beta samples have the right mean', () => {
    expect(rewardFromImprovement(-0.5)).toBe(0)
    expect(rewardFromImprovement(null)).toBe(0)
    expect(rewardFromImprovement(0.01)).toBeCloseTo(1 - Math.exp(-1))
    expect(rewardFromImprovement(1)).toBeLessThanOrEqual(1)
    const rng = new Rng(5)
    let s = 0
    for (let i = 0; i < 4000; i++) s += sampleBeta(rng, 2, 6)
    expect(s / 4000).toBeCloseTo(0.25, 1)
  })
})
