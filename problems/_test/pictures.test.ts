// Every built-in problem whose result can be drawn draws it: its seed, evaluated by a real worker,
// comes back with a picture that passed the worker's check whole (no image refused, nothing dropped:
// cleaning it again changes nothing), within the bound, showing what the result holds.
import { spawnSync } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_IMAGE_BYTES, sanitizeSvg } from '../../workers/images.ts'
import { closeWorker, evaluate, evaluateInWorker, loadSpec, PYTHON, realKernelHarness, seedFile } from './evaluate.ts'

afterAll(() => closeWorker())

const count = (svg: string, tag: string) => svg.split(`<${tag} `).length - 1

// problem → the picture's name and what must be in it
const DRAWN: Array<[string, string, (svg: string) => void]> = [
  ['circle-packing-26', 'circles', (s) => expect(count(s, 'circle')).toBe(26)],
  ['circle-packing-32', 'circles', (s) => expect(count(s, 'circle')).toBe(32)],
  ['heilbronn-triangle-11', 'configuration', (s) => expect(count(s, 'circle')).toBe(11)],
  ['erdos-min-overlap', 'step_function', (s) => expect(s).toMatch(/maximum 0\.38\d+ at k = -?\d+/)],
  ['autocorrelation-c1', 'step_function', (s) => expect(s).toMatch(/maximum 1\.5\d+/)],
  ['tsp-berlin52', 'tour_map', (s) => expect(count(s, 'circle')).toBe(52)],
  ['tsp-a280', 'tour_map', (s) => expect(count(s, 'circle')).toBe(280)],
  ['bin-packing-or3', 'bins', (s) => expect(s).toMatch(/u500_00: \d+ bins used, L1 bound \d+/)],
  ['bin-packing-weibull5k', 'bins', (s) => expect(s).toMatch(/bins used, L1 bound/)],
  ['cpu-matmul', 'timings', (s) => expect(count(s, 'circle')).toBe(14)],
  ['ml-digits', 'confusion', (s) => expect(count(s, 'rect')).toBeGreaterThanOrEqual(101)],
  ['ahc001', 'ads', (s) => expect(s).toMatch(/case 1: \d+ ads/)],
]

describe.each(DRAWN)('%s', (id, name, shows) => {
  it(`its seed's evaluation draws "${name}"`, async () => {
    const _spec = loadSpec(id)
    const r = await evaluateInWorker(id, readFileSync(seedFile(id), 'utf8'))
    expect(r.valid, JSON.stringify(r.artifacts).slice(0, 2000)).toBe(true)
    expect(Object.keys(r.artifacts).filter((k) => k.startsWith('image_error:'))).toEqual([])
    const img = r.images?.find((i) => i.name === name)
    expect(img, `images: ${r.images?.map((i) => i.name).join(', ')}`).toBeTruthy()
    expect(img!.mime).toBe('image/svg+xml')
    expect(img!.data.length).toBeLessThanOrEqual(MAX_IMAGE_BYTES)
    expect(sanitizeSvg(img!.data)).toBe(img!.data)
    shows(img!.data)
    // the picture is not among the text artifacts that reach a model's prompt
    expect(JSON.stringify(r.artifacts)).not.toContain('<svg')
  }, 180_000)
})

it('an infeasible circle packing is drawn too, the offending circles outlined in red', async () => {
  const overlapping = 'def run_packing():\n    return [[0.5, 0.5, 0.2]] * 26\n'
  const r = await evaluateInWorker('circle-packing-26', overlapping)
  expect(r.valid).toBe(false)
  const img = r.images?.find((i) => i.name === 'circles')
  expect(img?.data).toContain('offenders in red')
  expect(count(img!.data, 'circle')).toBe(26)
  expect(img!.data.split('stroke="#d1242f"').length - 1).toBe(26)
}, 120_000)

const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
it.runIf(realKernelHarness && torch)(
  'a GPU kernel problem draws its timings (run by the harness on the CPU at reduced sizes; needs torch)',
  async () => {
    const _spec = loadSpec('gpu-softmax')
    const out = await evaluate('gpu-softmax', seedFile('gpu-softmax'), {
      args: ['--device', 'cpu'],
      prepare: (folder) => appendFileSync(path.join(folder, 'reference.py'), '\nROWS = 64\nCOLS = 1000\n'),
    })
    expect(out.valid, out.feedback).toBe(true)
    const img = out.artifacts.timings as { type: string; data: string }
    expect(img.type).toBe('image/svg+xml')
    expect(sanitizeSvg(img.data)).toBe(img.data)
    expect(img.data).toContain('PyTorch eager')
    expect(img.data).toContain('ModelNew')
    expect(count(img.data, 'circle')).toBeGreaterThanOrEqual(10)
  },
  180_000,
)
