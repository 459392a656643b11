// The knowledge API through tRPC's createCaller against a migrated database: roles, error
// codes with readable messages, audit of every change, and the expert-requested retrieval that
// the engine hears about on the event bus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { proposeLesson } from './rag.ts'
import { addProblem, dbModes } from './test-db.ts'

const actor = (role: Role): Actor => ({ id: `user-${role}`, label: `${role}@example.test`, role, via: 'session' })

describe.each(dbModes())('knowledge router, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  const as = (role: Role) => createCaller({ app, actor: actor(role), tokenScope: null, headers: new Headers() })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    await addProblem(db, 'cap')
  })
  afterAll(() => cleanup?.())

  it('lets viewers read and search, experts write, admins change the model', async () => {
    await expect(as('viewer').knowledge.create({ content: '# Note\n\ntext' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    const doc = await as('expert').knowledge.create({
      content: '# Hexagonal lattice\n\nCircles packed in a hexagonal lattice cover 90.7% of the plane.',
      tags: ['packing'],
      problemId: 'cap',
    })
    expect(doc).toMatchObject({
      title: 'Hexagonal lattice',
      embedStatus: 'ready',
      chunkCount: 1,
      problemId: 'cap',
      tags: ['packing'],
    })
    // the same text again would only repeat its chunks in every search: the expert is sent to it
    await expect(
      as('expert').knowledge.create({
        content: '# Hexagonal lattice\n\nCircles packed in a hexagonal lattice cover 90.7% of the plane.\n',
        problemId: 'cap',
      }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'the knowledge base already has this text: "Hexagonal lattice"; edit that document instead',
    })
    const list = await as('viewer').knowledge.list({})
    expect(list.docs.map((d) => d.id)).toEqual([doc.id])
    const found = await as('viewer').knowledge.search({ text: 'hexagonal circle packing', problemId: 'cap' })
    expect(found.hits[0]).toMatchObject({ docId: doc.id, title: 'Hexagonal lattice' })
    expect(found.efSearch).toBe(100)
    expect((await as('viewer').knowledge.tags()).map((t) => t.tag)).toEqual(['packing'])
    await expect(as('expert').knowledge.reembed()).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(as('expert').knowledge.setEmbedder({ config: { provider: 'lexical-hash' } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    const same = await as('admin').knowledge.setEmbedder({ config: { provider: 'lexical-hash' } })
    expect(same).toMatchObject({ modelId: 'lexical-hash-512', changed: false, reembedStarted: false })
    const status = await as('viewer').knowledge.embeddingStatus()
    expect(status).toMatchObject({ modelId: 'lexical-hash-512', total: 1, ready: 1 })
  })

  it('answers bad input with BAD_REQUEST and a message saying what is wrong', async () => {
    await expect(as('expert').knowledge.create({ content: '   ' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'the document is empty; write something in it first',
    })
    await expect(as('expert').knowledge.create({ content: 'x', problemId: 'nope' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/no problem "nope"/),
    })
    await expect(as('expert').knowledge.create({ content: 'ok', tags: ['semi;colon'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(as('expert').knowledge.create({ content: 'x'.repeat(600_000) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(as('viewer').knowledge.get({ id: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    // nothing to match by: said, not twenty arbitrary chunks
    await expect(as('viewer').knowledge.search({ text: '🎯 !!' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'the search text has no letters or digits to match documents by',
    })
    // a request holding one over-long file is refused whole (the readers skip such files first);
    // the refusal names the file, not its place in the request
    const refused = await as('expert')
      .knowledge.import({
        files: [
          { path: 'ok.md', content: '# ok' },
          { path: 'notes/huge.md', content: 'x'.repeat(600_000) },
        ],
      })
      .catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 'BAD_REQUEST' })
    expect((refused as { cause: { issues: unknown[] } }).cause.issues).toEqual([
      expect.objectContaining({
        path: [],
        message: 'notes/huge.md: 600,000 characters, over the 524,288-character document limit; split it',
      }),
    ])
    const r = await as('expert').knowledge.import({
      files: [
        { path: 'notes/a.md', content: '# A\n\nalpha' },
        { path: 'bin/x.exe', content: 'MZ' },
        { path: 'b.txt', content: '' },
      ],
    })
    expect(r.map((x) => [x.path, x.status])).toEqual([
      ['notes/a.md', 'created'],
      ['bin/x.exe', 'skipped'],
      ['b.txt', 'failed'],
    ])
  })

  it("refuses a save over another expert's: the second of two editors is told who saved, nothing is lost", async () => {
    const expert = (name: string) =>
      createCaller({
        app,
        actor: { id: `user-${name}`, label: `${name}@example.test`, role: 'expert', via: 'session' },
        tokenScope: null,
        headers: new Headers(),
      })
    const doc = await expert('ann').knowledge.create({ title: 'Shared notes', content: '# Shared notes\n\n- one\n' })
    const opened = await expert('bob').knowledge.get({ id: doc.id })
    expect(opened.revision).toBe(doc.revision)
    // the embedding's own bookkeeping changes the row, not the revision an editor saves against
    await as('admin').knowledge.reembed()
    expect((await expert('bob').knowledge.get({ id: doc.id })).revision).toBe(doc.revision)
    const annSaved = await expert('ann').knowledge.update({
      id: doc.id,
      content: '# Shared notes\n\n- one\n- by ann\n',
      baseRevision: opened.revision,
    })
    expect(annSaved.revision).not.toBe(opened.revision)
    const refused = await expert('bob')
      .knowledge.update({ id: doc.id, content: '# Shared notes\n\n- one\n- by bob\n', baseRevision: opened.revision })
      .catch((e: Error & { code?: string }) => e)
    expect(refused).toMatchObject({ code: 'CONFLICT' })
    expect((refused as Error).message).toMatch(
      /changed since you opened it \(saved by ann@example\.test at .*\): reload/,
    )
    expect((await as('viewer').knowledge.get({ id: doc.id })).content).toContain('- by ann')
    // two saves from one revision at the same moment: one is stored, the other refused
    const base = annSaved.revision
    const both = await Promise.allSettled(
      ['ann', 'bob'].map((who) =>
        expert(who).knowledge.update({ id: doc.id, content: `# Shared notes\n\n- race ${who}\n`, baseRevision: base }),
      ),
    )
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const winner = both.findIndex((r) => r.status === 'fulfilled')
    expect((await as('viewer').knowledge.get({ id: doc.id })).content).toContain(`race ${['ann', 'bob'][winner]}`)
    // without a base revision (the CLI, a script), a save is taken as before
    await expert('bob').knowledge.update({ id: doc.id, tags: ['team'] })
  })

  it('finds Chinese, Japanese and Korean words inside runs written without spaces, by both halves', async () => {
    const zh = await as('expert').knowledge.create({
      content: '# 模拟退火\n\n模拟退火用于圆形填充。模拟退火是一种随机搜索方法，逐步降低温度。',
    })
    const ja = await as('expert').knowledge.create({
      content: '# 巡回セールスマン問題\n\n巡回セールスマン問題を2-opt法で解く。都市を結ぶ最短の巡回路を探す。',
    })
    const ko = await as('expert').knowledge.create({ content: '# 담금질\n\n담금질 기법은 확률적 탐색 방법이다.' })
    for (const [text, doc] of [
      ['模拟退火', zh],
      ['降低温度', zh],
      ['セールスマン', ja],
      ['2-opt法', ja],
      ['탐색 방법', ko],
    ] as const) {
      const { hits } = await as('viewer').knowledge.search({ text })
      // the prompts' retrieval takes a chunk only where both the words and the vector found it
      expect(hits[0], text).toMatchObject({ docId: doc.id, textRank: 1, vectorRank: 1 })
    }
    // a phrase, not its characters anywhere: 火 and 退 are both in the Chinese text, never as 火退
    const { hits } = await as('viewer').knowledge.search({ text: '火退' })
    expect(hits.filter((h) => h.textRank !== null)).toEqual([])
  })

  it('audits every change with its author', async () => {
    const doc = await as('expert').knowledge.create({ title: 'Audited', content: 'some text to audit', format: 'text' })
    await as('expert').knowledge.update({ id: doc.id, tags: ['x'] })
    await as('expert').knowledge.delete({ id: doc.id })
    const events = await db.prisma.auditEvent.findMany({ where: { targetId: doc.id }, orderBy: { id: 'asc' } })
    expect(events.map((e) => [e.action, e.actorLabel])).toEqual([
      ['knowledge.doc.create', 'expert@example.test'],
      ['knowledge.doc.update', 'expert@example.test'],
      ['knowledge.doc.delete', 'expert@example.test'],
    ])
    expect(events[1].before).toMatchObject({ tags: [] })
    expect(events[1].after).toMatchObject({ tags: ['x'] })
    expect(await db.prisma.auditEvent.count({ where: { action: 'knowledge.import' } })).toBe(1)
  })

  it('runs the lessons inbox and an expert-requested retrieval for a run', async () => {
    const run = await db.prisma.run.create({ data: { problemId: 'cap', config: {}, problemSnapshot: {} } })
    const lesson = await proposeLesson(db, {
      runId: run.id,
      candidateId: 'c1',
      problemId: 'cap',
      parentCode: 'r = 0.1\n',
      childCode: 'r = 0.12\n',
      parentScore: 2.5,
      childScore: 2.6,
    })
    const inbox = await as('viewer').knowledge.lessons({ status: 'proposed' })
    expect(inbox.map((l) => l.id)).toEqual([lesson.id])
    await expect(as('viewer').knowledge.lessonApprove({ lessonId: lesson.id })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    const approved = await as('expert').knowledge.lessonApprove({
      lessonId: lesson.id,
      text: 'A larger radius packs better here.',
    })
    expect(approved).toMatchObject({ status: 'approved', text: 'A larger radius packs better here.' })
    await expect(as('expert').knowledge.lessonDiscard({ lessonId: lesson.id })).rejects.toMatchObject({
      code: 'CONFLICT',
    })

    const r = await as('expert').knowledge.retrieve({ runId: run.id, island: 1, queryText: 'hexagonal packing radius' })
    expect(r.chunks.length).toBeGreaterThan(0)
    // no engine drives this run: the chunks wait as a stored command for the engine that will
    // (which applies it and announces the retrieval: server/steering/engine-interventions.test.ts)
    expect(r.command).toMatchObject({ kind: 'knowledge.use', status: 'pending' })
    const stored = await db.prisma.runCommand.findMany({ where: { runId: run.id } })
    expect(stored.map((c) => [c.kind, c.status, c.payload])).toEqual([
      ['knowledge.use', 'pending', { retrievalId: r.retrievalId, island: 1, chunkIds: r.chunks.map((c) => c.id) }],
    ])
    const history = await as('viewer').knowledge.retrievals({ runId: run.id })
    expect(history[0]).toMatchObject({ id: r.retrievalId, trigger: 'expert', island: 1 })
    expect(history[0].chunks[0].docTitle).toBeTruthy()
    await expect(as('expert').knowledge.retrieve({ runId: 'no-run', island: 0, queryText: 'x' })).rejects.toMatchObject(
      { code: 'NOT_FOUND' },
    )
  })
})
