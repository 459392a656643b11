// A worker's own writes wait out a database restart instead of failing the job (and, through
// graphile-worker's unawaited bookkeeping, the process): which errors mean "away for now", and how
// long a write waits.
import { describe, expect, it } from 'vitest'
import { databaseAway } from '../server/queue/connection.ts'
import { patiently, unrecordedOutcome } from './server-worker.ts'

const err = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {})

describe('databaseAway', () => {
  it('is a refused or cut connection, or PostgreSQL shutting down or starting up', () => {
    for (const e of [
      err('ECONNREFUSED'),
      err('57P01', 'terminating connection due to administrator command'),
      err('57P03', 'the database system is starting up'),
      err(undefined, 'Connection terminated unexpectedly'),
      err('08006'),
    ])
      expect(databaseAway(e), e.message).toBe(true)
  })
  it('is not a request the database refused', () => {
    for (const e of [err('23505', 'duplicate key'), err('42501', 'permission denied'), err(undefined, 'boom'), null])
      expect(databaseAway(e)).toBe(false)
  })
})

describe('patiently', () => {
  it('retries while the database is away, saying so once, and returns what the write returns', async () => {
    let calls = 0
    const said: string[] = []
    const r = await patiently(
      async () => {
        if (++calls < 3) throw err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')
        return 'stored'
      },
      (why) => said.push(why),
    )
    expect([r, calls, said]).toEqual(['stored', 3, ['connect ECONNREFUSED 127.0.0.1:5432']])
  })
  it('rethrows any other error at once, and a database away for longer than its patience', async () => {
    let calls = 0
    await expect(
      patiently(
        async () => {
          calls++
          throw err('23505', 'duplicate key')
        },
        () => undefined,
      ),
    ).rejects.toThrow('duplicate key')
    expect(calls).toBe(1)
    await expect(
      patiently(
        async () => Promise.reject(err('ECONNREFUSED', 'still down')),
        () => undefined,
        0,
      ),
    ).rejects.toThrow('still down')
  })
})

describe('unrecordedOutcome', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code })
  it('logs a job outcome lost to a database away or to a refused role, and lets anything else end the worker', () => {
    expect(unrecordedOutcome(pgError('57P01', 'terminating connection due to administrator command'))).toMatch(
      /while the database was away .*retried when its lock expires/,
    )
    // the role dropped while a job ran (worker-role drop --force): one line, not a stack trace
    expect(unrecordedOutcome(pgError('42501', 'permission denied for schema graphile_worker'))).toBe(
      "[worker] a job's outcome was not recorded: the database refused this worker's role (permission denied for schema graphile_worker); the job is retried elsewhere when its lock expires",
    )
    expect(unrecordedOutcome(pgError('28P01', 'password authentication failed'))).toMatch(/refused this worker's role/)
    expect(unrecordedOutcome(pgError('23505', 'duplicate key value'))).toBeNull()
    expect(unrecordedOutcome(new TypeError('x is not a function'))).toBeNull()
  })
})
