// Pictures through the real runner and sandbox, in the three problem formats: a native evaluator's
// image artifacts, an OpenEvolve evaluator's picture artifacts (PNG bytes, SVG text), and image files
// a ShinkaEvolve evaluate.py writes into its results folder. Each arrives in `images`, cleaned.
import { describe, expect, it } from 'vitest'
import { EvalResult } from '../server/contracts/evaluation.ts'
import { makeJob, makeProblem, sharedRunner } from './test-helpers.ts'

const shared = sharedRunner('images-test')
const store = shared.store

function folder(files: Record<string, string>, spec?: Record<string, unknown>) {
  const p = makeProblem(files, spec)
  store.add(p)
  return p
}

// a 2 × 2 greyscale PNG, written by Python in the sandbox from these bytes
const PNG_PY = `import struct, zlib
def png(w, h):
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = b''.join(b'\\x00' + b'\\x80' * w for _ in range(h))
    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
`
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="teal"/></svg>'
const EVIL_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><circle r="3"/></svg>'

describe('image artifacts through the runner', () => {
  it('a native evaluator: SVG and PNG artifacts come back as images, cleaned; a refused one says why', async () => {
    const p = folder(
      {
        'seed.py': 'R = 4\n',
        'eval.py': `import base64, json, runpy, sys
${PNG_PY}
r = runpy.run_path(sys.argv[-1])['R']
svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="%d" fill="teal"/></svg>' % r
print(json.dumps({"valid": True, "metrics": {"score": r}, "artifacts": {
  "feedback": "drawn",
  "drawing": {"type": "image/svg+xml", "data": svg},
  "evil": {"type": "image/svg+xml", "data": ${JSON.stringify(EVIL_SVG)}},
  "bitmap": {"type": "image/png", "data": base64.b64encode(png(2, 2)).decode()},
  "broken": {"type": "image/png", "data": base64.b64encode(b"GIF89a not a png").decode()},
}}))
`,
      },
      {
        id: 'img-native',
        name: 'images',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'eval.py',
        direction: 'max',
        primaryMetric: 'score',
        limits: { timeoutS: 20, memoryMb: 512 },
      },
    )
    const r = await shared.runner.run(makeJob(p, 'R = 4\n'))
    expect(r.error, JSON.stringify(r.artifacts)).toBeUndefined()
    expect(EvalResult.parse(r)).toBeTruthy()
    expect(r.images?.map((i) => [i.name, i.mime])).toEqual([
      ['drawing', 'image/svg+xml'],
      ['evil', 'image/svg+xml'],
      ['bitmap', 'image/png'],
    ])
    expect(r.images![0]!.data).toBe(SVG)
    expect(r.images![1]!.data).toBe('<svg xmlns="http://www.w3.org/2000/svg"><circle r="3"/></svg>')
    expect(Buffer.from(r.images![2]!.data, 'base64').subarray(1, 4).toString()).toBe('PNG')
    expect(r.artifacts.feedback).toBe('drawn')
    expect(r.artifacts['image_error:broken']).toMatch(/PNG image was refused: not a PNG/)
    expect(Object.keys(r.artifacts)).not.toContain('drawing')
  })

  it('an OpenEvolve evaluator: PNG bytes and an SVG string among its artifacts are images', async () => {
    const p = folder({
      'initial_program.py': 'R = 2\n',
      'evaluator.py': `import runpy
from openevolve.evaluation_result import EvaluationResult
${PNG_PY}
def evaluate(program_path):
    r = runpy.run_path(program_path)['R']
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="%d" fill="teal"/></svg>' % r
    return EvaluationResult(metrics={"combined_score": r}, artifacts={"plot.png": png(3, 2), "figure": svg, "note": "text stays text"})
`,
    })
    const r = await shared.runner.run(makeJob(p, 'R = 4\n'))
    expect(r.error, JSON.stringify(r.artifacts)).toBeUndefined()
    expect(r.images?.map((i) => [i.name, i.mime])).toEqual([
      ['plot', 'image/png'],
      ['figure', 'image/svg+xml'],
    ])
    expect(r.images![1]!.data).toBe(SVG)
    expect(r.artifacts.note).toBe('text stays text')
  })

  it('a ShinkaEvolve evaluate.py: image files in its results folder are images; a planted link is not followed', async () => {
    const p = folder({
      'initial.py': 'R = 1\n',
      'evaluate.py': `import argparse, json, os, runpy
${PNG_PY}
a = argparse.ArgumentParser()
a.add_argument('--program_path')
a.add_argument('--results_dir')
a = a.parse_args()
r = runpy.run_path(a.program_path)['R']
with open(os.path.join(a.results_dir, 'metrics.json'), 'w') as f:
    json.dump({"combined_score": r}, f)
with open(os.path.join(a.results_dir, 'correct.json'), 'w') as f:
    json.dump({"correct": True, "error": None}, f)
with open(os.path.join(a.results_dir, 'layout.svg'), 'w') as f:
    f.write('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="%d" fill="teal"/></svg>' % r)
with open(os.path.join(a.results_dir, 'curve.png'), 'wb') as f:
    f.write(png(4, 4))
os.symlink('/etc/passwd', os.path.join(a.results_dir, 'secret.svg'))
`,
    })
    expect(p.spec.format).toBe('shinka')
    const r = await shared.runner.run(makeJob(p, 'R = 4\n'))
    expect(r.error, JSON.stringify(r.artifacts)).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.images?.map((i) => [i.name, i.mime])).toEqual([
      ['curve', 'image/png'],
      ['layout', 'image/svg+xml'],
    ])
    expect(r.images![1]!.data).toBe(SVG)
    expect(r.artifacts['image_error:secret.svg']).toMatch(/unreadable/)
    expect(JSON.stringify(r)).not.toContain('root:x:0:0')
  })
})
