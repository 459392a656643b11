// ml-digits: the seed pipeline evaluates valid on the held-out labels, malformed predictions are
// rejected, and the program is handed only its own file and the public data (never the labels).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import {
  PROBLEMS_DIR,
  closeWorker,
  evaluate,
  evaluateInWorker,
  expectScored,
  loadSpec,
  privateProbe,
  tempDir,
  writeCandidate,
} from './evaluate.ts'

const DIR = path.join(PROBLEMS_DIR, 'ml-digits')
afterAll(closeWorker)

describe('ml-digits', () => {
  it('seed evaluates valid on the held-out labels', async () => {
    const spec = loadSpec('ml-digits')
    const out = await evaluate('ml-digits', path.join(DIR, spec.entry))
    expectScored(spec, out)
    expect(out.metrics.accuracy).toBeGreaterThan(0.9)
    expect(out.metrics.accuracy).toBeLessThanOrEqual(1)
  }, 120_000)

  it('rejects predictions of the wrong length and non-digits', async () => {
    const short = await evaluate(
      'ml-digits',
      writeCandidate("open('predictions.csv', 'w').write('label\\n1\\n2\\n')\n"),
    )
    expect(short.valid).toBe(false)
    expect(short.feedback).toMatch(/must hold 539 predictions/)
    const words = await evaluate(
      'ml-digits',
      writeCandidate("open('predictions.csv', 'w').write('label\\n' + 'seven\\n' * 539)\n"),
    )
    expect(words.valid).toBe(false)
    expect(words.feedback).toMatch(/not a digit/)
  })

  it('hands the program only itself and the public data (recorded through the test stand-in helper)', async () => {
    const log = path.join(tempDir(), 'calls.jsonl')
    const constant =
      "n = sum(1 for _ in open('test_features.csv')) - 1\nopen('predictions.csv', 'w').write('label\\n' + '0\\n' * n)\n"
    const out = await evaluate('ml-digits', writeCandidate(constant), {
      env: { FM_SANDBOX_STANDIN_LOG: log },
      helpers: 'standin',
    })
    expect(out.valid).toBe(true)
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { cmd: string[]; files: Record<string, string> })
    expect(calls).toHaveLength(1)
    expect(Object.keys(calls[0]!.files).sort()).toEqual(['main.py', 'test_features.csv', 'train.csv'])
    expect([...calls[0]!.cmd, ...Object.values(calls[0]!.files)].join(' ')).not.toMatch(/private|test_labels/)
  })

  // the probe copies the labels as its predictions if it can read them: a perfect score means a leak
  const probe = privateProbe(
    'ml-digits',
    'private/test_labels.csv',
    "open('predictions.csv', 'w').write(leaked[1])",
    "n = sum(1 for _ in open('test_features.csv')) - 1\nopen('predictions.csv', 'w').write('label\\n' + '0\\n' * n)",
  )

  it('the probe does read the labels where nothing isolates it (the test stand-in helper)', async () => {
    const out = await evaluate('ml-digits', writeCandidate(probe), { helpers: 'standin' })
    expect(out.valid).toBe(true)
    expect(out.metrics.accuracy).toBe(1)
  }, 60_000)

  it('program cannot read the held-out labels (through a real worker: the child sandbox)', async () => {
    const r = await evaluateInWorker('ml-digits', probe)
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 2000)).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics.accuracy).toBeLessThan(0.5)
    expect(JSON.stringify(r.artifacts)).not.toContain('LEAKED')
    expect(String(r.artifacts.stderr ?? '')).not.toMatch(/WITHOUT a child sandbox/)
  }, 120_000)
})
