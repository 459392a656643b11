import { describe, expect, it } from 'vitest'
import { cosine } from '../../test-support/semantic-embedder.ts'
import { KnowledgeInputError } from './errors.ts'
import { identifierParts, lexicalFeatures, lexicalHashVector, stem } from './lexical-hash.ts'
import { HIGHLIGHT_END, HIGHLIGHT_START, highlightRuns } from '../../client-safe/highlight.ts'
import { looseQueryText, strictQueryText } from './search.ts'
import { decodeText, normalizeContent, normalizeTags, normalizeTitle } from './validate.ts'
import { indexName, vectorLiteral, vectorType } from './vector-sql.ts'

describe('lexical-hash-512', () => {
  it('splits identifiers (camelCase, PascalCase, snake_case, digits)', () => {
    expect(identifierParts('computeTourLength')).toEqual(['compute', 'tour', 'length'])
    expect(identifierParts('HTTPServerError')).toEqual(['http', 'server', 'error'])
    expect(identifierParts('max_iter2d')).toEqual(['max', 'iter', '2', 'd'])
    expect(lexicalFeatures('def two_opt_swap(tour):').identifiers).toEqual(['twooptswap'])
    expect(stem('packing')).toBe('pack')
    expect(stem('packed')).toBe('pack')
    expect(stem('stopped')).toBe('stop')
    expect(stem('class')).toBe('class')
    expect(stem('heuristics')).toBe('heuristic')
  })

  it('is L2-normalized, 512-dimensional and deterministic', () => {
    const v = lexicalHashVector('simulated annealing for the travelling salesman')
    expect(v).toHaveLength(512)
    expect(Math.hypot(...v)).toBeCloseTo(1, 10)
    expect(lexicalHashVector('simulated annealing for the travelling salesman')).toEqual(v)
    // a text with no features still has a norm (cosine needs one)
    expect(Math.hypot(...lexicalHashVector('!!! ???'))).toBeCloseTo(1, 10)
  })

  it('matches words and identifiers: code and prose about the same identifiers are close', () => {
    const code = lexicalHashVector('def two_opt_swap(tour, i, j):\n    tour[i:j] = reversed(tour[i:j])')
    const prose = lexicalHashVector('The two opt swap reverses a segment of the tour.')
    const other = lexicalHashVector('Learning rate warmup for transformer training.')
    expect(cosine(code, prose)).toBeGreaterThan(0.3)
    expect(cosine(code, prose)).toBeGreaterThan(cosine(code, other) + 0.25)
    // inflections meet through the stemmer and the character trigrams
    expect(cosine(lexicalHashVector('packing circles'), lexicalHashVector('packed circle'))).toBeGreaterThan(0.7)
  })

  it('finds Chinese, Japanese and Korean words inside the runs written without spaces', () => {
    expect(lexicalFeatures('模拟退火').words).toEqual(['模拟', '拟退', '退火'])
    // what surrounds a run is read as before
    expect(lexicalFeatures('2-opt法で巡回').words).toEqual(['2', 'opt', '法で', 'で巡', '巡回'])
    expect(lexicalFeatures('法').words).toEqual(['法'])
    const zh = lexicalHashVector('模拟退火用于圆形填充。模拟退火是一种随机搜索方法，逐步降低温度。')
    const ja = lexicalHashVector('巡回セールスマン問題を2-opt法で解く。都市を結ぶ最短の巡回路を探す。')
    const ko = lexicalHashVector('담금질 기법은 확률적 탐색 방법이다.')
    const en = lexicalHashVector('Simulated annealing lowers the temperature step by step.')
    for (const [query, doc, others] of [
      ['模拟退火', zh, [ja, ko, en]],
      ['巡回セールスマン', ja, [zh, ko, en]],
      ['2-opt法', ja, [zh, ko, en]],
      ['탐색 방법', ko, [zh, ja, en]],
      ['温度', zh, [ja, ko, en]],
    ] as const) {
      const q = lexicalHashVector(query)
      expect(cosine(q, doc), query).toBeGreaterThan(0.15)
      for (const o of others) expect(cosine(q, doc), query).toBeGreaterThan(cosine(q, o) + 0.1)
    }
    // text with no CJK is embedded exactly as before (stored vectors stay comparable)
    expect(lexicalFeatures('packing circles in a square').words).toEqual(['pack', 'circle', 'square'])
  })

  it('is honestly lexical: synonyms with no shared words are not close', () => {
    const a = lexicalHashVector('fast car')
    const b = lexicalHashVector('quick automobile')
    expect(Math.abs(cosine(a, b))).toBeLessThan(0.2)
  })
})

describe('input checks', () => {
  it('refuses binary files: NUL bytes and invalid UTF-8', () => {
    expect(() => decodeText(new Uint8Array([104, 105, 0, 1]), 'x.md')).toThrow(
      /x\.md looks binary \(it contains NUL bytes\)/,
    )
    expect(() => decodeText(new Uint8Array([0xc3, 0x28, 0x41]), 'y.txt')).toThrow(/y\.txt is not valid UTF-8/)
    expect(() => decodeText(new Uint8Array(3 * 1024 * 1024).fill(65), 'big.txt')).toThrow(
      /big\.txt is 3\.0 MiB, over the 2\.0 MiB file limit/,
    )
    expect(decodeText(new TextEncoder().encode('\uFEFFhé'), 'ok')).toBe('hé')
  })

  it('refuses empty, huge and malformed text with a reason', () => {
    expect(() => normalizeContent('  \n\t\n')).toThrow(KnowledgeInputError)
    expect(() => normalizeContent('  \n\t\n')).toThrow(/is empty/)
    expect(() => normalizeContent('a'.repeat(600 * 1024))).toThrow(/over the 524,288-character limit per document/)
    // at the bound with its final newline: taken, and stays within it (so it can be edited again)
    const line = `${'w'.repeat(99)}\n`
    const exact = line.repeat(524_288 / 100).padEnd(524_288, 'x')
    expect(() => normalizeContent(exact)).toThrow(
      /has 524,288 characters \(524,289 with the final newline a document ends with\), over the 524,288-character limit/,
    )
    expect(normalizeContent(exact.slice(0, -1))).toHaveLength(524_288)
    expect(() => normalizeContent('ok\n' + 'x'.repeat(25_000))).toThrow(/line 2 has 25,000 characters/)
    expect(() => normalizeContent('bad \uD800 surrogate')).toThrow(/malformed/)
    expect(() => normalizeContent('\u0001\u0002\u0003\u0004 text')).toThrow(/looks binary/)
    expect(normalizeContent('a\r\nb\rc')).toBe('a\nb\nc\n')
    expect(normalizeContent(`strip ${HIGHLIGHT_START}markers${HIGHLIGHT_END}`)).toBe('strip markers\n')
  })

  it('normalizes titles and tags', () => {
    expect(normalizeTitle('  Two   opt \n notes ')).toBe('Two opt notes')
    expect(() => normalizeTitle('   ')).toThrow(/title is empty/)
    expect(normalizeTags(['TSP', 'tsp', ' local search '])).toEqual(['tsp', 'local-search'])
    expect(() => normalizeTags(['no;semicolons'])).toThrow(/may hold only/)
    expect(() => normalizeTags(Array.from({ length: 21 }, (_, i) => `t${i}`))).toThrow(/at most 20 tags/)
  })
})

describe('SQL helpers', () => {
  it('names each model index safely and one-to-one', () => {
    expect(indexName('lexical-hash-512')).toBe('knowledge_chunks_embedding_lexical_hash_512_idx') // the first migration's index
    const a = indexName('openai:text-embedding-3-small')
    const b = indexName('openai:text-embedding-3-small@256')
    expect(a).toMatch(/^knowledge_chunks_embedding_[a-z0-9_]+_idx$/)
    expect(a).not.toBe(b)
    expect(indexName('x'.repeat(200)).length).toBeLessThanOrEqual(63)
    expect(() => indexName("evil'; DROP TABLE users; --")).toThrow(/may hold only/)
  })

  it('casts to vector up to 2000 dimensions and halfvec up to 4000', () => {
    expect(vectorType(512)).toBe('vector(512)')
    expect(vectorType(3072)).toBe('halfvec(3072)')
    expect(() => vectorType(5000)).toThrow(/at most 4000/)
    expect(() => vectorLiteral([1, Number.NaN])).toThrow(/non-finite/)
  })

  it('builds an OR query of words only, and splits highlights without HTML', () => {
    expect(looseQueryText("two_opt's swap (tour)")).toBe("'twoopt' | 'two' | 'opt' | 'swap' | 'tour'")
    // lone letters and numbers match any code or data: they would take the places of the words that matter
    expect(looseQueryText('pack 26 circles, x y r in [0, 1]; 圆 packing')).toBe(
      "'pack' | 'circles' | 'in' | '圆' | 'packing'",
    )
    // CJK runs (indexed a character to a word): each pair of neighbours as a phrase
    expect(looseQueryText('2-opt法で巡回')).toBe("'opt' | ('法' <-> 'で') | ('で' <-> '巡') | ('巡' <-> '回')")
    expect(strictQueryText('模拟退火 simulated')).toBe(' "模 拟 退 火"  simulated')
    expect(looseQueryText('!!!')).toBe('')
    expect(highlightRuns(`a ${HIGHLIGHT_START}b${HIGHLIGHT_END} <c>`)).toEqual([
      { text: 'a ', mark: false },
      { text: 'b', mark: true },
      { text: ' <c>', mark: false },
    ])
  })
})
