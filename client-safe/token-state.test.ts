import { describe, expect, it } from 'vitest'
import { tokenState } from './token-state.ts'

describe('tokenState', () => {
  it('says revoked, expired (past its date, which the table had shown as active) or active', () => {
    const now = Date.parse('2026-12-05T12:00:00Z')
    expect(tokenState({ revokedAt: '2026-12-01T00:00:00Z', expiresAt: null }, now)).toBe('revoked')
    expect(tokenState({ revokedAt: null, expiresAt: '2026-12-05T11:59:00Z' }, now)).toBe('expired')
    expect(tokenState({ revokedAt: null, expiresAt: '2026-12-06T00:00:00Z' }, now)).toBe('active')
    expect(tokenState({ revokedAt: null, expiresAt: null }, now)).toBe('active')
  })
})
