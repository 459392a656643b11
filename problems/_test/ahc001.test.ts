// ahc001: generator and scorer follow the contest rules, the seed evaluates valid on the private
// cases, wrong answers score 0, and the candidate is never handed (and, under the real child sandbox,
// cannot read) the private seed file.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import {
  PROBLEMS_DIR,
  PYTHON,
  closeWorker,
  evaluate,
  evaluateInWorker,
  expectScored,
  loadSpec,
  privateProbe,
  tempDir,
  writeCandidate,
} from './evaluate.ts'

const DIR = path.join(PROBLEMS_DIR, 'ahc001')
afterAll(closeWorker)

function generate(seed: number): string {
  const r = spawnSync(PYTHON, [path.join(DIR, 'generator.py'), String(seed)], { encoding: 'utf8' })
  expect(r.status).toBe(0)
  return r.stdout
}

function score(input: string, output: string): { score: number; details: Record<string, unknown> } {
  const code = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(DIR)})`,
    'import scorer',
    'data = json.load(sys.stdin)',
    "s, d = scorer.score_case(data['input'], data['output'])",
    "print(json.dumps({'score': s, 'details': d}))",
  ].join('\n')
  const r = spawnSync(PYTHON, ['-c', code], { input: JSON.stringify({ input, output }), encoding: 'utf8' })
  expect(r.status).toBe(0)
  return JSON.parse(r.stdout) as { score: number; details: Record<string, unknown> }
}

// answers every case with the 1x1 cell of each point: always valid, never overlapping
const UNIT_CELLS = [
  'import sys',
  'd = sys.stdin.read().split()',
  'n = int(d[0])',
  "print('\\n'.join(f'{d[1 + 3 * i]} {d[2 + 3 * i]} {int(d[1 + 3 * i]) + 1} {int(d[2 + 3 * i]) + 1}' for i in range(n)))",
].join('\n')

describe('ahc001 generator and scorer', () => {
  it('generates instances within the contest constraints, deterministically per seed', () => {
    for (const seed of [0, 1, 7, 123456789]) {
      const text = generate(seed)
      expect(generate(seed)).toBe(text)
      const tokens = text.trim().split(/\s+/).map(Number)
      const n = tokens[0]!
      expect(n).toBeGreaterThanOrEqual(50)
      expect(n).toBeLessThanOrEqual(200)
      const points = new Set<string>()
      let total = 0
      for (let i = 0; i < n; i++) {
        const [x, y, r] = tokens.slice(1 + 3 * i, 4 + 3 * i) as [number, number, number]
        expect(x >= 0 && x <= 9999 && y >= 0 && y <= 9999 && r >= 1).toBe(true)
        points.add(`${x},${y}`)
        total += r
      }
      expect(points.size).toBe(n)
      expect(total).toBe(100_000_000)
    }
  })

  it('ships the public cases it documents', () => {
    const text = readFileSync(path.join(DIR, 'data', 'public', '0007.txt'), 'utf8')
    expect(text).toBe(generate(7))
  })

  it('scores unit cells by the contest formula and overlaps as a wrong answer', () => {
    const input = generate(3)
    const tokens = input.trim().split(/\s+/).map(Number)
    const n = tokens[0]!
    const cells: string[] = []
    let sum = 0
    for (let i = 0; i < n; i++) {
      const [x, y, r] = tokens.slice(1 + 3 * i, 4 + 3 * i) as [number, number, number]
      cells.push(`${x} ${y} ${x + 1} ${y + 1}`)
      sum += 1 - (1 - 1 / r) ** 2
    }
    expect(score(input, cells.join('\n')).score).toBe(Math.round((1e9 * sum) / n))
    const overlapping = [...cells]
    overlapping[1] = overlapping[0]!
    const wa = score(input, overlapping.join('\n'))
    expect(wa.score).toBe(0)
    expect(String(wa.details.wrong_answer)).toMatch(/overlap/)
    expect(score(input, cells.slice(1).join('\n')).score).toBe(0)
  })
})

describe('ahc001 evaluator', () => {
  it('seed evaluates valid on the private cases', async () => {
    const spec = loadSpec('ahc001')
    const out = await evaluate('ahc001', path.join(DIR, spec.entry))
    expectScored(spec, out)
    expect(out.metrics.score).toBeGreaterThan(0)
    expect(out.metrics.score).toBeLessThanOrEqual(1)
    expect(out.metrics.failed_cases).toBe(0)
  }, 120_000)

  it('is invalid when every case is a wrong answer', async () => {
    const overlapping =
      'import sys\nn = int(sys.stdin.read().split()[0])\nprint("\\n".join("0 0 10000 10000" for _ in range(n)))\n'
    const out = await evaluate('ahc001', writeCandidate(overlapping))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/every case failed.*overlap/)
  }, 60_000)

  it('hands the candidate no private path (recorded through the test stand-in helper)', async () => {
    const log = path.join(tempDir(), 'calls.jsonl')
    const out = await evaluate('ahc001', writeCandidate(UNIT_CELLS), {
      env: { FM_SANDBOX_STANDIN_LOG: log },
      helpers: 'standin',
    })
    expect(out.valid).toBe(true)
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { cmd: string[]; files: Record<string, string> })
    const seeds = JSON.parse(readFileSync(path.join(DIR, 'private', 'seeds.json'), 'utf8')) as { seeds: number[] }
    expect(calls).toHaveLength(seeds.seeds.length)
    for (const call of calls) {
      expect(Object.keys(call.files)).toEqual(['main.py'])
      const handed = [...call.cmd, ...Object.values(call.files)].join(' ')
      expect(handed).not.toMatch(/private|seeds\.json/)
      for (const seed of seeds.seeds) expect(handed).not.toContain(String(seed))
    }
  }, 60_000)

  // the probe prints nothing (every case fails) if it can read the private seeds
  const probe = privateProbe('ahc001', 'private/seeds.json', 'sys.exit(0)', UNIT_CELLS)

  it('the probe does read the seeds where nothing isolates it (the test stand-in helper)', async () => {
    const out = await evaluate('ahc001', writeCandidate(probe), { helpers: 'standin' })
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/every case failed/)
  }, 60_000)

  it('candidate cannot read the private seeds (through a real worker: the child sandbox)', async () => {
    const r = await evaluateInWorker('ahc001', probe)
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 2000)).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics.failed_cases).toBe(0)
    expect(JSON.stringify(r.artifacts)).not.toContain('LEAKED')
  }, 180_000)
})
