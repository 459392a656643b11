// Format detection, the mapping of OpenEvolve's config.yaml and the shared library's files (no sandbox).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { gunzipSync, gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { mergeDefaults } from '../runs/service.ts'
import { RunConfig } from '../../client-safe/run-config.ts'
import { packBundle, unpackBundle } from './bundle.ts'
import { BUILTIN_PROBLEMS_DIR, detectFormat, loadProblem, ProblemLoadError } from './load.ts'
import { SHARED_DIR, sharedFiles } from './shared.ts'

const root = mkdtempSync(join(tmpdir(), 'fm-load-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
function folder(files: Record<string, string>) {
  const dir = join(root, `p${++n}`)
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}
const OE = { 'initial_program.py': 'x = 1\n', 'evaluator.py': 'def evaluate(p):\n    return {"combined_score": 1}\n' }

describe('detectFormat', () => {
  it('tells the four formats apart, and says what a folder lacks', () => {
    expect(detectFormat(folder({ 'problem.json': '{}', 'initial_program.py': '', 'evaluator.py': '' }))?.format).toBe(
      'native',
    )
    expect(detectFormat(folder(OE))).toEqual({ format: 'openevolve', entry: 'initial_program.py' })
    expect(detectFormat(folder({ 'initial.cpp': '', 'evaluate.py': '' }))).toEqual({
      format: 'shinka',
      entry: 'initial.cpp',
    })
    const kb = join(folder({}), '19_ReLU.py')
    writeFileSync(
      kb,
      'import torch\nclass Model(torch.nn.Module):\n    pass\ndef get_inputs():\n    return []\ndef get_init_inputs():\n    return []\n',
    )
    expect(detectFormat(kb)?.format).toBe('kernelbench')
    const notKb = join(folder({}), 'model.py')
    writeFileSync(notKb, 'class Model:\n    pass\n')
    expect(detectFormat(notKb)).toBeNull()
    expect(() => loadProblem(notKb)).toThrow(
      /not a KernelBench task file \(it defines no get_inputs, no get_init_inputs\)/,
    )
    expect(() => loadProblem(folder({ 'initial.py': '' }))).toThrow(ProblemLoadError)
  })
})

describe("OpenEvolve's config.yaml", () => {
  it('maps models (shared llm settings, ${VAR} keys, primary/secondary), refuses literal keys, and reports bad values', () => {
    const p = loadProblem(
      folder({
        ...OE,
        'config.yaml': [
          'llm:',
          '  api_base: http://127.0.0.1:8000/v1',
          '  api_key: sk-this-is-a-literal-key-000000',
          '  temperature: 0.3',
          '  primary_model: big',
          '  primary_model_weight: 0.8',
          '  secondary_model: small',
          'database:',
          '  num_islands: 500',
          '  migration_rate: 3',
          'evaluator:',
          '  timeout: 12',
          '  memory_limit_mb: 1024',
          '  cascade_thresholds: 0.5',
          'prompt:',
          '  system_message: system_message',
          'frobnicate: 1',
        ].join('\n'),
      }),
    )
    expect(p.runDefaults.models).toEqual([
      { provider: 'openai', model: 'big', weight: 0.8, baseURL: 'http://127.0.0.1:8000/v1', temperature: 0.3 },
      { provider: 'openai', model: 'small', weight: 0.2, baseURL: 'http://127.0.0.1:8000/v1', temperature: 0.3 },
    ])
    expect(p.runDefaults.islands).toBeUndefined()
    expect(p.spec.limits).toMatchObject({ timeoutS: 12, memoryMb: 1024 })
    // OpenEvolve's default system message is the name of its template, not a message
    expect(p.spec.prompt?.systemMessage).toBeUndefined()
    const w = p.warnings.join('\n')
    expect(w).toMatch(/api_key of big is a literal key: FM Agent never stores keys/)
    expect(w).not.toContain('sk-this-is-a-literal-key')
    expect(w).toMatch(/"database\.num_islands" must be a whole number from 1 to 64; ignored/)
    expect(w).toMatch(/"database\.migration_rate" must be a number from 0 to 1; ignored/)
    expect(w).toMatch(/"frobnicate" has no equivalent here and is ignored/)
    expect(w).toContain('evaluator.cascade_thresholds is ignored: evaluator.py defines no evaluate_stage1')
  })

  it('run defaults sit under the run’s own settings; the task’s models apply only when the run names neither models nor operators', () => {
    const p = loadProblem(
      folder({
        ...OE,
        'config.yaml':
          'max_iterations: 50\ndiff_based_evolution: true\ndatabase:\n  num_islands: 3\n  population_size: 90\nllm:\n  models:\n    - name: m1\n',
      }),
    )
    const plain = RunConfig.parse(mergeDefaults({}, p.runDefaults))
    expect(plain).toMatchObject({
      islands: 3,
      populationPerIsland: 30,
      mutator: 'llm',
      budget: { maxEvals: 50 },
      llmOperators: { diff: 0.8, rewrite: 0, crossover: 0.2 },
    })
    expect(plain.models.map((m) => m.model)).toEqual(['m1'])
    const local = RunConfig.parse(
      mergeDefaults({ mutator: 'local', islands: 2, budget: { maxEvals: 10 } }, p.runDefaults),
    )
    expect(local).toMatchObject({
      mutator: 'local',
      islands: 2,
      populationPerIsland: 45,
      budget: { maxEvals: 10 },
      models: [],
    })
    // models named without a mutator are meant, whatever the task's own (and not the offline operators)
    const named = RunConfig.parse(mergeDefaults({ models: [{ provider: 'ollama', model: 'qwen' }] }, p.runDefaults))
    expect([named.mutator, named.models.map((m) => m.model)]).toEqual(['llm', ['qwen']])
    expect(RunConfig.parse(mergeDefaults({ models: [{ provider: 'ollama', model: 'qwen' }] }, {})).mutator).toBe('llm')
  })
})

describe('an OpenEvolve evaluator', () => {
  it('that defines no evaluate() is said at load, before its seed fails with a traceback', () => {
    const none = loadProblem(folder({ ...OE, 'evaluator.py': 'def score(path):\n    return 1\n' })).warnings
    expect(none).toContain(
      'evaluator.py defines no evaluate(program_path) (nor evaluate_stage1): OpenEvolve calls it, and so does every evaluation here',
    )
    const said = (files: Record<string, string>) =>
      loadProblem(folder({ ...OE, ...files })).warnings.some((w) => w.includes('defines no evaluate'))
    expect(said({})).toBe(false)
    expect(said({ 'evaluator.py': 'from helpers import evaluate\n' })).toBe(false)
    expect(said({ 'evaluator.py': 'def evaluate_stage1(p):\n    return {}\n' })).toBe(false)
  })
})

describe('shared files (problems/_common)', () => {
  const spec = (extra: object) =>
    JSON.stringify({
      id: 'uses-shared',
      name: 'n',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'max',
      primaryMetric: 's',
      ...extra,
    })
  const lib = () => {
    const dir = folder({ 'helper.py': 'X = 1\n', 'seed.py.tmpl': 'N = {{n}}\nROWS = {{rows}}\nNAME = "{{name}}"\n' })
    mkdirSync(join(dir, 'fam'))
    writeFileSync(join(dir, 'fam', 'evaluator.py'), 'print("{}")\n')
    return dir
  }

  it('a built-in problem carries the helpers it names, rendered, and nothing it does not', () => {
    const p = loadProblem(join(BUILTIN_PROBLEMS_DIR, 'circle-packing-32'))
    const file = (name: string) => p.files.find((f) => f.path === name)?.data.toString('utf8')
    expect(file('fm_evalkit.py')).toBe(readFileSync(join(SHARED_DIR, 'fm_evalkit.py'), 'utf8'))
    expect(file('evaluator.py')).toMatch(/^N = 32$/m)
    expect(p.seedCode).toMatch(/^ROWS = \[6, 5, 6, 5, 5, 5\]/m)
    expect(p.description).toContain('Place **32 circles**')
    expect(p.files.some((f) => f.path.endsWith('.tmpl') || f.data.includes('{{'))).toBe(false)
    expect(p.files.some((f) => f.path === 'tsplib.py')).toBe(false)
    // the stored bundle is what a worker unpacks: the helpers travel in it
    expect(unpackBundle(p.bundle.data, p.bundle.hash).files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['fm_evalkit.py', 'fm_draw.py', 'evaluator.py', 'initial.py', 'README.md']),
    )
  })

  it('places files at their base name, renders templates, and refuses clashes, gaps and escapes', () => {
    const dir = lib()
    const ok = sharedFiles(
      {
        id: 'x',
        shared: ['helper.py', 'fam/evaluator.py', 'seed.py.tmpl'],
        sharedValues: { n: 3, rows: [1, 2], name: 'a' },
      },
      dir,
    )
    expect(ok.map((f) => [f.path, f.data.toString()])).toEqual([
      ['helper.py', 'X = 1\n'],
      ['evaluator.py', 'print("{}")\n'],
      ['seed.py', 'N = 3\nROWS = [1, 2]\nNAME = "a"\n'],
    ])
    expect(() => sharedFiles({ id: 'x', shared: ['seed.py.tmpl'], sharedValues: { n: 3 } }, dir)).toThrow(
      /needs sharedValues\.rows/,
    )
    expect(() => sharedFiles({ id: 'x', shared: ['nope.py'] }, dir)).toThrow(/not in the shared library/)
    expect(() => sharedFiles({ id: 'x', shared: ['../p1/initial_program.py'] }, dir)).toThrow(ProblemLoadError)
    expect(() => sharedFiles({ id: 'x', shared: ['fam'] }, dir)).toThrow(/not a file/)
    // a problem.json cannot even name a path outside the library
    expect(() =>
      loadProblem(folder({ 'problem.json': spec({ shared: ['../x.py'] }), 'initial.py': '', 'evaluator.py': '' })),
    ).toThrow(/shared\.0/)
    // the folder's own file and a shared one with the same name: one must go
    const clash = folder({
      'problem.json': spec({ shared: ['fm_evalkit.py'] }),
      'initial.py': '',
      'evaluator.py': '',
      'fm_evalkit.py': '',
    })
    expect(() => loadProblem(clash)).toThrow(/has its own fm_evalkit\.py/)
  })

  it('a problem folder outside the repository gets the helpers too (what import stores)', () => {
    const p = loadProblem(
      folder({
        'problem.json': spec({ shared: ['fm_evalkit.py'] }),
        'initial.py': 'x = 1\n',
        'evaluator.py': 'import fm_evalkit\n',
      }),
    )
    expect(p.files.map((f) => f.path)).toEqual(['evaluator.py', 'fm_evalkit.py', 'initial.py', 'problem.json'])
  })
})

describe('problem.json mistakes', () => {
  const spec = (extra: object) =>
    JSON.stringify({
      id: 'typos',
      name: 'n',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'max',
      primaryMetric: 's',
      ...extra,
    })

  it('loads with unknown keys, each named in a warning with the key it most likely meant', () => {
    const p = loadProblem(
      folder({
        'problem.json': spec({ limit: { timeoutS: 1 }, refrence: {}, heldout: {}, limits: { timeoutS: 5, cpu: 1 } }),
        'initial.py': '',
        'evaluator.py': '',
      }),
    )
    expect(p.spec.limits.timeoutS).toBe(5)
    expect(p.warnings).toEqual([
      'problem.json: "limit" is not a known key and is ignored; did you mean "limits"?',
      'problem.json: "refrence" is not a known key and is ignored; did you mean "reference"?',
      'problem.json: "heldout" is not a known key and is ignored; did you mean "heldOut"?',
      'problem.json: "limits.cpu" is not a known key and is ignored; did you mean "cpuS"?',
    ])
    expect(p.unknownKeys.map((k) => k.path)).toEqual(['limit', 'refrence', 'heldout', 'limits.cpu'])
  })

  it('refuses an invalid one naming every issue with its path, and the keys it ignored', () => {
    const dir = folder({
      'problem.json': spec({ direction: 'up', limits: { timeoutS: '5' }, features: 'abcdef', limit: {} }),
      'initial.py': '',
      'evaluator.py': '',
    })
    let message = ''
    try {
      loadProblem(dir)
    } catch (e) {
      expect(e).toBeInstanceOf(ProblemLoadError)
      message = (e as Error).message
    }
    const lines = message.split('\n')
    expect(lines[0]).toBe(`${dir}/problem.json: 3 issues:`)
    expect(lines.slice(1).map((l) => l.trim().split(':')[0])).toEqual([
      'direction',
      'features',
      'limits.timeoutS',
      '"limit" is not a known key and is ignored; did you mean "limits"?',
    ])
    // one issue stays one line
    expect(() =>
      loadProblem(folder({ 'problem.json': spec({ direction: 'up' }), 'initial.py': '', 'evaluator.py': '' })),
    ).toThrow(/problem\.json: direction: [^\n]+$/)
  })

  it('warns that a seed which is not UTF-8 was read with replacement characters', () => {
    const dir = folder({ 'evaluator.py': OE['evaluator.py'] })
    writeFileSync(join(dir, 'initial_program.py'), Buffer.from([0x78, 0x20, 0x3d, 0x20, 0x27, 0xe9, 0x27, 0x0a]))
    const p = loadProblem(dir)
    expect(p.seedCode).toBe("x = '\ufffd'\n")
    expect(p.warnings).toContain(
      'initial_program.py is not valid UTF-8: the bytes that are not became U+FFFD in the seed the search starts from; save it as UTF-8',
    )
    expect(loadProblem(folder(OE)).warnings.some((w) => w.includes('UTF-8'))).toBe(false)
  })

  it('says where a JSON syntax error is by line and column, and refuses a feature range whose min is not below its max', () => {
    expect(() =>
      loadProblem(folder({ 'problem.json': '{\n  "id": "x",\n  name: "y"\n}', 'initial.py': '', 'evaluator.py': '' })),
    ).toThrow(/problem\.json is not valid JSON: .*at position 17 \(line 3, column 3\)$/)
    expect(() =>
      loadProblem(
        folder({
          'problem.json': spec({ features: [{ name: 'a', min: 1, max: 0, bins: 4 }] }),
          'initial.py': '',
          'evaluator.py': '',
        }),
      ),
    ).toThrow(/features\.0: min must be below max/)
  })
})

describe('private files', () => {
  const spec = (evaluator: string, extra: object = {}) =>
    JSON.stringify({
      id: `priv-${n + 1}`,
      name: 'private',
      language: 'python',
      entry: 'seed.py',
      evaluator,
      direction: 'max',
      primaryMetric: 'score',
      ...extra,
    })
  const privacy = (files: Record<string, string>) =>
    loadProblem(folder(files)).warnings.filter((w) => /private/.test(w))

  it('an entry naming no file of the folder, and an evaluator that never uses the child sandbox, are said', () => {
    const dir = folder({
      'problem.json': spec('evaluator.mjs', { private: ['secret/data.csv', 'holdout.json'] }),
      'seed.py': 'x = 1\n',
      'evaluator.mjs':
        'const m = await import(process.argv.at(-1))\nconsole.log(JSON.stringify({ metrics: { score: m.x } }))\n',
      'holdout.json': '[1, 2]\n',
    })
    const w = loadProblem(dir).warnings
    expect(w).toContain(
      'private: "secret/data.csv" names no file of the folder: nothing is kept from the candidate under that name',
    )
    expect(w.find((x) => x.startsWith('private files are kept'))).toMatch(
      /evaluator\.mjs never does: .*Only Python evaluators have the helpers for it/,
    )
  })

  it('says nothing of a Python evaluator that runs the candidate in the child sandbox, or of a folder without private files', () => {
    const evaluator = 'import fm_evalkit\ndef evaluate(path):\n    return fm_evalkit.call_candidate(path, "f", {})\n'
    expect(
      privacy({
        'problem.json': spec('evaluator.py'),
        'seed.py': 'x = 1\n',
        'evaluator.py': evaluator,
      }),
    ).toEqual([])
    const kept = folder({ 'problem.json': spec('evaluator.py'), 'seed.py': 'x = 1\n', 'evaluator.py': evaluator })
    mkdirSync(join(kept, 'private'))
    writeFileSync(join(kept, 'private', 'test.csv'), '1\n')
    expect(loadProblem(kept).warnings.filter((w) => /private/.test(w))).toEqual([])
    // the same folder, its evaluator importing the candidate instead
    writeFileSync(join(kept, 'evaluator.py'), 'import importlib\ndef evaluate(path):\n    return {}\n')
    expect(loadProblem(kept).warnings.filter((w) => /private/.test(w))).toEqual([
      expect.stringMatching(
        /^private files are kept .* evaluator\.py never does: .*fm_evalkit\.call_candidate or run_untrusted/,
      ),
    ])
  })
})

describe('the bundle format', () => {
  const files = [
    { path: 'data/table.csv', mode: 0o644, data: Buffer.from('x,y\n'.repeat(200_000)) },
    { path: 'data/noise.bin', mode: 0o644, data: randomBytes(5 << 20) },
    { path: 'evaluator.py', mode: 0o755, data: Buffer.from('print(1)\n') },
  ]
  it('packs files as bytes, compressed unless they do not compress, and unpacks them exactly', () => {
    const b = packBundle(files)
    expect(b.size).toBe(800_000 + (5 << 20) + 9)
    const back = unpackBundle(b.data, b.hash)
    expect(back.files.map((f) => [f.path, f.mode, f.data.equals(files.find((x) => x.path === f.path)!.data)])).toEqual(
      files.map((f) => [f.path, f.mode, true]),
    )
    // mostly random bytes: stored rather than compressed (all cost), the bundle about the size of its files
    expect(b.data.length).toBeLessThan(b.size + 10_000)
    // text alone compresses
    expect(packBundle(files.filter((f) => f.path !== 'data/noise.bin')).data.length).toBeLessThan(100_000)
    expect(() => unpackBundle(gzipSync(gunzipSync(b.data).subarray(0, -1)))).toThrow(/cut short/)
  })
  it('reads a bundle stored before it (a JSON list, base64), to the same hash', () => {
    const old = gzipSync(
      JSON.stringify(files.map((f) => ({ path: f.path, mode: f.mode, data: f.data.toString('base64') }))),
    )
    const back = unpackBundle(old, packBundle(files).hash)
    expect(back.files.map((f) => f.path)).toEqual(files.map((f) => f.path))
  })
})

describe('what a problem folder bundles', () => {
  it('follows symbolic links that stay inside the folder and names each one it leaves out', () => {
    const outside = folder({ 'secret.txt': 'not for evaluations\n', 'evaluator.py': 'print(1)\n' })
    const dir = folder({ ...OE, 'real.txt': 'data\n' })
    mkdirSync(join(dir, 'sub'))
    writeFileSync(join(dir, 'sub', 'inner.txt'), 'inner\n')
    symlinkSync('real.txt', join(dir, 'alias.txt'))
    symlinkSync(join(dir, 'sub'), join(dir, 'linked-sub'))
    symlinkSync('..', join(dir, 'sub', 'up')) // a cycle: walked once
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'secret.txt'))
    symlinkSync(join(dir, 'gone.txt'), join(dir, 'broken.txt'))
    const p = loadProblem(dir)
    const files = new Map(unpackBundle(p.bundle.data).files.map((f) => [f.path, f.data.toString()]))
    expect(files.get('alias.txt')).toBe('data\n')
    expect(files.get('linked-sub/inner.txt')).toBe('inner\n')
    expect([...files.keys()].some((f) => f.includes('secret'))).toBe(false)
    expect([...files.keys()].filter((f) => f.includes('/up/'))).toEqual([])
    expect(p.warnings).toContain(
      `secret.txt is a symbolic link to ${join(outside, 'secret.txt')}, outside the problem folder: left out (evaluations only see the folder's own files; copy it in)`,
    )
    expect(p.warnings).toContain('broken.txt: a broken symbolic link, left out')
  })

  it('says that an evaluator linked from outside the folder is a link, not missing', () => {
    const outside = folder({ 'evaluator.py': 'print(1)\n' })
    const dir = folder({ 'initial_program.py': 'x = 1\n' })
    symlinkSync(join(outside, 'evaluator.py'), join(dir, 'evaluator.py'))
    expect(() => loadProblem(dir)).toThrow(
      `evaluator.py is a symbolic link out of the problem folder (to ${join(outside, 'evaluator.py')}): evaluations only see the folder's own files, so copy it in`,
    )
  })

  it('says a folder is large well before it is too large', () => {
    const dir = folder({ ...OE })
    mkdirSync(join(dir, 'data'))
    writeFileSync(join(dir, 'data', 'big.bin'), Buffer.alloc(51 * 2 ** 20))
    expect(loadProblem(dir).warnings.find((w) => w.startsWith('the folder holds'))).toMatch(
      /^the folder holds 51\.0 MiB \(largest: data\/big\.bin 51\.0 MiB\): it is stored in the database and sent to every worker/,
    )
    expect(loadProblem(folder({ ...OE })).warnings.some((w) => w.startsWith('the folder holds'))).toBe(false)
  })

  it('refuses a folder too large to bundle as bad input, naming its largest files', () => {
    const dir = folder(OE)
    mkdirSync(join(dir, 'data'))
    // sparse: the size counts, the disk does not
    writeFileSync(join(dir, 'data', 'blob.bin'), '')
    truncateSync(join(dir, 'data', 'blob.bin'), 201 * 2 ** 20)
    let error: unknown
    try {
      loadProblem(dir)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ProblemLoadError)
    expect((error as Error).message).toMatch(
      /larger than 200 MiB \(largest: data\/blob\.bin 201\.0 MiB\): the folder travels/,
    )
  })
})

describe('ids from folder names (formats without an id of their own)', () => {
  it('gives non-ASCII folder names ids of their own', () => {
    const named = (name: string) => {
      const dir = join(root, name)
      mkdirSync(dir)
      for (const [f, text] of Object.entries(OE)) writeFileSync(join(dir, f), text)
      return loadProblem(dir).spec.id
    }
    const math = named('数学')
    const physics = named('物理')
    expect(math).toMatch(/^problem-[0-9a-f]{6}$/)
    expect(physics).not.toBe(math)
    expect(named('ünïcödé 問題')).toMatch(/^unicode-[0-9a-f]{6}$/)
    expect(named('Café')).toBe('cafe')
  })
})
