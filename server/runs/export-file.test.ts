// An export file read member by member (parseLargeJson): the same result as JSON.parse, for files
// longer than a string can be.
import { describe, expect, it } from 'vitest'
import { parseLargeJson } from './export-file.ts'

const read = (text: string) => parseLargeJson(Buffer.from(text, 'utf8'))

describe('parseLargeJson', () => {
  it('reads what JSON.parse reads, the same', () => {
    const doc = {
      format: 'fm-agent-run/1',
      run: { id: 'r', config: { a: [1, 2, { b: null }] }, name: 'quote " backslash \\ and \\" brace } bracket ]' },
      candidates: [
        { id: 'c1', code: 'print("]")\n# {[', score: -1.5e-7, ok: true },
        { id: 'c2', code: '\\\\', score: null, tags: [] },
        'a string element',
        42,
      ],
      empty: [],
      nested: [[1, [2]], { x: '}' }],
      unicode: 'ünïcödé 半径 😀',
      n: 3.7174721189591082,
    }
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2), `\ufeff ${JSON.stringify(doc)}\n`]) {
      expect(read(text)).toEqual(JSON.parse(text.replace(/^\ufeff/, '')))
    }
    const proto = read('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>
    expect(Object.keys(proto)).toEqual(['__proto__', 'a'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses what JSON.parse refuses, saying where', () => {
    for (const bad of [
      '{"a": [1, 2,]}',
      '{"a": 1,}',
      '{"a" 1}',
      '{"a": "x',
      '{"a": [1 2]}',
      '{"a": 1} x',
      '{"a": tru}',
    ])
      expect(() => read(bad), bad).toThrow(SyntaxError)
    expect(() => read('{"a": [1, 2,]}')).toThrow(/at byte \d+/)
  })
})
