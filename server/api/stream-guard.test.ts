// The stream guard on its own (quiet and busy sources, slots) and through a procedure: a role
// lowered while an expert's stream is open ends it. Observed events only: no sleeps.
import { TRPCError } from '@trpc/server'
import { describe, expect, it } from 'vitest'
import type { AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { guardStream, MAX_STREAMS_PER_ACTOR, openStreams, takeStreamSlot } from './stream-guard.ts'
import { type Context, createCallerFactory, expertProcedure, router } from './trpc.ts'

/**
 * A source that yields only when told to (a quiet run), and says when it was closed. A message
 * told before anyone reads waits for the read: the guard may check its caller before it reads.
 */
function manualSource() {
  const queue: Array<(r: IteratorResult<number>) => void> = []
  const ready: number[] = []
  let closed = false
  let n = 0
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        ready.length
          ? Promise.resolve({ done: false as const, value: ready.shift()! })
          : new Promise<IteratorResult<number>>((r) => queue.push(r)),
      return: async () => {
        closed = true
        return { done: true, value: undefined }
      },
    }),
  }
  return {
    source,
    emit: () => {
      const reader = queue.shift()
      if (reader) reader({ done: false, value: n++ })
      else ready.push(n++)
    },
    isClosed: () => closed,
  }
}

describe('guardStream', () => {
  it('ends a quiet stream with the refusal once the caller loses access, and releases its slot', async () => {
    const s = manualSource()
    let allowed = true
    let checks = 0
    let released = 0
    const g = guardStream(s.source, {
      recheck: async () => {
        checks++
        return allowed ? null : new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' })
      },
      recheckMs: 1,
      onEnd: () => released++,
    })
    const first = g.next()
    s.emit()
    expect(await first).toEqual({ done: false, value: 0 })
    // nothing comes from the source any more: the check still runs, and ends the stream
    allowed = false
    await expect(g.next()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(checks).toBeGreaterThan(0)
    expect(released).toBe(1)
    expect(await g.next()).toEqual({ done: true, value: undefined })
  })

  it('checks a busy stream too (messages never starve the check)', async () => {
    let i = 0
    const busy: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false, value: i++ }) }),
    }
    let allowed = true
    const g = guardStream(busy, {
      recheck: async () => (allowed ? null : new TRPCError({ code: 'FORBIDDEN', message: 'needs the expert role' })),
      recheckMs: 0,
      onEnd: () => undefined,
    })
    expect((await g.next()).value).toBe(0)
    allowed = false
    await expect(g.next()).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })

  it('releases the slot and closes the source when the client goes away', async () => {
    const s = manualSource()
    const key = `guard-test-${Math.random()}`
    const ac = new AbortController()
    const g = guardStream(s.source, { recheck: null, signal: ac.signal, onEnd: takeStreamSlot(key) })
    expect(openStreams(key)).toBe(1)
    const pending = g.next()
    ac.abort()
    expect(openStreams(key)).toBe(0)
    s.emit()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(s.isClosed()).toBe(true)
  })

  it('takes at most MAX_STREAMS_PER_ACTOR slots per key', () => {
    const key = `slots-${Math.random()}`
    const releases = Array.from({ length: MAX_STREAMS_PER_ACTOR }, () => takeStreamSlot(key))
    expect(() => takeStreamSlot(key)).toThrow(expect.objectContaining({ code: 'TOO_MANY_REQUESTS' }))
    releases[0]!()
    releases[0]!() // twice: still one slot
    const again = takeStreamSlot(key)
    expect(openStreams(key)).toBe(MAX_STREAMS_PER_ACTOR)
    for (const r of [...releases, again]) r()
    expect(openStreams(key)).toBe(0)
  })
})

describe('a subscription procedure', () => {
  const feed = manualSource()
  const testRouter = router({ watch: expertProcedure.subscription(() => feed.source) })
  const actor = (role: Role): Actor => ({ id: 'guard-user', label: 'guard@example.test', role, via: 'session' })

  it('ends when the caller’s role drops below the procedure’s', async () => {
    let role: Role = 'expert'
    const ctx = (): Context => ({
      app: {} as AppServices,
      actor: actor(role),
      tokenScope: null,
      headers: new Headers(),
      resolveAgain: async () => ctx(),
    })
    const it = (await createCallerFactory(testRouter)(ctx()).watch())[Symbol.asyncIterator]()
    const first = it.next()
    feed.emit()
    expect((await first).value).toBe(0)
    role = 'viewer'
    await expect(it.next()).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'needs the expert role' })
    expect(openStreams('guard-user')).toBe(0)
  })
})
