// TSPLIB problems: each evaluator measures the published optimal tour at exactly the TSPLIB optimum,
// seeds evaluate valid, and malformed tours are rejected with the offending city named.
import { readFileSync } from 'node:fs'
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

interface Instance {
  name: string
  optimalTour: string
  optimum: number
  timeLimitS: number
}

/** 0-based tour of a .opt.tour file */
function optimalTour(id: string): number[] {
  const inst = readJson<Instance>(path.join(PROBLEMS_DIR, id, 'instance.json'))
  const text = readFileSync(path.join(PROBLEMS_DIR, id, inst.optimalTour), 'utf8')
  const section = text.slice(text.indexOf('TOUR_SECTION') + 'TOUR_SECTION'.length)
  const tour: number[] = []
  for (const token of section.split(/\s+/).filter(Boolean)) {
    if (token === '-1' || token === 'EOF') break
    tour.push(Number(token) - 1)
  }
  return tour
}

describe.each([
  ['tsp-berlin52', 7542],
  ['tsp-eil51', 426],
  ['tsp-kroa100', 21282],
  ['tsp-a280', 2579],
  ['tsp-att48', 10628],
])('%s', (id, optimum) => {
  it(`measures the TSPLIB optimal tour as ${optimum}`, async () => {
    const tour = optimalTour(id)
    const out = await evaluate(id, writeCandidate(constantCandidate('solve', tour)))
    expect(out.valid).toBe(true)
    expect(out.metrics.length).toBe(optimum)
    expect(out.metrics.gap_pct).toBe(0)
    expect(loadSpec(id).reference?.value).toBe(optimum)
  })

  it('seed evaluates valid, no shorter than the optimum', async () => {
    const spec = loadSpec(id)
    const out = await evaluate(id, seedFile(id))
    expectScored(spec, out)
    expect(out.metrics.length).toBeGreaterThanOrEqual(optimum)
  })
})

describe('tsp tour checks', () => {
  const tour = optimalTour('tsp-berlin52')

  it('rejects a tour with a repeated city and names it', async () => {
    const bad = [...tour]
    bad[5] = bad[4]!
    const out = await evaluate('tsp-berlin52', writeCandidate(constantCandidate('solve', bad)))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(new RegExp(`city ${bad[4]} is visited twice`))
  })

  it('rejects a 1-based tour with a hint', async () => {
    const out = await evaluate(
      'tsp-berlin52',
      writeCandidate(
        constantCandidate(
          'solve',
          tour.map((c) => c + 1),
        ),
      ),
    )
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/0-based/)
  })

  it('rejects a tour that misses a city and non-integer entries', async () => {
    const short = await evaluate('tsp-berlin52', writeCandidate(constantCandidate('solve', tour.slice(1))))
    expect(short.valid).toBe(false)
    const fractional = await evaluate(
      'tsp-berlin52',
      writeCandidate(constantCandidate('solve', [0.5, ...tour.slice(1)])),
    )
    expect(fractional.valid).toBe(false)
  })

  it('kills a solver that overruns its time limit', async () => {
    const slow =
      'import time\n\ndef solve(coords, dist, time_limit):\n    time.sleep(60)\n    return list(range(len(coords)))\n'
    const out = await evaluate('tsp-berlin52', writeCandidate(slow))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/did not return within/)
    expect(out.ms).toBeLessThan(30_000)
  })
})
