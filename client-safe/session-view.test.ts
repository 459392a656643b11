import { describe, expect, it } from 'vitest'
import { browserOf, endedText, passwordChangedText, sessionRows } from './session-view.ts'

describe('browserOf', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Chrome 126 on Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
      'Edge 126 on Windows',
    ],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on macOS'],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Safari 17 on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari 17 on iOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
      'Chrome 126 on Android',
    ],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Firefox 127 on Linux'],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0',
      'Opera 111 on Linux',
    ],
    ['curl/8.5.0', 'curl 8'],
    ['node', 'Node.js'],
  ])('%s → %s', (ua, expected) => {
    expect(browserOf(ua)).toBe(expected)
  })

  it('says so when there is none, and cuts an unknown one short', () => {
    expect(browserOf(null)).toBe('unknown browser')
    expect(browserOf('  ')).toBe('unknown browser')
    expect(browserOf('here')).toBe('here')
    const odd = `SomeRobot/${'x'.repeat(100)}`
    expect(browserOf(odd)).toHaveLength(60)
    expect(browserOf(odd).endsWith('…')).toBe(true)
    expect(browserOf('Mozilla/5.0 (Windows NT 10.0) UnknownEngine')).toBe('a browser on Windows')
  })
})

describe('sessionRows', () => {
  it('puts the session asking first, then the newest; names the browser and the address', () => {
    const s = (id: string, created: string, current = false, ip: string | null = '10.0.0.1') => ({
      id,
      createdAt: created,
      renewedAt: created,
      expiresAt: '2030-01-01T00:00:00Z',
      userAgent: 'curl/8.1',
      ipAddress: ip,
      current,
    })
    const rows = sessionRows([
      s('old', '2025-01-01T00:00:00Z'),
      s('here', '2025-01-02T00:00:00Z', true),
      s('new', '2025-01-03T00:00:00Z', false, null),
    ])
    expect(rows.map((r) => r.id)).toEqual(['here', 'new', 'old'])
    expect(rows[0]).toMatchObject({ device: 'curl 8', address: '10.0.0.1', current: true })
    expect(rows[1]!.address).toBe('unknown address')
    expect(rows[2]!.createdAt).toEqual(new Date('2025-01-01T00:00:00Z'))
  })
})

describe('endedText', () => {
  it('counts what ended', () => {
    expect(endedText(0)).toBe('No other session was signed in.')
    expect(endedText(1)).toBe('Signed out 1 other session.')
    expect(endedText(3)).toBe('Signed out 3 other sessions.')
  })
})

describe('passwordChangedText', () => {
  it('says what else the change ended, and that this session stays', () => {
    expect(passwordChangedText({ sessionsEnded: 0, tokensRevoked: 0 })).toBe(
      'Password changed. This session stays signed in.',
    )
    expect(passwordChangedText({ sessionsEnded: 2, tokensRevoked: 1 })).toBe(
      'Password changed: 2 other sessions signed out, 1 CLI token revoked. This session stays signed in.',
    )
  })
})
