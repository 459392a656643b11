// An export file read member by member (parseLargeJson): the same result as JSON.parse, for files
// longer than a string can be.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { dbModes } from '../../test-support/db-modes.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { EXPORT_DEEP_TEXT_CHARS, exportText, parseLargeJson } from './export-file.ts'
import { exportChunks } from './service.ts'

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

// A candidate stored before artifacts were bounded in depth (an evaluator returned an array nested
// 10,000 levels): JSON.stringify overflowed the stack on it, and the export failed halfway.
describe.each(dbModes())('an export of a run holding a too-deeply nested stored value, %s', (mode, open) => {
  // the embedded database's jsonb reads no deeper than a few thousand levels (7,000 came back as no
  // row at all), so there the deepest it stores; 3,000 already broke the export
  const DEPTH = mode.startsWith('embedded') ? 5_000 : 10_000
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('is whole, valid JSON: the deep value written as the start of its text, with one warning line', async () => {
    const { db, cleanup } = await open()
    try {
      const { runId } = await seedSyntheticRun(db, { candidates: 5, islands: 1 })
      const [victim] = await db.sql<{ id: string }>('SELECT id FROM candidates WHERE run_id = $1 AND seq = 3', [runId])
      const deep = `${'['.repeat(DEPTH)}1${']'.repeat(DEPTH)}`
      // written as an old version stored it: straight into the column, past any bound of today's
      const stored = await db.sql<{ chars: number }>(
        `UPDATE candidates SET artifacts = $2::jsonb WHERE id = $1 RETURNING length(artifacts::text) AS chars`,
        [victim!.id, `{"deep": ${deep}, "feedback": "kept"}`],
      )
      expect(stored.map((r) => Number(r.chars))).toEqual([2 * DEPTH + 31])
      const warned: string[] = []
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        warned.push(String(chunk))
        return true
      })
      let text = ''
      for await (const piece of exportChunks(db, runId, { withProblem: false })) text += piece
      vi.restoreAllMocks()
      const file = JSON.parse(text) as { candidates: Array<{ id: string; seq: number; artifacts: any }> }
      expect(file.candidates.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4].map((i) => file.candidates[0]!.seq + i))
      const row = file.candidates.find((c) => c.id === victim!.id)!
      expect(row.artifacts.feedback).toBe('kept')
      let inner = row.artifacts.deep
      let levels = 0
      while (Array.isArray(inner)) {
        inner = inner[0]
        levels++
      }
      expect(levels).toBeLessThan(100)
      expect(typeof inner).toBe('string')
      expect(inner.startsWith('[[[[')).toBe(true)
      expect(inner.length).toBeLessThanOrEqual(EXPORT_DEEP_TEXT_CHARS)
      const lines = warned.join('').split('\n').filter(Boolean)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        new RegExp(`warn: export: the row "${victim!.id}" holds 1 value\\(s\\) nested deeper than`),
      )
    } finally {
      await cleanup()
    }
  }, 120_000)
})

describe('exportText', () => {
  it("writes the event log's 64-bit ids as numbers, and a value it cannot write whole is refused as before", () => {
    expect(exportText({ id: 12n, at: new Date(0) })).toBe('{"id":12,"at":"1970-01-01T00:00:00.000Z"}')
    expect(() =>
      exportText({
        n: Symbol.iterator,
        x: {
          toJSON: () => {
            throw new TypeError('no')
          },
        },
      }),
    ).toThrow(TypeError)
  })
})
