// Retrieval latency and recall of the knowledge base's vector search, through the real code path
// (server/knowledge/search.ts: a transaction that sets hnsw.ef_search, the partial HNSW index of
// the model, reciprocal rank fusion, highlights).
//
//   node --import tsx bench/retrieval-latency.ts [--sizes 10000,100000] [--queries 200] [--pglite-size 10000] [--skip-pglite] [--skip-pg]
//
// Data: 384-dimensional unit vectors (the size of common sentence-embedding models) that cluster
// like real embeddings rather than uniform noise: topics of Zipf-distributed sizes, subtopics
// around each topic, anisotropic noise (a decaying variance spectrum), so that neighbours are
// close and most of the corpus is far. Each chunk has text drawn from its topic's vocabulary, so
// the hybrid (vector + full-text) query is measured too. Queries are fresh points from the same
// distribution (never copies of stored vectors); recall@10 is measured against exact search
// computed in JS over the same float32 values.
//
// PostgreSQL: a throw-away database (test-support/pg.ts). PGlite: a temporary folder. Rows are
// bulk-loaded first and the index built after (inserting into an indexed table is ~20x slower).
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createTestDatabase } from '../test-support/pg.ts'
import { openDatabase, type Db } from '../server/db.ts'
import type { ActiveEmbedder } from '../server/knowledge/embedders.ts'
import { HNSW_EF_SEARCH, searchKnowledge } from '../server/knowledge/search.ts'
import { ensureModelIndex } from '../server/knowledge/vector-sql.ts'

const DIMS = 384
const MODEL = 'bench-clustered-384'
const K = 10

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '200' },
    'pglite-size': { type: 'string', default: '10000' },
    'skip-pglite': { type: 'boolean', default: false },
    'skip-pg': { type: 'boolean', default: false },
    'ef-values': { type: 'string', default: `40,${HNSW_EF_SEARCH},200` },
  },
})
const QUERIES = Number(args.queries)
const EF_VALUES = String(args['ef-values']).split(',').map(Number)

// ---------------------------------------------------------------- data

function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gauss(r: () => number) {
  const u = Math.max(r(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r())
}

function normalize(v: Float32Array) {
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  for (let i = 0; i < v.length; i++) v[i] /= n
  return v
}

interface Corpus {
  vectors: Float32Array[]
  topics: number[]
  texts: string[]
  sample: (r: () => number) => { v: Float32Array; topic: number; text: string }
}

function makeCorpus(n: number, seed = 7): Corpus {
  const r = rng(seed)
  const TOPICS = Math.max(20, Math.round(Math.sqrt(n) / 2))
  const SUB = 6
  // decaying per-dimension scale: real embeddings spread their variance over few directions
  const scale = Float32Array.from({ length: DIMS }, (_, i) => 1 / Math.sqrt(1 + i / 8))
  const topicCenters = Array.from({ length: TOPICS }, () =>
    normalize(Float32Array.from({ length: DIMS }, (_, i) => gauss(r) * scale[i])),
  )
  const subCenters = topicCenters.map((c) =>
    Array.from({ length: SUB }, () => normalize(Float32Array.from(c, (x, i) => x + 0.06 * gauss(r) * scale[i]))),
  )
  // Zipf-like topic sizes
  const weights = Array.from({ length: TOPICS }, (_, i) => 1 / (i + 1) ** 0.8)
  const total = weights.reduce((a, b) => a + b, 0)
  const cdf: number[] = []
  weights.reduce((acc, w, i) => ((cdf[i] = (acc + w) / total), acc + w), 0)
  const pickTopic = (rr: () => number) => {
    const x = rr()
    let lo = 0
    let hi = TOPICS - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const vocab = Array.from({ length: TOPICS }, (_, t) =>
    Array.from({ length: 24 }, (_, w) => `t${t}w${w}${['alpha', 'beta', 'gamma', 'delta'][w % 4]}`),
  )
  const common = 'the a of and to in for with on by is this that from algorithm search value'.split(' ')
  const sample = (rr: () => number) => {
    const topic = pickTopic(rr)
    const sub = subCenters[topic][Math.floor(rr() * SUB)]
    const v = normalize(Float32Array.from(sub, (x, i) => x + 0.09 * gauss(rr) * scale[i]))
    const words: string[] = []
    for (let i = 0; i < 30; i++)
      words.push(rr() < 0.6 ? vocab[topic][Math.floor(rr() * 24)] : common[Math.floor(rr() * common.length)])
    return { v, topic, text: words.join(' ') }
  }
  const vectors: Float32Array[] = []
  const topics: number[] = []
  const texts: string[] = []
  for (let i = 0; i < n; i++) {
    const s = sample(r)
    vectors.push(s.v)
    topics.push(s.topic)
    texts.push(s.text)
  }
  return { vectors, topics, texts, sample }
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

function exactTopK(corpus: Float32Array[], q: Float32Array, k: number): number[] {
  const best: Array<[number, number]> = []
  for (let i = 0; i < corpus.length; i++) {
    const s = dot(corpus[i], q)
    if (best.length < k) {
      best.push([s, i])
      best.sort((a, b) => b[0] - a[0])
    } else if (s > best[k - 1][0]) {
      best[k - 1] = [s, i]
      best.sort((a, b) => b[0] - a[0])
    }
  }
  return best.map(([, i]) => i)
}

const literal = (v: Float32Array) => '[' + Array.from(v, (x) => x.toFixed(6)).join(',') + ']'

// ---------------------------------------------------------------- load

async function load(db: Db, corpus: Corpus): Promise<{ loadS: number; indexS: number; ids: string[] }> {
  const t0 = performance.now()
  // a few documents: globals and problem-scoped ones, for the filtered query
  await db.prisma.problem.createMany({
    data: Array.from({ length: 4 }, (_, i) => ({
      id: `bench-p${i}`,
      name: `p${i}`,
      description: 'bench',
      format: 'native',
      language: 'python',
      direction: 'max',
      primaryMetric: 'score',
      spec: {},
      seedCode: 'x',
      bundleHash: 'h',
    })),
    skipDuplicates: true,
  })
  const docs = Array.from({ length: 8 }, (_, i) => ({
    id: `bench-doc-${i}`,
    title: `bench ${i}`,
    format: 'text',
    content: 'bench',
    tags: [i % 2 ? 'odd' : 'even'],
    problemId: i < 4 ? null : `bench-p${i - 4}`,
    embedStatus: 'ready',
  }))
  await db.prisma.knowledgeDoc.createMany({ data: docs })
  const ids = corpus.vectors.map((_, i) => `c${i}`)
  const BATCH = db.mode === 'server' ? 2000 : 1000
  for (let s = 0; s < ids.length; s += BATCH) {
    const e = Math.min(ids.length, s + BATCH)
    const rows = ids.slice(s, e)
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO knowledge_chunks (id, doc_id, ord, content, embedding_model, embedding)
       SELECT v.id, v.doc, v.ord, v.content, $5, v.e::vector FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $6::text[]) AS v(id, doc, ord, content, e)`,
      rows,
      rows.map((_, j) => docs[(s + j) % docs.length].id),
      rows.map((_, j) => s + j),
      rows.map((_, j) => corpus.texts[s + j]),
      MODEL,
      rows.map((_, j) => literal(corpus.vectors[s + j])),
    )
    if ((s / BATCH) % 10 === 0) process.stderr.write(`  loaded ${e} / ${ids.length}\r`)
  }
  await db.prisma.$executeRawUnsafe('ANALYZE knowledge_chunks')
  await db.prisma.$executeRawUnsafe('ANALYZE knowledge_docs')
  const loadS = (performance.now() - t0) / 1000
  process.stderr.write(`\n  building the HNSW index for ${ids.length} vectors…\n`)
  const t1 = performance.now()
  await ensureModelIndex(db, MODEL, DIMS)
  const indexS = (performance.now() - t1) / 1000
  return { loadS, indexS, ids }
}

// ---------------------------------------------------------------- measure

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

interface Row {
  engine: string
  chunks: number
  query: string
  efSearch: number
  p50: number
  p95: number
  recall: number | null
}

async function measure(db: Db, engine: string, corpus: Corpus, ids: string[]): Promise<Row[]> {
  const r = rng(12345)
  const queries = Array.from({ length: QUERIES }, () => corpus.sample(r))
  process.stderr.write(`  exact top-${K} for ${QUERIES} queries…\n`)
  const exact = queries.map((q) => new Set(exactTopK(corpus.vectors, q.v, K).map((i) => ids[i])))
  // nearest-neighbour similarity vs a random pair: the data is clustered, not uniform noise
  const nn = queries.slice(0, 50).map((q) => dot(q.v, corpus.vectors[exactTopK(corpus.vectors, q.v, 1)[0]]))
  const rand = Array.from({ length: 500 }, () =>
    dot(corpus.vectors[Math.floor(r() * ids.length)], corpus.vectors[Math.floor(r() * ids.length)]),
  )
  process.stderr.write(
    `  cosine to the nearest neighbour: mean ${(nn.reduce((a, b) => a + b, 0) / nn.length).toFixed(3)}; between random chunks: mean ${(rand.reduce((a, b) => a + b, 0) / rand.length).toFixed(3)}\n`,
  )

  const byText = new Map(queries.map((q, i) => [`q${i}`, q.v]))
  const active: ActiveEmbedder = {
    id: MODEL,
    config: { provider: 'lexical-hash' },
    embedder: {
      id: MODEL,
      dims: DIMS,
      // the query vector was made with the corpus; this stands in for the model call only
      embed: async (texts) => texts.map((t) => Array.from(byText.get(t.split(' ')[0]) ?? new Float32Array(DIMS))),
    },
  }
  interface Variant {
    label: string
    ef: number
    recall: boolean
    once(i: number): Promise<{ ms: number; hits?: string[] }>
  }
  const timed = async (f: () => Promise<{ hits: Array<{ chunkId: string }> }>) => {
    const t0 = performance.now()
    const r = await f()
    return { ms: performance.now() - t0, hits: r.hits.map((h) => h.chunkId) }
  }
  const variants: Variant[] = [
    ...EF_VALUES.map((ef) => ({
      label: 'vector top-10',
      ef,
      recall: true,
      once: (i: number) =>
        timed(() => searchKnowledge(db, { text: `q${i}`, k: K, mode: 'vector', active, efSearch: ef })),
    })),
    {
      // the database's own execution time for the vector half (EXPLAIN ANALYZE), without the
      // client, the driver and the transaction round trips: what the index costs
      label: 'vector half, server execution only',
      ef: HNSW_EF_SEARCH,
      recall: false,
      once: async (i: number) => {
        const plan = await db.prisma.$transaction(async (tx) => {
          await tx.$queryRawUnsafe(
            `SELECT set_config('hnsw.ef_search', '${HNSW_EF_SEARCH}', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`,
          )
          return tx.$queryRawUnsafe<Array<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>>(
            `EXPLAIN (ANALYZE, FORMAT JSON) SELECT c.id FROM knowledge_chunks c WHERE c.embedding_model = '${MODEL}'
             ORDER BY (c.embedding::vector(${DIMS})) <=> $1::vector(${DIMS}) LIMIT 40`,
            literal(queries[i].v),
          )
        })
        return { ms: plan[0]['QUERY PLAN'][0]['Execution Time'] }
      },
    },
    {
      label: 'vector, problem filter',
      ef: HNSW_EF_SEARCH,
      recall: false,
      once: (i: number) =>
        timed(() => searchKnowledge(db, { text: `q${i}`, k: K, mode: 'vector', active, problemId: 'bench-p1' })),
    },
    {
      label: 'hybrid (vector + text)',
      ef: HNSW_EF_SEARCH,
      recall: false,
      once: (i: number) => {
        const words = queries[i].text
          .split(' ')
          .filter((w) => w.startsWith('t'))
          .slice(0, 3)
          .join(' ')
        return timed(() => searchKnowledge(db, { text: `q${i} ${words}`, k: K, mode: 'hybrid', active }))
      },
    },
  ]
  // warm-up: caches and index pages
  for (let i = 0; i < Math.min(10, queries.length); i++) for (const v of variants) await v.once(i)
  // interleaved, in a rotating order, so that the machine's load falls on every variant alike
  const times = variants.map(() => [] as number[])
  const found = variants.map(() => 0)
  for (let i = 0; i < queries.length; i++) {
    for (let j = 0; j < variants.length; j++) {
      const vi = (i + j) % variants.length
      const r = await variants[vi].once(i)
      times[vi].push(r.ms)
      if (variants[vi].recall && r.hits) found[vi] += r.hits.filter((id) => exact[i].has(id)).length
    }
  }
  const rows: Row[] = variants.map((v, vi) => ({
    engine,
    chunks: ids.length,
    query: v.label,
    efSearch: v.ef,
    p50: pct(times[vi], 50),
    p95: pct(times[vi], 95),
    recall: v.recall ? found[vi] / (K * queries.length) : null,
  }))
  for (const r of rows) {
    process.stderr.write(
      `  ${r.query.padEnd(36)} ef_search=${String(r.efSearch).padEnd(4)} p50 ${r.p50.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms${r.recall != null ? `  recall@10 ${r.recall.toFixed(3)}` : ''}\n`,
    )
  }
  return rows
}

// ---------------------------------------------------------------- main

const all: Row[] = []
// a benchmark stopped with Ctrl-C still drops its throw-away database
let current: { drop(): Promise<void> } | null = null
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void (current?.drop() ?? Promise.resolve()).finally(() => process.exit(130))
  })
}
const builds: Array<{ engine: string; chunks: number; loadS: number; indexS: number }> = []

if (!args['skip-pg']) {
  for (const n of String(args.sizes).split(',').map(Number)) {
    process.stderr.write(`PostgreSQL, ${n} chunks\n`)
    const corpus = makeCorpus(n)
    const t = await createTestDatabase()
    current = t
    const db = await openDatabase({ databaseUrl: t.url, dataDir: tmpdir() })
    try {
      const { loadS, indexS, ids } = await load(db, corpus)
      builds.push({ engine: 'PostgreSQL', chunks: n, loadS, indexS })
      all.push(...(await measure(db, 'PostgreSQL', corpus, ids)))
    } finally {
      await db.close()
      // autovacuum may still be analyzing the freshly loaded table: retry the drop a few times
      let dropError: unknown = null
      for (let attempt = 1; attempt <= 10; attempt++) {
        try {
          await t.drop()
          current = null
          dropError = null
          break
        } catch (e) {
          dropError = e
          await new Promise((r) => setTimeout(r, 3000))
        }
      }
      if (dropError) console.error(`could not drop the benchmark database ${t.name}: ${(dropError as Error).message}`)
    }
  }
}

if (!args['skip-pglite']) {
  const n = Number(args['pglite-size'])
  process.stderr.write(`PGlite, ${n} chunks\n`)
  const corpus = makeCorpus(n)
  const dir = mkdtempSync(join(tmpdir(), 'fm-bench-'))
  const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  try {
    const { loadS, indexS, ids } = await load(db, corpus)
    builds.push({ engine: 'PGlite', chunks: n, loadS, indexS })
    all.push(...(await measure(db, 'PGlite', corpus, ids)))
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const table = [
  '| engine | chunks | query | ef_search | p50 ms | p95 ms | recall@10 |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
  ...all.map(
    (r) =>
      `| ${r.engine} | ${r.chunks.toLocaleString('en-US')} | ${r.query} | ${r.efSearch} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.recall == null ? '–' : r.recall.toFixed(3)} |`,
  ),
  '',
  '| engine | chunks | bulk load s | HNSW build s |',
  '| --- | ---: | ---: | ---: |',
  ...builds.map(
    (b) => `| ${b.engine} | ${b.chunks.toLocaleString('en-US')} | ${b.loadS.toFixed(1)} | ${b.indexS.toFixed(1)} |`,
  ),
]
table.push(
  '',
  `measured on ${cpus().length} CPU cores; load average at the end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')} (1 / 5 / 15 min)`,
)
process.stdout.write(table.join('\n') + '\n')
