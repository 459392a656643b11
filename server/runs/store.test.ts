import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbModes, embedded } from '../../test-support/db-modes.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import type { Db } from '../db.ts'
import { RESULT_BATCH, RunStore, type CandidateRow, type ResultRow } from './store.ts'

let db: Db
let cleanup: () => Promise<void>
let runId: string
let seq = 1000

beforeAll(async () => {
  ;({ db, cleanup } = await embedded())
  ;({ runId } = await seedSyntheticRun(db, { candidates: 1, status: 'running' }))
})
afterAll(async () => cleanup?.())

const candidate = (): CandidateRow => {
  const n = seq++
  return {
    id: randomUUID(),
    seq: n,
    island: 0,
    parentIds: [],
    origin: 'test',
    operator: 'diff',
    operatorParams: {},
    code: `x = ${n}\n`,
    codeHash: `hash-${n}`,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
  }
}
const result = (id: string): ResultRow => ({
  id,
  attempt: 0,
  valid: true,
  score: 1,
  metrics: { score: 1 },
  features: {},
  artifacts: {},
  error: null,
  timing: {},
  workerId: 'w',
})
const nextTurn = () => new Promise((r) => setImmediate(r))

describe('RunStore', () => {
  it('writes new candidates at once; results wait for company, a full batch or a candidate, then go together', async () => {
    // a wait no test reaches: only a full batch, a candidate or drain() writes the results
    const store = new RunStore(db, runId, 3_600_000)
    const cands = Array.from({ length: RESULT_BATCH + 2 }, candidate)
    await Promise.all(cands.map((c) => store.insertCandidate(c)))
    expect(store.stats).toEqual({ statements: 1, rows: cands.length })

    // one result per turn of the event loop, one short of a batch: nothing written yet
    const written: Array<Promise<unknown>> = []
    for (const c of cands.slice(0, RESULT_BATCH - 1)) {
      written.push(store.recordResults([result(c.id)]))
      await nextTurn()
    }
    await nextTurn()
    expect(store.stats.statements).toBe(1)
    // the batch's last result writes all of them in one statement, each at its own evaluation index
    written.push(store.recordResults([result(cands[RESULT_BATCH - 1]!.id)]))
    const stored = (await Promise.all(written)).flat() as Array<{ id: string; evalIndex: number }>
    expect(store.stats).toEqual({ statements: 2, rows: cands.length + RESULT_BATCH })
    expect(stored.map((s) => s.id)).toEqual(cands.slice(0, RESULT_BATCH).map((c) => c.id))
    expect(new Set(stored.map((s) => s.evalIndex)).size).toBe(RESULT_BATCH)

    // a waiting result goes out with the next candidate, which never waits
    const waiting = store.recordResults([result(cands[RESULT_BATCH]!.id)])
    await nextTurn()
    const late = candidate()
    await store.insertCandidate(late)
    expect((await waiting)[0]?.id).toBe(cands[RESULT_BATCH]!.id)
    expect(store.stats.statements).toBe(4) // the candidate's statement, then the result's

    // drain() writes what waits
    const last = store.recordResults([result(cands[RESULT_BATCH + 1]!.id)])
    await store.drain()
    expect((await last)[0]?.id).toBe(cands[RESULT_BATCH + 1]!.id)
    const rows = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM candidates WHERE run_id = $1 AND status = 'evaluated' AND id = ANY($2)`,
      [runId, cands.map((c) => c.id)],
    )
    expect(rows[0]?.n).toBe(cands.length)
  })

  it('stores a NUL character that a candidate, its evaluator or a model wrote, as U+FFFD', async () => {
    const store = new RunStore(db, runId, 0)
    const c = { ...candidate(), code: 'x = 1  # \u0000\n', response: 'answer\u0000' }
    await store.insertCandidate(c)
    const stored = await store.recordResults([
      { ...result(c.id), artifacts: { stderr: 'hello\u0000world', 'raw\u0000': 'b' }, error: null },
    ])
    expect(stored[0]?.id).toBe(c.id)
    const [row] = await db.sql<{ code: string; artifacts: Record<string, string> }>(
      'SELECT code, artifacts FROM candidates WHERE id = $1',
      [c.id],
    )
    expect(row).toEqual({ code: 'x = 1  # \ufffd\n', artifacts: { stderr: 'hello\ufffdworld', 'raw\ufffd': 'b' } })
  })

  it('stores a rejected answer with its reason, its spend and the hints its prompt was made with', async () => {
    const store = new RunStore(db, runId, 0)
    const [before] = await db.sql<{ spend_usd: number }>('SELECT spend_usd FROM runs WHERE id = $1', [runId])
    const r = {
      ...candidate(),
      costUsd: 0.25,
      reason: 'duplicate of an existing candidate',
      guidanceIds: ['g-1', 'g-2'],
    }
    const bare = { ...candidate(), reason: 'the edit did not apply' }
    await Promise.all([store.insertRejection(r), store.insertRejection(bare)])
    const rows = await db.sql<{ id: string; status: string; reject_reason: string; guidance_ids: string[] }>(
      'SELECT id, status, reject_reason, guidance_ids FROM candidates WHERE id = ANY($1) ORDER BY seq',
      [[r.id, bare.id]],
    )
    expect(rows).toEqual([
      { id: r.id, status: 'rejected', reject_reason: r.reason, guidance_ids: ['g-1', 'g-2'] },
      { id: bare.id, status: 'rejected', reject_reason: bare.reason, guidance_ids: [] },
    ])
    const [after] = await db.sql<{ spend_usd: number }>('SELECT spend_usd FROM runs WHERE id = $1', [runId])
    expect(after!.spend_usd - before!.spend_usd).toBeCloseTo(0.25)
  })
})

// both modes: the mark is set by the store functions, which the migration replaces in either database
describe.each(dbModes())('RunStore in %s', (_mode, open) => {
  it('marks the spend an estimate with the first answer whose token counts were estimated, and keeps it', async () => {
    const { db, cleanup } = await open()
    try {
      await markedOnce(db)
    } finally {
      await cleanup()
    }
  })
})

async function markedOnce(db: Db) {
  const { runId: own } = await seedSyntheticRun(db, { candidates: 0, status: 'running' })
  const store = new RunStore(db, own, 0)
  const marked = async () =>
    (await db.sql<{ spend_estimated: boolean }>('SELECT spend_estimated FROM runs WHERE id = $1', [own]))[0]!
      .spend_estimated
  await store.insertCandidate({ ...candidate(), costUsd: 0.1 })
  await store.insertRejection({ ...candidate(), costUsd: 0.1, reason: 'the edit did not apply' })
  expect(await marked()).toBe(false)
  // one estimated answer among counted ones, stored together
  const before = store.stats.statements
  await Promise.all([
    store.insertCandidate({ ...candidate(), costUsd: 0.1 }),
    store.insertCandidate({ ...candidate(), costUsd: 0.1, usageEstimated: true }),
  ])
  // the mark rides on the statement that adds the spend: no write of its own
  expect(store.stats.statements - before).toBe(1)
  expect(await marked()).toBe(true)
  // answers with their counts afterwards do not take it back
  await store.insertRejection({ ...candidate(), costUsd: 0.1, reason: 'truncated' })
  expect(await marked()).toBe(true)
  // a rejected answer's estimate marks it as a stored one's does
  const { runId: other } = await seedSyntheticRun(db, { candidates: 0, status: 'running' })
  await new RunStore(db, other, 0).insertRejection({
    ...candidate(),
    costUsd: 0.1,
    usageEstimated: true,
    reason: 'truncated',
  })
  const [o] = await db.sql<{ spend_estimated: boolean }>('SELECT spend_estimated FROM runs WHERE id = $1', [other])
  expect(o!.spend_estimated).toBe(true)
  const [run] = await db.sql<{ spend_usd: number }>('SELECT spend_usd FROM runs WHERE id = $1', [own])
  expect(run!.spend_usd).toBeCloseTo(0.5)
}
