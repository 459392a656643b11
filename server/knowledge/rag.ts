// Retrieval-augmented generation in the evolution loop: the API the engine calls.
//
//   1. an island stalls (or an expert asks): `retrieveForIsland` picks chunks for the island's
//      next prompts and logs a Retrieval row;
//   2. a candidate's prompt included some of them: `recordUses`;
//   3. the candidate's fitness change against its parent is known: `recordOutcome`;
//      each chunk's usefulness is then recomputed from the deltas of the candidates it informed
//      (a shrunken mean, see USEFULNESS_PRIOR_WEIGHT), never from how often it was used.
// Lessons (proposeLesson, approveLesson, editLesson, discardLesson) live in lessons.ts and are
// re-exported here so that the engine imports one module.
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import type { Embedder, EmbedOptions } from '../llm/embedder.ts'
import { activeEmbedder, type ActiveEmbedder } from './embedders.ts'
import { KnowledgeInputError, KnowledgeNotFoundError } from './errors.ts'
import { MAX_QUERY_CHARS } from './limits.ts'
import { searchKnowledge, type SearchHit } from './search.ts'
import { problemFamily } from './starter.ts'
import { chunkTitle } from '../../client-safe/knowledge-title.ts'

export {
  approveLesson,
  discardLesson,
  editLesson,
  listLessons,
  promptLessons,
  proposeLesson,
  summarizeChange,
} from './lessons.ts'
export type { LessonInput, LessonView } from './lessons.ts'

/** 'cold-start': passages a run's cold start turns into generator strategies (island -1) */
export type RetrievalTrigger = 'stagnation' | 'expert' | 'cold-start'

export interface RetrieveForIslandInput {
  runId: string
  island: number
  /** the run's problem: its documents and the global ones are searched */
  problemId: string
  /** what to look for: the problem statement, the current elites' code, their feedback… (long texts are cut to MAX_QUERY_CHARS) */
  queryText: string
  /**
   * what a passage must be about to be returned (the problem's name and statement; default the
   * query): a query that holds code and feedback would make every passage look unrelated
   */
  topicText?: string
  trigger: RetrievalTrigger
  /** chunks wanted (default 5, at most 20) */
  k?: number
  /** only documents carrying all these tags */
  tags?: string[]
  /** the problem's family (documents tagged with it are preferred); looked up from the problem when absent */
  family?: string | null
  /** chunks not to return again (e.g. those the island was already given) */
  excludeChunkIds?: string[]
  /** the expert who asked (trigger 'expert') */
  actor?: Actor
  active?: ActiveEmbedder
  signal?: AbortSignal
}

export interface RetrievedChunk {
  id: string
  docId: string
  docTitle: string
  sourcePath: string | null
  heading: string | null
  content: string
  /** fused retrieval score, adjusted by the chunk's usefulness so far */
  score: number
  usefulness: number | null
}

export interface RetrieveForIslandResult {
  retrievalId: string
  chunks: RetrievedChunk[]
  modelId: string
  /** false when the embedding model was unavailable and only full text was searched */
  vectorUsed: boolean
  /** why only full text was searched */
  vectorError?: string
}

/** Pseudo-observations of delta 0 added to every chunk's record: a chunk needs several good outcomes to rank high. */
export const USEFULNESS_PRIOR_WEIGHT = 2
/** Deltas are expected normalized to about [-1, 1]; larger ones are clamped so one outlier cannot dominate. */
export const MAX_ABS_DELTA = 1
/** How much usefulness moves a chunk in the retrieval ranking (score × (1 + clamp(usefulness))). */
const USEFULNESS_RERANK = 0.5
/**
 * Documents tagged with the run's problem family are searched on their own and their chunks come
 * first; other documents' chunks fill the remaining places, at least this many of them when they
 * match (so a general document can still reach a family with a document of its own).
 */
export const FAMILY_OTHERS_KEPT = 1
/**
 * The least topic relevance (see topicRelevance) of a passage not declared for the problem (by its
 * family's tag or by being the problem's own document). Ranks alone cannot say "unrelated": the
 * first of five unrelated passages still ranks first.
 */
export const RELEVANCE_FLOOR = 0.15
/**
 * What a run's retrieval waits for the query's vector: one retry at most, a few seconds in all.
 * The full-text half answers without it; the chat model's retry budget (minutes) held the run.
 */
export const RUN_EMBED_BOUND = { attempts: 2, totalMs: 12_000 }
/** After a run's query vector failed, that model is not asked again by a run's retrieval for this long. */
export const EMBED_PAUSE_MS = 60_000
const embedFailedAt = new WeakMap<Embedder, { at: number; error: string }>()

/**
 * The query's vector for one retrieval (its two searches embed the same text once): bounded for a
 * run, one attempt for a person; a model that just failed a run's retrieval is skipped at once.
 */
function retrievalEmbedder(active: ActiveEmbedder, trigger: RetrievalTrigger): ActiveEmbedder {
  const inner = active.embedder
  const bound: EmbedOptions = trigger === 'expert' ? { once: true } : { within: RUN_EMBED_BOUND }
  let memo: { text: string; vectors: Promise<number[][]> } | null = null
  const embed = async (texts: string[], options: EmbedOptions = {}) => {
    const failed = trigger === 'expert' ? undefined : embedFailedAt.get(inner)
    if (failed && Date.now() - failed.at < EMBED_PAUSE_MS)
      throw new Error(`${failed.error} (${Math.round((Date.now() - failed.at) / 1000)} s ago; not asked again yet)`)
    try {
      return await inner.embed(texts, { ...(options.signal ? { signal: options.signal } : {}), ...bound })
    } catch (e) {
      // a retrieval cancelled (its run ended) says nothing of the model: no later one skips it
      if (trigger !== 'expert' && !options.signal?.aborted)
        embedFailedAt.set(inner, { at: Date.now(), error: (e as Error).message || String(e) })
      throw e
    }
  }
  const memoized: Embedder = {
    id: inner.id,
    get dims() {
      return inner.dims
    },
    embed(texts, options) {
      const text = texts.join('\u0000')
      if (memo?.text !== text) memo = { text, vectors: embed(texts, options) }
      return memo.vectors
    },
  }
  return { ...active, embedder: memoized }
}

/** the text parser reads a run of these characters as one word; the stored tsvector splits them (migration 20261210100000) */
const CJK_CHARS = '([㐀-䶿一-鿿豈-﫿぀-ゟ゠-ヿㇰ-ㇿᄀ-ᇿ㄰-㆏가-힯])'

/**
 * How much each passage is about a topic: the cosine of their sets of words, each word weighted by
 * its rarity in the base (ln(1 + chunks / chunks holding it), a word no chunk holds as if one did:
 * a base of one document still tells its words apart from the topic's others). A long passage that shares a few common words with the topic ("fit", "points") scores low;
 * a passage built of the topic's rarer words scores high, whatever the base or the embedding model.
 */
export async function topicRelevance(db: Db, topic: string, chunkIds: string[]): Promise<Map<string, number>> {
  if (!chunkIds.length || !topic.trim()) return new Map()
  const rows = await db.sql<{ id: string; cos: number | null }>(
    `WITH n AS (SELECT greatest(count(*), 1)::float8 AS n FROM knowledge_chunks),
     topic AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', regexp_replace($1, $3, ' \\1 ', 'g')))) AS l),
     pas AS (SELECT c.id, unnest(tsvector_to_array(c.tsv)) AS l FROM knowledge_chunks c WHERE c.id = ANY($2::text[])),
     words AS (SELECT l FROM topic UNION SELECT l FROM pas),
     w AS (SELECT words.l, ln(1 + n.n / greatest(f.df, 1)) AS idf FROM words, n,
             LATERAL (SELECT count(*)::float8 AS df FROM knowledge_chunks c WHERE c.tsv @@ plainto_tsquery('simple', words.l)) f),
     tnorm AS (SELECT sqrt(sum(w.idf * w.idf)) AS v FROM w JOIN topic t ON t.l = w.l)
     SELECT p.id, sum(CASE WHEN t.l IS NULL THEN 0 ELSE w.idf * w.idf END) / nullif(sqrt(sum(w.idf * w.idf)) * (SELECT v FROM tnorm), 0) AS cos
     FROM pas p JOIN w ON w.l = p.l LEFT JOIN topic t ON t.l = p.l GROUP BY p.id`,
    [topic.slice(0, MAX_QUERY_CHARS), chunkIds, CJK_CHARS],
  )
  return new Map(rows.map((r) => [r.id, Number(r.cos ?? 0)]))
}

export async function retrieveForIsland(db: Db, input: RetrieveForIslandInput): Promise<RetrieveForIslandResult> {
  if (!input.runId) throw new KnowledgeInputError('retrieveForIsland needs a runId')
  if (!Number.isInteger(input.island) || input.island < -1)
    throw new KnowledgeInputError(`island must be an integer ≥ -1 (got ${input.island})`)
  if (!['stagnation', 'expert', 'cold-start'].includes(input.trigger))
    throw new KnowledgeInputError(
      `trigger must be 'stagnation', 'expert' or 'cold-start' (got ${String(input.trigger)})`,
    )
  // cancelled (the run ended, stopped or paused): no query more, and no row for it
  const live = () => input.signal?.throwIfAborted()
  live()
  const k = Math.max(1, Math.min(20, Math.floor(input.k ?? 5)))
  const query = input.queryText.trim().slice(0, MAX_QUERY_CHARS)
  const exclude = new Set(input.excludeChunkIds ?? [])
  let chunks: RetrievedChunk[] = []
  let modelId = ''
  let vectorUsed = false
  let vectorError: string | undefined
  if (query) {
    const family = input.family !== undefined ? input.family : await problemFamily(db, input.problemId)
    const active = retrievalEmbedder(input.active ?? (await activeEmbedder(db)), input.trigger)
    const search = async (tags: string[] | undefined) => {
      live()
      return searchKnowledge(db, {
        text: query,
        problemId: input.problemId,
        ...(tags?.length ? { tags } : {}),
        k: Math.min(100, 3 * k + exclude.size),
        active,
        ...(input.signal ? { signal: input.signal } : {}),
      })
    }
    const found = await search(input.tags)
    modelId = found.modelId
    vectorUsed = found.vector.used
    if (!vectorUsed) vectorError = found.vector.error
    const own = family ? (await search([...(input.tags ?? []), family])).hits : []
    const ownIds = new Set(own.map((h) => h.chunkId))
    const rank = (hits: SearchHit[]) =>
      hits
        .filter((h) => !exclude.has(h.chunkId))
        .map((h) => {
          const u = h.usefulness
          const boost = u == null ? 1 : 1 + USEFULNESS_RERANK * Math.max(-1, Math.min(1, u))
          return {
            id: h.chunkId,
            docId: h.docId,
            docTitle: h.title,
            sourcePath: h.sourcePath,
            heading: h.heading,
            content: h.content,
            score: h.score * boost,
            usefulness: u,
          }
        })
        .sort((a, b) => b.score - a.score)
    // the family's own passages fill their places as ranked; another document's must be found by
    // both halves (by its words too, where only the words ran): one half alone is a hashed word's
    // collision or a common word, and filled stalled islands' prompts with unrelated text
    const relevant = (h: SearchHit) => h.textRank !== null && (h.vectorRank !== null || !found.vector.used)
    const candidates = found.hits.filter((h) => !ownIds.has(h.chunkId) && !exclude.has(h.chunkId) && relevant(h))
    // a passage of the problem's own documents is declared for it; any other must be about it
    const undeclared = candidates.filter((h) => h.problemId !== input.problemId).map((h) => h.chunkId)
    live()
    const about = await topicRelevance(db, input.topicText?.trim() || query, undeclared)
    const others = rank(
      candidates.filter((h) => h.problemId === input.problemId || (about.get(h.chunkId) ?? 0) >= RELEVANCE_FLOOR),
    )
    // a passage nearly the same as one already taken (a document and its edited copy) takes no place
    const kept: RetrievedChunk[] = []
    const take = (list: RetrievedChunk[], n: number) => {
      const out: RetrievedChunk[] = []
      for (const c of list) {
        if (out.length >= n) break
        if (kept.some((k) => nearDuplicate(k.content, c.content))) continue
        kept.push(c)
        out.push(c)
      }
      return out
    }
    const first = take(rank(own), k >= 3 && others.length ? k - FAMILY_OTHERS_KEPT : k)
    chunks = [...first, ...take(others, k - first.length)]
  }
  live()
  const row = await db.prisma.retrieval.create({
    data: {
      runId: input.runId,
      island: input.island,
      trigger: input.trigger,
      query: query || '(empty)',
      chunkIds: chunks.map((c) => c.id),
      scores: chunks.map((c) => c.score),
      chunkLabels: chunks.map((c) => chunkLabel(c.docTitle, c.heading)),
      createdById: input.actor?.id ?? null,
    },
    select: { id: true },
  })
  return { retrievalId: row.id, chunks, modelId, vectorUsed, ...(vectorError ? { vectorError } : {}) }
}

const wordPairs = (text: string): Set<string> => {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []
  const pairs = new Set<string>()
  for (let i = 0; i + 1 < words.length; i++) pairs.add(`${words[i]} ${words[i + 1]}`)
  if (words.length === 1) pairs.add(words[0]!)
  return pairs
}

/**
 * Two passages nearly the same text: 80 % or more of their word pairs shared (Jaccard). A copy with
 * two words changed shares ~85-90 %; two passages on one topic rarely a third. Pure.
 */
export function nearDuplicate(a: string, b: string, threshold = 0.8): boolean {
  const [x, y] = [wordPairs(a), wordPairs(b)]
  if (!x.size || !y.size) return a.trim() === b.trim()
  let shared = 0
  for (const p of x) if (y.has(p)) shared++
  return shared / (x.size + y.size - shared) >= threshold
}

export const chunkLabel = (docTitle: string, heading: string | null) => chunkTitle(docTitle, heading).slice(0, 300)

/** A passage's title in a prompt: its document and section, the document's name said once. */
export const promptTitle = (docTitle: string, heading: string | null) => chunkTitle(docTitle, heading, ' — ')

/** Logs a console or CLI search (trigger 'search'); not tied to a run. */
export async function logSearch(
  db: Db,
  input: { query: string; chunkIds: string[]; scores: number[]; labels: string[]; actor?: Actor | null },
) {
  return db.prisma.retrieval.create({
    data: {
      trigger: 'search',
      query: input.query.slice(0, MAX_QUERY_CHARS),
      chunkIds: input.chunkIds,
      scores: input.scores,
      chunkLabels: input.labels,
      createdById: input.actor?.id ?? null,
    },
    select: { id: true },
  })
}

/**
 * A candidate's prompt included these chunks of a retrieval. Idempotent: recording the same
 * (candidate, chunk) twice keeps one row (a resumed run may repeat a step).
 */
export async function recordUses(
  db: Db,
  input: { retrievalId: string; chunkIds: string[]; candidateId: string; runId: string },
): Promise<{ recorded: number }> {
  const r = await db.prisma.retrieval.findUnique({ where: { id: input.retrievalId }, select: { id: true } })
  if (!r) throw new KnowledgeNotFoundError(`no retrieval ${input.retrievalId}`)
  const chunkIds = [...new Set(input.chunkIds)]
  if (chunkIds.length === 0) return { recorded: 0 }
  const res = await db.prisma.retrievalUse.createMany({
    data: chunkIds.map((chunkId) => ({
      retrievalId: input.retrievalId,
      chunkId,
      candidateId: input.candidateId,
      runId: input.runId,
    })),
    skipDuplicates: true,
  })
  await recomputeUsefulness(db, chunkIds)
  return { recorded: res.count }
}

/**
 * The candidate's fitness change against its parent is known. `delta` is normalized by the
 * engine and direction-aware: positive means better (e.g. relative improvement of the primary
 * metric); an invalid child is a negative delta. Recomputes the usefulness of every chunk that
 * informed the candidate. Calling it again overwrites the delta (idempotent).
 */
export async function recordOutcome(
  db: Db,
  input: { candidateId: string; delta: number },
): Promise<{ chunks: number }> {
  if (typeof input.delta !== 'number' || Number.isNaN(input.delta))
    throw new KnowledgeInputError(`delta must be a number (got ${String(input.delta)})`)
  const delta = Math.max(-MAX_ABS_DELTA, Math.min(MAX_ABS_DELTA, input.delta))
  const uses = await db.prisma.retrievalUse.findMany({
    where: { candidateId: input.candidateId },
    select: { chunkId: true },
  })
  if (uses.length === 0) return { chunks: 0 }
  await db.prisma.retrievalUse.updateMany({ where: { candidateId: input.candidateId }, data: { delta } })
  await recomputeUsefulness(
    db,
    uses.map((u) => u.chunkId),
  )
  return { chunks: uses.length }
}

/**
 * usefulness = Σ deltas / (n + USEFULNESS_PRIOR_WEIGHT) over the uses whose outcome is known:
 * the mean delta, shrunk toward 0 when there are few outcomes. `uses` counts every use. A chunk
 * used often by candidates that did not improve stays near 0 or goes negative.
 */
export async function recomputeUsefulness(db: Db, chunkIds: string[]): Promise<void> {
  if (chunkIds.length === 0) return
  await db.prisma.$executeRawUnsafe(
    `UPDATE knowledge_chunks c SET uses = s.n,
       usefulness = CASE WHEN s.m = 0 THEN NULL ELSE s.total / (s.m + $2::float8) END
     FROM (SELECT chunk_id, count(*) AS n, count(delta) AS m, coalesce(sum(delta), 0) AS total
           FROM retrieval_uses WHERE chunk_id = ANY($1::text[]) GROUP BY chunk_id) s
     WHERE c.id = s.chunk_id`,
    [...new Set(chunkIds)],
    USEFULNESS_PRIOR_WEIGHT,
  )
}

/**
 * The prompt section for retrieved chunks, numbered, each with its source, cut to `maxChars`
 * in all (whole chunks first; the last one may be shortened).
 */
export function formatKnowledgeForPrompt(
  chunks: Array<Pick<RetrievedChunk, 'docTitle' | 'heading' | 'content'>>,
  opts: { maxChars?: number; reason?: string } = {},
): string {
  if (chunks.length === 0) return ''
  const maxChars = opts.maxChars ?? 6000
  const head = `## Knowledge from the expert base\n${opts.reason ?? 'These notes were retrieved for this problem; use them where they help.'}\n`
  let out = head
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]
    const title = `\n### [${i + 1}] ${chunkTitle(c.docTitle, c.heading)}\n`
    const room = maxChars - out.length - title.length
    if (room < 200) break
    const body = c.content.length > room ? c.content.slice(0, room - 1) + '…' : c.content
    out += title + body.trimEnd() + '\n'
  }
  return out
}
