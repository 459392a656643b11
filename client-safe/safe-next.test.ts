import { describe, expect, it } from 'vitest'
import { safeNext, safeNextPath } from './safe-next.ts'

describe('safeNextPath', () => {
  it.each([
    '/\\evil.com',
    '/\\/evil.com',
    '//evil.com',
    '///evil.com',
    '/%5Cevil.com',
    '/%5cevil.com',
    '/%2F%2Fevil.com',
    '/%2fevil.com/%2f..',
    '%2F%2Fevil.com',
    '/%255Cevil.com',
    '/%25252F%25252Fevil.com',
    '/\t/evil.com',
    '/\n/evil.com',
    ' /evil',
    'https://evil.com',
    'javascript:alert(1)',
    '/%E0%A4%A',
    '',
    'runs',
  ])('refuses %j', (v) => {
    expect(safeNextPath(v)).toBeNull()
    expect(safeNext(v)).toBe('/runs')
  })

  it.each(['/runs', '/runs/abc?tab=steering', '/settings#tokens', '/problems/tsp-eil51', '/runs?q=a%20b'])(
    'keeps %j',
    (v) => {
      expect(safeNextPath(v)).toBe(v)
    },
  )
})
