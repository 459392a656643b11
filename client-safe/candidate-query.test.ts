import { describe, expect, it } from 'vitest'
import { CandidateFilter, candidateOrder, candidateWhere, csvCell, toCsv, type ExportRow } from './candidate-query.ts'

describe('candidate query', () => {
  it('builds a where clause from the filter', () => {
    expect(candidateWhere('r')).toEqual({ runId: 'r' })
    expect(candidateWhere('r', { islands: [1, 2], models: ['m1', '(none)'], scoreMin: 0.5, guidanceId: 'g' })).toEqual({
      AND: [
        { runId: 'r' },
        { island: { in: [1, 2] } },
        { OR: [{ model: { in: ['m1'] } }, { model: null }] },
        { score: { gte: 0.5 } },
        { guidanceIds: { has: 'g' } },
      ],
    })
    expect(() => CandidateFilter.parse({ idPrefix: "x'; --" })).toThrow()
    expect(() => CandidateFilter.parse({ bogus: 1 })).toThrow()
  })

  it('orders nullable columns with empty values last and ties by seq', () => {
    expect(candidateOrder({ field: 'score', dir: 'desc' })).toEqual([
      { score: { sort: 'desc', nulls: 'last' } },
      { seq: 'desc' },
    ])
    expect(candidateOrder({ field: 'seq', dir: 'asc' })).toEqual([{ seq: 'asc' }])
    expect(candidateOrder({ field: 'island', dir: 'asc' })).toEqual([{ island: 'asc' }, { seq: 'asc' }])
  })

  it('writes CSV that spreadsheets read safely', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`)
    expect(csvCell(-1.5)).toBe('-1.5')
    expect(csvCell(null)).toBe('')
    expect(csvCell({ mse: 0.1 })).toBe('"{""mse"":0.1}"')
    const row: ExportRow = {
      id: 'c1',
      seq: 0,
      evalIndex: 0,
      island: 1,
      origin: 'seed',
      operator: null,
      model: null,
      status: 'evaluated',
      valid: true,
      score: 2.5,
      parentIds: ['p1', 'p2'],
      metrics: { s: 1 },
      features: {},
      costUsd: 0,
      tokensIn: 0,
      tokensOut: 0,
      pinned: false,
      banned: false,
      rating: -1,
      rejectReason: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      evaluatedAt: null,
      code: 'x = 1\nprint(x)',
    }
    const csv = toCsv([row], true)
    const [head, line] = csv.split('\r\n')
    expect(head!.split(',')).toHaveLength(23)
    expect(head!.split(',').slice(-2)).toEqual(['rating', 'code'])
    expect(line).toContain('p1 p2')
    expect(line).toContain(',-1,"x = 1')
    expect(line).toContain('"x = 1\nprint(x)"')
  })
})
