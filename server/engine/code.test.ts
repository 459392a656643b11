import { describe, expect, it } from 'vitest'
import {
  checkOutsideUnchanged,
  codeHash,
  findEvolveBlocks,
  normalizeCode,
  regionContents,
  spliceFromEdited,
  spliceRegions,
  tokenize,
} from './code.ts'
import { findElision, partialRegion } from './partial-rewrite.ts'
import { FIT_PROGRAM } from '../../test-support/fit-program.ts'

const PY = `import math  # a comment with 3.5
# EVOLVE-BLOCK-START
def f(x):
    s = "a # not a comment 7"
    return x * 2.5 + 1  # tail
# EVOLVE-BLOCK-END

print(f(3))
`

describe('tokenize / normalize / hash', () => {
  it('drops comments, keeps strings whole, finds numbers outside strings only', () => {
    const toks = tokenize(PY, 'python')
    const nums = toks.filter((t) => t.kind === 'num').map((t) => PY.slice(t.start, t.end))
    expect(nums).toEqual(['2.5', '1', '3'])
    const strs = toks.filter((t) => t.kind === 'str').map((t) => PY.slice(t.start, t.end))
    expect(strs).toEqual(['"a # not a comment 7"'])
  })

  it('c-like: line and block comments, char literals, suffixes, templates', () => {
    const js = 'const a = 1.5e-3 /* 9 */ + 0x1F; // 8\nconst s = `x ${2}`; let c = 2.0f + 10UL'
    const nums = tokenize(js, 'javascript')
      .filter((t) => t.kind === 'num')
      .map((t) => js.slice(t.start, t.end))
    expect(nums).toEqual(['1.5e-3', '0x1F', '2.0f', '10UL'])
  })

  it('python logical lines ignore newlines inside brackets and carry indentation depth', () => {
    const code = 'def g(a,\n      b):\n  return [a,\n          b]\n'
    const toks = tokenize(code, 'python')
    expect(toks.filter((t) => t.kind === 'nl')).toHaveLength(2)
    const ret = toks.find((t) => code.slice(t.start, t.end) === 'return')
    expect(ret?.depth).toBe(1)
  })

  it('normalization ignores comments, blank lines, spacing and indentation width', () => {
    const a = 'def f(x):\n    # doc\n    y = x+1\n\n    return y\n'
    const b = 'def f( x ):\n  y = x + 1   # inc\n  return y'
    const c = 'def f(x):\n    y = x + 2\n    return y\n'
    expect(normalizeCode(a, 'python')).toBe(normalizeCode(b, 'python'))
    expect(codeHash(a, 'python')).toBe(codeHash(b, 'python'))
    expect(codeHash(a, 'python')).not.toBe(codeHash(c, 'python'))
    // indentation is meaningful in python: moving a line out of a block changes the hash
    const d = 'def f(x):\n    y = x+1\nreturn y\n'
    expect(codeHash(a, 'python')).not.toBe(codeHash(d, 'python'))
  })

  it('c-like normalization: comments and whitespace do not matter, operators keep their grouping', () => {
    const a = 'int f(int x){ return x+1; } // c'
    const b = 'int f(int x)\n{\n  /* body */ return x + 1;\n}\n'
    expect(codeHash(a, 'cpp')).toBe(codeHash(b, 'cpp'))
    expect(normalizeCode('a--b', 'c')).not.toBe(normalizeCode('a - -b', 'c'))
    // a sign glued to a number after an operator is a unary minus of its own
    expect(normalizeCode('x=-1', 'c')).toBe(normalizeCode('x = - 1', 'c'))
  })

  it('survives unterminated strings and comments', () => {
    expect(() => tokenize('x = "abc\ny = 1', 'python')).not.toThrow()
    expect(() => tokenize('int a = 1; /* never closed', 'c')).not.toThrow()
    expect(tokenize('x = """abc\n', 'python').some((t) => t.kind === 'str')).toBe(true)
  })
})

describe('EVOLVE-BLOCK regions', () => {
  it('finds regions in # and // comments', () => {
    const b = findEvolveBlocks(PY)
    expect(b.hasMarkers).toBe(true)
    expect(b.regions).toHaveLength(1)
    expect(b.regions[0]).toMatchObject({ startMarkerLine: 1, endMarkerLine: 5, contentStartLine: 2, contentEndLine: 5 })
    expect(regionContents(PY)[0]).toBe('def f(x):\n    s = "a # not a comment 7"\n    return x * 2.5 + 1  # tail\n')
    const js =
      'a\n  // EVOLVE-BLOCK-START\nb\n  // EVOLVE-BLOCK-END\nc\n// EVOLVE-BLOCK-START\nd\n// EVOLVE-BLOCK-END\n'
    expect(findEvolveBlocks(js).regions.map((r) => r.contentStartLine)).toEqual([2, 6])
  })

  it('reports unbalanced markers and treats an unclosed block as running to EOF', () => {
    const b = findEvolveBlocks('a\n# EVOLVE-BLOCK-START\nb\nc')
    expect(b.errors[0]).toMatch(/no END/)
    expect(b.regions[0]?.contentEndLine).toBe(4)
    expect(findEvolveBlocks('# EVOLVE-BLOCK-END\n').errors[0]).toMatch(/without a START/)
    expect(findEvolveBlocks('x = 1\n').hasMarkers).toBe(false)
  })

  it('detects changes outside regions with line numbers and accepts changes inside', () => {
    const inside = PY.replace('2.5', '3.5')
    expect(checkOutsideUnchanged(PY, inside).ok).toBe(true)
    // trailing whitespace outside is not a change
    expect(checkOutsideUnchanged(PY, PY.replace('print(f(3))', 'print(f(3))   ')).ok).toBe(true)
    const outside = inside.replace('print(f(3))', 'print(f(4))')
    const c = checkOutsideUnchanged(PY, outside)
    expect(c.ok).toBe(false)
    expect(c.violations[0]).toMatchObject({
      kind: 'changed',
      originalLine: 8,
      editedLine: 8,
      expected: 'print(f(3))',
      actual: 'print(f(4))',
    })
    // growing the region shifts later lines; they still compare equal
    const grown = PY.replace('    return x', '    x = x + 1\n    return x')
    expect(checkOutsideUnchanged(PY, grown).ok).toBe(true)
    const noMarkers = PY.replace('# EVOLVE-BLOCK-END\n', '')
    expect(checkOutsideUnchanged(PY, noMarkers).violations[0]?.kind).toBe('markers')
    const added = PY.replace('import math', 'import math\nimport os')
    expect(checkOutsideUnchanged(PY, added).violations[0]?.message).toMatch(/added|changed/)
  })

  it('splices region contents and repairs full rewrites that touched fixed code', () => {
    const out = spliceRegions(PY, ['def f(x):\n    return 0'])
    expect(out).toContain('# EVOLVE-BLOCK-START\ndef f(x):\n    return 0\n# EVOLVE-BLOCK-END')
    expect(out).toContain('import math')
    const rewrite = PY.replace('import math', 'import numpy').replace('2.5', '9.5')
    const r = spliceFromEdited(PY, rewrite, 'python')
    expect(r.check.ok).toBe(false)
    expect(r.code).toContain('import math')
    expect(r.code).toContain('9.5')
  })

  it('repairs rewrites that dropped the markers, or that return only the region', () => {
    const noMarkers = PY.replace('# EVOLVE-BLOCK-START\n', '').replace('# EVOLVE-BLOCK-END\n', '').replace('2.5', '7.5')
    const a = spliceFromEdited(PY, noMarkers, 'python')
    expect(a.code).toBe(PY.replace('2.5', '7.5'))
    const onlyRegion = 'def f(x):\n    return x * 4.5\n'
    const b = spliceFromEdited(PY, onlyRegion, 'python')
    expect(b.code).toContain('# EVOLVE-BLOCK-START\ndef f(x):\n    return x * 4.5\n# EVOLVE-BLOCK-END')
    expect(b.code).toContain('import math')
    // a program that kept some fixed code but not in place is not guessed at
    expect(spliceFromEdited(PY, 'print(f(3))\ndef f(x):\n    return 1\n', 'python').code).toBeNull()
  })
})

// the explorer's problem: fixed code above and below one region holding A, B, C, D and predict
const FIT = FIT_PROGRAM
const FIT_BLOCK = FIT.slice(FIT.indexOf('A = 0.5'), FIT.indexOf('# EVOLVE-BLOCK-END'))
const SNIPPET = 'def predict(x):\n    y = A * x * x + B * x + C * 0.722\n    return y + 0.3 * math.sin(D * x)\n'

describe('rewrites that leave code out', () => {
  it('finds the placeholders models write for omitted code, in the comments of the language', () => {
    const cases: Array<[string, string, string]> = [
      ['python', 'A = 1\n# ... rest of the block unchanged ...\n', '# ... rest of the block unchanged ...'],
      ['python', 'def f(x):\n    # (unchanged)\n\ndef g():\n    return 1\n', '# (unchanged)'],
      ['python', 'A = 1\n# rest of the code stays the same\n', '# rest of the code stays the same'],
      ['python', 'def f(x):\n    y = x + 1\n    ...\n    return y\n', '...'],
      ['python', 'A = 1\n...\n', '...'],
      ['python', 'x = 1\n\u2026\n', '\u2026'],
      ['python', 'def f(x):\n    return x  # ... same as before\n', '# ... same as before'],
      ['javascript', 'const A = 1\n// ... existing code ...\nfunction f() {}\n', '// ... existing code ...'],
      ['cpp', 'int a = 1;\n/* ... */\n', '/* ... */'],
      ['cpp', 'int f() {\n  int y = 2;\n  ...\n  return y;\n}\n', '...'],
    ]
    for (const [language, code, text] of cases) expect(findElision(code, language), code).toMatchObject({ text })
    expect(findElision('A = 1\nB = 2\n# ... rest unchanged\n', 'python')).toEqual({
      line: 3,
      text: '# ... rest unchanged',
    })
  })

  it("leaves valid code and ordinary comments alone: stubs, strings, the parent's own comments", () => {
    const valid: Array<[string, string]> = [
      ['python', 'def f(x):\n    ...\n\n\ndef g(x):\n    """doc"""\n    ...\n'],
      ['python', 'class P(Protocol):\n    def f(self):\n        ...\n    def g(self): ...\n'],
      ['python', 'DOC = """\n# ... rest unchanged ...\n...\n"""\nS = "# ... existing code ..."\n'],
      ['python', 'B = 0.1  # B and C stay unchanged\n# try 0.5, 0.6, ... until it fits\nC = 2\n'],
      ['python', 'x = a[..., 0]\n'],
      ['c', 'int printf(const char *fmt,\n    ...\n);\n'],
      ['javascript', 'const url = "http://x/ ... rest unchanged"\n'],
    ]
    for (const [language, code] of valid) expect(findElision(code, language), code).toBeNull()
    // a comment the program already had is its own, not a placeholder
    const own = 'A = 1\n# (unchanged)\n'
    expect(findElision(own, 'python', own)).toBeNull()
  })

  it('refuses a rewrite that elides code, naming the placeholder and its line', () => {
    const lazy = FIT.replace(FIT_BLOCK, 'A = 0.5142\n# ... rest of the block unchanged ...\n')
    expect(spliceFromEdited(FIT, lazy, 'python')).toMatchObject({
      code: null,
      reason:
        'the rewrite leaves code out ("# ... rest of the block unchanged ..." at line 8): answer with the whole program',
    })
  })
})

describe('rewrites that are a snippet of the region', () => {
  it('merges a Python snippet of one definition in place of it, keeping the definitions it uses', () => {
    const r = spliceFromEdited(FIT, SNIPPET, 'python')
    expect(r.code).toBe(
      FIT.replace('    y = A * x * x + B * x\n    y = y + C\n', '    y = A * x * x + B * x + C * 0.722\n'),
    )
    expect(r.note).toBe(
      'its rewrite held only predict of the EVOLVE-BLOCK (not A, B, C and D, which it uses), so it replaced that definition in the block',
    )
    // with the markers around it, and fenced without the fixed code, it is the same snippet
    expect(spliceFromEdited(FIT, `# EVOLVE-BLOCK-START\n${SNIPPET}# EVOLVE-BLOCK-END\n`, 'python').code).toBe(r.code)
  })

  it('puts new definitions beside the ones they follow in the snippet, and decorated ones move whole', () => {
    const snippet =
      'import numpy as np\n\nB = 0.2\n\n\n@cache\ndef predict(x):\n    return np.sin(A * x) + B + C + D\n\n\ndef offset(c):\n    return c\n'
    const merged = partialRegion(FIT_BLOCK, snippet, 'python')
    expect(merged).toMatchObject({ note: expect.stringMatching(/^its rewrite held only B and predict /) })
    expect((merged as { merged: string }).merged).toBe(
      'A = 0.5\nimport numpy as np\n\nB = 0.2\nC = -0.2\nD = 1.0\n\n\n@cache\ndef predict(x):\n    return np.sin(A * x) + B + C + D\n\ndef offset(c):\n    return c\n',
    )
    // an indented region (inside a class) gets the snippet at its own indentation
    const cls = '    A = 1\n\n    def f(self):\n        return self.A\n\n    def g(self):\n        return A\n'
    expect(partialRegion(cls, 'def g(self):\n    return A * 2\n', 'python')).toMatchObject({
      merged: '    A = 1\n\n    def f(self):\n        return self.A\n\n    def g(self):\n        return A * 2\n',
    })
  })

  it('takes a rewrite of the whole region as it is, even one that drops definitions it no longer uses', () => {
    expect(partialRegion(FIT_BLOCK, 'def predict(x):\n    return 1.3 * x * x\n', 'python')).toBeNull()
    expect(spliceFromEdited(FIT, 'def predict(x):\n    return 1.3 * x * x\n', 'python').code).toContain(
      '# EVOLVE-BLOCK-START\ndef predict(x):\n    return 1.3 * x * x\n# EVOLVE-BLOCK-END',
    )
    expect(partialRegion(FIT_BLOCK, FIT_BLOCK.replace('0.5', '0.6'), 'python')).toBeNull()
  })

  it('refuses a Python snippet it cannot place, saying why', () => {
    const refused: Array<[string, RegExp]> = [
      ['def helper(x):\n    return A\n', /uses A without defining it, and redefines none of the block/],
      ['def predict(x):\n    return A\nprint(predict(1))\n', /holds statements besides definitions/],
      ['def predict(x):\n    return A\ndef predict(x):\n    return B\n', /it defines predict more than once/],
    ]
    for (const [snippet, why] of refused) {
      const r = spliceFromEdited(FIT, snippet, 'python')
      expect(r.code, snippet).toBeNull()
      expect(r.reason).toMatch(/^its rewrite is a part of the EVOLVE-BLOCK: /)
      expect(r.reason).toMatch(why)
      expect(r.reason).toMatch(/: answer with the whole program$/)
    }
    expect(
      partialRegion('A, B = 1, 2\n\ndef f():\n    return A + B\n', 'A = 3\n\ndef f():\n    return A\n', 'python'),
    ).toBeNull()
    expect(partialRegion('A, B = 1, 2\nC = 3\n', 'A = 3\nD = B + C\n', 'python')).toMatchObject({
      reason: expect.stringMatching(/a part of a statement that also defines B/),
    })
  })

  it('refuses a snippet in another language that leaves out most of the region and uses what it left out', () => {
    const region =
      'const A = 0.5\nconst B = 0.1\nlet C = -0.2\n\nfunction predict(x) {\n  return A * x * x + B * x + C\n}\n'
    expect(partialRegion(region, 'function predict(x) {\n  return A * x + 1\n}\n', 'javascript')).toEqual({
      reason:
        'its rewrite is a part of the EVOLVE-BLOCK: it defines only predict of its A, B, C and predict, and uses A without defining it: answer with the whole program',
    })
    expect(partialRegion(region, 'function predict(x) {\n  return 2 * x\n}\n', 'javascript')).toBeNull()
    const c = 'double A = 0.5;\ndouble B = 0.1;\n\ndouble predict(double x) {\n  return A * x + B;\n}\n'
    expect(partialRegion(c, 'double predict(double x) {\n  return A * x;\n}\n', 'c')).toMatchObject({
      reason: expect.stringMatching(/defines only predict of its A, B and predict, and uses A/),
    })
  })
})

describe('why a rewrite could not be spliced', () => {
  it('names the markers removed and the first line changed outside them', () => {
    const dropped = FIT.replace('# EVOLVE-BLOCK-START\n', '')
      .replace('# EVOLVE-BLOCK-END\n', '')
      .replace('LABEL = "fit"', 'LABEL = "changed"')
    expect(spliceFromEdited(FIT, dropped, 'python')).toMatchObject({
      code: null,
      reason: 'its rewrite removed the EVOLVE-BLOCK markers and changed line 3 outside them',
      advice: expect.stringMatching(/Keep the EVOLVE-BLOCK markers/),
    })
    const after = FIT.replace('# EVOLVE-BLOCK-END\n', '')
      .replace('# EVOLVE-BLOCK-START\n', '')
      .replace('return LABEL', 'return "x"')
    expect(spliceFromEdited(FIT, after, 'python').reason).toBe(
      'its rewrite removed the EVOLVE-BLOCK markers and changed line 21 outside them',
    )
    const half = FIT.replace('# EVOLVE-BLOCK-END\n', '')
    expect(spliceFromEdited(FIT, half, 'python').reason).toMatch(
      /^its rewrite broke the EVOLVE-BLOCK markers \(EVOLVE-BLOCK-START on line 6 has no END/,
    )
    const two = FIT.replace('D = 1.0\n', 'D = 1.0\n# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-START\n')
    expect(spliceFromEdited(FIT, two, 'python').reason).toBe(
      'its rewrite has 2 EVOLVE-BLOCK region(s) where the program has 1',
    )
  })

  it('says which outside edit it dropped when it keeps the inside one, and when it put markers back', () => {
    const outside = FIT.replace('LABEL = "fit"', 'LABEL = "fit2"').replace('A = 0.5', 'A = 0.6')
    const r = spliceFromEdited(FIT, outside, 'python')
    expect(r.code).toBe(FIT.replace('A = 0.5', 'A = 0.6'))
    expect(r.note).toBe('its edit outside the EVOLVE-BLOCK regions (line 3 changed) was dropped')
    const noMarkers = FIT.replace('# EVOLVE-BLOCK-START\n', '')
      .replace('# EVOLVE-BLOCK-END\n', '')
      .replace('A = 0.5', 'A = 0.7')
    const back = spliceFromEdited(FIT, noMarkers, 'python')
    expect(back.note).toBe('the EVOLVE-BLOCK markers it left out were put back')
    expect(back.code).toMatch(/^import math\n\nLABEL = "fit"\n\n\n# EVOLVE-BLOCK-START\n\s*A = 0\.7\n/)
    expect(back.code?.endsWith('# EVOLVE-BLOCK-END\n\n\ndef describe():\n    return LABEL\n')).toBe(true)
    // a rewrite that changed only the region is taken as written, with nothing to say
    const inside = FIT.replace('A = 0.5', 'A = 0.8')
    expect(spliceFromEdited(FIT, inside, 'python')).toEqual({ code: inside, check: { ok: true, violations: [] } })
  })
})
