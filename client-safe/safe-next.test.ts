import { describe, expect, it } from 'vitest'
import { safeNext, safeNextPath, signInErrorText } from './safe-next.ts'

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

describe('the login page after a session ended', () => {
  it('carries the notice and the page the user was on', async () => {
    const { loginUrl, loginNoticeText } = await import('./safe-next.ts')
    const url = new URL(loginUrl('signed-out', '/settings?tab=1'), 'http://x.invalid')
    expect(url.pathname).toBe('/login')
    expect(loginNoticeText(url.searchParams.get('notice'))).toBe(
      'Your session ended (signed out, expired, or the account was disabled): sign in again.',
    )
    expect(url.searchParams.get('next')).toBe('/settings?tab=1')
    // another origin, or the login page itself, is not a place to come back to
    expect(new URL(loginUrl('signed-out', '//evil.com'), 'http://x.invalid').searchParams.has('next')).toBe(false)
    expect(new URL(loginUrl('signed-out', '/login?x'), 'http://x.invalid').searchParams.has('next')).toBe(false)
    // a notice no longer sent (a password change keeps its session now) is none
    expect(loginNoticeText('password-changed')).toBeNull()
    expect(loginNoticeText('toString')).toBeNull()
    expect(loginNoticeText('<b>made up</b>')).toBeNull()
    expect(loginNoticeText(null)).toBeNull()
  })
})

describe('signInErrorText', () => {
  it('names the sign-in limits (address or email) with the wait, and tells no wrong password from a disabled account', () => {
    expect(signInErrorText(429, 'Too many requests. Please try again later.', '27')).toBe(
      'Too many sign-in attempts from this address or for this email: try again in 27 s.',
    )
    expect(signInErrorText(429, undefined, null)).toBe(
      'Too many sign-in attempts from this address or for this email: try again in a minute.',
    )
    expect(signInErrorText(429, undefined, '841')).toBe(
      'Too many sign-in attempts from this address or for this email: try again in 15 min.',
    )
    expect(signInErrorText(401, 'Invalid email or password', null)).toBe(
      'Wrong email or password, or the account is disabled.',
    )
    expect(signInErrorText(500, '', null)).toBe('Sign-in failed.')
  })
})
