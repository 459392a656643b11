// ml-digits: the seed pipeline evaluates valid on the held-out labels, malformed predictions are
// rejected, and the program is handed only its own file and the public data (never the labels).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { PROBLEMS_DIR, evaluate, expectScored, loadSpec, realIsolation, tempDir, writeCandidate } from './evaluate.ts'

const DIR = path.join(PROBLEMS_DIR, 'ml-digits')

describe('ml-digits', () => {
  it('seed evaluates valid on the held-out labels', async () => {
    const spec = loadSpec('ml-digits')
    const out = await evaluate('ml-digits', path.join(DIR, spec.entry))
    expectScored(spec, out)
    expect(out.metrics.accuracy).toBeGreaterThan(0.9)
    expect(out.metrics.accuracy).toBeLessThanOrEqual(1)
  }, 120_000)

  it('rejects predictions of the wrong length and non-digits', async () => {
    const short = await evaluate('ml-digits', writeCandidate("open('predictions.csv', 'w').write('label\\n1\\n2\\n')\n"))
    expect(short.valid).toBe(false)
    expect(short.feedback).toMatch(/must hold 539 predictions/)
    const words = await evaluate('ml-digits', writeCandidate("open('predictions.csv', 'w').write('label\\n' + 'seven\\n' * 539)\n"))
    expect(words.valid).toBe(false)
    expect(words.feedback).toMatch(/not a digit/)
  })

  it(
    'hands the program only itself and the public data (recorded through the test stand-in helper)',
    async () => {
      const log = path.join(tempDir(), 'calls.jsonl')
      const constant = "n = sum(1 for _ in open('test_features.csv')) - 1\nopen('predictions.csv', 'w').write('label\\n' + '0\\n' * n)\n"
      const out = await evaluate('ml-digits', writeCandidate(constant), { env: { FM_SANDBOX_STANDIN_LOG: log }, helpers: 'standin' })
      expect(out.valid).toBe(true)
      const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { cmd: string[]; files: Record<string, string> })
      expect(calls).toHaveLength(1)
      expect(Object.keys(calls[0]!.files).sort()).toEqual(['main.py', 'test_features.csv', 'train.csv'])
      expect([...calls[0]!.cmd, ...Object.values(calls[0]!.files)].join(' ')).not.toMatch(/private|test_labels/)
    },
  )

  it.runIf(realIsolation)(
    'program cannot read the held-out labels (real child sandbox: runs where workers/python/fm_sandbox.py exists and FM_CHILD_SANDBOX is set)',
    async () => {
      const candidate = path.join(tempDir(), 'probe.py')
      let folder = ''
      const out = await evaluate('ml-digits', candidate, {
        prepare: (f) => {
          folder = f
          // copies the labels as its predictions if it can read them: a perfect score means a leak
          writeFileSync(
            candidate,
            [
              'import shutil',
              `for p in [${JSON.stringify(path.join(f, 'private', 'test_labels.csv'))}, '../private/test_labels.csv']:`,
              '    try:',
              "        shutil.copyfile(p, 'predictions.csv')",
              '        break',
              '    except OSError:',
              '        pass',
              'else:',
              "    n = sum(1 for _ in open('test_features.csv')) - 1",
              "    open('predictions.csv', 'w').write('label\\n' + '0\\n' * n)",
            ].join('\n'),
          )
        },
      })
      expect(existsSync(path.join(folder, 'private', 'test_labels.csv'))).toBe(true)
      expect(out.valid).toBe(true)
      expect(out.metrics.accuracy).toBeLessThan(0.5)
    },
    60_000,
  )
})
