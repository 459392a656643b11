// Re-embedding: after the active model changes (every document is then pending), or to finish
// documents whose embedding failed. Progress is reported as documents done of total; the state
// that matters is in the database (embed_status per document), so any process can show it and a
// re-embed interrupted by a restart simply continues where it stopped.
import type { Db } from '../db.ts'
import { embedDocument } from './documents.ts'
import { activeEmbedder, type ActiveEmbedder } from './embedders.ts'
import { KnowledgeConflictError } from './errors.ts'

export interface ReembedProgress {
  done: number
  total: number
  failed: number
  modelId: string
}

/** Documents whose chunks are not all embedded with the active model. */
export async function docsNeedingEmbedding(db: Db, modelId: string): Promise<string[]> {
  const rows = await db.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT d.id FROM knowledge_docs d
    WHERE d.embed_status <> 'ready'
       OR EXISTS (SELECT 1 FROM knowledge_chunks c WHERE c.doc_id = d.id AND c.embedding_model IS DISTINCT FROM ${modelId})
    ORDER BY d.created_at, d.id`
  return rows.map((r) => r.id)
}

/**
 * Embeds every document not yet embedded with the active model, one document at a time (each
 * all-or-nothing), calling `onProgress(done, total)` after each. A failing document is counted
 * and left `failed`; the loop goes on. With `retryFailed: false`, documents already marked
 * failed are left for a later, explicit retry.
 */
export async function reembedAll(
  db: Db,
  opts: {
    onProgress?: (p: ReembedProgress) => void
    signal?: AbortSignal
    active?: ActiveEmbedder
    retryFailed?: boolean
  } = {},
): Promise<ReembedProgress> {
  const active = opts.active ?? (await activeEmbedder(db))
  let ids = await docsNeedingEmbedding(db, active.id)
  if (opts.retryFailed === false) {
    const failed = new Set(
      (await db.prisma.knowledgeDoc.findMany({ where: { embedStatus: 'failed' }, select: { id: true } })).map(
        (d) => d.id,
      ),
    )
    ids = ids.filter((i) => !failed.has(i))
  }
  const progress: ReembedProgress = { done: 0, total: ids.length, failed: 0, modelId: active.id }
  opts.onProgress?.({ ...progress })
  for (const id of ids) {
    opts.signal?.throwIfAborted()
    const r = await embedDocument(db, id, { active, ...(opts.signal ? { signal: opts.signal } : {}) }).catch((e) => {
      // deleted meanwhile: nothing to do
      if ((e as Error).name === 'KnowledgeNotFoundError') return { status: 'ready' as const }
      throw e
    })
    if (r.status === 'failed') progress.failed++
    progress.done++
    opts.onProgress?.({ ...progress })
  }
  // every chunk got a new row version: without a vacuum the next re-embed takes new space again
  // (an embedded base had grown 43 → 142 → 202 MB over two model switches)
  if (ids.length) await db.sql('VACUUM (ANALYZE) knowledge_chunks')
  return progress
}

export interface ReembedJob extends ReembedProgress {
  running: boolean
  startedAt: Date
  finishedAt: Date | null
  error: string | null
}

const jobs = new WeakMap<Db, { job: ReembedJob; abort: AbortController }>()

/**
 * Starts a background re-embed in this process (one at a time per database). With `replace`
 * (the model just changed), a running one is stopped first: its remaining work is for a model
 * that is no longer active.
 */
export function startReembed(
  db: Db,
  opts: { retryFailed?: boolean; replace?: boolean; onDone?: (job: ReembedJob) => void } = {},
): ReembedJob {
  const running = jobs.get(db)
  if (running?.job.running) {
    if (!opts.replace)
      throw new KnowledgeConflictError(
        `a re-embed is already running (${running.job.done} of ${running.job.total} documents)`,
      )
    running.abort.abort(new Error('stopped: the embedding model changed'))
  }
  const job: ReembedJob = {
    done: 0,
    total: 0,
    failed: 0,
    modelId: '',
    running: true,
    startedAt: new Date(),
    finishedAt: null,
    error: null,
  }
  const abort = new AbortController()
  jobs.set(db, { job, abort })
  void reembedAll(db, {
    ...(opts.retryFailed !== undefined ? { retryFailed: opts.retryFailed } : {}),
    signal: abort.signal,
    onProgress: (p) => Object.assign(job, p),
  })
    .catch((e) => {
      job.error = abort.signal.aborted
        ? String((abort.signal.reason as Error)?.message ?? 'stopped')
        : (e as Error).message || String(e)
    })
    .finally(() => {
      job.running = false
      job.finishedAt = new Date()
      opts.onDone?.(job)
    })
  return job
}

export function reembedJob(db: Db): ReembedJob | null {
  const j = jobs.get(db)
  return j ? { ...j.job } : null
}

export interface EmbeddingStatus {
  modelId: string
  total: number
  ready: number
  pending: number
  failed: number
  /** documents with at least one chunk embedded by another model than the active one */
  stale: number
  job: ReembedJob | null
}

/** Counts from the database (true in every process) plus this process's running job. */
export async function embeddingStatus(db: Db): Promise<EmbeddingStatus> {
  const active = await activeEmbedder(db)
  const [counts] = await db.prisma.$queryRaw<
    Array<{ total: bigint; ready: bigint; pending: bigint; failed: bigint; stale: bigint }>
  >`
    SELECT count(*) AS total,
      count(*) FILTER (WHERE embed_status = 'ready') AS ready,
      count(*) FILTER (WHERE embed_status = 'pending') AS pending,
      count(*) FILTER (WHERE embed_status = 'failed') AS failed,
      count(*) FILTER (WHERE EXISTS (SELECT 1 FROM knowledge_chunks c WHERE c.doc_id = d.id AND c.embedding_model IS NOT NULL AND c.embedding_model <> ${active.id})) AS stale
    FROM knowledge_docs d`
  return {
    modelId: active.id,
    total: Number(counts.total),
    ready: Number(counts.ready),
    pending: Number(counts.pending),
    failed: Number(counts.failed),
    stale: Number(counts.stale),
    job: reembedJob(db),
  }
}
