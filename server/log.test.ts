import { describe, expect, it } from 'vitest'
import { fromOutside, type Logger, logError } from './log.ts'

const coded = (message: string, code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra })

function recorder() {
  const lines: Array<[string, string]> = []
  const log: Logger = {
    debug: (m) => lines.push(['debug', m]),
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  }
  return { log, lines }
}

describe('errors in the log', () => {
  it('tells the machine and the database surroundings from bugs', () => {
    expect(fromOutside(coded('could not extend file "base/5/1": No space left on device', '53100'))).toBe(true)
    // the ORM's adapter wraps the database's error
    const wrapped = Object.assign(new Error('could not extend file'), {
      name: 'DriverAdapterError',
      cause: { kind: 'postgres', originalCode: '53100' },
    })
    expect(fromOutside(wrapped)).toBe(true)
    expect(fromOutside(coded('terminating connection due to administrator command', '57P01'))).toBe(true)
    expect(fromOutside(coded('write ENOSPC', 'ENOSPC'))).toBe(true)
    expect(fromOutside(coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true)
    // a bug's errors keep their stack
    expect(fromOutside(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false)
    expect(fromOutside(coded('duplicate key value violates unique constraint', '23505'))).toBe(false)
    expect(fromOutside(coded('Unique constraint failed', 'P2002'))).toBe(false)
    expect(fromOutside('a string')).toBe(false)
  })

  it("logs a full disk by its message, its stack only at debug level; a bug's error with its stack", () => {
    const full = recorder()
    logError(full.log, 'run r: ', coded('could not extend file: No space left on device', '53100'))
    expect(full.lines[0]).toEqual(['error', 'run r: could not extend file: No space left on device'])
    expect(full.lines[1]![0]).toBe('debug')
    expect(full.lines[1]![1]).toMatch(/\n\s+at /)
    const bug = recorder()
    logError(bug.log, 'run r: ', new TypeError('x is not a function'))
    expect(bug.lines).toHaveLength(1)
    expect(bug.lines[0]![0]).toBe('error')
    expect(bug.lines[0]![1]).toMatch(/^run r: TypeError: x is not a function\n\s+at /)
  })
})
