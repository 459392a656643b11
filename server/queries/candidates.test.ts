// The candidates export while a run is live: new candidates are inserted between the page calls
// (as the engine writes them) and queued ones change score and status, and the export still holds
// each candidate of the moment it began exactly once, in both database modes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { compareExportRows, type ExportRow } from '../../client-safe/candidate-query.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

const N = 250

describe.each(dbModes())('candidates export during a live run, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  let nextSeq = N
  let nextEval = N
  const viewer = () =>
    createCaller({
      app,
      actor: { id: 'user-viewer', label: 'viewer@example.test', role: 'viewer', via: 'session' },
      tokenScope: null,
      headers: new Headers(),
    })

  // what a live run does between two export pages: new candidates at the top (the best score so
  // far among them), and queued candidates of the snapshot being evaluated
  const liveRunStep = async (n: number) => {
    for (let i = 0; i < n; i++, nextSeq++) {
      await db.prisma.candidate.create({
        data: {
          id: syntheticId(runId, nextSeq),
          runId,
          seq: nextSeq,
          island: nextSeq % 3,
          parentIds: [syntheticId(runId, 0)],
          origin: 'mutation',
          code: `x = ${nextSeq}\n`,
          codeHash: `h${nextSeq}`,
          status: 'evaluated',
          valid: true,
          score: 10 + nextSeq,
          evalIndex: nextEval++,
          evaluatedAt: new Date(),
        },
      })
    }
    const queued = await db.prisma.candidate.findMany({
      where: { runId, status: 'queued' },
      orderBy: { seq: 'asc' },
      take: 5,
      select: { id: true },
    })
    for (const q of queued) {
      await db.prisma.candidate.update({
        where: { id: q.id },
        data: { status: 'evaluated', valid: true, score: 5, evalIndex: nextEval++ },
      })
    }
  }

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    runId = (await seedSyntheticRun(db, { candidates: N, islands: 3, status: 'evolving' })).runId
    // a live run's newest candidates wait for a worker: no score yet
    await db.prisma.candidate.updateMany({
      where: { runId, seq: { gte: N - 40 } },
      data: { status: 'queued', valid: null, score: null, evalIndex: null, evaluatedAt: null },
    })
  })
  afterAll(() => cleanup?.())

  it('reads a snapshot by keyset: each candidate of the moment it began exactly once, none newer', async () => {
    const rows: ExportRow[] = []
    let upToSeq: number | undefined
    let afterSeq: number | null = -1
    let total: number | null = null
    let pages = 0
    while (afterSeq !== null && pages < 20) {
      const page = await viewer().candidates.export({ runId, limit: 40, upToSeq, afterSeq })
      if (pages === 0) total = page.total
      upToSeq = page.upToSeq
      rows.push(...page.rows)
      afterSeq = page.nextAfterSeq
      pages++
      await liveRunStep(7)
    }
    expect(upToSeq).toBe(N - 1)
    expect(total).toBe(N)
    expect(pages).toBe(Math.ceil(N / 40))
    const seqs = rows.map((r) => r.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i))
    // the table's order (score, best first, empty last) applied to the snapshot
    const sorted = [...rows].sort(compareExportRows({ field: 'score', dir: 'desc' }))
    const scores = sorted.map((r) => r.score).filter((s) => s !== null)
    expect([...scores].sort((a, b) => b - a)).toEqual(scores)
    expect(sorted.findIndex((r) => r.score === null)).toBeGreaterThanOrEqual(scores.length)
  })

  it('bounds offset pages by the first page, so new candidates at the top do not shift the next page', async () => {
    const first = await viewer().candidates.export({
      runId,
      sort: { field: 'seq', dir: 'desc' },
      offset: 0,
      limit: 100,
    })
    const snapshot = first.upToSeq
    expect(snapshot).toBe(nextSeq - 1)
    await liveRunStep(13)
    const second = await viewer().candidates.export({
      runId,
      sort: { field: 'seq', dir: 'desc' },
      offset: 100,
      limit: 100,
      upToSeq: snapshot,
    })
    expect(second.total).toBeNull()
    expect(second.upToSeq).toBe(snapshot)
    expect(second.rows[0]!.seq).toBe(first.rows[99]!.seq - 1)
    expect(second.rows.every((r) => r.seq <= snapshot)).toBe(true)
  })

  it('refuses keyset paging mixed with an offset or another order', async () => {
    await expect(
      viewer().candidates.export({ runId, afterSeq: -1, sort: { field: 'score', dir: 'desc' } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(viewer().candidates.export({ runId, afterSeq: 10, offset: 5 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    await expect(viewer().candidates.export({ runId, upToSeq: 2 ** 40 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
  })
})
