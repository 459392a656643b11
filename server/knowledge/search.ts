// Hybrid retrieval, one SQL statement, the same on PGlite and PostgreSQL:
//  - the vector half: pgvector HNSW cosine top-N over `embedding::vector(d)` with the model's own
//    filter (`embedding_model = '<id>'`), which is exactly the partial index's expression and
//    predicate, so the planner uses that index;
//  - the full-text half: `tsv @@ <query>` over the generated tsvector (GIN), ranked by ts_rank_cd;
//  - fused by reciprocal rank fusion, score = Σ 1 / (RRF_K + rank), so neither half's raw
//    scores (cosine distances vs. cover density) need to be comparable.
// Filters (problem: that problem's documents plus the global ones; tags: all of them) apply to
// both halves. `hnsw.ef_search` is set per query (HNSW_EF_SEARCH, stated in bench/README.md), and
// `hnsw.iterative_scan` lets a filtered vector search keep scanning until it has enough rows.
import type { Db } from '../db.ts'
import { activeEmbedder, type ActiveEmbedder } from './embedders.ts'
import { KnowledgeInputError } from './errors.ts'
import { cjkPairs, cjkSegments, identifierParts } from './lexical-hash.ts'
import { MAX_QUERY_CHARS, MAX_SEARCH_K } from './limits.ts'
import { HIGHLIGHT_END, HIGHLIGHT_START } from '../../client-safe/highlight.ts'
import { checkDims, embeddingExpr, modelLiteral, vectorLiteral, vectorType } from './vector-sql.ts'

/** HNSW candidate list size per query: recall ≥ 0.95 at 100 000 chunks in bench/retrieval-latency.ts. */
export const HNSW_EF_SEARCH = 100
/**
 * Below this many chunks of the model the vector half scans them all (exact, a few milliseconds):
 * an HNSW walk can miss the nearest chunk of a sparse query vector (one rare word under the lexical
 * model), where nearly every chunk is at distance 1 and the graph has nothing to follow.
 */
export const EXACT_SCAN_BELOW = 5000
const COUNT_TTL_MS = 60_000
const chunkCounts = new WeakMap<object, Map<string, { n: number; at: number }>>()

/** Chunks of a model, as of at most a minute ago (a count per search would cost more than it saves). */
async function chunksOf(db: Db, modelId: string): Promise<number> {
  let byModel = chunkCounts.get(db)
  if (!byModel) chunkCounts.set(db, (byModel = new Map()))
  const known = byModel.get(modelId)
  if (known && Date.now() - known.at < COUNT_TTL_MS) return known.n
  const [row] = await db.sql<{ n: string }>(
    'SELECT count(*)::text AS n FROM knowledge_chunks WHERE embedding_model = $1',
    [modelId],
  )
  const n = Number(row?.n ?? 0)
  byModel.set(modelId, { n, at: Date.now() })
  return n
}
/** The constant of reciprocal rank fusion (the usual 60: damps the weight of the very top ranks). */
export const RRF_K = 60
/** Rows each half contributes to the fusion. */
export const DEFAULT_POOL = 40
const MAX_TERMS = 64
/** Chunks the full-text half ranks at most, per branch (all words / any word); see searchKnowledge. */
export const TEXT_CANDIDATE_CAP = 500

export interface SearchOptions {
  text: string
  /** undefined: every document; a problem id: that problem's documents and the global ones; null: global ones only */
  problemId?: string | null
  /** only documents carrying all of these tags */
  tags?: string[]
  /** results wanted (default 10, at most MAX_SEARCH_K) */
  k?: number
  /** rows per half before fusion (default max(DEFAULT_POOL, 3k)) */
  pool?: number
  /** 'hybrid' (default), or one half alone (for diagnostics and the benchmark) */
  mode?: 'hybrid' | 'vector' | 'text'
  active?: ActiveEmbedder
  signal?: AbortSignal
  efSearch?: number
  /** the vector half compares every chunk (true) or walks the HNSW index (false); default: exact below EXACT_SCAN_BELOW chunks */
  exact?: boolean
  /** vector rows at or below this cosine similarity are dropped before fusion (default 0) */
  minSimilarity?: number
  /**
   * chunks of one document among the hits at most (hybrid default MAX_HITS_PER_DOC; the single-half
   * diagnostic modes default to no cap): one long document would otherwise fill the page
   */
  maxPerDoc?: number
  /** a person waits for the answer: the query's vector gets one attempt, no retries (EmbedOptions.once) */
  interactive?: boolean
}

export const MAX_HITS_PER_DOC = 3

export interface SearchHit {
  chunkId: string
  docId: string
  title: string
  sourcePath: string | null
  heading: string | null
  content: string
  /** a short excerpt with matched words between HIGHLIGHT_START and HIGHLIGHT_END markers (never HTML) */
  highlight: string
  /** fused score (higher is better) */
  score: number
  /** rank in the vector half (1 = nearest), null when the chunk was not among its top rows */
  vectorRank: number | null
  /** rank in the full-text half, null when its words did not match */
  textRank: number | null
  /** cosine similarity to the query (vector half only) */
  similarity: number | null
  tags: string[]
  problemId: string | null
  format: string
  /** the chunk's usefulness so far (see rag.ts), null before any outcome */
  usefulness: number | null
}

export interface SearchResult {
  hits: SearchHit[]
  modelId: string
  /** whether the vector half ran, and why not when it did not (the model failed, the query had no features) */
  /** `exact`: every chunk of the model compared (a small base), not the HNSW index's walk */
  vector: { used: boolean; exact: boolean; error?: string }
  efSearch: number
  ms: number
}

export { HIGHLIGHT_END, HIGHLIGHT_START, highlightRuns } from '../../client-safe/highlight.ts'

/**
 * The OR-query of a text's words for the full-text half: any shared word matches, and
 * ts_rank_cd rewards chunks that share more of them, closer together. Words are letters and
 * digits only, so the tsquery text cannot be malformed; identifiers also contribute their parts.
 * A run of Chinese, Japanese or Korean characters (indexed one character to a word) asks for
 * each pair of its neighbours next to each other, as the offline embedder reads it.
 */
export function looseQueryText(text: string): string {
  const terms = new Set<string>()
  for (const m of text.matchAll(/[\p{L}\p{N}_]+/gu)) {
    const segments = cjkSegments(m[0])
    for (let i = 0; i < segments.length && terms.size < MAX_TERMS; i++) {
      const segment = segments[i]!
      if (i % 2) {
        for (const pair of cjkPairs(segment)) {
          if (terms.size >= MAX_TERMS) break
          terms.add(pair.length > 1 ? `(${[...pair].map((c) => `'${c}'`).join(' <-> ')})` : `'${pair}'`)
        }
        continue
      }
      const whole = segment.toLowerCase().replace(/_/g, '')
      for (const t of [whole, ...identifierParts(segment)]) {
        if (terms.size >= MAX_TERMS) break
        if (t && /^[\p{L}\p{N}]+$/u.test(t) && t.length <= 60 && telling(t)) terms.add(`'${t}'`)
      }
    }
    if (terms.size >= MAX_TERMS) break
  }
  return [...terms].join(' | ')
}

/** The text for websearch_to_tsquery: each CJK run a quoted phrase of its characters (indexed one to a word). */
export function strictQueryText(text: string): string {
  return cjkSegments(text)
    .map((segment, i) => (i % 2 ? ` "${[...segment].join(' ')}" ` : segment))
    .join('')
}

/**
 * Whether a word tells documents apart: a lone Latin letter (`x`, `r`) or a number matches any
 * chunk of code or data, and took the places of the words that matter in a long query. A single
 * ideograph is a word of its own.
 */
function telling(term: string): boolean {
  if (/^\p{N}+$/u.test(term)) return false
  return term.length > 1 || /[^\p{Script=Latin}\p{N}]/u.test(term)
}

class Params {
  values: unknown[] = []
  add(v: unknown): string {
    this.values.push(v)
    return `$${this.values.length}`
  }
}

function docFilterSql(p: Params, opts: SearchOptions): string {
  const conds: string[] = []
  if (opts.problemId === null) conds.push('d.problem_id IS NULL')
  else if (opts.problemId !== undefined) conds.push(`(d.problem_id = ${p.add(opts.problemId)} OR d.problem_id IS NULL)`)
  if (opts.tags?.length) conds.push(`d.tags @> ${p.add(opts.tags)}::text[]`)
  return conds.length ? ` AND c.doc_id IN (SELECT d.id FROM knowledge_docs d WHERE ${conds.join(' AND ')})` : ''
}

const HEADLINE_OPTIONS = `StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_END}, MaxFragments=2, MaxWords=40, MinWords=15, FragmentDelimiter=" … "`

export async function searchKnowledge(db: Db, opts: SearchOptions): Promise<SearchResult> {
  const started = performance.now()
  const text = opts.text.trim()
  if (!text) throw new KnowledgeInputError('the search text is empty')
  // nothing to match by: the halves would rank every chunk alike and return arbitrary ones
  if (!/[\p{L}\p{N}]/u.test(text))
    throw new KnowledgeInputError('the search text has no letters or digits to match documents by')
  if (text.length > MAX_QUERY_CHARS)
    throw new KnowledgeInputError(`the search text is over ${MAX_QUERY_CHARS} characters`)
  const k = Math.max(1, Math.min(MAX_SEARCH_K, Math.floor(opts.k ?? 10)))
  const pool = Math.max(k, Math.min(1000, Math.floor(opts.pool ?? Math.max(DEFAULT_POOL, 3 * k))))
  const efSearch = Math.max(10, Math.min(1000, Math.floor(opts.efSearch ?? HNSW_EF_SEARCH)))
  const mode = opts.mode ?? 'hybrid'
  const minSimilarity = opts.minSimilarity ?? 0
  const active = opts.active ?? (await activeEmbedder(db))

  let queryVector: number[] | null = null
  let vectorError: string | undefined
  if (mode !== 'text') {
    try {
      const [v] = await active.embedder.embed([text], {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.interactive ? { once: true } : {}),
      })
      if (!v?.length) throw new Error('the model returned no vector')
      checkDims(v.length)
      queryVector = v
    } catch (e) {
      // a search its caller gave up on (a run that ended) is over: the full text would answer no one
      opts.signal?.throwIfAborted()
      // the full-text half still answers: a search never fails because the model is down
      vectorError = `${active.id}: ${((e as Error).message || String(e)).slice(0, 300)}`
      if (mode === 'vector') throw new KnowledgeInputError(`vector search unavailable: ${vectorError}`)
    }
  }
  const loose = mode === 'vector' ? '' : looseQueryText(text)

  const p = new Params()
  const ctes: string[] = []
  const exact = !!queryVector && (opts.exact ?? (await chunksOf(db, active.id)) < EXACT_SCAN_BELOW)
  if (queryVector) {
    const d = queryVector.length
    const q = `${p.add(vectorLiteral(queryVector))}::${vectorType(d)}`
    // "+ 0": an expression the index does not hold, so the scan is exact
    ctes.push(`vec AS MATERIALIZED (
      SELECT c.id, ${embeddingExpr(d)} <=> ${q} AS dist FROM knowledge_chunks c
      WHERE c.embedding_model = ${modelLiteral(active.id)}${docFilterSql(p, opts)}
      ORDER BY (${embeddingExpr(d)} <=> ${q})${exact ? ' + 0' : ''} LIMIT ${p.add(pool)})`)
    // no positive similarity is no evidence: such rows would otherwise take vector ranks (and
    // RRF points) from nothing, tying with genuine full-text matches
    ctes.push(
      `vr AS (SELECT id, dist, row_number() OVER (ORDER BY dist, id) AS r FROM vec WHERE dist < ${p.add(1 - minSimilarity)}::float8)`,
    )
  } else {
    ctes.push(`vr AS (SELECT NULL::text AS id, NULL::float8 AS dist, NULL::bigint AS r WHERE false)`)
  }
  ctes.push(
    `q AS (SELECT to_tsquery('english', ${p.add(loose)}) AS loose, websearch_to_tsquery('english', ${p.add(strictQueryText(text))}) AS strict)`,
  )
  if (loose) {
    // Ranking reads every matching row, and a query of common words can match most of the base
    // (a long RAG query always does): rank at most TEXT_CANDIDATE_CAP chunks that hold every word
    // (the strict query) plus as many that hold any word, so the cost stays bounded.
    const cap = p.add(TEXT_CANDIDATE_CAP)
    ctes.push(`txt AS MATERIALIZED (
      SELECT m.id, max(ts_rank_cd(m.tsv, q.loose, 32) + CASE WHEN m.strict THEN 1 ELSE 0 END) AS rank
      FROM (
        (SELECT c.id, c.tsv, true AS strict FROM knowledge_chunks c, q WHERE numnode(q.strict) > 0 AND c.tsv @@ q.strict${docFilterSql(p, opts)} LIMIT ${cap})
        UNION ALL
        (SELECT c.id, c.tsv, numnode(q.strict) > 0 AND c.tsv @@ q.strict FROM knowledge_chunks c, q WHERE c.tsv @@ q.loose${docFilterSql(p, opts)} LIMIT ${cap})
      ) m, q
      GROUP BY m.id ORDER BY rank DESC, m.id LIMIT ${p.add(pool)})`)
    ctes.push(`tr AS (SELECT id, rank, row_number() OVER (ORDER BY rank DESC, id) AS r FROM txt)`)
  } else {
    ctes.push(`tr AS (SELECT NULL::text AS id, NULL::float8 AS rank, NULL::bigint AS r WHERE false)`)
  }
  const rrf = p.add(RRF_K)
  const perDoc = opts.maxPerDoc ?? (mode === 'hybrid' ? MAX_HITS_PER_DOC : 0)
  ctes.push(`all_fused AS (
    SELECT coalesce(vr.id, tr.id) AS id, vr.r AS vrank, tr.r AS trank, vr.dist,
      coalesce(1.0 / (${rrf} + vr.r), 0) + coalesce(1.0 / (${rrf} + tr.r), 0) AS score
    FROM vr FULL OUTER JOIN tr ON vr.id = tr.id)`)
  ctes.push(
    perDoc > 0
      ? `fused AS (
    SELECT id, vrank, trank, dist, score FROM (
      SELECT a.*, row_number() OVER (PARTITION BY c.doc_id ORDER BY a.score DESC, a.trank NULLS LAST, a.vrank NULLS LAST, a.id) AS nth
      FROM all_fused a JOIN knowledge_chunks c ON c.id = a.id) ranked
    WHERE nth <= ${p.add(Math.floor(perDoc))}
    ORDER BY score DESC, trank NULLS LAST, vrank NULLS LAST LIMIT ${p.add(k)})`
      : `fused AS (SELECT * FROM all_fused ORDER BY score DESC, trank NULLS LAST, vrank NULLS LAST LIMIT ${p.add(k)})`,
  )
  const sql = `WITH ${ctes.join(',\n')}
    SELECT f.id, f.vrank, f.trank, f.dist, f.score, c.doc_id, c.heading, c.content, c.usefulness,
      d.title, d.source_path, d.tags, d.problem_id, d.format,
      ts_headline('english', c.content, q.loose, '${HEADLINE_OPTIONS}') AS highlight
    FROM fused f JOIN knowledge_chunks c ON c.id = f.id JOIN knowledge_docs d ON d.id = c.doc_id, q
    ORDER BY f.score DESC, f.trank NULLS LAST, f.vrank NULLS LAST`

  type Row = {
    id: string
    vrank: bigint | number | null
    trank: bigint | number | null
    dist: number | null
    score: number | string
    doc_id: string
    heading: string | null
    content: string
    usefulness: number | null
    title: string
    source_path: string | null
    tags: string[]
    problem_id: string | null
    format: string
    highlight: string
  }
  const rows = await db.prisma.$transaction(async (tx) => {
    // the settings in one statement (one round trip), local to this transaction. enable_seqscan
    // off: with a larger ef_search the planner's estimate for the HNSW scan can exceed that of
    // an exact scan and sort of the whole table, which is far slower in practice (bench: ef_search
    // 200 at 10 000 chunks went from 107 ms to 12 ms); every other table access here has an index
    if (queryVector && !exact) {
      await tx.$queryRawUnsafe(
        `SELECT set_config('hnsw.ef_search', '${efSearch}', true), set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('enable_seqscan', 'off', true)`,
      )
    }
    return tx.$queryRawUnsafe<Row[]>(sql, ...p.values)
  })
  const num = (v: bigint | number | null) => (v == null ? null : Number(v))
  return {
    hits: rows.map((r) => ({
      chunkId: r.id,
      docId: r.doc_id,
      title: r.title,
      sourcePath: r.source_path,
      heading: r.heading,
      content: r.content,
      highlight: r.highlight,
      score: Number(r.score),
      vectorRank: num(r.vrank),
      textRank: num(r.trank),
      similarity: r.dist == null ? null : 1 - Number(r.dist),
      tags: r.tags,
      problemId: r.problem_id,
      format: r.format,
      usefulness: r.usefulness,
    })),
    modelId: active.id,
    vector: queryVector
      ? { used: true, exact }
      : {
          used: false,
          exact: false,
          ...(vectorError ? { error: vectorError } : { error: mode === 'text' ? 'full-text only' : 'no vector' }),
        },
    efSearch,
    ms: performance.now() - started,
  }
}
