import { describe, expect, it } from 'vitest'
import { embedded } from '../../test-support/db-modes.ts'
import { pgJson, pgText } from './pg-json.ts'

describe('JSON for jsonb', () => {
  it('replaces U+0000 in strings and keys, and leaves an escaped backslash before "u0000" alone', () => {
    const value = { 'k\u0000': ['a\u0000b', '\\u0000', '\\\u0000', 1], plain: 'x' }
    const out = JSON.parse(pgJson(value))
    expect(out).toEqual({ 'k\ufffd': ['a\ufffdb', '\\u0000', '\\\ufffd', 1], plain: 'x' })
    expect(pgJson({ a: 'no nul' })).toBe(JSON.stringify({ a: 'no nul' }))
    expect(pgText('a\u0000\u0000')).toBe('a\ufffd\ufffd')
    // lone halves of a surrogate pair are replaced, a whole pair and a tab kept
    expect(JSON.parse(pgJson({ s: 'a\udc80b\ud83dc😀\t' }))).toEqual({ s: 'a\ufffdb\ufffdc😀\t' })
  })

  it('is what PostgreSQL takes where the raw JSON is refused', async () => {
    const { db, cleanup } = await embedded()
    try {
      const value = { stderr: 'hello\u0000world' }
      await expect(db.sql('SELECT $1::jsonb AS v', [JSON.stringify(value)])).rejects.toThrow(/Unicode escape/)
      const [row] = await db.sql<{ v: { stderr: string } }>('SELECT $1::jsonb AS v', [pgJson(value)])
      expect(row!.v.stderr).toBe('hello\ufffdworld')
      await expect(db.sql('SELECT $1::jsonb AS v', [JSON.stringify({ s: '\udc80' })])).rejects.toThrow()
      const [lone] = await db.sql<{ v: { s: string } }>('SELECT $1::jsonb AS v', [pgJson({ s: '\udc80' })])
      expect(lone!.v.s).toBe('\ufffd')
    } finally {
      await cleanup()
    }
  })
})
