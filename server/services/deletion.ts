// Deleting a run (with everything it made) or an imported problem. A run some engine drives now is
// refused: the check and the delete are one statement on the run's row, so an engine claiming the
// run at the same moment either wins (the delete is refused) or finds the row gone.
import type { Db } from '../db.ts'
import { ConflictError, NotFoundError, PreconditionError } from '../errors.ts'

export interface DeletedRun {
  id: string
  problemId: string
  candidates: number
}

/** Tables that name a run without a foreign key (kept apart from it for the hot path, or history). */
const RUN_TABLES = [
  'retrieval_uses',
  'retrievals',
  'lessons',
  'run_watchers',
  'webhooks',
  'notification_deliveries',
  'run_events',
  'run_metrics',
  'guidance',
  'migrations',
] as const

/**
 * Deletes a run that no engine drives (finished, paused, or interrupted), with its candidates, islands,
 * events, metrics, guidance, retrievals, proposed lessons, watches and webhooks. Knowledge documents
 * approved from its lessons stay; the audit log keeps the run's id. Runs forked from it keep theirs.
 */
export async function deleteRun(db: Db, runId: string): Promise<DeletedRun> {
  return db.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ problem_id: string; candidates: number }>>`
      SELECT problem_id, (SELECT count(*)::int FROM candidates WHERE run_id = ${runId}) AS candidates
        FROM runs WHERE id = ${runId}`
    if (!rows.length) throw new NotFoundError(`no run "${runId}"`)
    const deleted = await tx.$executeRaw`
      DELETE FROM runs WHERE id = ${runId} AND (lease_until IS NULL OR lease_until <= now())`
    if (!deleted)
      throw new PreconditionError(`run ${runId} is being driven by an engine: stop it first, then delete it`)
    for (const table of RUN_TABLES) await tx.$executeRawUnsafe(`DELETE FROM ${table} WHERE run_id = $1`, runId)
    return { id: runId, problemId: rows[0]!.problem_id, candidates: rows[0]!.candidates }
  })
}

export interface DeletedProblem {
  id: string
  /** knowledge documents that were scoped to it: kept, now shown for every problem */
  documentsUnscoped: number
  bundleDeleted: boolean
}

/**
 * Deletes an imported problem that no run uses (built-in ones come back with every start). Its
 * knowledge documents are kept, unscoped; its bundle goes when nothing else refers to it.
 */
export async function deleteProblem(db: Db, problemId: string): Promise<DeletedProblem> {
  return db.prisma.$transaction(async (tx) => {
    const p = await tx.problem.findUnique({ where: { id: problemId }, select: { builtin: true, bundleHash: true } })
    if (!p) throw new NotFoundError(`no problem "${problemId}"`)
    if (p.builtin) throw new PreconditionError(`"${problemId}" is a built-in problem: it comes with the app`)
    const runs = await tx.run.count({ where: { problemId } })
    if (runs)
      throw new ConflictError(
        `${runs} run${runs === 1 ? '' : 's'} of "${problemId}" must be deleted first (fm-agent runs delete <runId>, or the run's page)`,
      )
    const { count: documentsUnscoped } = await tx.knowledgeDoc.updateMany({
      where: { problemId },
      data: { problemId: null },
    })
    await tx.problem.delete({ where: { id: problemId } })
    // a bundle is shared by content: another problem, or a run's snapshot (of another problem with
    // the same files), may still need it
    const bundleDeleted =
      (await tx.$executeRaw`
        DELETE FROM problem_bundles b WHERE b.hash = ${p.bundleHash}
           AND NOT EXISTS (SELECT 1 FROM problems WHERE bundle_hash = b.hash)
           AND NOT EXISTS (SELECT 1 FROM runs WHERE problem_snapshot->>'bundleHash' = b.hash)`) > 0
    return { id: problemId, documentsUnscoped, bundleDeleted }
  })
}
