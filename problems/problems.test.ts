// The built-in problem library as a whole: every folder is a valid problem whose bundle (its own
// files plus the shared ones it names) is self-contained, the ids users type exist, shared
// evaluator code exists once, and every CPU evaluator follows the
// calling convention on a broken candidate (one JSON line, exit 0, valid: false with a reason).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { ProblemSpec } from '../server/contracts/problem.ts'
import { PYTHON_MODULES } from '../client-safe/needs.ts'
import { readFolder } from '../server/problems/bundle.ts'
import { SHARED_DIR } from '../server/problems/shared.ts'
import { provenOptimum } from '../server/runs/state.ts'
import { PROBLEMS_DIR, evaluate, featureNames, loaded, loadSpec, problemIds, writeCandidate } from './_test/evaluate.ts'

const REQUIRED = [
  'circle-packing-26',
  'circle-packing-32',
  'heilbronn-triangle-11',
  'autocorrelation-c1',
  'erdos-min-overlap',
  'tsp-berlin52',
  'tsp-eil51',
  'tsp-kroa100',
  'tsp-a280',
  'bin-packing-or3',
  'bin-packing-weibull5k',
  'ahc001',
  'cpu-matmul',
  'gpu-mlp',
  'gpu-softmax',
  'gpu-conv',
  'ml-digits',
]

const ids = problemIds()

describe('problem catalogue', () => {
  it('holds every problem id that users and tests type', () => {
    expect(ids).toEqual(expect.arrayContaining(REQUIRED))
  })

  it('names each folder after its id', () => {
    for (const id of ids) expect(loadSpec(id).id).toBe(id)
  })

  it('holds shared evaluator code once: no folder keeps a copy, and every shared file is used', () => {
    const masters = new Map<string, string>()
    for (const f of readdirSync(SHARED_DIR, { recursive: true }) as string[]) {
      if (statSync(path.join(SHARED_DIR, f)).isFile()) masters.set(readFileSync(path.join(SHARED_DIR, f), 'utf8'), f)
    }
    const copies = ids.flatMap((id) =>
      readFolder(path.join(PROBLEMS_DIR, id))
        .filter((f) => masters.has(f.data.toString('utf8')))
        .map((f) => `${id}/${f.path}`),
    )
    expect(copies).toEqual([])
    const used = new Set(ids.flatMap((id) => loadSpec(id).shared ?? []))
    expect([...masters.values()].filter((f) => !used.has(f)).sort()).toEqual([])
  })

  it('lists every problem in problems/README.md', () => {
    const readme = readFileSync(path.join(PROBLEMS_DIR, 'README.md'), 'utf8')
    for (const id of ids) expect(readme).toContain(`\`${id}\``)
  })

  it('marks exactly the TSPLIB problems, whose sources say so, as at a proven optimum', () => {
    // a best-known value marked optimal would silence the stall alarms of a run that could still improve
    const optimal = ids.filter((id) => loadSpec(id).reference?.optimal === true)
    expect(optimal.sort()).toEqual(['tsp-a280', 'tsp-att48', 'tsp-berlin52', 'tsp-eil51', 'tsp-kroa100'])
    for (const id of optimal) {
      const { reference } = loadSpec(id)
      expect(reference?.source).toMatch(/proven optimal/)
      expect(provenOptimum(loadSpec(id))).toBe(reference?.value)
    }
    expect(provenOptimum(loadSpec('tsp-berlin52'))).toBe(7542)
  })
})

describe.each(ids)('%s folder', (id) => {
  const dir = path.join(PROBLEMS_DIR, id)
  const raw: unknown = JSON.parse(readFileSync(path.join(dir, 'problem.json'), 'utf8'))

  it('parses with the ProblemSpec schema', () => {
    expect(() => ProblemSpec.parse(raw)).not.toThrow()
  })

  it('has its entry, evaluator, description and private files', () => {
    const { spec, files, description } = loaded(id)
    const paths = files.map((f) => f.path)
    expect(paths).toContain(spec.entry)
    expect(paths).toContain(spec.evaluator)
    expect(description).not.toMatch(/\{\{/)
    expect(description.length).toBeGreaterThan(800)
    expect(description).toMatch(/candidate defines/i)
    for (const file of spec.private ?? []) expect(statSync(path.join(dir, file)).isFile()).toBe(true)
  })

  it('declares a sourced reference, one or two features and sane limits', () => {
    const spec = loadSpec(id)
    expect(spec.reference?.source.length).toBeGreaterThan(20)
    expect(Number.isFinite(spec.reference?.value)).toBe(true)
    expect(featureNames(spec).length).toBeGreaterThanOrEqual(1)
    expect(featureNames(spec).length).toBeLessThanOrEqual(2)
    if (spec.limits.gpu) {
      expect(spec.language).toBe('python')
      expect(spec.tags).toContain('gpu')
    }
  })

  it('declares in `requires` every third-party Python module its files import (the prerequisite check reads it)', () => {
    const imported = new Set<string>()
    for (const f of loaded(id).files) {
      if (!f.path.endsWith('.py')) continue
      const src = f.data.toString('utf8')
      // indented imports too: an import inside a function is still needed when it runs
      for (const m of src.matchAll(/^[ \t]*(?:import|from)[ \t]+([A-Za-z_]\w*)/gm))
        if (Object.hasOwn(PYTHON_MODULES, m[1])) imported.add(m[1])
    }
    expect([...imported].sort()).toEqual([...(loadSpec(id).requires?.python ?? [])].sort())
  })

  it('marks editable regions in its seed', () => {
    const seed = loaded(id).seedCode
    expect(seed).toContain('EVOLVE-BLOCK-START')
    expect(seed).toContain('EVOLVE-BLOCK-END')
  })
})

// GPU evaluators are exercised in gpu.test.ts (they need a harness); cpu-matmul gets a binary
const conventionIds = ids.filter((id) => !loadSpec(id).limits.gpu && loadSpec(id).language === 'python')

describe('evaluator calling convention', () => {
  it.each(conventionIds)('%s: a candidate with a syntax error is a normal invalid result', async (id) => {
    const out = await evaluate(id, writeCandidate('def broken(:\n    pass\n'))
    expect(out.exitCode).toBe(0)
    expect(out.valid).toBe(false)
    expect(out.feedback.length).toBeGreaterThan(10)
    expect(out.artifacts.evaluator_error).toBeUndefined()
    // exactly one line on stdout: the result
    expect(out.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('cpu-matmul: a binary that crashes is a normal invalid result', async () => {
    const source = writeCandidate('int main() { return 3; }\n', 'crash.cpp')
    const out = await evaluate('cpu-matmul', source)
    expect(out.exitCode).toBe(0)
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/exited with code 3/)
  })
})
