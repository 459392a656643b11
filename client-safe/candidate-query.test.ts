import { describe, expect, it } from 'vitest'
import {
  CandidateFilter,
  candidateOrder,
  candidateWhere,
  checkFilterBoxes,
  compareExportRows,
  csvCell,
  filterFromParams,
  toCsv,
  type ExportRow,
} from './candidate-query.ts'

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

  it('checks the typed filters: a box that is not a number or an id prefix is flagged and kept out of the URL', () => {
    expect(checkFilterBoxes({ min: ' -0.0001 ', max: '1e3', id: ' 7C9c-' })).toEqual({
      params: { min: '-0.0001', max: '1e3', id: '7c9c-' },
      errors: {},
      apply: { min: '-0.0001', max: '1e3', id: '7c9c-' },
    })
    // emptied boxes remove their filter
    expect(checkFilterBoxes({ min: '', max: '  ', id: '' }).apply).toEqual({ min: null, max: null, id: null })
    const bad = checkFilterBoxes({ min: 'abc', max: '0x10', id: "1' OR 1=1" })
    expect(bad.errors).toEqual({ min: 'not a number', max: 'not a number', id: 'hex digits and dashes only' })
    expect(bad.apply).toEqual({})
    for (const t of ['Infinity', '1,5', '1.2.3', '-', '.', 'NaN'])
      expect(checkFilterBoxes({ min: t, max: '', id: '' }).errors.min).toBe('not a number')
    expect(checkFilterBoxes({ min: '', max: '1e301', id: '' }).errors).toEqual({ max: 'out of range (±1e300)' })
    expect(checkFilterBoxes({ min: '', max: '', id: 'a'.repeat(65) }).errors).toEqual({ id: 'at most 64 characters' })
    // one bad box does not hold back the others
    expect(checkFilterBoxes({ min: 'x', max: '.5', id: '' }).apply).toEqual({ max: '.5', id: null })
  })

  it('reads the filters from the URL, leaving out a value the form would flag', () => {
    expect(filterFromParams(new URLSearchParams('min=-0.5&max=2&id=ABC&island=0,2&valid=false&rating=up'))).toEqual({
      scoreMin: -0.5,
      scoreMax: 2,
      idPrefix: 'abc',
      islands: [0, 2],
      valid: false,
      rating: 'up',
    })
    expect(filterFromParams(new URLSearchParams('min=abc&max=&id=zz'))).toEqual({})
  })

  it('orders an export read in # order as the database orders the table', () => {
    const row = (seq: number, score: number | null, status = 'evaluated', operator: string | null = null) =>
      ({ seq, score, status, operator, evalIndex: score === null ? null : seq }) as ExportRow
    const rows = [row(1, 0.5), row(2, null, 'queued'), row(3, 0.9), row(4, 0.5), row(5, null, 'queued', 'local:swap')]
    const order = (sort: Parameters<typeof compareExportRows>[0]) =>
      [...rows].sort(compareExportRows(sort)).map((r) => r.seq)
    expect(order({ field: 'score', dir: 'desc' })).toEqual([3, 4, 1, 5, 2])
    expect(order({ field: 'score', dir: 'asc' })).toEqual([1, 4, 3, 2, 5])
    expect(order({ field: 'seq', dir: 'desc' })).toEqual([5, 4, 3, 2, 1])
    expect(order({ field: 'status', dir: 'asc' })).toEqual([1, 3, 4, 2, 5])
    expect(order({ field: 'operator', dir: 'desc' })).toEqual([5, 4, 3, 2, 1])
  })
})
