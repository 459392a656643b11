import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { embedded } from '../../test-support/db-modes.ts'
import { ensureSyntheticProblem, seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import type { Db } from '../db.ts'
import { ConflictError, NotFoundError, PreconditionError } from '../errors.ts'
import { deleteProblem, deleteRun } from './deletion.ts'

let db: Db
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ db, cleanup } = await embedded())
})
afterAll(async () => cleanup?.())

const count = async (table: string, runId: string) =>
  (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [runId]))[0]!.n

describe('deleting', () => {
  it('a run takes everything it made with it, and leaves other runs alone', async () => {
    await ensureSyntheticProblem(db, 'del-problem')
    const { runId } = await seedSyntheticRun(db, { candidates: 40, status: 'completed', problemId: 'del-problem' })
    const other = await seedSyntheticRun(db, { candidates: 10, status: 'completed', problemId: 'del-problem' })
    const cand = (await db.prisma.candidate.findFirstOrThrow({ where: { runId } })).id
    await db.prisma.guidance.create({ data: { runId, text: 'try a smaller step', authorLabel: 'x', startEval: 0 } })
    await db.prisma.runEvent.create({ data: { runId, type: 'status', payload: { status: 'completed' } } })
    await db.prisma.lesson.create({
      data: { runId, candidateId: cand, problemId: 'del-problem', title: 't', text: 'x' },
    })
    await db.prisma.webhook.create({
      data: { runId, url: 'https://example.org/h', events: [], secret: 's', createdBy: 'x' },
    })
    expect(await count('candidates', runId)).toBe(40)

    expect(await deleteRun(db, runId)).toEqual({ id: runId, problemId: 'del-problem', candidates: 40 })
    for (const table of ['candidates', 'islands', 'guidance', 'run_events', 'run_metrics', 'lessons', 'webhooks'])
      expect(await count(table, runId), table).toBe(0)
    expect(await db.prisma.run.findUnique({ where: { id: runId } })).toBeNull()
    expect(await count('candidates', other.runId)).toBe(10)
    await expect(deleteRun(db, runId)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('refuses a run an engine holds, and takes it once the lease is gone', async () => {
    await ensureSyntheticProblem(db, 'del-problem')
    const { runId } = await seedSyntheticRun(db, { candidates: 5, status: 'evolving', problemId: 'del-problem' })
    await db.prisma.run.update({
      where: { id: runId },
      data: { leaseOwner: 'host:1', leaseUntil: new Date(Date.now() + 3_600_000) },
    })
    await expect(deleteRun(db, runId)).rejects.toThrow(/being driven by an engine: stop it first/)
    expect(await count('candidates', runId)).toBe(5)
    // an engine that died: its lease ran out, the run is interrupted
    await db.prisma.run.update({ where: { id: runId }, data: { leaseUntil: new Date(Date.now() - 1000) } })
    expect((await deleteRun(db, runId)).candidates).toBe(5)
  })

  it('a problem only when no run uses it; never a built-in one; its documents stay, unscoped', async () => {
    await ensureSyntheticProblem(db, 'del-problem-2')
    const { runId } = await seedSyntheticRun(db, { candidates: 3, status: 'stopped', problemId: 'del-problem-2' })
    await db.sql(
      `INSERT INTO problem_bundles (hash, data, size, file_count) VALUES ('synthetic-del-problem-2', '\\x00', 1, 1)`,
    )
    const doc = await db.prisma.knowledgeDoc.create({
      data: { title: 'notes', content: 'x', format: 'text', problemId: 'del-problem-2' } as never,
    })
    await expect(deleteProblem(db, 'del-problem-2')).rejects.toBeInstanceOf(ConflictError)
    await deleteRun(db, runId)
    expect(await deleteProblem(db, 'del-problem-2')).toEqual({
      id: 'del-problem-2',
      documentsUnscoped: 1,
      bundleDeleted: true,
    })
    expect((await db.prisma.knowledgeDoc.findUniqueOrThrow({ where: { id: doc.id } })).problemId).toBeNull()
    await expect(deleteProblem(db, 'del-problem-2')).rejects.toBeInstanceOf(NotFoundError)
    await db.prisma.problem.update({ where: { id: 'del-problem' }, data: { builtin: true } })
    await expect(deleteProblem(db, 'del-problem')).rejects.toBeInstanceOf(PreconditionError)
  })
})
