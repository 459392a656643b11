import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { normalizeCode } from './code.ts'
import {
  applyAnyLocalOperator,
  crossoverBlocks,
  crossoverLiterals,
  findFunctions,
  findLiterals,
  formatFloat,
  LOCAL_OPERATOR_VARIANTS,
  perturbLiterals,
  StepAdapter,
  swapStatements,
} from './operators-local.ts'
import { Rng } from './rng.ts'

const PY = `import numpy as np
LIMIT = 10  # outside the block: never touched

# EVOLVE-BLOCK-START
def solve(x):
    """uses 3 tricks"""
    rate = 0.05  # step 0.1 in the comment
    n = 100
    w = -2.5
    label = "v 1.5"
    y = x[0] * rate + w * 1e-3
    for i in range(n):
        y = y - 3
    return y
# EVOLVE-BLOCK-END

print(solve([1.0]))
`

const skeleton = (code: string, lang = 'python') =>
  normalizeCode(code, lang)
    .replace(/\b\d[\d.eE+-]*\b/g, '#')
    .replace(/\(?-?#\)?/g, '#')
    .replace(/- #/g, '#')

describe('findLiterals', () => {
  it('finds numbers inside EVOLVE-BLOCKs only, not in strings or comments, with unary minus and kinds', () => {
    const lits = findLiterals(PY, 'python')
    expect(lits.map((l) => [l.text, l.kind, l.value])).toEqual([
      ['0.05', 'float', 0.05],
      ['100', 'int', 100],
      ['-2.5', 'float', -2.5],
      ['1e-3', 'float', 0.001],
      ['3', 'int', 3], // binary minus: `y - 3` keeps its operator
    ])
    // x[0] is an index, skipped
    expect(lits.some((l) => l.text === '0')).toBe(false)
    expect(new Set(lits.map((l) => l.key)).size).toBe(lits.length)
  })

  it('c-like suffixes, hex skipped, keys stable when code elsewhere changes', () => {
    const c = 'float a = 1.5f; int b = 0xFF; long c = 10L; double d = a*-2.0;'
    expect(findLiterals(c, 'cpp').map((l) => [l.text, l.suffix, l.value])).toEqual([
      ['1.5f', 'f', 1.5],
      ['10L', 'L', 10],
      ['-2.0', '', -2],
    ])
    const k1 = findLiterals(PY, 'python').map((l) => l.key)
    const k2 = findLiterals(PY.replace('    n = 100\n', '    n = 100\n    extra = 7\n'), 'python').map((l) => l.key)
    for (const k of k1) expect(k2).toContain(k)
  })

  it('formats floats that stay floats in every language', () => {
    expect(formatFloat(2, 6)).toBe('2.0')
    expect(formatFloat(0.123456789, 4)).toBe('0.1235')
    expect(formatFloat(1.5e-7, 3)).toBe('1.5e-7')
    expect(formatFloat(1e21, 3)).toBe('1.0e21')
  })
})

describe('perturbLiterals', () => {
  it('changes only literals in the block; ints stay ints, floats stay floats; strings untouched', () => {
    const rng = new Rng(1)
    for (let t = 0; t < 200; t++) {
      const r = perturbLiterals(PY, 'python', rng, { sigma: 0.3 })!
      expect(r.operator).toBe('perturb')
      expect(skeleton(r.code)).toBe(skeleton(PY))
      expect(r.code).toContain('LIMIT = 10')
      expect(r.code).toContain('"v 1.5"')
      expect(r.code).toContain('# step 0.1 in the comment')
      const lits = findLiterals(r.code, 'python')
      expect(lits.map((l) => l.kind)).toEqual(['float', 'int', 'float', 'float', 'int'])
      expect(lits[1]!.value).toBeGreaterThanOrEqual(1) // positive ints stay ≥ 1
      expect(r.description).toMatch(/^perturbed \d literals? by ×0\.3 step/)
    }
  })

  it('writes negative values validly after a binary minus (C-like)', () => {
    const js = 'let y = x-3.0;\nlet z = x - 2.0;\n'
    const rng = new Rng(2)
    let sawParen = false
    for (let t = 0; t < 300; t++) {
      const r = perturbLiterals(js, 'javascript', rng, { sigma: 5, count: 2 })!
      expect(r.code).not.toMatch(/--|\+-/)
      if (r.code.includes('(-')) sawParen = true
      // still parses as JS
      expect(() => new Function('x', r.code)).not.toThrow()
    }
    expect(sawParen).toBe(true)
  })

  it('adapts its step by the 1/5th success rule', () => {
    const a = new StepAdapter({ initialSigma: 0.1 })
    for (let i = 0; i < 10; i++) a.record({ changes: [{ key: 'k' }] }, true)
    expect(a.sigma).toBeGreaterThan(0.5)
    const b = new StepAdapter({ initialSigma: 0.1 })
    for (let i = 0; i < 10; i++) b.record({ changes: [{ key: 'k' }] }, false)
    expect(b.sigma).toBeLessThan(0.1)
    // at a success rate of 1/5 the step is stationary
    const c = new StepAdapter({ initialSigma: 0.1 })
    for (let i = 0; i < 100; i++) c.record({}, i % 5 === 0)
    expect(c.sigma).toBeCloseTo(0.1, 5)
    // literals that helped are preferred; the state round-trips
    const d = new StepAdapter()
    for (let i = 0; i < 5; i++) d.record({ changes: [{ key: 'good' }] }, true)
    for (let i = 0; i < 5; i++) d.record({ changes: [{ key: 'bad' }] }, false)
    expect(d.weightFor('good')).toBeGreaterThan(d.weightFor('bad'))
    expect(StepAdapter.fromJSON(JSON.parse(JSON.stringify(d.toJSON()))).toJSON()).toEqual(d.toJSON())
  })

  it('really searches: a (1+1) loop with the adaptive step finds constants to high precision', () => {
    const target = [3.7, 12, -0.5, 250]
    const prog0 = '# EVOLVE-BLOCK-START\na = 1.0\nb = 5\nc = -2.0\nd = 10.0\n# EVOLVE-BLOCK-END\n'
    const loss = (code: string) =>
      findLiterals(code, 'python').reduce(
        (s, l, i) => s + ((l.value - target[i]!) / (Math.abs(target[i]!) + 1)) ** 2,
        0,
      )
    const rng = new Rng(3)
    const adapter = new StepAdapter({ initialSigma: 0.3 })
    let best = prog0
    let bestLoss = loss(prog0)
    for (let it = 0; it < 1500; it++) {
      const r = perturbLiterals(best, 'python', rng, { adapter })
      if (!r) continue
      const l = loss(r.code)
      const improved = l < bestLoss
      adapter.record(r.params, improved)
      if (improved) {
        best = r.code
        bestLoss = l
      }
    }
    expect(bestLoss).toBeLessThan(1e-5)
    expect(findLiterals(best, 'python')[1]!.value).toBe(12)
  })
})

describe('crossover', () => {
  const A = '# EVOLVE-BLOCK-START\na = 1.0\nb = 10\nfor i in range(5):\n    c = a * 2.0\n# EVOLVE-BLOCK-END\n'
  const B = '# EVOLVE-BLOCK-START\na = 3.0\nb = 20\nfor i in range(7):\n    c = a * 4.0\n# EVOLVE-BLOCK-END\n'

  it('uniform: each aligned literal comes from one parent, at least one from the mate', () => {
    const rng = new Rng(4)
    for (let t = 0; t < 50; t++) {
      const r = crossoverLiterals(A, B, 'python', rng, { mode: 'uniform' })!
      const v = findLiterals(r.code, 'python').map((l) => l.value)
      const va = findLiterals(A, 'python').map((l) => l.value)
      const vb = findLiterals(B, 'python').map((l) => l.value)
      v.forEach((x, i) => {
        expect([va[i], vb[i]]).toContain(x)
      })
      expect(v).not.toEqual(va)
      expect(r.params.alignedLines).toBe(4)
    }
  })

  it('blend: values lie in the BLX-α interval and ints stay ints', () => {
    const rng = new Rng(5)
    const r = crossoverLiterals(A, B, 'python', rng, { mode: 'blend', alpha: 0 })!
    const v = findLiterals(r.code, 'python')
    expect(v[0]!.value).toBeGreaterThanOrEqual(1)
    expect(v[0]!.value).toBeLessThanOrEqual(3)
    expect(v[1]!.kind).toBe('int')
    expect(r.description).toMatch(/blended/)
  })

  it('aligns only lines with the same structure; identical parents give nothing', () => {
    const C = A.replace('c = a * 2.0', 'c = a + 9.0')
    const r = crossoverLiterals(A, C, 'python', new Rng(6), { mode: 'uniform' })
    expect(r).toBeNull()
    expect(crossoverLiterals(A, A, 'python', new Rng(6))).toBeNull()
  })

  it('block crossover takes a region when there are several, else a whole function', () => {
    const two = (x: number, y: number) =>
      `# EVOLVE-BLOCK-START\nx = ${x}\n# EVOLVE-BLOCK-END\nmid()\n# EVOLVE-BLOCK-START\ny = ${y}\n# EVOLVE-BLOCK-END\n`
    const r = crossoverBlocks(two(1, 2), two(3, 4), 'python', new Rng(7))!
    expect([two(3, 2), two(1, 4)]).toContain(r.code)
    const pa = 'def f(x):\n    return x + 1\n\ndef g(x):\n    if x:\n        return 2\n    return 3\n\nprint(g(1))\n'
    const pb = 'def g(x):\n    return -x\n\ndef f(x):\n    return x + 1\n'
    const f = crossoverBlocks(pa, pb, 'python', new Rng(8))!
    expect(f.code).toBe('def f(x):\n    return x + 1\n\ndef g(x):\n    return -x\n\nprint(g(1))\n')
    expect(f.description).toBe('took function g() from the second parent')
  })

  it('finds functions in JS/C++ with brace matching that ignores braces in strings', () => {
    const js = 'function a(x) {\n  const s = "}"\n  return x\n}\nconst b = (y) => {\n  return y * 2\n}\n'
    expect(findFunctions(js, 'javascript').map((f) => [f.name, f.startLine, f.endLine])).toEqual([
      ['a', 0, 4],
      ['b', 4, 7],
    ])
    const cpp = 'static double score(const std::vector<int>& v) {\n  return 1.0;\n}\nint main() {\n  if (x) {\n  }\n}\n'
    expect(findFunctions(cpp, 'cpp').map((f) => f.name)).toEqual(['score', 'main'])
  })
})

describe('swapStatements', () => {
  it('swaps adjacent python statements, moving compound statements whole, never return/else', () => {
    const code =
      'def f(x):\n    a = 1\n    b = 2\n    if a:\n        c = 3\n    else:\n        c = 4\n    for i in range(2):\n        a += i\n    d = 5\n    return a\n'
    const seen = new Set<string>()
    const rng = new Rng(9)
    for (let t = 0; t < 200; t++) {
      const r = swapStatements(code, 'python', rng)!
      seen.add(r.code)
      expect(r.code.trimEnd().split('\n').at(-1)).toBe('    return a')
      expect(r.code).toMatch(/if a:\n {8}c = 3\n {4}else:\n {8}c = 4/)
    }
    expect(seen).toContain(code.replace('    a = 1\n    b = 2\n', '    b = 2\n    a = 1\n'))
    expect(seen).toContain(
      code.replace(
        '    for i in range(2):\n        a += i\n    d = 5\n',
        '    d = 5\n    for i in range(2):\n        a += i\n',
      ),
    )
  })

  it('swaps single-line C-like statements at the same depth only', () => {
    const js = 'function f() {\n  let a = 1;\n  let b = 2;\n  if (a) {\n    b++;\n  }\n  return a + b;\n}\n'
    const r = swapStatements(js, 'javascript', new Rng(1))!
    expect(r.code).toBe(js.replace('  let a = 1;\n  let b = 2;\n', '  let b = 2;\n  let a = 1;\n'))
    expect(swapStatements('return 1;\n', 'javascript', new Rng(1))).toBeNull()
  })

  it('python fuzz: swaps and perturbations keep programs compilable', () => {
    const rng = new Rng(10)
    const progs: string[] = []
    for (let t = 0; t < 120; t++) {
      const lines = ['import math', '# EVOLVE-BLOCK-START', 'def f(x):', '    """doc"""']
      let v = 0
      const body = (ind: string, depth: number) => {
        const n = 1 + rng.int(4)
        for (let i = 0; i < n; i++) {
          const r = rng.next()
          if (depth < 3 && r < 0.2) {
            lines.push(`${ind}if x > ${rng.int(9)}:`)
            body(ind + '    ', depth + 1)
            if (rng.chance(0.5)) {
              lines.push(`${ind}else:`)
              body(ind + '    ', depth + 1)
            }
          } else if (depth < 3 && r < 0.3) {
            lines.push(`${ind}for i in range(${1 + rng.int(5)}):`)
            body(ind + '    ', depth + 1)
          } else if (r < 0.4) lines.push(`${ind}y${v++} = (x +`, `${ind}    ${rng.int(9)})`)
          else lines.push(`${ind}x = x * ${(rng.next() * 3).toFixed(2)} - ${rng.int(5)}`)
        }
      }
      body('    ', 1)
      lines.push('    return x', '# EVOLVE-BLOCK-END', 'print(f(1.0))', '')
      let code = lines.join('\n')
      for (let k = 0; k < 3; k++) {
        const r = rng.chance(0.5)
          ? swapStatements(code, 'python', rng)
          : perturbLiterals(code, 'python', rng, { sigma: 2 })
        if (r) code = r.code
      }
      progs.push(code)
    }
    const script =
      'import json,sys\nbad=[]\nfor i,src in enumerate(json.load(sys.stdin)):\n  try: compile(src, "p", "exec")\n  except SyntaxError as e: bad.append([i, str(e)])\nprint(json.dumps(bad))'
    const res = spawnSync('python3', ['-c', script], { input: JSON.stringify(progs), encoding: 'utf8' })
    if (res.error) return // no python on this machine
    expect(JSON.parse(res.stdout)).toEqual([])
  })
})

describe('dispatch', () => {
  it('falls back to an operator that applies and exposes differently configured variants', () => {
    const noLits = '# EVOLVE-BLOCK-START\na = b\nc = d\n# EVOLVE-BLOCK-END\n'
    const r = applyAnyLocalOperator({ code: noLits, language: 'python' }, new Rng(1))!
    expect(r.operator).toBe('swap')
    expect(applyAnyLocalOperator({ code: 'pass\n', language: 'python' }, new Rng(1))).toBeNull()
    expect(new Set(LOCAL_OPERATOR_VARIANTS.map((v) => v.id)).size).toBe(LOCAL_OPERATOR_VARIANTS.length)
    const sigmas = LOCAL_OPERATOR_VARIANTS.flatMap((v) => (v.options.perturb?.sigma ? [v.options.perturb.sigma] : []))
    expect(new Set(sigmas).size).toBeGreaterThanOrEqual(3)
  })
})
