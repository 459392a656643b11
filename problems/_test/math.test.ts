// AlphaEvolve-style math problems: seeds evaluate valid, published constructions score to the stated
// digits, and constructions nudged infeasible by 1e-9 are rejected (each evaluator's one tolerance is 1e-12).
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import {
  PROBLEMS_DIR,
  constantCandidate,
  evaluate,
  expectScored,
  loadSpec,
  readJson,
  seedFile,
  writeCandidate,
} from './evaluate.ts'

function witness<T>(id: string, key: string): T {
  return readJson<Record<string, T>>(path.join(PROBLEMS_DIR, id, 'data', 'witness.json'))[key]!
}

type Circle = [number, number, number]

/** the largest radius circle k may take with every other circle and the walls fixed */
function maxRadius(circles: Circle[], k: number): number {
  const [x, y] = circles[k]!
  let r = Math.min(x, 1 - x, y, 1 - y)
  circles.forEach(([xj, yj, rj], j) => {
    if (j !== k) r = Math.min(r, Math.hypot(x - xj, y - yj) - rj)
  })
  return r
}

describe.each([
  ['circle-packing-26', 'circ26', '2.635863'],
  ['circle-packing-32', 'circ32', '2.937945'],
])('%s', (id, key, published) => {
  const circles = witness<Circle[]>(id, key)

  it('seed evaluates valid with its features', async () => {
    const spec = loadSpec(id)
    const out = await evaluate(id, seedFile(id))
    expectScored(spec, out)
  })

  it(`scores AlphaEvolve's construction as ${published}`, async () => {
    const out = await evaluate(id, writeCandidate(constantCandidate('run_packing', circles)))
    expect(out.valid).toBe(true)
    expect(out.metrics.sum_radii!.toFixed(6)).toBe(published)
  })

  it("accepts OpenEvolve's (centers, radii, sum) return form", async () => {
    const value = [circles.map(([x, y]) => [x, y]), circles.map(([, , r]) => r), 0]
    const out = await evaluate(id, writeCandidate(constantCandidate('run_packing', value)))
    expect(out.valid).toBe(true)
    expect(out.metrics.sum_radii!.toFixed(6)).toBe(published)
  })

  it('rejects the construction with one circle grown to overlap a neighbour by 1e-9', async () => {
    // the published rows carry ~1e-8 of slack, so grow circle 0 to touching first, then 1e-9 more
    const nudged = circles.map((c) => [...c] as Circle)
    nudged[0]![2] = maxRadius(nudged, 0) + 1e-9
    const out = await evaluate(id, writeCandidate(constantCandidate('run_packing', nudged)))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/overlap|sticks out/)
  })

  it('rejects a circle moved 1e-9 outside the square', async () => {
    const nudged = circles.map((c) => [...c] as Circle)
    nudged[1]![0] = nudged[1]![2] - 1e-9
    const out = await evaluate(id, writeCandidate(constantCandidate('run_packing', nudged)))
    expect(out.valid).toBe(false)
  })
})

describe('circle-packing-26 candidate isolation', () => {
  it('does not take a forged result line printed by the candidate', async () => {
    const forged = `import os\n\ndef run_packing():\n    print('{"valid": true, "metrics": {"sum_radii": 99.0}, "features": {}, "artifacts": {}}', flush=True)\n    os._exit(0)\n`
    const out = await evaluate('circle-packing-26', writeCandidate(forged))
    expect(out.valid).toBe(false)
    expect(out.metrics.sum_radii).toBeUndefined()
  })

  it('reports an exception raised by the candidate with its traceback', async () => {
    const out = await evaluate(
      'circle-packing-26',
      writeCandidate('def run_packing():\n    raise ValueError("no idea")\n'),
    )
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/ValueError: no idea/)
  })

  it('rejects a wrong shape with a clear reason', async () => {
    const out = await evaluate('circle-packing-26', writeCandidate(constantCandidate('run_packing', [[0.5, 0.5, 0.1]])))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/\(26, 3\)/)
  })
})

describe('heilbronn-triangle-11', () => {
  const points = witness<[number, number][]>('heilbronn-triangle-11', 'heil_tri11')

  it('seed evaluates valid with its features', async () => {
    const spec = loadSpec('heilbronn-triangle-11')
    expectScored(spec, await evaluate(spec.id, seedFile(spec.id)))
  })

  it("scores AlphaEvolve's construction as 0.0365299", async () => {
    const out = await evaluate('heilbronn-triangle-11', writeCandidate(constantCandidate('construct_points', points)))
    expect(out.valid).toBe(true)
    expect(out.metrics.min_area_ratio!.toFixed(7)).toBe('0.0365299')
  })

  it('rejects a point moved 1e-9 outside the triangle', async () => {
    const onBase = points.findIndex(([, y]) => y === 0)
    expect(onBase).toBeGreaterThanOrEqual(0)
    const nudged = points.map((p) => [...p])
    nudged[onBase]![1] = -1e-9
    const out = await evaluate('heilbronn-triangle-11', writeCandidate(constantCandidate('construct_points', nudged)))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/outside the triangle/)
  })
})

describe('autocorrelation-c1', () => {
  const f = witness<number[]>('autocorrelation-c1', 'ac1')

  it('seed evaluates valid with its features', async () => {
    const spec = loadSpec('autocorrelation-c1')
    expectScored(spec, await evaluate(spec.id, seedFile(spec.id)))
  })

  it("scores AlphaEvolve's 600-step function as 1.5052940", async () => {
    const out = await evaluate('autocorrelation-c1', writeCandidate(constantCandidate('construct_function', f)))
    expect(out.valid).toBe(true)
    expect(out.metrics.c1_bound!.toFixed(7)).toBe('1.5052940')
  })

  it('rejects a negative step and a wrong step count', async () => {
    const negative = [...f]
    negative[10] = -1e-9
    const a = await evaluate('autocorrelation-c1', writeCandidate(constantCandidate('construct_function', negative)))
    expect(a.valid).toBe(false)
    expect(a.feedback).toMatch(/negative/)
    const b = await evaluate('autocorrelation-c1', writeCandidate(constantCandidate('construct_function', f.slice(1))))
    expect(b.valid).toBe(false)
  })
})

describe('erdos-min-overlap', () => {
  const h = witness<number[]>('erdos-min-overlap', 'erdos')

  it('seed evaluates valid with its features', async () => {
    const spec = loadSpec('erdos-min-overlap')
    expectScored(spec, await evaluate(spec.id, seedFile(spec.id)))
  })

  it("scores AlphaEvolve's 95-step function as 0.3809230", async () => {
    const out = await evaluate('erdos-min-overlap', writeCandidate(constantCandidate('construct_step_function', h)))
    expect(out.valid).toBe(true)
    expect(out.metrics.overlap!.toFixed(7)).toBe('0.3809230')
  })

  it('rejects a value above 1 and a sum off by 1e-9', async () => {
    const i = h.indexOf(Math.max(...h))
    const above = [...h]
    above[i] = 1 + 1e-9
    const a = await evaluate('erdos-min-overlap', writeCandidate(constantCandidate('construct_step_function', above)))
    expect(a.valid).toBe(false)
    const j = h.findIndex((v) => v > 0.3 && v < 0.7)
    const off = [...h]
    off[j] = off[j]! + 1e-9
    const b = await evaluate('erdos-min-overlap', writeCandidate(constantCandidate('construct_step_function', off)))
    expect(b.valid).toBe(false)
    expect(b.feedback).toMatch(/sum\(h\)/)
  })
})
