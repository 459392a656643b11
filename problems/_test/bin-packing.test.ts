// FunSearch online bin packing: the evaluator reproduces the published Best Fit and First Fit
// excesses on OR3 and Weibull 5k, the seed evaluates valid, and bad priority functions are rejected.
import { describe, expect, it } from 'vitest'

import { evaluate, expectScored, loadSpec, seedFile, writeCandidate } from './evaluate.ts'

const BEST_FIT = 'import numpy as np\n\ndef priority(item, bins):\n    return -(bins - item)\n'
// equal scores: argmax takes the first bin that fits
const FIRST_FIT = 'import numpy as np\n\ndef priority(item, bins):\n    return np.zeros(len(bins))\n'

describe.each([
  ['bin-packing-or3', '5.37', '5.74'],
  ['bin-packing-weibull5k', '3.98', '4.23'],
])('%s', (id, bestFit, firstFit) => {
  it(`scores Best Fit at ${bestFit} % and First Fit at ${firstFit} %`, async () => {
    const bf = await evaluate(id, writeCandidate(BEST_FIT))
    expect(bf.valid).toBe(true)
    expect(bf.metrics.excess_pct!.toFixed(2)).toBe(bestFit)
    expect(bf.features.bestfit_agreement).toBe(1)
    const ff = await evaluate(id, writeCandidate(FIRST_FIT))
    expect(ff.valid).toBe(true)
    expect(ff.metrics.excess_pct!.toFixed(2)).toBe(firstFit)
    expect(ff.features.bestfit_agreement).toBeLessThan(1)
  })

  it('seed evaluates valid with its features', async () => {
    const spec = loadSpec(id)
    expectScored(spec, await evaluate(id, seedFile(id)))
  })
})

describe('bin-packing-weibull5k held-out stage', () => {
  it('packs fresh instances from the seeds problem.json declares, never the search instances', async () => {
    const env = { FM_HELD_OUT: '1', ...loadSpec('bin-packing-weibull5k').heldOut!.env }
    const bf = await evaluate('bin-packing-weibull5k', writeCandidate(BEST_FIT), { env })
    expect(bf.valid).toBe(true)
    const search = await evaluate('bin-packing-weibull5k', writeCandidate(BEST_FIT))
    // other instances of the same distribution: Best Fit near its published 3.98 %, not exactly it
    expect(bf.metrics.excess_pct).not.toBeCloseTo(search.metrics.excess_pct!, 6)
    expect(Math.abs(bf.metrics.excess_pct! - 3.98)).toBeLessThan(1)
    const again = await evaluate('bin-packing-weibull5k', writeCandidate(BEST_FIT), { env })
    expect(again.metrics.excess_pct).toBe(bf.metrics.excess_pct)
  })
})

describe('bin-packing candidate checks', () => {
  it('rejects scores of the wrong shape', async () => {
    const out = await evaluate(
      'bin-packing-or3',
      writeCandidate('import numpy as np\n\ndef priority(item, bins):\n    return np.zeros(3)\n'),
    )
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/one score per bin/)
  })

  it('rejects NaN scores', async () => {
    const out = await evaluate(
      'bin-packing-or3',
      writeCandidate('import numpy as np\n\ndef priority(item, bins):\n    return np.full(len(bins), np.nan)\n'),
    )
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/NaN/)
  })

  it('rejects a packing forged by a candidate that rewrites the harness result', async () => {
    // the candidate patches the harness's json.dump to report every item in bin 0: the replay must catch it
    const forged = [
      'import json',
      '_dump = json.dump',
      'def _forge(obj, f, *a, **k):',
      "    if obj.get('ok'):",
      "        obj['choices'] = {n: [0] * len(c) for n, c in obj['choices'].items()}",
      '    return _dump(obj, f, *a, **k)',
      'json.dump = _forge',
      '',
      'def priority(item, bins):',
      '    return -(bins - item)',
      '',
    ].join('\n')
    const out = await evaluate('bin-packing-or3', writeCandidate(forged))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/which had only/)
  })
})
