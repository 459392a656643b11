import { describe, expect, it } from 'vitest'
import { assignColdStart, Evolution, type IngestInput } from './evolution.ts'
import {
  applyAnyLocalOperator,
  findLiterals,
  StepAdapter,
  LOCAL_OPERATOR_VARIANTS,
  applyLocalOperator,
} from './operators-local.ts'
import { Rng } from './rng.ts'

// a toy problem: maximize −Σ((v − target)/scale)² over the program's literals; feature: the first literal
const TARGET = [3.7, 12, -0.5, 250, 0.01]
const SEED =
  '# EVOLVE-BLOCK-START\na = 1.0\nb = 5\nc = -2.0\nd = 10.0\ne = 0.5\n# EVOLVE-BLOCK-END\nprint(a, b, c, d, e)\n'
function evaluateExact(code: string): { score: number | null; features: Record<string, number> } {
  const v = findLiterals(code, 'python').map((l) => l.value)
  if (v.length !== TARGET.length) return { score: null, features: {} }
  const loss = v.reduce((s, x, i) => s + ((x - TARGET[i]!) / (Math.abs(TARGET[i]!) + 1)) ** 2, 0)
  return { score: -loss, features: { a: v[0]!, b: v[1]! } }
}

/** a synchronous stand-in for the orchestrator's loop, recording what it would persist */
function run(
  evals: number,
  seed: string,
  log: IngestInput[] = [],
  migrations: Array<{ at: number; moves: ReturnType<Evolution['planMigration']> }> = [],
  quantize = false,
) {
  // quantized scores make many ties: selection must not depend on when caches were built
  const evaluate = (code: string) => {
    const r = evaluateExact(code)
    return quantize && r.score !== null ? { ...r, score: Math.round(r.score * 2) / 2 } : r
  }
  const ev = new Evolution({
    language: 'python',
    direction: 'max',
    features: ['a', 'b'],
    islands: 3,
    migrationInterval: 40,
    seed,
  })
  const adapter = new StepAdapter({ initialSigma: 0.3 })
  const codes = new Map<string, string>()
  const rng = new Rng(`${seed}:ops`)
  // cold start: the seed plus offline variants, split over islands by niche
  const cold = [{ id: 'seed', code: SEED }]
  for (const v of LOCAL_OPERATOR_VARIANTS) {
    const r = applyLocalOperator(v.operator, { code: SEED, language: 'python' }, rng, v.options)
    if (r) cold.push({ id: `cold-${v.id}`, code: r.code })
  }
  const evaluated = cold.map((c) => ({ ...c, ...evaluate(c.code) }))
  const split = assignColdStart(evaluated, 3, { direction: 'max', features: ['a', 'b'], language: 'python' })
  split.forEach((ids, island) => {
    for (const id of ids) {
      const c = evaluated.find((x) => x.id === id)!
      codes.set(id, c.code)
      const input = { id, island, code: c.code, score: c.score, features: c.features }
      log.push(input)
      ev.ingest(input)
    }
  })
  let n = 0
  let rejected = 0
  while (ev.evaluations < evals) {
    const plan = ev.plan()!
    const parentCode = codes.get(plan.parent.id)!
    const op = applyAnyLocalOperator(
      { code: parentCode, language: 'python', mate: plan.mate ? codes.get(plan.mate.id) : undefined },
      rng,
      undefined,
      { perturb: { adapter } },
    )
    if (!op) continue
    const child = ev.prepare(op.code)
    if (!ev.checkNovelty(plan.island, child, 1).novel) {
      rejected++
      continue
    }
    const id = `c${n++}`
    codes.set(id, op.code)
    const res = evaluate(op.code)
    const input = {
      id,
      island: plan.island,
      codeHash: child.codeHash,
      sketch: child.sketch,
      score: res.score,
      features: res.features,
      parentScore: plan.parent.score,
    }
    log.push(input)
    const out = ev.ingest(input)
    if (op.operator === 'perturb') adapter.record(op.params, (out.gain ?? 0) > 0)
    if (out.migrationDue) {
      const moves = ev.planMigration()
      migrations.push({ at: ev.evaluations, moves })
      ev.applyMigration(moves)
    }
  }
  return { ev, codes, rejected }
}

describe('Evolution (integration with offline operators)', () => {
  it('improves far beyond the seed, migrates, and is deterministic for a seed', () => {
    const a = run(600, 's1')
    const seedScore = evaluateExact(SEED).score!
    const best = a.ev.best()!
    expect(best.score).toBeGreaterThan(seedScore / 100) // the loss falls by more than 100×
    const r1 = run(120, 's4')
    const r2 = run(120, 's4')
    expect(r2.ev.best()).toEqual(r1.ev.best())
    expect(r2.ev.islands.map((i) => [...i.members()].map((m) => m.id))).toEqual(
      r1.ev.islands.map((i) => [...i.members()].map((m) => m.id)),
    )
    expect(a.ev.lastMigrationAt).toBeGreaterThan(0)
    const d = a.ev.diversity()
    expect(d.codeDistance).toBeGreaterThan(0)
    expect(d.coverage).toBeGreaterThan(0)
    for (const isl of a.ev.islands) expect(isl.size).toBeGreaterThan(0)
  })

  it.each([false, true])(
    'resumes: replaying the log and restoring the snapshot continues exactly like the uninterrupted run (ties: %s)',
    (quantize) => {
      const log: IngestInput[] = []
      const migrations: Array<{ at: number; moves: ReturnType<Evolution['planMigration']> }> = []
      const { ev } = run(150, 's2', log, migrations, quantize)
      const snap = JSON.parse(JSON.stringify(ev.snapshot()))
      const fresh = new Evolution({
        language: 'python',
        direction: 'max',
        features: ['a', 'b'],
        islands: 3,
        migrationInterval: 40,
        seed: 'other',
      })
      let mi = 0
      for (const input of log) {
        fresh.ingest(input)
        while (mi < migrations.length && migrations[mi]!.at === fresh.evaluations)
          fresh.applyMigration(migrations[mi++]!.moves)
      }
      fresh.restore(snap)
      for (let k = 0; k < 40; k++) {
        const p = ev.plan()!
        const q = fresh.plan()!
        expect([q.island, q.parent.id, q.mate?.id, q.inspirations.map((x) => x.id)]).toEqual([
          p.island,
          p.parent.id,
          p.mate?.id,
          p.inspirations.map((x) => x.id),
        ])
      }
    },
  )

  it('expert knobs: exploration per island, pin and ban', () => {
    const { ev } = run(120, 's3')
    ev.setExploration(1, 0)
    expect(ev.effectiveExploration(0)).toBe(1)
    const best = ev.best()!
    ev.ban(best.id)
    expect(ev.best()?.id).not.toBe(best.id)
    for (let k = 0; k < 50; k++) expect(ev.plan()!.parent.id).not.toBe(best.id)
  })

  it('cold start: each island gets a member; fewer candidates than islands are replicated best first', () => {
    const split = assignColdStart(
      [
        { id: 'x', score: 1, features: { a: 0 } },
        { id: 'y', score: 2, features: { a: 1 } },
        { id: 'z', score: null },
      ],
      4,
      { direction: 'max', features: ['a'] },
    )
    expect(split.map((s) => s.length)).toEqual([1, 1, 1, 1])
    expect(split.flat().sort()).toEqual(['x', 'x', 'y', 'y'])
    expect(split[2]).toEqual(['y'])
  })
})

describe('expert ratings', () => {
  it('setRating reaches every island (migrants included) and shifts plan() within the bound of ratingWeight', () => {
    const build = (ratingWeight?: number) => {
      const ev = new Evolution({
        language: 'python',
        direction: 'max',
        islands: 2,
        exploration: 0.8,
        seed: 'ratings',
        ...(ratingWeight === undefined ? {} : { ratingWeight }),
      })
      for (let i = 0; i < 40; i++) ev.ingest({ id: `c${i}`, island: i % 2, code: `x = ${i}\ny = ${i * 7}\n`, score: i })
      return ev
    }
    const parents = (ev: Evolution, n: number) => {
      const counts = new Map<string, number>()
      for (let i = 0; i < n; i++) {
        const p = ev.plan(0)!
        counts.set(p.parent.id, (counts.get(p.parent.id) ?? 0) + 1)
      }
      return counts
    }
    const plain = parents(build(), 6000)
    const up = build()
    expect(up.config.ratingWeight).toBe(0.5)
    up.setRating('c26', 1)
    up.setRating('c38', -1)
    const rated = parents(up, 6000)
    expect(rated.get('c26') ?? 0).toBeGreaterThan((plain.get('c26') ?? 0) * 1.15)
    expect(rated.get('c26') ?? 0).toBeLessThan((plain.get('c26') ?? 0) * 1.5 * 1.25 + 20)
    expect(rated.get('c38') ?? 0).toBeLessThan(plain.get('c38') ?? 0)
    // the rating is known on the other island too, before the candidate gets there
    expect(up.island(1).selector.rating('c26')).toBe(1)
    // weight 0: ratings are ignored
    const off = build(0)
    off.setRating('c26', 1)
    expect(parents(off, 6000)).toEqual(plain)
  })
})

describe('a proven optimum', () => {
  it('passes to the stagnation detector: islands at it report no stagnation, keep their exploration, and survive a restore', () => {
    const build = (optimum?: number) =>
      new Evolution({
        language: 'python',
        direction: 'min',
        islands: 2,
        exploration: 0.3,
        seed: 'optimum',
        stagnation: { window: 4, ...(optimum === undefined ? {} : { optimum }) },
      })
    // every island reaches tsp-berlin52's optimal length early and stays there
    const feed = (ev: Evolution, from: number, to: number) => {
      const kinds: string[] = []
      for (let i = from; i < to; i++) {
        const out = ev.ingest({ id: `c${i}`, island: i % 2, code: `x = ${i}\n`, score: i < 2 ? 8000 : 7542 })
        kinds.push(...out.stagnation.map((e) => `${e.kind}:${e.island}`))
      }
      return kinds
    }
    // without the optimum both islands stall and escalate, and their exploration is boosted
    const plain = build()
    expect(feed(plain, 0, 40)).toContain('stagnant:0')
    expect(plain.effectiveExploration(0)).toBeGreaterThan(0.3)

    // with it, ingest hands the run nothing to act on (ingest.ts's onStagnation only sees these events)
    const done = build(7542)
    expect(feed(done, 0, 40)).toEqual([])
    expect([0, 1].map((i) => done.effectiveExploration(i))).toEqual([0.3, 0.3])
    const restored = build(7542)
    restored.restore(JSON.parse(JSON.stringify(done.snapshot())))
    expect(feed(restored, 40, 80)).toEqual([])
  })
})
