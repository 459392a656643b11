import { describe, expect, it } from 'vitest'
import {
  applySearchReplace,
  describeApply,
  extractFullProgram,
  isUnifiedDiff,
  otherLanguageTag,
  parseAnswer,
  parseSearchReplace,
  stripThinking,
} from './diff.ts'
import { Rng } from './rng.ts'

const PROG = `import math

# EVOLVE-BLOCK-START
def score(x, y):
    a = x * 0.5
    b = y + 2
    if a > b:
        return a - b
    return a + b
# EVOLVE-BLOCK-END

def main():
    print(score(1, 2))
`

const block = (s: string, r: string, n = 7) =>
  `${'<'.repeat(n)} SEARCH\n${s}\n${'='.repeat(n)}\n${r}\n${'>'.repeat(n)} REPLACE`

describe('stripThinking', () => {
  it('removes closed think blocks, orphan closing tags and unclosed reasoning', () => {
    expect(stripThinking('<think>plan\n<<<<<<< SEARCH</think>answer').text).toBe('answer')
    expect(stripThinking('I am reasoning...</think>\nfinal').text).toBe('\nfinal')
    expect(stripThinking('done\n<thinking>never closed').text).toBe('done\n')
    expect(stripThinking('a\r\nb').text).toBe('a\nb')
  })
})

describe('parseSearchReplace', () => {
  it('extracts blocks from prose, fences and several blocks', () => {
    const ans = `Here is my change:\n\n\`\`\`python\n${block('    a = x * 0.5', '    a = x * 0.7')}\n\`\`\`\n\nAnd another:\n${block('    b = y + 2', '    b = y + 3')}\nThat should help.`
    const { blocks, issues } = parseSearchReplace(ans)
    expect(issues).toEqual([])
    expect(blocks.map((b) => [b.search, b.replace])).toEqual([
      ['    a = x * 0.5', '    a = x * 0.7'],
      ['    b = y + 2', '    b = y + 3'],
    ])
  })

  it('tolerates 5–9 marker characters, CRLF, a missing final newline and marker suffixes', () => {
    for (const n of [5, 6, 8, 9]) {
      const { blocks } = parseSearchReplace(block('a', 'b', n).replace(/\n/g, '\r\n'))
      expect(blocks).toEqual([{ search: 'a', replace: 'b', line: 1 }])
    }
    expect(parseSearchReplace('<<<<<<< SEARCH (score)\nx\n=======\ny\n>>>>>>> REPLACE (done)').blocks).toHaveLength(1)
  })

  it('unwraps fences inside a side of a block', () => {
    const { blocks } = parseSearchReplace(
      '<<<<<<< SEARCH\n```python\nx = 1\n```\n=======\n```python\nx = 2\n```\n>>>>>>> REPLACE',
    )
    expect(blocks[0]).toMatchObject({ search: 'x = 1', replace: 'x = 2' })
  })

  it('reports malformed blocks and keeps the good ones', () => {
    const ans = [
      '<<<<<<< SEARCH',
      'a',
      '>>>>>>> REPLACE', // no divider
      block('b', 'c'),
      '<<<<<<< SEARCH',
      'd',
      '=======',
      'e', // truncated
    ].join('\n')
    const { blocks, issues } = parseSearchReplace(ans)
    expect(blocks).toEqual([{ search: 'b', replace: 'c', line: 4 }])
    expect(issues.map((i) => i.message).join('\n')).toMatch(/no "=======" divider[\s\S]*truncated/)
    // a block thrown away is marked: the answer's edit is incomplete without it
    expect(issues.map((i) => i.discarded)).toEqual([true, true])
    // an RST underline in a docstring makes several dividers
    const rst = parseSearchReplace(block('x = 1', '"""Doc\n=======\nmore"""\nx = 2'))
    expect(rst.blocks).toEqual([])
    expect(rst.issues).toEqual([
      { line: 1, message: 'block at line 1 has 2 "=======" dividers: discarded', discarded: true },
    ])
  })

  it('accepts a missing REPLACE marker when the model closed its fence, or the next SEARCH starts', () => {
    const a = parseSearchReplace('```\n<<<<<<< SEARCH\nx\n=======\ny\n```\n')
    expect(a.blocks).toEqual([{ search: 'x', replace: 'y', line: 2 }])
    const b = parseSearchReplace('<<<<<<< SEARCH\nx\n=======\ny\n<<<<<<< SEARCH\nz\n=======\nw\n>>>>>>> REPLACE')
    expect(b.blocks.map((k) => k.replace)).toEqual(['y', 'w'])
    expect(b.issues).toHaveLength(1)
    // accepted, so not a discarded block
    expect([...a.issues, ...b.issues].some((i) => i.discarded)).toBe(false)
  })
})

describe('extractFullProgram / parseAnswer', () => {
  it('picks the longest fence in the target language over shorter or other-language ones', () => {
    const ans =
      'Run it:\n```bash\npython x.py --very-long-flag --another-very-long-flag --and-more-flags-here\n```\n```python\nprint(1)\n```\nFull program:\n```python\nimport math\nprint(math.pi)\n```\n```js\nconsole.log(1111111111111111111111111111111111111111)\n```'
    expect(extractFullProgram(ans, 'python')?.code).toBe('import math\nprint(math.pi)\n')
    expect(extractFullProgram(ans, 'javascript')?.code).toContain('console.log')
  })

  it('prefers untagged fences over other languages, and closed over truncated', () => {
    expect(extractFullProgram('```\nx = 1\n```\n```json\n{"a": 1111111111}\n```', 'python')?.code).toBe('x = 1\n')
    expect(extractFullProgram('```py\nshort = 1\n```\n```py\ntruncated = 1\nmore = 2\n', 'python')?.code).toBe(
      'short = 1\n',
    )
    expect(extractFullProgram('no fences here', 'python')).toBeNull()
  })

  it('prefers the fence holding the EVOLVE-BLOCK markers or the current fixed code over a longer usage example', () => {
    const current =
      'import math\nLABEL = "fit"\n# EVOLVE-BLOCK-START\nA = 0.5\n# EVOLVE-BLOCK-END\ndef describe():\n    return LABEL\n'
    const harness = `import initial\nfor x in [${'0.1, '.repeat(40)}2.0]:\n    print(x, initial.predict(x), initial.describe())\n`
    const answer = (program: string) =>
      `The key change:\n\`\`\`python\nA = 0.7\n\`\`\`\nFull program:\n\`\`\`python\n${program}\`\`\`\nTo test it:\n\`\`\`python\n${harness}\`\`\``
    const full = current.replace('A = 0.5', 'A = 0.7')
    expect(extractFullProgram(answer(full), 'python')?.code).toBe(full)
    // without its markers, the program is still told by the fixed code it holds, given the current program
    const bare = full.replace(/# EVOLVE-BLOCK-(START|END)\n/g, '')
    expect(extractFullProgram(answer(bare), 'python')?.code).toBe(harness)
    expect(extractFullProgram(answer(bare), 'python', current)?.code).toBe(bare)
  })

  it('classifies answers: diff, full, none; uses the reasoning block as a last resort', () => {
    expect(parseAnswer(`<think>hmm</think>\n${block('a', 'b')}`, 'python').kind).toBe('diff')
    expect(parseAnswer('```python\nx = 2\n```', 'python')).toMatchObject({ kind: 'full', code: 'x = 2\n' })
    expect(parseAnswer('I cannot help', 'python').kind).toBe('none')
    const r = parseAnswer(`<think>${block('a', 'b')}</think>Done.`, 'python')
    expect(r.kind).toBe('diff')
    expect(r.issues[0]?.message).toMatch(/reasoning/)
    // prefer: full takes the program even when a diff is present elsewhere
    expect(parseAnswer(`${block('a', 'b')}\n\`\`\`python\nx = 3\n\`\`\``, 'python', 'full').kind).toBe('full')
  })
})

describe('applySearchReplace', () => {
  it('applies an exact block', () => {
    const r = applySearchReplace(PROG, [{ search: '    a = x * 0.5', replace: '    a = x * 0.75', line: 1 }])
    expect(r).toMatchObject({ applied: 1, failed: [] })
    expect(r.matches[0]).toMatchObject({ tier: 'exact', line: 5 })
    expect(r.code).toContain('a = x * 0.75')
  })

  it('tolerates indentation drift and rebases the replacement to the matched indentation', () => {
    const s = 'if a > b:\n    return a - b'
    const rep = 'if a >= b:\n    c = a - b\n    return c * 2'
    const r = applySearchReplace(PROG, [{ search: s, replace: rep, line: 1 }])
    expect(r.applied).toBe(1)
    expect(r.matches[0]?.tier).toBe('whitespace')
    expect(r.code).toContain('    if a >= b:\n        c = a - b\n        return c * 2\n    return a + b')
  })

  it('handles tabs in the answer, trailing spaces and blank-line differences', () => {
    const s = '\tb = y + 2  \n\n\tif a > b:'
    const r = applySearchReplace(PROG, [{ search: s, replace: '\tb = y + 5\n\tif a > b:', line: 1 }])
    expect(r.failed).toEqual([])
    expect(r.code).toContain('    b = y + 5\n    if a > b:')
  })

  it('tolerates re-spacing inside lines (loose tier) and still re-indents', () => {
    const r = applySearchReplace(PROG, [{ search: 'a=x*0.5\nb=y+2', replace: 'a = x * 0.5\nb = y + 9', line: 1 }])
    expect(r.matches[0]?.tier).toBe('loose')
    expect(r.code).toContain('    a = x * 0.5\n    b = y + 9\n')
  })

  it('keeps CRLF code CRLF', () => {
    const crlf = PROG.replace(/\n/g, '\r\n')
    const r = applySearchReplace(crlf, [{ search: '    b = y + 2', replace: '    b = y + 4', line: 1 }])
    expect(r.applied).toBe(1)
    expect(r.code).toContain('    b = y + 4\r\n')
    expect(r.code.replace(/\r\n/g, '')).not.toContain('\n')
  })

  it('reports empty, not-found (with the closest partial match), ambiguous and outside-block searches', () => {
    const code = PROG + '\n# EVOLVE-BLOCK-START\nz = 1\nz = 1\n# EVOLVE-BLOCK-END\n'
    const r = applySearchReplace(code, [
      { search: '   \n', replace: 'x', line: 1 },
      { search: '    a = x * 0.5\n    b = y + 3', replace: 'q', line: 2 },
      { search: 'z = 1', replace: 'z = 2', line: 3 },
      { search: '    print(score(1, 2))', replace: '    print(0)', line: 4 },
      { search: 'totally = absent', replace: '', line: 5 },
    ])
    expect(r.applied).toBe(0)
    expect(r.failed.map((f) => f.reason)).toEqual([
      'empty-search',
      'not-found',
      'ambiguous',
      'outside-evolve-block',
      'not-found',
    ])
    expect(r.failed[1]?.detail).toMatch(/first 1 of 2 search lines match at line 5.*b = y \+ 3/)
    expect(r.failed[2]?.lines).toEqual([16, 17])
    expect(r.failed[3]?.detail).toMatch(/line 13, outside the EVOLVE-BLOCK/)
    expect(r.failed[4]?.detail).toMatch(/no line/)
    expect(r.code).toBe(code)
  })

  it('applies blocks sequentially, each to the result of the ones before it', () => {
    const r = applySearchReplace(PROG, [
      { search: '    b = y + 2', replace: '    b = y + 7', line: 1 },
      { search: '    b = y + 7', replace: '    b = y * 7', line: 2 }, // sees the first block's result
    ])
    expect(r).toMatchObject({ applied: 2, matched: 2, failed: [] })
    expect(r.code).toContain('b = y * 7')
    expect(describeApply(r)).toBe('2 of 2 edit block(s) applied')
  })

  // Good blocks had applied while others failed: a helper's call went in, the block defining it did
  // not, and the program evaluated was one the model never wrote (NameError, an evaluation wasted).
  it('applies nothing when any block fails, and names each block that did not apply', () => {
    const call = { search: '    b = y + 2', replace: '    b = offset(y)', line: 1 }
    const define = {
      search: 'def score(x, y):',
      replace: 'def offset(v):\n    return v + 2\n\ndef score(x, y):',
      line: 6,
    }
    const r = applySearchReplace(PROG, [call, { ...define, search: 'def scor(x, y):' }])
    expect(r.code).toBe(PROG)
    expect(r).toMatchObject({ applied: 0, matched: 1 })
    expect(r.failed.map((f) => [f.index, f.reason])).toEqual([[1, 'not-found']])
    expect(describeApply(r)).toMatch(/^block 2 of 2 did not apply: not-found \(no line of the search text occurs/)
    // the same edit written right applies whole
    expect(applySearchReplace(PROG, [call, define]).code).toContain('def offset(v):')

    // every block is still tried, so all failures are named, with the blocks that found their place counted
    const three = applySearchReplace(PROG, [
      { search: 'nothing like this', replace: 'x', line: 1 },
      { search: '    b = y + 2', replace: '    b = y + 7', line: 2 },
      { search: '    b = y + 2', replace: '    b = y * 7', line: 3 }, // the good block before it changed it
    ])
    expect(three).toMatchObject({ code: PROG, applied: 0, matched: 1 })
    expect(describeApply(three)).toMatch(
      /^2 of 3 blocks did not apply: block 1: not-found \(.*\); block 3: not-found \(.*\)$/,
    )
    // a block refused for editing outside the EVOLVE-BLOCK is a failed block too
    const outside = applySearchReplace(PROG, [
      { search: '    a = x * 0.5', replace: '    a = x * 0.6', line: 1 },
      { search: '    print(score(1, 2))', replace: '    print(score(2, 2))', line: 2 },
    ])
    expect(outside.code).toBe(PROG)
    expect(describeApply(outside)).toMatch(/^block 2 of 2 did not apply: outside-evolve-block \(/)
    // none matched: said as before
    expect(describeApply(applySearchReplace(PROG, [{ search: 'absent', replace: 'x', line: 1 }]))).toMatch(
      /^0 of 1 edit block\(s\) applied; block 1: not-found \(/,
    )
  })

  it('gives CRLF code back as it was when a block fails', () => {
    const crlf = PROG.replace(/\n/g, '\r\n')
    const r = applySearchReplace(crlf, [
      { search: '    b = y + 2', replace: '    b = y + 4', line: 1 },
      { search: 'absent', replace: 'x', line: 2 },
    ])
    expect(r.code).toBe(crlf)
  })

  it('disambiguates by EVOLVE-BLOCK: a match outside plus one inside picks the inside one', () => {
    const code = 'k = 1\n# EVOLVE-BLOCK-START\nk = 1\n# EVOLVE-BLOCK-END\n'
    const r = applySearchReplace(code, [{ search: 'k = 1', replace: 'k = 2', line: 1 }])
    expect(r.code).toBe('k = 1\n# EVOLVE-BLOCK-START\nk = 2\n# EVOLVE-BLOCK-END\n')
  })

  it('falls back to a unique in-line fragment, never cutting through a number', () => {
    const r = applySearchReplace(PROG, [{ search: 'x * 0.5', replace: 'x * 0.25', line: 1 }])
    expect(r.matches[0]?.tier).toBe('substring')
    expect(r.code).toContain('    a = x * 0.25\n')
    const code = '# EVOLVE-BLOCK-START\nt = 10\n# EVOLVE-BLOCK-END\n'
    expect(applySearchReplace(code, [{ search: 't = 1', replace: 't = 2', line: 1 }]).failed[0]?.reason).toBe(
      'not-found',
    )
  })

  it('marker lines quoted unchanged as context are accepted', () => {
    const r = applySearchReplace(PROG, [
      {
        search: '# EVOLVE-BLOCK-START\ndef score(x, y):',
        replace: '# EVOLVE-BLOCK-START\ndef score(x, y, z=0):',
        line: 1,
      },
      { search: '    return a + b\n# EVOLVE-BLOCK-END', replace: '    return a + b + z\n# EVOLVE-BLOCK-END', line: 2 },
    ])
    expect(r.failed).toEqual([])
    expect(r.code).toContain('# EVOLVE-BLOCK-START\ndef score(x, y, z=0):')
    expect(r.code).toContain('    return a + b + z\n# EVOLVE-BLOCK-END')
  })

  it('Aider-style answers: file names before blocks, a diff-tagged fence, several files of blocks', () => {
    const ans =
      'Changes:\n\nprogram.py\n```diff\n<<<<<<< SEARCH\n    a = x * 0.5\n=======\n    a = x * 0.6\n>>>>>>> REPLACE\n```\n\nprogram.py\n```python\n<<<<<<< SEARCH\n        return a - b\n=======\n        return b - a\n>>>>>>> REPLACE\n```\n'
    const p = parseAnswer(ans, 'python')
    expect(p.kind).toBe('diff')
    const r = applySearchReplace(PROG, p.blocks)
    expect(r.applied).toBe(2)
    expect(r.code).toContain('a = x * 0.6')
    expect(r.code).toContain('return b - a')
  })

  it('a block may not remove EVOLVE-BLOCK markers', () => {
    const r = applySearchReplace(PROG, [
      { search: '    return a + b\n# EVOLVE-BLOCK-END', replace: '    return 0', line: 1 },
    ])
    expect(r.failed[0]?.reason).toBe('outside-evolve-block')
  })

  it('end to end: a chatty answer with think, prose, fences and CRLF', () => {
    const answer =
      '<think>\nThe ratio 0.5 is too small. Maybe also change b.\n</think>\r\n' +
      "I'll make two changes.\r\n\r\n```python\r\n" +
      '<<<<<<< SEARCH\r\n  a = x * 0.5\r\n=======\r\n  a = x * 0.9\r\n>>>>>>> REPLACE\r\n```\r\n' +
      'and\r\n```\r\n<<<<<<<< SEARCH\r\nb = y + 2\r\n========\r\nb = y + 2.5\r\n>>>>>>>> REPLACE```'
    const p = parseAnswer(answer, 'python')
    expect(p.kind).toBe('diff')
    const r = applySearchReplace(PROG, p.blocks)
    expect(r.failed).toEqual([])
    expect(r.code).toContain('    a = x * 0.9\n    b = y + 2.5\n')
  })
})

// ---------------------------------------------------------------------------------------------
// fuzz: well-formed edits of random programs, answered with realistic whitespace drift

function randomProgram(rng: Rng): string[] {
  const lines: string[] = ['import math', '', '# EVOLVE-BLOCK-START']
  let v = 0
  const stmt = (ind: string) => {
    const k = v++
    const ops = ['+', '-', '*', '/']
    return `${ind}v${k} = v${rng.int(k + 1)} ${rng.pick(ops)} ${(rng.next() * 10).toFixed(rng.int(3))} ${rng.pick(ops)} w${rng.int(50)}`
  }
  const body = (ind: string, depth: number) => {
    const n = 2 + rng.int(5)
    for (let i = 0; i < n; i++) {
      const r = rng.next()
      if (depth < 3 && r < 0.2) {
        lines.push(`${ind}if v${rng.int(v + 1)} > ${rng.int(100)}:`)
        body(ind + '    ', depth + 1)
      } else if (depth < 3 && r < 0.3) {
        lines.push(`${ind}for i${v} in range(${1 + rng.int(20)}):`)
        body(ind + '    ', depth + 1)
      } else if (r < 0.35) lines.push('')
      else lines.push(stmt(ind))
    }
  }
  for (let f = 0; f < 3; f++) {
    lines.push(`def f${f}(v${v++}):`)
    body('    ', 1)
    lines.push(`    return v${rng.int(v)}`, '')
  }
  lines.push('# EVOLVE-BLOCK-END', '', 'print(f0(1))', '')
  return lines
}

const indentOf = (l: string) => /^ */.exec(l)![0].length

describe('fuzz: well-formed edits with whitespace drift apply', () => {
  it('≥ 99 % of 400 random edits apply to the expected program', () => {
    const rng = new Rng('fuzz')
    let ok = 0
    const failures: string[] = []
    const TRIALS = Number(process.env.FUZZ_TRIALS ?? 400)
    for (let t = 0; t < TRIALS; t++) {
      const lines = randomProgram(rng)
      const start = lines.indexOf('# EVOLVE-BLOCK-START') + 1
      const end = lines.indexOf('# EVOLVE-BLOCK-END')
      // a range of 1–5 lines, starting on a non-blank line, unique under whitespace-insensitive comparison
      let a = 0
      let b = 0
      for (let tries = 0; tries < 50; tries++) {
        a = start + rng.int(end - start)
        b = Math.min(end, a + 1 + rng.int(5))
        if (lines[a]!.trim() === '' || lines[b - 1]!.trim() === '') continue
        const key = lines
          .slice(a, b)
          .map((l) => l.trim())
          .filter(Boolean)
          .join('\n')
        let count = 0
        for (let i = 0; i < lines.length; i++) {
          const seg: string[] = []
          for (let j = i; j < lines.length && seg.length < key.split('\n').length; j++)
            if (lines[j]!.trim()) seg.push(lines[j]!.trim())
          if (lines[i]!.trim() && seg.join('\n') === key) count++
        }
        if (count === 1) break
      }
      const base = indentOf(lines[a]!)
      const original = lines.slice(a, b)
      // the edit: change some lines, add one at the first line's indentation
      const edited = original.map((l) =>
        l.trim() && rng.chance(0.6) ? l.replace(/\d+(\.\d+)?/, (m) => String(Number(m) + 1 + rng.int(9))) : l,
      )
      edited.push(' '.repeat(base) + `extra${t} = ${rng.int(1000)}`)
      const expected = [...lines.slice(0, a), ...edited, ...lines.slice(b)].join('\n')

      // drift applied to both sides as a model would
      let s = original.slice()
      let r = edited.slice()
      const drift = rng.int(8)
      const mapBoth = (f: (l: string) => string) => {
        s = s.map(f)
        r = r.map(f)
      }
      // a dedented snippet: models strip the snippet's common indentation
      const common = Math.min(...[...s, ...r].filter((l) => l.trim()).map(indentOf))
      if (drift === 1) mapBoth((l) => (l.trim() ? l.slice(common) : l))
      if (drift === 2) mapBoth((l) => (l.trim() ? '  ' + l : l)) // extra indentation
      if (drift === 3) mapBoth((l) => l.replace(/^( {4})+/, (m) => '\t'.repeat(m.length / 4))) // tabs
      if (drift === 4) mapBoth((l) => (rng.chance(0.5) ? l + '   ' : l)) // trailing spaces
      if (drift === 5) s = s.filter((l) => l.trim() !== '') // model dropped blank lines from the search
      if (drift === 6) mapBoth((l) => (l.trim() ? l.slice(common) + (rng.chance(0.3) ? ' ' : '') : l))
      if (drift === 7) s = s.map((l) => l.replace(/ ([=+\-*/>]) /g, '$1')) // the model re-spaced the quoted lines
      const fenced = rng.chance(0.5)
      let answer =
        (rng.chance(0.3) ? '<think>\nLet me think about lines.\n=======\n</think>\n' : '') +
        'Here is an improvement.\n\n' +
        (fenced ? '```python\n' : '') +
        `<<<<<<< SEARCH\n${s.join('\n')}\n=======\n${r.join('\n')}\n>>>>>>> REPLACE` +
        (fenced ? '\n```' : '') +
        (rng.chance(0.5) ? '\n\nThis should improve the score.' : '')
      if (rng.chance(0.2)) answer = answer.replace(/\n/g, '\r\n')

      const parsed = parseAnswer(answer, 'python')
      const crlfCode = rng.chance(0.1)
      const res = applySearchReplace(crlfCode ? lines.join('\r\n') : lines.join('\n'), parsed.blocks)
      const norm = (x: string) =>
        x
          .replace(/\r\n/g, '\n')
          .split('\n')
          .map((l) => l.trimEnd())
          .join('\n')
      if (res.failed.length === 0 && norm(res.code) === norm(expected) && (!crlfCode || res.code.includes('\r\n'))) ok++
      else if (failures.length < 3)
        failures.push(`drift ${drift}: ${JSON.stringify(res.failed)}\n${res.code}\n---expected---\n${expected}`)
    }
    if (process.env.FUZZ_TRIALS) console.log(`fuzz: ${ok}/${TRIALS} applied as expected`)
    expect(ok / TRIALS, failures.join('\n=====\n')).toBeGreaterThanOrEqual(0.99)
  })
})

describe('unifiedDiff', () => {
  it('produces hunks that reconstruct the child', async () => {
    const { unifiedDiff } = await import('./diff.ts')
    expect(unifiedDiff(PROG, PROG)).toBe('')
    const child = PROG.replace('    b = y + 2\n', '    b = y + 3\n    c = 1\n').replace('import math\n', '')
    const d = unifiedDiff(PROG, child)
    expect(d.startsWith('--- parent\n+++ child\n@@ -1,')).toBe(true)
    expect(d).toContain('-import math')
    expect(d).toContain('-    b = y + 2\n+    b = y + 3\n+    c = 1')
    // apply the hunks back (a tiny patcher) to check line numbers and content
    const src = PROG.split('\n')
    const out: string[] = []
    let pos = 0
    for (const h of d.split(/^(?=@@)/m).slice(1)) {
      const [hdr, ...body] = h.split('\n')
      const m = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(hdr!)!
      const start = Number(m[1]) - (Number(m[2]) === 0 ? 0 : 1)
      while (pos < start) out.push(src[pos++]!)
      for (const l of body) {
        if (l === '') continue
        if (l[0] === ' ') out.push(src[pos++]!)
        else if (l[0] === '-') pos++
        else out.push(l.slice(1))
      }
    }
    while (pos < src.length) out.push(src[pos++]!)
    expect(out.join('\n')).toBe(child)
  })

  it('random edits round-trip', async () => {
    const { unifiedDiff } = await import('./diff.ts')
    const rng = new Rng(11)
    for (let t = 0; t < 50; t++) {
      const a = Array.from({ length: 30 }, (_, i) => `l${i % 7}`)
      const b = a.slice()
      for (let k = 0; k < 5; k++) {
        const i = rng.int(b.length)
        if (rng.chance(0.5)) b.splice(i, 1)
        else b.splice(i, 0, `n${k}`)
      }
      const d = unifiedDiff(a.join('\n'), b.join('\n'), { context: 1 })
      const plus = d.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length
      const minus = d.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---')).length
      expect(b.length - a.length).toBe(plus - minus)
      expect(plus + minus).toBeLessThanOrEqual(10)
    }
  })
})

describe('unified diffs', () => {
  const hunk =
    '--- a/program.py\n+++ b/program.py\n@@ -5,3 +5,3 @@\n def score(x, y):\n-    a = x * 0.5\n+    a = x * 0.7\n     b = y + 2\n'

  it('are named, in a diff fence or bare, and not taken for a program or for no edit', () => {
    for (const answer of [
      `Here is the change:\n\`\`\`diff\n${hunk}\`\`\``,
      `Here is the change:\n\n${hunk}`,
      // no headers, a bare hunk marker
      '```\n@@\n-    a = x * 0.5\n+    a = x * 0.7\n```',
      '```patch\n-    a = x * 0.5\n+    a = x * 0.7\n```',
    ]) {
      expect(isUnifiedDiff(answer), answer).toBe(true)
      const p = parseAnswer(answer, 'python')
      expect(p).toMatchObject({ kind: 'none', unifiedDiff: true })
      expect(p.issues.map((i) => i.message)).toEqual([
        'it is a unified diff, which is not accepted: answer with SEARCH/REPLACE blocks',
      ])
    }
  })

  it('are not confused with prose lists, a diff-tagged fence of SEARCH/REPLACE blocks, or a program', () => {
    expect(isUnifiedDiff('I changed:\n- the constant\n+ a comment\n--- \nthanks')).toBe(false)
    expect(isUnifiedDiff(`\`\`\`diff\n${block('a', 'b')}\n\`\`\``)).toBe(false)
    expect(parseAnswer('I cannot help with that.', 'python').unifiedDiff).toBeUndefined()
    // a unified diff shown beside the whole program: the program is the answer
    expect(parseAnswer(`${hunk}\n\`\`\`python\nx = 2\n\`\`\``, 'python')).toMatchObject({ kind: 'full' })
  })
})

describe('otherLanguageTag', () => {
  it('names a language of another family, and lets one of the same family or an untagged block pass', () => {
    expect(otherLanguageTag('python', 'javascript')).toBe('JavaScript')
    expect(otherLanguageTag('python', 'js')).toBe('JavaScript')
    expect(otherLanguageTag('cpp', 'python')).toBe('Python')
    expect(otherLanguageTag('python', 'Python3')).toBeNull()
    expect(otherLanguageTag('python', '')).toBeNull()
    expect(otherLanguageTag('python', 'text')).toBeNull()
    expect(otherLanguageTag('c', 'cpp')).toBeNull()
    expect(otherLanguageTag('cuda', 'c++')).toBeNull()
    expect(otherLanguageTag('typescript', 'js')).toBeNull()
  })

  it("is read from the fence of a full program's answer", () => {
    expect(parseAnswer('```js\nconsole.log(1)\n```', 'python', 'full')).toMatchObject({ kind: 'full', lang: 'js' })
  })
})
