// What the knowledge base learned from runs: chunks ranked by usefulness, and for one chunk the
// retrievals that returned it and the candidates it informed, with their fitness deltas.
import type { Db } from '../db.ts'
import { KnowledgeNotFoundError } from './errors.ts'

export interface UsefulChunk {
  chunkId: string
  docId: string
  docTitle: string
  heading: string | null
  excerpt: string
  usefulness: number | null
  uses: number
  /** uses whose outcome is known */
  outcomes: number
  meanDelta: number | null
  problemId: string | null
}

/** Chunks with known outcomes, best first (or worst first), optionally for one problem's scope. */
export async function usefulnessRanking(
  db: Db,
  opts: { problemId?: string; order?: 'best' | 'worst'; limit?: number } = {},
): Promise<UsefulChunk[]> {
  const limit = Math.max(1, Math.min(500, opts.limit ?? 50))
  const dir = opts.order === 'worst' ? 'ASC' : 'DESC'
  const params: unknown[] = [limit]
  let scope = ''
  if (opts.problemId) {
    params.push(opts.problemId)
    scope = ' AND (d.problem_id = $2 OR d.problem_id IS NULL)'
  }
  const rows = await db.prisma.$queryRawUnsafe<
    Array<{
      id: string
      doc_id: string
      title: string
      heading: string | null
      excerpt: string
      usefulness: number | null
      uses: number
      outcomes: bigint
      mean_delta: number | null
      problem_id: string | null
    }>
  >(
    `SELECT c.id, c.doc_id, d.title, c.heading, left(c.content, 240) AS excerpt, c.usefulness, c.uses,
       (SELECT count(delta) FROM retrieval_uses u WHERE u.chunk_id = c.id) AS outcomes,
       (SELECT avg(delta) FROM retrieval_uses u WHERE u.chunk_id = c.id) AS mean_delta, d.problem_id
     FROM knowledge_chunks c JOIN knowledge_docs d ON d.id = c.doc_id
     WHERE c.uses > 0${scope}
     ORDER BY c.usefulness ${dir} NULLS LAST, c.uses DESC, c.id LIMIT $1`,
    ...params,
  )
  return rows.map((r) => ({
    chunkId: r.id,
    docId: r.doc_id,
    docTitle: r.title,
    heading: r.heading,
    excerpt: r.excerpt,
    usefulness: r.usefulness,
    uses: r.uses,
    outcomes: Number(r.outcomes),
    meanDelta: r.mean_delta == null ? null : Number(r.mean_delta),
    problemId: r.problem_id,
  }))
}

export interface ChunkUse {
  retrievalId: string
  trigger: string
  runId: string
  island: number | null
  candidateId: string
  /** the candidate's sequence number in its run, when the candidate still exists */
  candidateSeq: number | null
  delta: number | null
  usedAt: Date
  query: string
}

export interface ChunkHistory {
  chunk: {
    id: string
    docId: string
    docTitle: string
    heading: string | null
    content: string
    usefulness: number | null
    uses: number
  } | null
  /** retrievals that returned the chunk (including those whose candidates have not used it yet) */
  retrievals: Array<{
    id: string
    trigger: string
    runId: string | null
    island: number | null
    rank: number
    score: number | null
    createdAt: Date
  }>
  uses: ChunkUse[]
}

/** Which runs and candidates used a chunk, with their deltas (newest first). */
export async function chunkHistory(db: Db, chunkId: string, opts: { limit?: number } = {}): Promise<ChunkHistory> {
  const limit = Math.max(1, Math.min(1000, opts.limit ?? 200))
  const c = await db.prisma.knowledgeChunk.findUnique({
    where: { id: chunkId },
    select: {
      id: true,
      docId: true,
      heading: true,
      content: true,
      usefulness: true,
      uses: true,
      doc: { select: { title: true } },
    },
  })
  const uses = await db.prisma.$queryRaw<
    Array<{
      retrieval_id: string
      trigger: string
      run_id: string
      island: number | null
      candidate_id: string
      seq: number | null
      delta: number | null
      created_at: Date
      query: string
    }>
  >`SELECT u.retrieval_id, r.trigger, u.run_id, r.island, u.candidate_id, k.seq, u.delta, u.created_at, left(r.query, 300) AS query
    FROM retrieval_uses u JOIN retrievals r ON r.id = u.retrieval_id LEFT JOIN candidates k ON k.id = u.candidate_id
    WHERE u.chunk_id = ${chunkId} ORDER BY u.created_at DESC, u.id DESC LIMIT ${limit}`
  const retrievals = await db.prisma.$queryRaw<
    Array<{
      id: string
      trigger: string
      run_id: string | null
      island: number | null
      rank: number
      score: number | null
      created_at: Date
    }>
  >`SELECT r.id, r.trigger, r.run_id, r.island, array_position(r.chunk_ids, ${chunkId}) AS rank,
      r.scores[array_position(r.chunk_ids, ${chunkId})] AS score, r.created_at
    FROM retrievals r WHERE ${chunkId} = ANY(r.chunk_ids) AND r.trigger <> 'search'
    ORDER BY r.created_at DESC LIMIT ${limit}`
  if (!c && uses.length === 0 && retrievals.length === 0) throw new KnowledgeNotFoundError(`no chunk ${chunkId}`)
  return {
    chunk: c
      ? {
          id: c.id,
          docId: c.docId,
          docTitle: c.doc.title,
          heading: c.heading,
          content: c.content,
          usefulness: c.usefulness,
          uses: c.uses,
        }
      : null,
    retrievals: retrievals.map((r) => ({
      id: r.id,
      trigger: r.trigger,
      runId: r.run_id,
      island: r.island,
      rank: Number(r.rank),
      score: r.score,
      createdAt: r.created_at,
    })),
    uses: uses.map((u) => ({
      retrievalId: u.retrieval_id,
      trigger: u.trigger,
      runId: u.run_id,
      island: u.island,
      candidateId: u.candidate_id,
      candidateSeq: u.seq,
      delta: u.delta,
      usedAt: u.created_at,
      query: u.query,
    })),
  }
}

/** A run's retrievals with the chunks they returned (for the run's console and the candidate view). */
export async function listRetrievals(db: Db, opts: { runId?: string; island?: number; limit?: number } = {}) {
  const rows = await db.prisma.retrieval.findMany({
    where: {
      ...(opts.runId ? { runId: opts.runId } : { runId: { not: null } }),
      ...(opts.island !== undefined ? { island: opts.island } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    take: Math.max(1, Math.min(500, opts.limit ?? 50)),
  })
  const ids = [...new Set(rows.flatMap((r) => r.chunkIds))]
  const chunks = new Map(
    (
      await db.prisma.knowledgeChunk.findMany({
        where: { id: { in: ids } },
        select: { id: true, heading: true, doc: { select: { id: true, title: true } } },
      })
    ).map((c) => [c.id, c]),
  )
  return rows.map((r) => ({
    id: r.id,
    runId: r.runId,
    island: r.island,
    trigger: r.trigger,
    query: r.query.slice(0, 500),
    createdAt: r.createdAt,
    chunks: r.chunkIds.map((id, i) => {
      const c = chunks.get(id)
      return {
        id,
        score: r.scores[i] ?? null,
        docId: c?.doc.id ?? null,
        // a deleted document's chunk is named as it was when retrieved
        docTitle: c?.doc.title ?? `${r.chunkLabels[i] ?? 'a document'} (deleted)`,
        heading: c?.heading ?? null,
      }
    }),
  }))
}
