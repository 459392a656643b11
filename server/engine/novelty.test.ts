import { describe, expect, it } from 'vitest'
import {
  nearDuplicate,
  NOVELTY_REFERENCE_SHINGLES,
  analyzeCode,
  exactJaccard,
  isNovel,
  lshCollisionProbability,
  lshParamsFor,
  NoveltyIndex,
  similarity,
  sketchCode,
  sketchFromJSON,
  sketchToJSON,
} from './novelty.ts'
import { Rng } from './rng.ts'

function randomProgram(rng: Rng, lines = 60): string {
  const out: string[] = []
  for (let i = 0; i < lines; i++)
    out.push(`v${i} = v${rng.int(i + 1)} ${rng.pick(['+', '*', '-'])} ${rng.int(1000)} * w${rng.int(99)}`)
  return out.join('\n') + '\n'
}

function mutate(code: string, rng: Rng, nLines: number): string {
  const lines = code.split('\n')
  for (let k = 0; k < nLines; k++) {
    const i = rng.int(lines.length - 1)
    lines[i] = `z${rng.int(1e6)} = q${rng.int(1e6)} + ${rng.int(1e6)}`
  }
  return lines.join('\n')
}

describe('sketches', () => {
  it('estimate Jaccard similarity within MinHash error and ignore comments/whitespace', () => {
    const rng = new Rng(1)
    const a = randomProgram(rng)
    const b = mutate(a, rng, 6)
    const c = randomProgram(rng)
    const [sa, sb, sc] = [a, b, c].map((x) => sketchCode(x, 'python'))
    expect(Math.abs(similarity(sa!, sb!) - exactJaccard(a, b, 'python'))).toBeLessThan(0.12)
    expect(similarity(sa!, sc!)).toBeLessThan(0.3)
    const commented = a.replace(/\n/g, '  # note\n').replace(/ = /g, '=')
    expect(similarity(sa!, sketchCode(commented, 'python'))).toBe(1)
  })

  it('analyzeCode equals codeHash + sketchCode from one lexing pass', async () => {
    const { codeHash } = await import('./code.ts')
    const code = randomProgram(new Rng(9))
    const a = analyzeCode(code, 'python')
    expect(a.codeHash).toBe(codeHash(code, 'python'))
    expect(Array.from(a.sketch.minhash)).toEqual(Array.from(sketchCode(code, 'python').minhash))
  })

  it('short programs still compare sensibly (densified signature)', () => {
    const a = sketchCode('x = 1\n', 'python')
    const b = sketchCode('y = 2\n', 'python')
    expect(similarity(a, a)).toBe(1)
    expect(similarity(a, b)).toBeLessThan(0.5)
  })

  it('round-trips through JSON', () => {
    const s = sketchCode('x = 1\ny = 2\n', 'python')
    const t = sketchFromJSON(JSON.parse(JSON.stringify(sketchToJSON(s))))
    expect(similarity(s, t)).toBe(1)
    expect(Array.from(t.vector)).toEqual(Array.from(s.vector))
  })

  it('chooses LSH bands that catch near-duplicates at the threshold', () => {
    for (const t of [0.8, 0.9, 0.95]) {
      const p = lshParamsFor(t)
      expect(p.bands * p.rows).toBeLessThanOrEqual(128)
      expect(lshCollisionProbability(t, p)).toBeGreaterThan(0.98)
      expect(lshCollisionProbability(0.3, p)).toBeLessThan(0.2)
    }
  })
})

describe('NoveltyIndex', () => {
  it('rejects near-duplicates and accepts distinct programs', () => {
    const rng = new Rng(2)
    const idx = new NoveltyIndex({ threshold: 0.9 })
    const base = randomProgram(rng, 80)
    idx.add('base', sketchCode(base, 'python'))
    for (let i = 0; i < 50; i++) idx.add(`other${i}`, sketchCode(randomProgram(rng, 80), 'python'))
    const near = mutate(base, rng, 1)
    const v = isNovel(sketchCode(near, 'python'), idx)
    expect(v.novel).toBe(false)
    expect(v.nearest?.id).toBe('base')
    expect(isNovel(sketchCode(randomProgram(rng, 80), 'python'), idx).novel).toBe(true)
    // removal makes the twin novel again
    idx.remove('base')
    expect(idx.has('base')).toBe(false)
    expect(isNovel(sketchCode(near, 'python'), idx).novel).toBe(true)
    expect(idx.size).toBe(50)
  })

  it('agrees with a linear scan on which members are above the threshold', () => {
    const rng = new Rng(3)
    const base = randomProgram(rng, 60)
    const members = Array.from({ length: 200 }, (_, i) => ({
      id: `m${i}`,
      sketch: sketchCode(mutate(base, rng, 1 + (i % 30)), 'python'),
    }))
    const idx = new NoveltyIndex({ threshold: 0.8 })
    for (const m of members) idx.add(m.id, m.sketch)
    const probe = sketchCode(mutate(base, rng, 2), 'python')
    const linear = new Set(members.filter((m) => similarity(probe, m.sketch) >= 0.8).map((m) => m.id))
    const hits = idx.query(probe, { limit: 1000 })
    const found = new Set(hits.map((h) => h.id))
    let recall = 0
    for (const id of linear) if (found.has(id)) recall++
    expect(linear.size).toBeGreaterThan(10)
    expect(recall / linear.size).toBeGreaterThan(0.95)
    for (const h of hits) expect(linear.has(h.id)).toBe(true)
    // best first
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.similarity).toBeGreaterThanOrEqual(hits[i]!.similarity)
  })

  it('bounds the work per query even when every member shares a bucket', () => {
    const idx = new NoveltyIndex({ threshold: 0.95, maxCandidates: 64 })
    const s = sketchCode(randomProgram(new Rng(4)), 'python')
    for (let i = 0; i < 2000; i++) idx.add(`dup${i}`, s)
    const hits = idx.query(s, { limit: 5000 })
    expect(hits.length).toBe(64)
  })
})

describe('nearDuplicate', () => {
  // a program of n lines, each with its own literal: `v_i = i * 1.5`
  const program = (n: number, change = -1) =>
    Array.from({ length: n }, (_, i) => `v_${i} = ${i} * ${i === change ? '2.5' : '1.5'}`).join('\n')

  it('on a small program, is the Jaccard threshold itself', () => {
    const a = program(6)
    const b = program(6, 3)
    const j = exactJaccard(a, b, 'python')
    expect(nearDuplicate(a, b, 'python', j)).toBe(true)
    expect(nearDuplicate(a, b, 'python', j + 1e-6)).toBe(false)
    expect(nearDuplicate(a, a, 'python', 0.995)).toBe(true)
  })

  it('on a large program, one changed literal is not a near-duplicate; an unchanged program is', () => {
    const a = program(3000)
    const b = program(3000, 1500)
    // the ratio alone would call it one: similarity over 0.999
    expect(exactJaccard(a, b, 'python')).toBeGreaterThan(0.999)
    expect(nearDuplicate(a, b, 'python', 0.995)).toBe(false)
    expect(nearDuplicate(a, `${a}\n`, 'python', 0.995)).toBe(true)
    // a stricter novelty (a lower threshold) still rejects a small edit of a large program
    expect(nearDuplicate(a, b, 'python', 0.95)).toBe(true)
    expect(nearDuplicate(a, program(3000, 10), 'python', 0.995)).toBe(false)
    expect(NOVELTY_REFERENCE_SHINGLES).toBe(200)
  })
})
