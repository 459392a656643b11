// The live feed's reads of a run with a watcher open: new candidates stream as points without
// re-reading the run's head for each one; a status change reads it at once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Db, openDatabase } from '../db.ts'
import { EventBus } from '../events.ts'
import { observed } from '../../test-support/held.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import type { LiveMessage } from '../../client-safe/types.ts'
import { liveCandidate, liveRun } from './live.ts'

const HOUR = 3_600_000
let dir: string
let db: Db

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fm-live-'))
  db = await openDatabase({ dataDir: dir, databaseUrl: '' })
})
afterAll(async () => {
  await db?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the live feed of a run', () => {
  it('streams new candidates without re-reading the head for each; a status change reads it at once', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 30, islands: 1 })
    // candidates 10… not evaluated yet: each is released below, as the engine would store it
    await db.sql('UPDATE candidates SET eval_index = NULL WHERE run_id = $1 AND eval_index >= 10', [runId])
    const events = new EventBus()
    const ac = new AbortController()
    const feed = liveRun({ db, events }, runId, null, ac.signal, {
      minIntervalMs: 0,
      headIntervalMs: HOUR,
      pollMs: HOUR,
      heartbeatMs: HOUR,
    })[Symbol.asyncIterator]()
    const next = async (): Promise<Extract<LiveMessage, { type: 'batch' }>> => {
      const m = (await feed.next()).value as LiveMessage
      if (m.type !== 'batch') throw new Error(`expected a batch, got ${m.type}`)
      return m
    }
    try {
      expect((await next()).run?.status).toBeTruthy() // the head, once, at the start
      const heads = vi.spyOn(db.prisma.run, 'findUnique')
      for (let g = 10; g < 30; g++) {
        await db.sql('UPDATE candidates SET eval_index = $1 WHERE id = $2', [g, syntheticId(runId, g)])
        events.publish({ runId, type: 'candidate', payload: {} })
        expect((await next()).points.map((p) => p.evalIndex)).toEqual([g])
      }
      expect(heads).not.toHaveBeenCalled()
      await db.sql(`UPDATE runs SET status = 'paused' WHERE id = $1`, [runId])
      events.publish({ runId, type: 'status', payload: {} })
      expect((await next()).run?.status).toBe('paused')
      expect(heads).toHaveBeenCalledTimes(1)
    } finally {
      ac.abort()
      await feed.return?.(undefined)
    }
  }, 60_000)
})

describe('the watch of one candidate', () => {
  /**
   * A run's last candidate set back to queued, watched (no backstop read within a test), its reads
   * counted; `before`: what happened to it before the watch started.
   */
  async function watchQueued(before?: (c: { runId: string; id: string; events: EventBus }) => Promise<void>) {
    const { runId } = await seedSyntheticRun(db, { candidates: 4, islands: 1 })
    const id = syntheticId(runId, 3)
    await db.sql(`UPDATE candidates SET status = 'queued', eval_index = NULL WHERE id = $1`, [id])
    const events = new EventBus()
    await before?.({ runId, id, events })
    const ac = new AbortController()
    const reads = vi.spyOn(db.prisma.candidate, 'findFirst')
    const watch = liveCandidate({ db, events }, runId, id, ac.signal, { pollMs: HOUR })[Symbol.asyncIterator]()
    return { runId, id, events, ac, reads, watch }
  }

  it('says nothing until the engine has stored the result in full, then ends; ignores the others', async () => {
    const { runId, id, events, ac, reads, watch } = await watchQueued()
    try {
      const first = watch.next()
      await observed(() => reads.mock.calls.length >= 1)
      // another candidate's result is no reason to read
      events.publish({ runId, type: 'candidate', payload: { id: syntheticId(runId, 2) } })
      // stored, but the judge's review (say) is not: the row says evaluated, the engine has not said so
      await db.sql(`UPDATE candidates SET status = 'evaluated', eval_index = 3 WHERE id = $1`, [id])
      expect(reads).toHaveBeenCalledTimes(1)
      events.publish({ runId, type: 'candidate', payload: { id } })
      expect((await first).value).toEqual({ status: 'evaluated' })
      expect((await watch.next()).done).toBe(true)
      expect(events.listenerCount(runId)).toBe(0)
    } finally {
      reads.mockRestore()
      ac.abort()
      await watch.return?.(undefined)
    }
  }, 60_000)

  it('ends on its first read when the candidate was evaluated and applied before the watch started', async () => {
    // the engine stored and applied it as the page loaded: its event came before the watch
    const { ac, reads, watch } = await watchQueued(async ({ runId, id, events }) => {
      await db.sql(`UPDATE candidates SET status = 'evaluated', eval_index = 3 WHERE id = $1`, [id])
      events.publish({ runId, type: 'candidate', payload: { id, evalIndex: 3 } })
    })
    try {
      expect((await watch.next()).value).toEqual({ status: 'evaluated' })
      expect(reads).toHaveBeenCalledTimes(1)
      expect((await watch.next()).done).toBe(true)
    } finally {
      reads.mockRestore()
      ac.abort()
      await watch.return?.(undefined)
    }
  }, 60_000)

  it('an evaluated row the engine has not applied yet waits for its event, whatever came before it', async () => {
    // the previous result is applied; ours is stored (the row says evaluated) and not applied yet
    const { runId, id, events, ac, reads, watch } = await watchQueued(async ({ runId, id, events }) => {
      events.publish({ runId, type: 'candidate', payload: { id: syntheticId(runId, 2), evalIndex: 2 } })
      await db.sql(`UPDATE candidates SET status = 'evaluated', eval_index = 3 WHERE id = $1`, [id])
    })
    try {
      const first = watch.next()
      await observed(() => reads.mock.calls.length >= 1)
      // the first read has answered (the watch decided on it) before the engine applies ours
      await reads.mock.results[0]!.value
      events.publish({ runId, type: 'candidate', payload: { id, evalIndex: 3 } })
      expect((await first).value).toEqual({ status: 'evaluated' })
      // a second read, the one its event asked for: the first did not end the watch
      expect(reads).toHaveBeenCalledTimes(2)
      expect((await watch.next()).done).toBe(true)
    } finally {
      reads.mockRestore()
      ac.abort()
      await watch.return?.(undefined)
    }
  }, 60_000)

  it('a stop that rejects it in flight ends the watch; an unvouched evaluated row waits for the next read', async () => {
    const { runId, id, events, ac, reads, watch } = await watchQueued()
    try {
      const first = watch.next()
      await observed(() => reads.mock.calls.length >= 1)
      await db.sql(`UPDATE candidates SET status = 'rejected', reject_reason = 'run stopped' WHERE id = $1`, [id])
      events.publish({ runId, type: 'status', payload: { status: 'stopped' } })
      expect((await first).value).toEqual({ status: 'rejected' })
      expect((await watch.next()).done).toBe(true)

      // a status event that finds the row evaluated, without the engine's word: one more read settles it
      await db.sql(`UPDATE candidates SET status = 'queued' WHERE id = $1`, [id])
      reads.mockClear()
      const again = liveCandidate({ db, events }, runId, id, ac.signal, { pollMs: HOUR })[Symbol.asyncIterator]()
      const next = again.next()
      await observed(() => reads.mock.calls.length >= 1)
      await db.sql(`UPDATE candidates SET status = 'evaluated' WHERE id = $1`, [id])
      events.publish({ runId, type: 'status', payload: { status: 'paused' } })
      await observed(() => reads.mock.calls.length >= 2)
      events.publish({ runId, type: 'status', payload: { status: 'evolving' } })
      expect((await next).value).toEqual({ status: 'evaluated' })
      expect((await again.next()).done).toBe(true)
    } finally {
      reads.mockRestore()
      ac.abort()
      await watch.return?.(undefined)
    }
  }, 60_000)
})
