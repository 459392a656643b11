// Pictures on the server: stored from results (checked again, replaced by a retry, never for a
// candidate that does not exist), taken out of the result before the engine sees it, the run's best
// over time, and the /api/images route (signed-in only, exact type, a policy that runs nothing, the
// image checked again as it leaves).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EvalResult, EvaluationBackend } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { rawRequest } from '../../test-support/http-client.ts'
import { seedSyntheticRun, syntheticId } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import { silentLogger } from '../log.ts'
import { exportRun, importRun } from '../runs/service.ts'
import { bestOverTime, candidatePictures, imagesOf, storeResultImages, withImageStore } from './store.ts'

const NS = 'xmlns="http://www.w3.org/2000/svg"'
const svg = (r: number) => `<svg ${NS} viewBox="0 0 10 10"><circle cx="5" cy="5" r="${r}"/></svg>`
const result = (jobId: string, images: EvalResult['images']): EvalResult => ({
  jobId,
  attempt: 0,
  workerId: 'w',
  valid: true,
  metrics: { score: 1 },
  features: {},
  artifacts: { feedback: 'ok' },
  stage: 0,
  timing: { queuedMs: 0, startedAt: Date.now(), sandboxMs: 1, evaluatorMs: 1 },
  ...(images ? { images } : {}),
})

describe.each(dbModes())('pictures in the database, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let runId = ''
  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    ;({ runId } = await seedSyntheticRun(db, { candidates: 300, islands: 3 }))
  }, 120_000)
  afterAll(async () => cleanup?.())

  it("stores a result's images cleaned; a retry replaces the set; an unknown candidate stores nothing", async () => {
    const id = syntheticId(runId, 10)
    const n = await storeResultImages(
      db,
      result(id, [
        {
          name: 'drawing',
          mime: 'image/svg+xml',
          data: `<svg ${NS} onload="steal()"><script>x()</script><circle r="2"/></svg>`,
        },
        { name: 'broken', mime: 'image/png', data: Buffer.from('GIF89a, not a png').toString('base64') },
        { name: 'extra', mime: 'image/svg+xml', data: svg(1) },
      ]),
    )
    expect(n).toBe(2)
    const rows = await db.prisma.candidateImage.findMany({ where: { candidateId: id }, orderBy: { name: 'asc' } })
    expect(rows.map((r) => [r.name, r.mime])).toEqual([
      ['drawing', 'image/svg+xml'],
      ['extra', 'image/svg+xml'],
    ])
    expect(Buffer.from(rows[0]!.data).toString()).toBe(`<svg ${NS}><circle r="2"/></svg>`)
    await storeResultImages(db, result(id, [{ name: 'drawing', mime: 'image/svg+xml', data: svg(3) }]))
    expect((await imagesOf(db, [id])).get(id)!.map((i) => i.name)).toEqual(['drawing'])
    expect(
      await storeResultImages(db, result('no-such-candidate', [{ name: 'x', mime: 'image/svg+xml', data: svg(1) }])),
    ).toBe(0)
    expect(await storeResultImages(db, result(id, undefined))).toBe(0)
    expect((await imagesOf(db, [id])).get(id)).toHaveLength(1)
  })

  it('the backend wrapper stores the images and hands the result on without them', async () => {
    const callbacks: Array<(r: EvalResult) => void | Promise<void>> = []
    const fake = {
      mode: 'embedded',
      onResult: (cb: (r: EvalResult) => void | Promise<void>) => void callbacks.push(cb),
    } as unknown as EvaluationBackend
    const seen: EvalResult[] = []
    withImageStore(fake, db, silentLogger).onResult((r) => void seen.push(r))
    const id = syntheticId(runId, 11)
    await callbacks[0]!(result(id, [{ name: 'tour', mime: 'image/svg+xml', data: svg(4) }]))
    await callbacks[0]!(result(syntheticId(runId, 12), undefined))
    expect(seen.map((r) => 'images' in r)).toEqual([false, false])
    expect(seen[0]!.artifacts).toEqual({ feedback: 'ok' })
    expect((await imagesOf(db, [id])).get(id)![0]).toMatchObject({
      name: 'tour',
      mime: 'image/svg+xml',
      url: `/api/images/${id}/tour`,
    })
    const pics = await candidatePictures(db, runId, id)
    expect(pics.images.map((i) => i.name)).toEqual(['tour'])
    expect(pics.parents.length).toBeGreaterThan(0)
  })

  it("the best over time: the best's improvements that have a picture, in evaluation order, thinned with first and last kept", async () => {
    const rows = await db.prisma.candidate.findMany({
      where: { runId, valid: true, score: { not: null }, evalIndex: { not: null } },
      select: { id: true, evalIndex: true, score: true },
      orderBy: { evalIndex: 'asc' },
    })
    const improvements: string[] = []
    let best = -Infinity
    for (const r of rows) if (r.score! > best) (best = r.score!), improvements.push(r.id)
    expect(improvements.length).toBeGreaterThan(8)
    // pictures for every improvement but the second, and for some that are not improvements
    const drawn = improvements.filter((_, i) => i !== 1)
    const others = rows
      .filter((r) => !improvements.includes(r.id))
      .slice(0, 5)
      .map((r) => r.id)
    for (const id of [...drawn, ...others])
      await storeResultImages(db, result(id, [{ name: 'p', mime: 'image/svg+xml', data: svg(2) }]))
    const all = await bestOverTime(db, runId, 'max', 100)
    expect(all.frames.map((f) => f.candidateId)).toEqual(drawn)
    expect(all.improvements).toBe(drawn.length)
    expect(all.frames.every((f, i) => i === 0 || f.evalIndex > all.frames[i - 1]!.evalIndex)).toBe(true)
    const few = await bestOverTime(db, runId, 'max', 4)
    expect(few.frames).toHaveLength(4)
    expect(few.frames[0]!.candidateId).toBe(drawn[0])
    expect(few.frames[3]!.candidateId).toBe(drawn[drawn.length - 1])
    expect(few.frames[0]!.images[0]!.url).toMatch(/^\/api\/images\//)
  })

  it('a run export carries its pictures and an import brings them back, checked again', async () => {
    const before = await db.prisma.candidateImage.findMany({
      where: { candidate: { runId } },
      orderBy: [{ candidateId: 'asc' }, { name: 'asc' }],
    })
    expect(before.length).toBeGreaterThan(5)
    const file = JSON.parse(JSON.stringify(await exportRun(db, runId))) as Awaited<ReturnType<typeof exportRun>>
    expect(file.images).toHaveLength(before.length)
    // a picture tampered with in the file: cleaned on the way in
    file.images[0]!.data = Buffer.from(`<svg ${NS}><script>x()</script><circle r="1"/></svg>`).toString('base64')
    file.images.push({
      ...file.images[1]!,
      name: 'broken',
      mime: 'image/png',
      data: Buffer.from('not a png').toString('base64'),
    })
    await db.prisma.run.delete({ where: { id: runId } })
    expect(await db.prisma.candidateImage.count({ where: { candidateId: before[0]!.candidateId } })).toBe(0)
    await importRun(db, { id: null, label: 'test', role: 'admin', via: 'system' }, file)
    const after = await db.prisma.candidateImage.findMany({
      where: { candidate: { runId } },
      orderBy: [{ candidateId: 'asc' }, { name: 'asc' }],
    })
    expect(after.map((i) => [i.candidateId, i.name])).toEqual(before.map((i) => [i.candidateId, i.name]))
    expect(
      Buffer.from(
        after.find((i) => i.candidateId === before[0]!.candidateId && i.name === before[0]!.name)!.data,
      ).toString(),
    ).toBe(`<svg ${NS}><circle r="1"/></svg>`)
    expect(Buffer.from(after[1]!.data).equals(Buffer.from(before[1]!.data))).toBe(true)
  })
})

describe('GET /api/images/<candidate>/<name>', () => {
  let h: ApiHarness
  let id = ''
  beforeAll(async () => {
    h = await startApiHarness()
    const db = h.server.app.db
    const { runId } = await seedSyntheticRun(db, { candidates: 20 })
    id = syntheticId(runId, 3)
    await storeResultImages(db, result(id, [{ name: 'drawing', mime: 'image/svg+xml', data: svg(2) }]))
    // written by other means than ingestion: served cleaned all the same
    await db.prisma.candidateImage.create({
      data: {
        candidateId: id,
        name: 'planted',
        mime: 'image/svg+xml',
        data: Buffer.from(`<svg ${NS}><script>alert(1)</script><circle r="1" onclick="x()"/></svg>`),
        size: 1,
      },
    })
    await db.prisma.candidateImage.create({
      data: {
        candidateId: id,
        name: 'corrupt',
        mime: 'image/png',
        data: Buffer.from('not a png at all, just bytes'),
        size: 1,
      },
    })
  }, 120_000)
  afterAll(() => h?.stop())

  it('serves a signed-in viewer the picture with its exact type under a policy that lets nothing run', async () => {
    const cookie = await h.sessionCookie('viewer')
    const r = await rawRequest(`${h.url}/api/images/${id}/drawing`, { headers: { cookie } })
    expect(r.status).toBe(200)
    expect(r.body).toBe(svg(2))
    expect(r.headers['content-type']).toBe('image/svg+xml')
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    const csp = String(r.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain('sandbox')
    expect(csp).not.toContain('script-src')
    const token = await rawRequest(`${h.url}/api/images/${id}/drawing`, {
      headers: { authorization: `Bearer ${h.users.viewer.token}` },
    })
    expect(token.status).toBe(200)
  })

  it('refuses the signed-out, names nothing that does not exist, and checks again what it serves', async () => {
    expect((await rawRequest(`${h.url}/api/images/${id}/drawing`)).status).toBe(401)
    const cookie = await h.sessionCookie('viewer')
    expect((await rawRequest(`${h.url}/api/images/${id}/nothing`, { headers: { cookie } })).status).toBe(404)
    expect((await rawRequest(`${h.url}/api/images/${id}/..%2F..%2Fetc`, { headers: { cookie } })).status).toBe(404)
    const planted = await rawRequest(`${h.url}/api/images/${id}/planted`, { headers: { cookie } })
    expect(planted.status).toBe(200)
    expect(planted.body).toBe(`<svg ${NS}><circle r="1"/></svg>`)
    expect((await rawRequest(`${h.url}/api/images/${id}/corrupt`, { headers: { cookie } })).status).toBe(422)
    expect(
      (await rawRequest(`${h.url}/api/images/${id}/drawing`, { method: 'POST', headers: { cookie, origin: h.url } }))
        .status,
    ).toBe(405)
  })
})
