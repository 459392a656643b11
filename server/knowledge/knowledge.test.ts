// The knowledge base end to end, in both database modes: import, chunk, embed (the offline
// lexical model and an embeddings model served over the OpenAI protocol by the test server),
// hybrid search, filters, failure handling, re-embedding, usefulness and lessons.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { createDocument, deleteDocument, embedDocument, getDocument, importFiles, updateDocument } from './documents.ts'
import { activeEmbedder, embedderFor, setEmbedderConfig, type KnowledgeEmbedderConfig } from './embedders.ts'
import { collectImportFiles } from './import-files.ts'
import { listRetrievals } from './history.ts'
import { chunkHistory, usefulnessRanking } from './history.ts'
import {
  approveLesson,
  discardLesson,
  editLesson,
  formatKnowledgeForPrompt,
  listLessons,
  promptLessons,
  proposeLesson,
  recordOutcome,
  recordUses,
  nearDuplicate,
  retrieveForIsland,
} from './rag.ts'
import { embeddingStatus, reembedAll, reembedJob, startReembed, type ReembedProgress } from './reembed.ts'
import { searchKnowledge } from './search.ts'
import { addProblem, dbModes } from './test-db.ts'
import { indexName } from './vector-sql.ts'

const SEMANTIC_MODEL = 'sem-test'

function writeCorpus(dir: string) {
  const w = (name: string, content: string | Uint8Array) => {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  w('vehicles.md', '# Vehicle notes\n\nA fast car needs a light frame and a strong engine.\n')
  w(
    'binpacking/online-bin-packing.md',
    '# Online bin packing notes\n\nThe bucket heuristic keeps a histogram of gaps, places each item in the tightest gap that fits, and opens a new bin only when no gap fits. Weibull instances reward it.\n',
  )
  w('binpacking/container-strategy.md', '# Container strategy\n\nContainer strategy.\n')
  w(
    'tsp/two_opt.py',
    'def two_opt_swap(tour, i, j):\n    """Reverse the segment between i and j."""\n    tour[i:j + 1] = reversed(tour[i:j + 1])\n    return tour\n',
  )
  w(
    'tsp/annealing.txt',
    'Simulated annealing: lower the temperature geometrically and restart from the best tour when stuck.\n',
  )
  // bad input in the same folder: skipped or failed with reasons, the rest still imported
  w('empty.md', '  \n\n')
  w('blob.txt', new Uint8Array([72, 105, 0, 0, 1, 2]))
  w('paper.pdf', '%PDF-1.4 not really')
  w('huge.md', '# Huge\n\n' + 'lorem ipsum dolor sit amet\n'.repeat(21_000))
  w('.hidden/secret.md', '# hidden\n\nnever imported\n')
}

function semanticConfig(
  server: OpenAiTestServer,
  extra: Partial<Extract<KnowledgeEmbedderConfig, { provider: 'openai' }>> = {},
): KnowledgeEmbedderConfig {
  return {
    provider: 'openai',
    model: SEMANTIC_MODEL,
    baseURL: server.url,
    retry: { maxAttempts: 1, baseDelayMs: 0 },
    timeoutS: 10,
    ...extra,
  }
}

/** files read by the CLI's reader, sent under paths relative to their folder (as an API client names them) */
function underNames(dir: string, c: ReturnType<typeof collectImportFiles>) {
  const name = <T extends { path: string }>(x: T) => ({ ...x, path: relative(dir, x.path) })
  return { ...c, files: c.files.map(name), skipped: c.skipped.map(name) }
}

describe.each(dbModes())('knowledge base, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let server: OpenAiTestServer
  let dir: string
  const docId: Record<string, string> = {}

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    server = await startOpenAiTestServer({ embeddingDims: { [SEMANTIC_MODEL]: 256 } })
    dir = mkdtempSync(join(tmpdir(), 'fm-kb-corpus-'))
    writeCorpus(dir)
    await addProblem(db, 'binpack')
    await addProblem(db, 'tsp', 'min')
  })
  afterAll(async () => {
    await server?.close()
    await cleanup?.()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('imports a folder: supported files become chunked, embedded documents; bad ones are refused with reasons', async () => {
    const collected = underNames(dir, collectImportFiles(dir, { cwd: dir }))
    expect(collected.skipped).toEqual([
      {
        path: 'blob.txt',
        status: 'skipped',
        reason: 'looks binary (it contains NUL bytes); only text, markdown and code are taken',
      },
      { path: 'empty.md', status: 'skipped', reason: 'empty' },
      {
        path: 'huge.md',
        status: 'skipped',
        reason: '567,008 characters, over the 524,288-character document limit; split it',
      },
      {
        path: 'paper.pdf',
        status: 'skipped',
        reason: expect.stringMatching(/^PDF is not imported; convert it to text or markdown first/),
      },
    ])
    const results = await importFiles(db, collected.files, { tags: ['Corpus'] })
    // sent on its own (an API client), an empty file is refused with the reason
    expect(await importFiles(db, [{ path: 'empty.md', content: '  \n' }])).toMatchObject([
      { status: 'failed', reason: 'empty.md is empty; write something in it first' },
    ])
    // an API client's over-long file (the readers skip it first) fails alone
    const [huge] = await importFiles(db, [{ path: 'huge.md', content: readFileSync(join(dir, 'huge.md'), 'utf8') }])
    expect(huge).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^huge\.md has 567,008 characters, over the 524,288-character limit per document/),
    })
    expect(
      results
        .filter((r) => r.status === 'created')
        .map((r) => r.path)
        .sort(),
    ).toEqual([
      'binpacking/container-strategy.md',
      'binpacking/online-bin-packing.md',
      'tsp/annealing.txt',
      'tsp/two_opt.py',
      'vehicles.md',
    ])
    for (const r of results.filter((r) => r.status === 'created')) {
      expect(r.embedStatus).toBe('ready')
      docId[r.path] = r.docId!
    }
    const py = await getDocument(db, docId['tsp/two_opt.py'])
    expect(py).toMatchObject({
      title: 'two_opt.py',
      format: 'code',
      tags: ['corpus'],
      embeddingModel: 'lexical-hash-512',
    })
    expect(py.chunks.map((c) => c.heading)).toEqual(['def two_opt_swap'])
    expect((await getDocument(db, docId['vehicles.md'])).title).toBe('Vehicle notes')
    // importing the same folder again updates in place: nothing is duplicated
    const again = await importFiles(db, collected.files, { tags: ['corpus'] })
    expect(again.filter((r) => r.status === 'unchanged')).toHaveLength(5)
    expect(await db.prisma.knowledgeDoc.count()).toBe(5)
  })

  it('a re-imported file brings its new title, unless an expert renamed the document', async () => {
    const [a] = await importFiles(db, [
      { path: 'titles/heur.md', content: '# Knapsack heuristics\n\nGreedy by ratio.\n' },
    ])
    expect(a.title).toBe('Knapsack heuristics')
    const [b] = await importFiles(db, [{ path: 'titles/heur.md', content: 'Greedy by ratio, then repair.\n' }])
    expect(b).toMatchObject({ status: 'updated', docId: a.docId, title: 'heur' })
    await updateDocument(db, a.docId!, { title: 'My own name' })
    const [c] = await importFiles(db, [{ path: 'titles/heur.md', content: '# Another heading\n\nGreedy.\n' }])
    expect(c).toMatchObject({ status: 'updated', title: 'My own name' })
    await deleteDocument(db, a.docId!)
  })

  it('a file whose path holds a different document is replaced, refused as a conflict or kept beside it, as asked', async () => {
    const [a] = await importFiles(db, [{ path: 'same/README.md', content: '# Project A\n\nAlpha notes.\n' }])
    const b = { path: 'same/README.md', content: '# Project B\n\nBeta notes.\n' }
    const [conflict] = await importFiles(db, [b], { ifDifferent: 'refuse' })
    expect(conflict).toEqual({
      path: 'same/README.md',
      status: 'conflict',
      docId: a.docId,
      title: 'Project A',
      reason: 'a document with different content, "Project A", was imported from same/README.md before',
    })
    expect((await getDocument(db, a.docId!)).content).toBe('# Project A\n\nAlpha notes.\n')
    // the same content again is no conflict
    expect(
      (await importFiles(db, [{ ...b, content: '# Project A\n\nAlpha notes.\n' }], { ifDifferent: 'refuse' }))[0],
    ).toMatchObject({ status: 'unchanged', docId: a.docId })
    const [kept] = await importFiles(db, [b], { ifDifferent: 'keep-both' })
    expect(kept).toMatchObject({
      path: 'same/README.md',
      status: 'created',
      storedAs: 'same/README (2).md',
      title: 'Project B',
    })
    expect(kept.docId).not.toBe(a.docId)
    const [third] = await importFiles(db, [{ ...b, content: 'Gamma.\n' }], { ifDifferent: 'keep-both' })
    expect(third).toMatchObject({ status: 'created', storedAs: 'same/README (3).md' })
    const [replaced] = await importFiles(db, [b])
    expect(replaced).toMatchObject({ status: 'updated', docId: a.docId, title: 'Project B' })
    for (const r of [a, kept, third]) await deleteDocument(db, r.docId!)
  })

  it("a problem's file imported again without --problem (or a global one with it) is not copied across scopes", async () => {
    const [kept] = await importFiles(db, [{ path: 'scoped/notes.md', content: '# Bin notes\n\nBest fit first.\n' }], {
      problemId: 'binpack',
    })
    const forgot = await importFiles(db, [
      { path: 'scoped/notes.md', content: '# Bin notes\n\nBest fit, then worst.\n' },
    ])
    expect(forgot).toEqual([
      {
        path: 'scoped/notes.md',
        status: 'skipped',
        docId: kept.docId,
        title: 'Bin notes',
        reason:
          'scoped/notes.md is already "Bin notes", a document of problem binpack: import it with --problem binpack to update that one, or delete that one first to move it',
      },
    ])
    const [global] = await importFiles(db, [{ path: 'scoped/all.md', content: '# For all\n\nRestart.\n' }])
    const [narrowed] = await importFiles(db, [{ path: 'scoped/all.md', content: '# For all\n\nRestart.\n' }], {
      problemId: 'tsp',
    })
    expect(narrowed).toMatchObject({ status: 'skipped', docId: global.docId })
    expect(narrowed.reason).toContain('a document of every problem: import it without --problem to update that one')
    // another problem may keep its own copy of a problem's file
    const [other] = await importFiles(db, [{ path: 'scoped/notes.md', content: '# Bin notes\n\nFor tours.\n' }], {
      problemId: 'tsp',
    })
    expect(other.status).toBe('created')
    for (const r of [kept, global, other]) await deleteDocument(db, r.docId!)
  })

  it('the same content from another path is not copied: the import names the document that holds it', async () => {
    const text = '# Lattice tricks\n\nShift every other row by half a circle.\n'
    const [a] = await importFiles(db, [{ path: 'dup/one.md', content: text }])
    const [b] = await importFiles(db, [{ path: 'dup/two.md', content: text.replace(/\n/g, '\r\n') }])
    expect(b).toEqual({
      path: 'dup/two.md',
      status: 'skipped',
      docId: a.docId,
      title: 'Lattice tricks',
      reason: 'same content as "Lattice tricks" (dup/one.md), already in the knowledge base',
    })
    expect(await db.prisma.knowledgeDoc.count({ where: { sourcePath: 'dup/two.md' } })).toBe(0)
    await deleteDocument(db, a.docId!)
  })

  it('a file that moved is followed: its document takes the new path; a copy whose original is there is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-kb-moved-'))
    try {
      const text = '# Moving notes\n\nA document whose file is renamed.\n'
      const [first, second] = [join(dir, 'notes.md'), join(dir, 'renamed.md')]
      writeFileSync(first, text)
      const [a] = await importFiles(db, [{ path: first, content: text }])
      // a copy beside the original: the original is there, so this is a second place, not a move
      writeFileSync(second, text)
      expect((await importFiles(db, [{ path: second, content: text }]))[0]).toMatchObject({ status: 'skipped' })
      rmSync(first)
      const [moved] = await importFiles(db, [{ path: second, content: text }])
      expect(moved).toMatchObject({
        status: 'updated',
        docId: a.docId,
        reason: `moved: imported before from ${first}, which is gone`,
      })
      expect((await getDocument(db, a.docId!)).sourcePath).toBe(second)
      expect(await db.prisma.knowledgeDoc.count({ where: { content: text } })).toBe(1)
      await deleteDocument(db, a.docId!)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a markdown file's front matter gives its title and tags and stays out of its passages", async () => {
    const content =
      '---\ntitle: Packing overview\ntags: [packing, Overview, "not a tag!"]\nauthor: expert\n---\n# Heading\n\nPlace the big circles first.\n'
    const [r] = await importFiles(db, [{ path: 'fm/overview.md', content }], { tags: ['corpus'] })
    expect(r).toMatchObject({ status: 'created', title: 'Packing overview' })
    const doc = await getDocument(db, r.docId!)
    expect(doc.tags).toEqual(['corpus', 'packing', 'overview'])
    // the file is kept as it is; what a model reads is its body
    expect(doc.content).toBe(content)
    expect(doc.chunks.map((c) => c.content).join('\n')).not.toContain('author: expert')
    expect(doc.chunks.map((c) => c.content).join('\n')).toContain('Place the big circles first.')
    // importing it again changes nothing
    expect((await importFiles(db, [{ path: 'fm/overview.md', content }], { tags: ['corpus'] }))[0].status).toBe(
      'unchanged',
    )
    await deleteDocument(db, r.docId!)
  })

  it('a small base is searched exactly: a one-word query finds its chunk by the vector half too', async () => {
    // many chunks of one near-uniform document, and one other that holds the rare word
    const filler = Array.from(
      { length: 60 },
      (_, i) => `## Part ${i}\n\nThe same handbook text about packing, part ${i}.\n`,
    )
    const long = await createDocument(db, {
      title: 'Handbook',
      content: `# Handbook\n\n${filler.join('\n')}`,
      format: 'markdown',
    })
    const rare = await createDocument(db, {
      title: 'Radius notes',
      content: '# Radius notes\n\nThe xylophonic radius grows with the layer count.\n',
      format: 'markdown',
    })
    const found = await searchKnowledge(db, { text: 'xylophonic', k: 3 })
    expect(found.vector).toMatchObject({ used: true, exact: true })
    expect(found.hits[0]).toMatchObject({ docId: rare.id, vectorRank: 1, textRank: 1 })
    // the index's walk, when asked for (what a base past EXACT_SCAN_BELOW chunks gets)
    expect((await searchKnowledge(db, { text: 'xylophonic', k: 3, exact: false })).vector.exact).toBe(false)
    for (const d of [long, rare]) await deleteDocument(db, d.id)
  })

  it('a path given twice in one request is taken once, the second said to be skipped', async () => {
    const r = await importFiles(db, [
      { path: 'twice/notes.md', content: '# First\n\none\n' },
      { path: 'twice/notes.md', content: '# Second\n\ntwo\n' },
    ])
    expect(r.map((x) => [x.status, x.reason])).toEqual([
      ['created', undefined],
      ['skipped', 'twice/notes.md appears more than once in this import; the first was taken'],
    ])
    expect((await getDocument(db, r[0].docId!)).title).toBe('First')
    await deleteDocument(db, r[0].docId!)
  })

  it('finds a document by shared words with the offline lexical model, which is honestly not semantic', async () => {
    const r = await searchKnowledge(db, { text: 'two opt swap of a tour segment', k: 5 })
    expect(r.modelId).toBe('lexical-hash-512')
    expect(r.vector.used).toBe(true)
    expect(r.hits[0].docId).toBe(docId['tsp/two_opt.py'])
    expect(r.hits[0].textRank).toBe(1)
    expect(r.hits[0].vectorRank).toBe(1)
    expect(r.hits[0].highlight).toMatch(/\uE000segment\uE001/)
    // synonyms only: the lexical model sees no likeness (it matches words, not meaning)
    const syn = await searchKnowledge(db, { text: 'quick automobile', k: 10 })
    const vehicle = syn.hits.find((h) => h.docId === docId['vehicles.md'])
    expect(vehicle?.textRank ?? null).toBeNull()
    expect(Math.abs(vehicle?.similarity ?? 0)).toBeLessThan(0.2)
  })

  it('re-embeds every document when the model changes, with progress, and indexes the new model', async () => {
    const change = await setEmbedderConfig(db, semanticConfig(server), SYSTEM_ACTOR)
    expect(change).toMatchObject({
      modelId: `openai:${SEMANTIC_MODEL}`,
      previousModelId: 'lexical-hash-512',
      dims: 256,
      changed: true,
    })
    expect((await embeddingStatus(db)).pending).toBe(5)
    const seen: ReembedProgress[] = []
    const final = await reembedAll(db, { onProgress: (p) => seen.push(p) })
    expect(final).toEqual({ done: 5, total: 5, failed: 0, modelId: `openai:${SEMANTIC_MODEL}` })
    expect(seen.map((p) => `${p.done}/${p.total}`)).toEqual(['0/5', '1/5', '2/5', '3/5', '4/5', '5/5'])
    // vacuumed after: the old vectors' space is taken again by the next re-embed, not added to
    const [vac] = await db.sql<{ vacuumed: boolean }>(
      "SELECT last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = 'knowledge_chunks'",
    )
    expect(vac?.vacuumed).toBe(true)
    const status = await embeddingStatus(db)
    expect(status).toMatchObject({
      modelId: `openai:${SEMANTIC_MODEL}`,
      total: 5,
      ready: 5,
      pending: 0,
      failed: 0,
      stale: 0,
    })
    const models = await db.prisma.$queryRaw<
      Array<{ m: string | null; n: bigint }>
    >`SELECT embedding_model AS m, count(*) AS n FROM knowledge_chunks GROUP BY 1`
    expect(models.map((m) => m.m)).toEqual([`openai:${SEMANTIC_MODEL}`])
    // the new model's partial HNSW index exists, and a filtered nearest-neighbour query uses it
    const name = indexName(`openai:${SEMANTIC_MODEL}`)
    const idx = await db.prisma.$queryRaw<
      Array<{ indexdef: string }>
    >`SELECT indexdef FROM pg_indexes WHERE indexname = ${name}`
    expect(idx[0].indexdef).toMatch(
      /USING hnsw \(\(\(?embedding\)?::vector\(256\)\) vector_cosine_ops\) WHERE \(embedding_model = 'openai:sem-test'::text\)/,
    )
    const plan = await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off')
      const q = `[${server.embed('x', SEMANTIC_MODEL).join(',')}]`
      return tx.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
        `EXPLAIN SELECT c.id FROM knowledge_chunks c WHERE c.embedding_model = 'openai:sem-test' ORDER BY (c.embedding::vector(256)) <=> '${q}'::vector(256) LIMIT 5`,
      )
    })
    expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toContain(name)
    // vectors made by a model that is no longer the active one are not applied
    const stale = await embedDocument(db, docId['vehicles.md'], {
      active: {
        id: 'lexical-hash-512',
        config: { provider: 'lexical-hash' },
        embedder: embedderFor({ provider: 'lexical-hash' }),
      },
    })
    expect(stale.status).toBe('pending')
    expect((await getDocument(db, docId['vehicles.md'])).embeddingModel).toBe(`openai:${SEMANTIC_MODEL}`)
  })

  it('hybrid: a query that shares only words with a document ranks it first, through the full-text half', async () => {
    // "Container strategy" means the same as "bucket heuristic" to the embedding model (the
    // vector half ranks it first) but shares no word with it; the bin-packing notes share the words.
    const q = 'bucket heuristic'
    const vectorOnly = await searchKnowledge(db, { text: q, mode: 'vector', k: 5 })
    expect(vectorOnly.hits[0].docId).toBe(docId['binpacking/container-strategy.md'])
    const textOnly = await searchKnowledge(db, { text: q, mode: 'text', k: 5 })
    expect(textOnly.hits.map((h) => h.docId)).toEqual([docId['binpacking/online-bin-packing.md']])
    const hybrid = await searchKnowledge(db, { text: q, k: 5 })
    expect(hybrid.vector.used).toBe(true)
    expect(hybrid.hits[0].docId).toBe(docId['binpacking/online-bin-packing.md'])
    expect(hybrid.hits[0].textRank).toBe(1)
    expect(hybrid.hits[0].vectorRank).not.toBeNull() // both halves contributed
    const strategy = hybrid.hits.find((h) => h.docId === docId['binpacking/container-strategy.md'])!
    expect(strategy).toMatchObject({ vectorRank: 1, textRank: null })
    expect(hybrid.hits[0].highlight).toContain('\uE000bucket\uE001 \uE000heuristic\uE001')
  })

  it('hybrid: a query that shares only meaning with a document ranks it first, through the vector half', async () => {
    const q = 'quick automobile'
    const textOnly = await searchKnowledge(db, { text: q, mode: 'text', k: 5 })
    expect(textOnly.hits).toEqual([]) // no document holds either word
    const hybrid = await searchKnowledge(db, { text: q, k: 5 })
    expect(hybrid.hits[0]).toMatchObject({
      docId: docId['vehicles.md'],
      vectorRank: 1,
      textRank: null,
      title: 'Vehicle notes',
    })
    expect(hybrid.hits[0].similarity!).toBeGreaterThan(0.4)
    // the search went through the embeddings endpoint, as a client of the OpenAI protocol
    const embedCalls = server.requests.filter((r) => r.endpoint === 'embeddings')
    expect(
      embedCalls[embedCalls.length - 1].body as { input: string[]; model: string; encoding_format: string },
    ).toMatchObject({
      input: [q],
      model: SEMANTIC_MODEL,
      encoding_format: 'float',
    })
  })

  it('one long document does not fill the hits: at most a few of its chunks, then other documents', async () => {
    // twelve sections that all match, against one short note that matches too
    const sections = Array.from(
      { length: 12 },
      (_, i) => `## Lattice ${i}\n\nA hexagonal lattice packing of circles, variant ${i}, with offsets.\n`,
    ).join('\n')
    const long = await createDocument(db, { title: 'Lattice salad', content: sections, format: 'markdown' })
    const short = await createDocument(db, {
      title: 'Hexagonal note',
      content: 'Hexagonal lattice packing: start from the densest circle lattice.',
      format: 'text',
    })
    try {
      const r = await searchKnowledge(db, { text: 'hexagonal lattice packing circles', k: 10 })
      const fromLong = r.hits.filter((h) => h.docId === long.id).length
      expect(fromLong).toBe(3)
      expect(r.hits.some((h) => h.docId === short.id)).toBe(true)
      // asked for, the cap goes
      const all = await searchKnowledge(db, { text: 'hexagonal lattice packing circles', k: 10, maxPerDoc: 0 })
      expect(all.hits.filter((h) => h.docId === long.id).length).toBeGreaterThan(3)
    } finally {
      await deleteDocument(db, long.id)
      await deleteDocument(db, short.id)
    }
  })

  it('filters by problem (that problem and the global documents) and by tags, in both halves', async () => {
    await updateDocument(db, docId['binpacking/online-bin-packing.md'], {
      problemId: 'binpack',
      tags: ['corpus', 'heuristics'],
    })
    await updateDocument(db, docId['tsp/two_opt.py'], { problemId: 'tsp' })
    const forTsp = await searchKnowledge(db, { text: 'bucket heuristic', problemId: 'tsp', k: 10 })
    const ids = forTsp.hits.map((h) => h.docId)
    expect(ids).not.toContain(docId['binpacking/online-bin-packing.md']) // another problem's
    expect(ids[0]).toBe(docId['binpacking/container-strategy.md']) // global
    const forBin = await searchKnowledge(db, { text: 'bucket heuristic', problemId: 'binpack', k: 10 })
    expect(forBin.hits[0].docId).toBe(docId['binpacking/online-bin-packing.md'])
    expect((await searchKnowledge(db, { text: 'two opt swap', problemId: 'tsp', k: 10 })).hits[0].docId).toBe(
      docId['tsp/two_opt.py'],
    )
    expect(
      (await searchKnowledge(db, { text: 'two opt swap', problemId: 'binpack', k: 10 })).hits.map((h) => h.docId),
    ).not.toContain(docId['tsp/two_opt.py'])
    const tagged = await searchKnowledge(db, { text: 'quick automobile', tags: ['heuristics'], k: 10 })
    expect(tagged.hits.map((h) => h.docId)).toEqual([docId['binpacking/online-bin-packing.md']])
    const globalOnly = await searchKnowledge(db, { text: 'tour', problemId: null, k: 10 })
    expect(globalOnly.hits.every((h) => h.problemId === null)).toBe(true)
  })

  it('an embedding endpoint that fails leaves documents saved, searchable by text and marked for re-embedding, never half-indexed', async () => {
    // a document of several chunks embedded two per request: the second request fails
    await setEmbedderConfig(db, semanticConfig(server, { batchSize: 2 }), SYSTEM_ACTOR)
    const sections = Array.from(
      { length: 4 },
      (_, i) => `## Section ${i}\n\nGreedy matching tip number ${i} for the assignment solver.`,
    ).join('\n\n')
    const embedCount = () => server.requests.filter((r) => r.endpoint === 'embeddings').length
    const embedsBefore = embedCount()
    server.enqueue({
      endpoint: 'embeddings',
      type: 'embedding',
      vectors: [server.embed('a', SEMANTIC_MODEL), server.embed('b', SEMANTIC_MODEL)],
    })
    server.enqueue({ endpoint: 'embeddings', type: 'error', status: 503, message: 'overloaded' })
    const doc = await createDocument(db, {
      title: 'Assignment tips',
      content: `# Assignment tips\n\n${sections}\n`,
      tags: ['solver'],
    })
    expect(embedCount() - embedsBefore).toBe(2)
    expect(doc.chunkCount).toBe(4)
    expect(doc.embedStatus).toBe('failed')
    expect(doc.embedError).toMatch(/^openai:sem-test: .*overloaded/)
    const chunks = await db.prisma.$queryRaw<Array<{ m: string | null; has: boolean }>>`
      SELECT embedding_model AS m, embedding IS NOT NULL AS has FROM knowledge_chunks WHERE doc_id = ${doc.id}`
    expect(chunks).toHaveLength(4)
    expect(chunks.every((c) => c.m === null && !c.has)).toBe(true) // none of the first batch's vectors were kept
    // saved and found by its words; the vector half does not see it yet
    const found = await searchKnowledge(db, { text: 'greedy matching assignment', k: 3 })
    expect(found.hits.find((h) => h.docId === doc.id)).toMatchObject({ textRank: 1, vectorRank: null })
    // the endpoint is down entirely: the search still answers from full text, and says so
    server.enqueue({ endpoint: 'embeddings', type: 'error', status: 500, message: 'down' })
    const degraded = await searchKnowledge(db, { text: 'greedy matching assignment', k: 3 })
    expect(degraded.vector).toMatchObject({ used: false, error: expect.stringMatching(/down/) })
    expect(degraded.hits[0].docId).toBe(doc.id)
    // the endpoint is back: a background re-embed (the console's button) finishes the document
    const job = startReembed(db)
    expect(() => startReembed(db)).toThrow(/already running/)
    while (reembedJob(db)?.running) await new Promise((r) => setTimeout(r, 20))
    expect(reembedJob(db)).toMatchObject({
      done: 1,
      total: 1,
      failed: 0,
      running: false,
      error: null,
      modelId: `openai:${SEMANTIC_MODEL}`,
    })
    expect(job.startedAt).toBeInstanceOf(Date)
    const after = await getDocument(db, doc.id)
    expect(after.embedStatus).toBe('ready')
    expect(after.chunks.every((c) => c.embeddingModel === `openai:${SEMANTIC_MODEL}`)).toBe(true)
    const byMeaning = await searchKnowledge(db, { text: 'greedy matching assignment', k: 3 })
    // its four chunks are near-identical, so which one the vector half ranks first (and which one the
    // fusion puts on top) is a tie broken by ids: the document itself leads both
    expect(byMeaning.hits[0].docId).toBe(doc.id)
    expect(byMeaning.hits.find((h) => h.vectorRank === 1)?.docId).toBe(doc.id)
    docId.assignment = doc.id
  })

  it('editing keeps unchanged chunks (and their history) and re-embeds the whole document; deleting removes its chunks', async () => {
    const before = await getDocument(db, docId.assignment)
    const edited = before.content.replace('tip number 3', 'tip number three, revised')
    await updateDocument(db, before.id, { content: edited })
    const after = await getDocument(db, before.id)
    expect(after.embedStatus).toBe('ready')
    expect(after.chunks.slice(0, 3).map((c) => c.id)).toEqual(before.chunks.slice(0, 3).map((c) => c.id))
    expect(after.chunks[3].id).not.toBe(before.chunks[3].id)
    expect(new Set(after.chunks.map((c) => c.embeddingModel))).toEqual(new Set([`openai:${SEMANTIC_MODEL}`]))
    const audits = await db.prisma.auditEvent.findMany({ where: { targetId: before.id }, orderBy: { id: 'asc' } })
    expect(audits.map((a) => a.action)).toEqual(['knowledge.doc.create', 'knowledge.doc.update'])
    const temp = await createDocument(db, { title: 'Temp', content: 'temporary note about nothing', format: 'text' })
    await deleteDocument(db, temp.id)
    expect(await db.prisma.knowledgeChunk.count({ where: { docId: temp.id } })).toBe(0)
    await expect(getDocument(db, temp.id)).rejects.toThrow(/no knowledge document/)
    await expect(createDocument(db, { content: 'x', problemId: 'no-such-problem' })).rejects.toThrow(
      /no problem "no-such-problem"/,
    )
  })

  it('a retrieval takes one of two nearly identical passages, and the next different one after it', async () => {
    const text =
      '# Wombat stacking\n\nWombat crates stack best when the heaviest crate goes first and every later crate is rotated to fit the gap left by the one below it, with 20 restarts.\n'
    const docs = [
      await createDocument(db, { title: 'Wombat stacking', content: text, format: 'markdown' }),
      await createDocument(db, {
        title: 'Wombat stacking (copy)',
        content: text.replace('20 restarts', '30 restarts'),
        format: 'markdown',
      }),
      await createDocument(db, {
        title: 'Wombat crates by weight',
        content: '# Wombat crates\n\nSorting wombat crates by weight before stacking them halves the gaps.\n',
        format: 'markdown',
      }),
    ]
    const r = await retrieveForIsland(db, {
      runId: 'run-dups',
      island: 0,
      problemId: 'binpack',
      queryText: 'wombat crates stack heaviest first rotated restarts',
      trigger: 'stagnation',
      k: 3,
    })
    const titles = r.chunks.map((c) => c.docTitle)
    expect(titles.filter((t) => t.startsWith('Wombat stacking'))).toHaveLength(1)
    expect(titles).toContain('Wombat crates by weight')
    expect(nearDuplicate(text, text.replace('20 restarts', '30 restarts'))).toBe(true)
    expect(nearDuplicate(text, docs[2]!.title)).toBe(false)
    for (const d of docs) await deleteDocument(db, d.id)
  })

  it('a retrieval still names the chunks it returned after their document is deleted', async () => {
    const doomed = await createDocument(db, {
      title: 'Doomed notes',
      content: '# Quokka packing\n\nquokka-shaped items pack best sorted by their tail length.',
      format: 'markdown',
    })
    const r = await retrieveForIsland(db, {
      runId: 'run-doomed',
      island: 0,
      problemId: 'binpack',
      queryText: 'quokka tail length packing',
      trigger: 'stagnation',
      k: 3,
    })
    const hit = r.chunks.findIndex((c) => c.docId === doomed.id)
    expect(hit).toBeGreaterThanOrEqual(0)
    const row = await db.prisma.retrieval.findUniqueOrThrow({ where: { id: r.retrievalId } })
    expect(row.chunkLabels[hit]).toBe('Doomed notes › Quokka packing')
    await deleteDocument(db, doomed.id)
    const [listed] = await listRetrievals(db, { runId: 'run-doomed' })
    expect(listed!.chunks[hit]).toMatchObject({ docId: null, docTitle: 'Doomed notes › Quokka packing (deleted)' })
  })

  it('a retrieval gives passages about the problem, and none when nothing in the base is about it', async () => {
    const topic =
      'Curve fit\nChoose the coefficients of predict(x) so that it matches a hidden smooth function on [-1, 1]. Minimize the mean squared error. The evaluator samples 200 points.'
    const related = await createDocument(db, {
      title: 'Least-squares curve fitting',
      content:
        '# Least-squares curve fitting\n\nFit the coefficients of a polynomial curve to the sampled points by least squares: the squared error is smallest where its gradient in each coefficient is zero. Regularize high-degree coefficients so the fitted curve stays smooth between samples.\n',
      format: 'markdown',
      tags: ['floor-check'],
    })
    // shares words with the problem ("fit", "function", "points"), is about something else
    const unrelated = await createDocument(db, {
      title: 'Best Fit for bins',
      content:
        '# Best Fit for bins\n\nBest Fit puts each arriving item into the fullest bin that can take it; a priority function scores each bin by its leftover capacity. A leftover smaller than any future item is wasted, so reward exact fits and penalize small gaps; evolved priorities gained a few percentage points over it on Weibull item sizes.\n',
      format: 'markdown',
      tags: ['floor-check'],
    })
    // the rest of the base: how common a word is, read from it, tells "fit" from "coefficient"
    const others = [
      [
        'Tour improvement',
        'A 2-opt move removes two crossing edges of a tour and reconnects it; neighbour lists keep each pass fast.',
      ],
      [
        'Cache blocking',
        'Tile the loops of a matrix multiply so each block stays in cache; vectorize the inner loop over contiguous memory.',
      ],
      [
        'Model tuning',
        'Tune the learning rate and tree depth by cross-validation on the training data; keep a held-out split for the last check.',
      ],
    ]
    const filler = []
    for (const [title, text] of others)
      filler.push(
        await createDocument(db, {
          title,
          content: `# ${title}\n\n${text}\n`,
          format: 'markdown',
          tags: ['floor-check'],
        }),
      )
    const retrieve = () =>
      retrieveForIsland(db, {
        runId: 'run-floor',
        island: 0,
        problemId: 'tsp',
        queryText: `${topic}\nA = 0.5\ndef predict(x):\n    return A * x * x`,
        topicText: topic,
        trigger: 'stagnation',
        tags: ['floor-check'],
        family: null,
        k: 5,
      })
    const both = await retrieve()
    expect(new Set(both.chunks.map((c) => c.docTitle))).toEqual(new Set(['Least-squares curve fitting']))
    await deleteDocument(db, related.id)
    // ranked first of what is left, the unrelated passage is still not given: nothing is
    const none = await retrieve()
    expect(none.chunks).toEqual([])
    expect((await db.prisma.retrieval.findUniqueOrThrow({ where: { id: none.retrievalId } })).chunkIds).toEqual([])
    for (const d of [unrelated, ...filler]) await deleteDocument(db, d.id)
  })

  it("a run's retrieval with a failing embedding model: bounded, full text at once, the model not asked again for a while", async () => {
    await createDocument(db, {
      title: 'Echidna routing',
      content: '# Echidna routing\n\nEchidna tours shorten when every echidna crossing is removed by a 2-opt move.\n',
      format: 'markdown',
    })
    const calls: Array<Record<string, unknown>> = []
    const failing = {
      id: 'failing-model',
      dims: 8,
      embed: async (_texts: string[], options: Record<string, unknown> = {}) => {
        calls.push(options)
        throw new Error('embeddings down')
      },
    }
    const active = { config: { provider: 'lexical-hash' as const }, embedder: failing, id: 'failing-model' }
    const input = {
      runId: 'run-down',
      island: 0,
      problemId: 'tsp',
      queryText: 'echidna tours crossing 2-opt',
      active,
      family: 'echidna-family',
    } as const
    const first = await retrieveForIsland(db, { ...input, trigger: 'stagnation' })
    expect(first.vectorUsed).toBe(false)
    expect(first.vectorError).toMatch(/embeddings down/)
    expect(first.chunks.map((c) => c.docTitle)).toContain('Echidna routing')
    // its two searches (all documents, the family's) asked for the query's vector once, bounded
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ within: { attempts: 2 } })
    const second = await retrieveForIsland(db, { ...input, trigger: 'cold-start' })
    expect(second.chunks.map((c) => c.docTitle)).toContain('Echidna routing')
    expect(second.vectorError).toMatch(/not asked again yet/)
    expect(calls).toHaveLength(1)
    // a person asking tries it once
    await retrieveForIsland(db, { ...input, trigger: 'expert' })
    expect(calls).toHaveLength(2)
    expect(calls[1]).toMatchObject({ once: true })
  })

  it('RAG: a stalled island gets relevant chunks, logged; usefulness comes from fitness deltas, not from use counts', async () => {
    const r = await retrieveForIsland(db, {
      runId: 'run-1',
      island: 2,
      problemId: 'binpack',
      queryText: 'online bin packing: bucket heuristic for Weibull items',
      trigger: 'stagnation',
      k: 3,
    })
    expect(r.chunks.length).toBeGreaterThan(0)
    expect(r.chunks[0].docTitle).toBe('Online bin packing notes')
    const row = await db.prisma.retrieval.findUniqueOrThrow({ where: { id: r.retrievalId } })
    expect(row).toMatchObject({ runId: 'run-1', island: 2, trigger: 'stagnation', chunkIds: r.chunks.map((c) => c.id) })
    const prompt = formatKnowledgeForPrompt(r.chunks)
    expect(prompt).toContain('### [1] Online bin packing notes')
    expect(prompt).toContain('bucket heuristic')

    // another document is added only where both halves found it: none here shares the query's words
    expect(r.chunks.map((c) => c.docTitle)).toEqual(['Online bin packing notes'])
    const r2 = await retrieveForIsland(db, {
      runId: 'run-1',
      island: 2,
      problemId: 'binpack',
      queryText: 'container strategy',
      trigger: 'stagnation',
      k: 3,
    })
    expect(r2.chunks[0]!.docTitle).toBe('Container strategy')

    // chunk A informs 8 candidates that gained nothing or lost; chunk B informs 2 that gained
    const [a, b] = [r.chunks[0].id, r2.chunks[0]!.id]
    for (let i = 0; i < 8; i++) {
      await recordUses(db, { retrievalId: r.retrievalId, chunkIds: [a], candidateId: `cand-a${i}`, runId: 'run-1' })
      await recordOutcome(db, { candidateId: `cand-a${i}`, delta: i % 2 ? 0 : -0.05 })
    }
    for (let i = 0; i < 2; i++) {
      await recordUses(db, { retrievalId: r2.retrievalId, chunkIds: [b], candidateId: `cand-b${i}`, runId: 'run-1' })
      await recordOutcome(db, { candidateId: `cand-b${i}`, delta: 0.3 })
    }
    // idempotent: a resumed run repeating a step changes nothing
    await recordUses(db, { retrievalId: r2.retrievalId, chunkIds: [b], candidateId: 'cand-b0', runId: 'run-1' })
    await recordOutcome(db, { candidateId: 'cand-b0', delta: 0.3 })
    const [ca, cb] = await Promise.all(
      [a, b].map((id) => db.prisma.knowledgeChunk.findUniqueOrThrow({ where: { id } })),
    )
    expect(ca.uses).toBe(8)
    expect(cb.uses).toBe(2)
    expect(ca.usefulness!).toBeCloseTo((4 * -0.05) / (8 + 2), 10)
    expect(cb.usefulness!).toBeCloseTo(0.6 / (2 + 2), 10)
    const ranking = await usefulnessRanking(db, {})
    expect(ranking.map((x) => x.chunkId).slice(0, 2)).toEqual([b, a]) // used less, helped more
    expect(ranking[0]).toMatchObject({ uses: 2, outcomes: 2, meanDelta: 0.3 })
    // a use without an outcome yet counts as a use, not as evidence
    await recordUses(db, { retrievalId: r2.retrievalId, chunkIds: [b], candidateId: 'cand-b9', runId: 'run-1' })
    expect((await db.prisma.knowledgeChunk.findUniqueOrThrow({ where: { id: b } })).usefulness).toBeCloseTo(0.15, 10)
    const history = await chunkHistory(db, b)
    expect(history.uses.map((u) => u.candidateId).sort()).toEqual(['cand-b0', 'cand-b1', 'cand-b9'])
    expect(history.uses.find((u) => u.candidateId === 'cand-b0')).toMatchObject({
      runId: 'run-1',
      island: 2,
      trigger: 'stagnation',
      delta: 0.3,
    })
    expect(history.retrievals[0]).toMatchObject({ id: r2.retrievalId, runId: 'run-1', island: 2 })
    await expect(recordUses(db, { retrievalId: 'nope', chunkIds: [a], candidateId: 'c', runId: 'r' })).rejects.toThrow(
      /no retrieval nope/,
    )
    // a useful chunk is preferred next time; excluded chunks are not returned again
    const again = await retrieveForIsland(db, {
      runId: 'run-1',
      island: 2,
      problemId: 'binpack',
      queryText: 'bin packing heuristic',
      trigger: 'expert',
      k: 5,
      excludeChunkIds: [a],
    })
    expect(again.chunks.map((c) => c.id)).not.toContain(a)
  })

  it('lessons: proposed from the diff and metrics offline, from the explanation with a model; approved into the base, edited, discarded', async () => {
    const parent = 'def priority(item, bins):\n    alpha = 0.5\n    return [alpha * b - item for b in bins]\n'
    const child = 'def priority(item, bins):\n    alpha = 0.75\n    return [alpha * b - item for b in bins]\n'
    const first = {
      runId: 'run-1',
      candidateId: 'cand-L1',
      problemId: 'binpack',
      parentCode: parent,
      childCode: child,
      parentScore: 0.8,
      childScore: 0.84,
      operatorDescription: 'offline operator: literal perturbation',
    }
    const offline = await proposeLesson(db, first)
    expect(offline.status).toBe('proposed')
    expect(offline.title).toBe('Set alpha 0.5 → 0.75 (+5.0%)')
    expect(offline.text).toContain('`alpha` on line 2: 0.5 → 0.75')
    expect(offline.text).toContain('changed code in `def priority`')
    expect(offline.text).toContain('score 0.8 → 0.84 (+0.04, +5.0%; higher is better)')
    expect(offline.text).toContain('Produced by: offline operator: literal perturbation.')
    // stamped now, and read back the same by the ORM (one clock, not hours off by a time zone)
    expect(Math.abs(offline.createdAt.getTime() - Date.now())).toBeLessThan(60_000)
    expect((await listLessons(db, { runId: 'run-1' })).find((l) => l.id === offline.id)).toEqual(offline)
    // idempotent per candidate
    expect(await proposeLesson(db, { ...first, childScore: 0.9 })).toEqual(offline)
    // a minimization problem: lower is better, and the model's explanation leads
    const withModel = await proposeLesson(db, {
      runId: 'run-2',
      candidateId: 'cand-L2',
      problemId: 'tsp',
      parentCode: 'x = 1\n',
      childCode: 'x = 1\ny = 2\n',
      parentScore: 100,
      childScore: 90,
      explanation: '<think>hmm</think>Adding a second pass of 2-opt removes the remaining crossings. It is cheap.',
    })
    expect(withModel.title).toBe('Adding a second pass of 2-opt removes the remaining crossings. (+10.0%)')
    expect(withModel.text).toContain('score 100 → 90 (+10, +10.0%; lower is better)')

    const edited = await editLesson(
      db,
      { lessonId: offline.id, title: 'Raise alpha to 0.75 for Weibull bins' },
      SYSTEM_ACTOR,
    )
    expect(edited.title).toBe('Raise alpha to 0.75 for Weibull bins')
    const approved = await approveLesson(db, { lessonId: offline.id }, SYSTEM_ACTOR)
    expect(approved).toMatchObject({ status: 'approved', embedStatus: 'ready' })
    const doc = await getDocument(db, approved.docId!)
    expect(doc).toMatchObject({
      title: 'Raise alpha to 0.75 for Weibull bins',
      problemId: 'binpack',
      tags: ['lesson'],
      format: 'markdown',
    })
    const found = await searchKnowledge(db, { text: 'raise alpha weibull', problemId: 'binpack', k: 3 })
    expect(found.hits[0].docId).toBe(doc.id)
    await expect(approveLesson(db, { lessonId: offline.id }, SYSTEM_ACTOR)).rejects.toThrow(/already approved/)
    await expect(editLesson(db, { lessonId: offline.id, text: 'x' }, SYSTEM_ACTOR)).rejects.toThrow(/already approved/)
    // prompts carry it as its document reads: the expert corrects it there, and deleting it withdraws it
    expect(await promptLessons(db, 'binpack')).toEqual([`Raise alpha to 0.75 for Weibull bins: ${edited.text}`])
    await updateDocument(
      db,
      doc.id,
      {
        title: 'Raise alpha to 0.7, not 0.75',
        content: '# Raise alpha to 0.7, not 0.75\n\n0.75 overfits the search instances.\n',
      },
      { actor: SYSTEM_ACTOR },
    )
    expect(await promptLessons(db, 'binpack')).toEqual([
      'Raise alpha to 0.7, not 0.75: 0.75 overfits the search instances.',
    ])
    expect((await listLessons(db, { runId: 'run-1' }))[0]).toMatchObject({
      title: 'Raise alpha to 0.7, not 0.75',
      text: '0.75 overfits the search instances.',
    })
    await deleteDocument(db, doc.id, { actor: SYSTEM_ACTOR })
    expect(await promptLessons(db, 'binpack')).toEqual([])
    expect((await listLessons(db, { runId: 'run-1' }))[0]).toMatchObject({ status: 'approved', docId: null })
    const discarded = await discardLesson(db, { lessonId: withModel.id }, SYSTEM_ACTOR)
    expect(discarded.status).toBe('discarded')
    expect(await db.prisma.knowledgeDoc.count({ where: { tags: { has: 'lesson' } } })).toBe(0)
    const actions = (
      await db.prisma.auditEvent.findMany({ where: { targetType: 'lesson' }, orderBy: { id: 'asc' } })
    ).map((a) => a.action)
    expect(actions).toEqual(['knowledge.lesson.edit', 'knowledge.lesson.approve', 'knowledge.lesson.discard'])
  })

  it('refuses a bad embedder configuration with a clear message and keeps the active one', async () => {
    const before = (await activeEmbedder(db)).id
    await expect(
      setEmbedderConfig(
        db,
        { provider: 'openai', model: 'm', baseURL: 'http://127.0.0.1:1/v1', retry: { maxAttempts: 1 }, timeoutS: 5 },
        SYSTEM_ACTOR,
      ),
    ).rejects.toThrow(/the embedding model openai:m did not answer a test request/)
    await expect(
      setEmbedderConfig(db, { provider: 'transformers', modelPath: join(dir, 'no-model') }, SYSTEM_ACTOR),
    ).rejects.toThrow(/ONNX model folder .* does not exist/)
    await expect(setEmbedderConfig(db, { provider: 'nope' }, SYSTEM_ACTOR)).rejects.toThrow(/embedder configuration/)
    expect((await activeEmbedder(db)).id).toBe(before)
  })

  it('a Jupyter notebook is kept as markdown, whether it arrives converted (CLI, console) or as its JSON (API)', async () => {
    const cells = [
      { cell_type: 'markdown', source: '# Quench schedules\n\nQuenching by a factor of 0.95 worked best.' },
      {
        cell_type: 'code',
        source: 'def quench(heat):\n    return 0.95 * heat',
        outputs: [
          { output_type: 'display_data', data: { 'image/png': 'A'.repeat(3 * 1024 * 1024) } },
          { output_type: 'stream', text: 'cooled\n' },
        ],
      },
    ]
    const nbDir = mkdtempSync(join(tmpdir(), 'fm-kb-notebook-'))
    try {
      // 3 MiB with its plot: over the 2 MiB file limit, taken since the plot is left out
      writeFileSync(join(nbDir, 'quench.ipynb'), JSON.stringify({ metadata: {}, cells }))
      writeFileSync(join(nbDir, 'broken.ipynb'), '{"cells": [')
      const collected = underNames(nbDir, collectImportFiles(nbDir, { cwd: nbDir }))
      expect(collected.skipped).toEqual([
        {
          path: 'broken.ipynb',
          status: 'skipped',
          reason: expect.stringMatching(/^not a Jupyter notebook: /),
        },
      ])
      expect(collected.files.map((f) => f.content.length)).toEqual([expect.any(Number)])
      expect(collected.files[0].content.length).toBeLessThan(1000)
      const [r] = await importFiles(db, collected.files)
      expect(r).toMatchObject({ path: 'quench.ipynb', status: 'created', title: 'Quench schedules' })
      const doc = await getDocument(db, r.docId!)
      expect(doc.format).toBe('markdown')
      expect(doc.content).toContain('```python\ndef quench(heat):\n    return 0.95 * heat\n```')
      // an API client sends the JSON as read: the same markdown, so nothing changed
      const raw = JSON.stringify({ metadata: {}, cells })
      expect(await importFiles(db, [{ path: 'quench.ipynb', content: raw }])).toMatchObject([
        { status: 'unchanged', docId: r.docId },
      ])
      expect(await importFiles(db, [{ path: 'meta.ipynb', content: '{"metadata": {}}' }])).toMatchObject([
        { status: 'failed', reason: 'meta.ipynb is not a Jupyter notebook: it has no list of cells' },
      ])
      const found = await searchKnowledge(db, { text: 'quench heat', k: 3 })
      expect(found.hits[0].docId).toBe(r.docId)
    } finally {
      rmSync(nbDir, { recursive: true, force: true })
    }
  })
})
