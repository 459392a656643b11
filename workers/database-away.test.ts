// A worker's own writes wait out a database restart instead of failing the job (and, through
// graphile-worker's unawaited bookkeeping, the process): which errors mean "away for now", and how
// long a write waits.
import { describe, expect, it } from 'vitest'
import { databaseAway } from '../server/queue/connection.ts'
import { patiently } from './server-worker.ts'

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
