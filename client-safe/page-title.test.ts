import { describe, expect, it } from 'vitest'
import { pageTitle } from './page-title.ts'

describe('page titles', () => {
  it('name each console page, most specific first', () => {
    const run = '3f2a9c1e-0000-4000-8000-000000000000'
    expect(pageTitle('/runs')).toBe('Runs · FM Agent')
    expect(pageTitle('/runs/new')).toBe('New run · FM Agent')
    expect(pageTitle('/runs/compare')).toBe('Compare runs · FM Agent')
    expect(pageTitle(`/runs/${run}`)).toBe('Run 3f2a9c1e · FM Agent')
    expect(pageTitle(`/runs/${run}/guidance`)).toBe('Guidance · Run 3f2a9c1e · FM Agent')
    expect(pageTitle(`/runs/${run}/candidates/abcdef0123456789`)).toBe('Candidate abcdef01 · Run 3f2a9c1e · FM Agent')
    expect(pageTitle(`/runs/${run}/candidates/abcdef0123456789/edit`)).toBe(
      'Edit candidate abcdef01 · Run 3f2a9c1e · FM Agent',
    )
    expect(pageTitle('/knowledge/lessons')).toBe('Lessons · FM Agent')
    expect(pageTitle('/settings/audit')).toBe('Audit log · FM Agent')
    expect(pageTitle('/nowhere')).toBe('FM Agent')
  })
})
