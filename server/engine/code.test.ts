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
    const r = spliceFromEdited(PY, rewrite)
    expect(r.check.ok).toBe(false)
    expect(r.code).toContain('import math')
    expect(r.code).toContain('9.5')
  })

  it('repairs rewrites that dropped the markers, or that return only the region', () => {
    const noMarkers = PY.replace('# EVOLVE-BLOCK-START\n', '').replace('# EVOLVE-BLOCK-END\n', '').replace('2.5', '7.5')
    const a = spliceFromEdited(PY, noMarkers)
    expect(a.code).toBe(PY.replace('2.5', '7.5'))
    const onlyRegion = 'def f(x):\n    return x * 4.5\n'
    const b = spliceFromEdited(PY, onlyRegion)
    expect(b.code).toContain('# EVOLVE-BLOCK-START\ndef f(x):\n    return x * 4.5\n# EVOLVE-BLOCK-END')
    expect(b.code).toContain('import math')
    // a program that kept some fixed code but not in place is not guessed at
    expect(spliceFromEdited(PY, 'print(f(3))\ndef f(x):\n    return 1\n').code).toBeNull()
  })
})
