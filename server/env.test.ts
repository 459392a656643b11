import { describe, expect, it } from 'vitest'
import { EnvError, readEnv } from './env.ts'

describe('FM_SIGNIN_ACCOUNT_LIMIT', () => {
  it('defaults to 10 failures per email; a value out of bounds stops the start with its name', () => {
    expect(readEnv({}).FM_SIGNIN_ACCOUNT_LIMIT).toBe(10)
    expect(readEnv({ FM_SIGNIN_ACCOUNT_LIMIT: '3' }).FM_SIGNIN_ACCOUNT_LIMIT).toBe(3)
    for (const bad of ['0', '10001', '2.5', 'ten']) {
      expect(() => readEnv({ FM_SIGNIN_ACCOUNT_LIMIT: bad }), bad).toThrow(EnvError)
      expect(() => readEnv({ FM_SIGNIN_ACCOUNT_LIMIT: bad }), bad).toThrow(
        /^environment variable FM_SIGNIN_ACCOUNT_LIMIT: /,
      )
    }
  })
})
