import { describe, expect, it } from 'vitest'
import { consoleLine } from './server-process.ts'

describe('the start line', () => {
  it('names the public address, and where this process listens when that differs', () => {
    const local = 'http://127.0.0.1:3742'
    expect(consoleLine({ url: local, http: { url: local } })).toBe(local)
    expect(consoleLine({ url: 'https://fm.example.com', http: { url: local } })).toBe(
      'https://fm.example.com (this process listens on http://127.0.0.1:3742)',
    )
  })
})
