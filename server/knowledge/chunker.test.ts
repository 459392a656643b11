import { describe, expect, it } from 'vitest'
import { chunkDocument, codeBlocks, definitionName, markdownSections } from './chunker.ts'

const fenceCount = (s: string) => (s.match(/^```/gm) ?? []).length

describe('markdown chunking', () => {
  it('cuts at sections, with the heading path as the chunk heading', () => {
    const md = [
      '# Bin packing',
      '',
      'Intro paragraph about bins.',
      '',
      '## First fit',
      '',
      'Put each item in the first bin where it fits.',
      '',
      '### Decreasing',
      '',
      'Sort items by size first.',
      '',
      '## Best fit',
      '',
      'Put each item in the fullest bin where it fits.',
    ].join('\n')
    const chunks = chunkDocument(md, 'markdown')
    expect(chunks.map((c) => c.heading)).toEqual([
      'Bin packing',
      'Bin packing › First fit',
      'Bin packing › First fit › Decreasing',
      'Bin packing › Best fit',
    ])
    expect(chunks[1].content).toBe('Put each item in the first bin where it fits.')
    expect(chunks.map((c) => c.ord)).toEqual([0, 1, 2, 3])
  })

  it('does not take a # line inside a fenced block for a heading, and keeps the block whole', () => {
    const md = [
      '## Code',
      '',
      'Before.',
      '',
      '```python',
      '# not a heading',
      'x = 1',
      '',
      'y = 2',
      '```',
      '',
      'After.',
    ].join('\n')
    const chunks = chunkDocument(md, 'markdown')
    expect(chunks).toHaveLength(1)
    expect(chunks[0].heading).toBe('Code')
    expect(chunks[0].content).toContain('```python\n# not a heading\nx = 1\n\ny = 2\n```')
  })

  it('never splits inside a code block that fits, even when the section is over the cap', () => {
    const para = (n: number) => `Paragraph ${n} ` + 'word '.repeat(40)
    const code = ['```js', ...Array.from({ length: 12 }, (_, i) => `const v${i} = ${i} // line ${i}`), '```'].join('\n')
    const md = ['# S', '', para(1), '', para(2), '', code, '', para(3), '', para(4)].join('\n')
    const chunks = chunkDocument(md, 'markdown', { maxChars: 500 })
    expect(chunks.length).toBeGreaterThan(1)
    for (const c of chunks) {
      expect(c.content.length).toBeLessThanOrEqual(500)
      expect(fenceCount(c.content) % 2).toBe(0) // every opened fence is closed in the same chunk
    }
    expect(chunks.some((c) => c.content.includes(code))).toBe(true)
  })

  it('splits a code block larger than the cap into re-fenced pieces of whole lines', () => {
    const lines = Array.from({ length: 80 }, (_, i) => `    total += weight_${i} * value_${i}`)
    const md = ['# Big', '', '```python', ...lines, '```'].join('\n')
    const chunks = chunkDocument(md, 'markdown', { maxChars: 600 })
    expect(chunks.length).toBeGreaterThan(2)
    const rebuilt: string[] = []
    for (const c of chunks) {
      expect(c.content.length).toBeLessThanOrEqual(600)
      expect(c.content.startsWith('```python\n')).toBe(true)
      expect(c.content.endsWith('\n```')).toBe(true)
      rebuilt.push(...c.content.split('\n').slice(1, -1))
    }
    expect(rebuilt).toEqual(lines) // nothing lost, nothing cut mid-line
  })

  it('handles setext headings, tilde fences and an unclosed fence', () => {
    const md = [
      'Title',
      '=====',
      '',
      'Text.',
      '',
      'Part',
      '----',
      '',
      '~~~',
      '## inside',
      '~~~',
      '',
      '```',
      'never closed',
    ].join('\n')
    const sections = markdownSections(md)
    expect(sections.map((s) => s.path.join('/'))).toEqual(['', 'Title', 'Title/Part'])
    const chunks = chunkDocument(md, 'markdown')
    const last = chunks[chunks.length - 1]
    expect(last.heading).toBe('Title › Part')
    expect(last.content).toContain('## inside')
    expect(last.content.trimEnd().endsWith('```')).toBe(true) // closed in the chunk
  })

  it('folds a heading with no body into its subsections, and keeps a headings-only document', () => {
    const chunks = chunkDocument('# A\n## B\ntext under b\n', 'markdown')
    expect(chunks).toEqual([{ ord: 0, heading: 'A › B', content: 'text under b' }])
    expect(chunkDocument('# Only a title\n', 'markdown')).toEqual([
      { ord: 0, heading: null, content: '# Only a title' },
    ])
  })

  it('splits an over-long paragraph at sentence ends', () => {
    const text = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} says something useful.`).join(' ')
    const chunks = chunkDocument(text, 'text', { maxChars: 300 })
    expect(chunks.length).toBeGreaterThan(3)
    for (const c of chunks) {
      expect(c.content.length).toBeLessThanOrEqual(300)
      expect(c.content.endsWith('.')).toBe(true)
    }
    expect(chunks.map((c) => c.content).join(' ')).toBe(text)
  })
})

describe('code chunking', () => {
  it('cuts python at top-level definitions, keeping decorators and comments with them', () => {
    const py = [
      'import math',
      'import random',
      '',
      '# Tunable: the cooling rate',
      'COOLING = 0.995',
      '',
      '',
      '@lru_cache(maxsize=None)',
      'def distance(a, b):',
      '    """Euclidean distance.',
      '',
      'not a top-level line"""',
      '    return math.hypot(a[0] - b[0], a[1] - b[1])',
      '',
      '',
      '# Anneal a tour',
      'class Annealer:',
      '    def __init__(self, cities):',
      '        self.cities = cities',
      '',
      '    def step(self):',
      '        i = random.randrange(len(self.cities))',
      '        return i',
    ].join('\n')
    const blocks = codeBlocks(py, 'python')
    expect(blocks.map((b) => definitionName(b.lines))).toEqual([
      'import math',
      'import random',
      'COOLING = 0.995',
      'def distance',
      'class Annealer',
    ])
    expect(blocks[2].lines[0]).toBe('# Tunable: the cooling rate')
    expect(blocks[3].lines[0]).toBe('@lru_cache(maxsize=None)')
    expect(blocks[3].lines.join('\n')).toContain('not a top-level line')
    const chunks = chunkDocument(py, 'code', { language: 'python', minChars: 60 })
    // small neighbours (imports, a constant) share a chunk; definitions stand alone
    expect(chunks.map((c) => c.heading)).toEqual([
      'import math, import random, COOLING = 0.995',
      'def distance',
      'class Annealer',
    ])
    // every non-blank line is in exactly one chunk, in order
    const nonBlank = (s: string) => s.split('\n').filter((l) => l.trim())
    expect(chunks.flatMap((c) => nonBlank(c.content))).toEqual(nonBlank(py))
  })

  it('cuts C-like code at brace depth 0, including K&R braces and closing lines', () => {
    const c = [
      '#include <stdio.h>',
      '',
      '/* sum of a row */',
      'static double row_sum(const double *r, int n)',
      '{',
      '  double s = 0;',
      '  for (int i = 0; i < n; i++) {',
      '    s += r[i];',
      '  }',
      '  return s;',
      '}',
      '',
      'int main(void) {',
      '  printf("%f\\n", row_sum(0, 0)); // {',
      '  return 0;',
      '}',
    ].join('\n')
    const blocks = codeBlocks(c, 'c')
    expect(blocks).toHaveLength(3)
    expect(blocks[1].lines[0]).toBe('/* sum of a row */')
    expect(blocks[1].lines[blocks[1].lines.length - 1]).toBe('}')
    expect(definitionName(blocks[1].lines)).toBe('row_sum')
    expect(definitionName(blocks[2].lines)).toBe('main')
  })

  it('names TypeScript definitions and splits a definition over the cap into parts', () => {
    const body = Array.from({ length: 60 }, (_, i) => `  const step${i} = compute(${i}) + offset * ${i}`).join('\n')
    const ts = `export function small(a: number) {\n  return a + 1\n}\n\nexport async function huge(offset: number) {\n${body}\n}\n\nexport class Pool {\n  x = 1\n}\n`
    const chunks = chunkDocument(ts, 'code', { language: 'typescript', maxChars: 800, minChars: 10 })
    expect(chunks[0].heading).toBe('function small')
    const parts = chunks.filter((c) => c.heading?.startsWith('function huge'))
    expect(parts.length).toBeGreaterThan(2)
    expect(parts[0].heading).toMatch(/^function huge \(part 1 of \d+\)$/)
    for (const p of parts) expect(p.content.length).toBeLessThanOrEqual(800)
    expect(chunks[chunks.length - 1].heading).toBe('class Pool')
  })
})
