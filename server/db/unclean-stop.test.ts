// The embedded database (PGlite) survives an unclean stop: the server is killed with -9 while
// writes are in flight, restarted on the same data folder, and every write it had acknowledged is
// there, whole (document, chunks and audit event, as committed together), and the restart says
// the previous process did not stop cleanly.
//   FM_UNCLEAN_KILLS   kill/restart cycles (default 2; 10 for a long run)
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApiProcess, type ApiProcess } from '../../test-support/api-process.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { callProcedure } from '../../test-support/http-client.ts'

const KILLS = Number(process.env.FM_UNCLEAN_KILLS ?? 2)
const dataDir = mkdtempSync(join(tmpdir(), 'fm-unclean-'))
let server: ApiProcess | null = null
afterAll(async () => {
  await server?.kill9()
  rmSync(dataDir, { recursive: true, force: true })
})

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

describe('PGlite after kill -9 mid-write', () => {
  it(
    `${KILLS} kills while writing: acknowledged writes intact, the unclean stop reported`,
    async () => {
      const acked = new Map<string, string>() // document id → sha256 of the content sent
      let sent = 0
      let inFlightAtKill = 0
      let reported = 0
      let serial = 0
      for (let k = 0; k < KILLS; k++) {
        server = await startApiProcess({ dataDir })
        if (k > 0) {
          expect(server.output(), 'the restart reports the unclean stop').toMatch(
            /did not stop cleanly; the database was checked and is readable/,
          )
          reported++
        }
        const token = server.adminToken()
        // writers keep two requests in flight; the kill lands in the middle of them
        let stop = false
        let inFlight = 0
        const writer = async () => {
          while (!stop) {
            // already in the stored form (no trailing spaces, one final newline), so its hash is comparable after the restart
            const content = `# Crash test ${serial}\n\n${'Some text that is chunked and indexed.\n'.repeat(40 + (serial % 7) * 30)}marker-${serial}\n`
            serial++
            sent++
            inFlight++
            const r = await callProcedure(
              server!.url,
              'knowledge.create',
              'mutation',
              { title: `crash ${serial}`, content, tags: ['crash-test'] },
              { token, timeoutMs: 60_000 },
            ).catch(() => null)
            inFlight--
            if (stop) break
            if (r?.status === 200) acked.set((r.data as { id: string }).id, sha(content))
          }
        }
        const writers = [writer(), writer()]
        const ackedBefore = acked.size
        // let some writes complete, then kill at a moment no test code chooses precisely
        while (acked.size < ackedBefore + 5 + k * 3) await new Promise((r) => setTimeout(r, 20))
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)))
        inFlightAtKill += inFlight
        stop = true
        await server.kill9()
        await Promise.all(writers)
      }
      // the last restart, then check every acknowledged write
      server = await startApiProcess({ dataDir })
      expect(server.output()).toMatch(/did not stop cleanly; the database was checked and is readable/)
      reported++
      const token = server.adminToken()
      const missing: string[] = []
      const torn: string[] = []
      for (const [id, hash] of acked) {
        const r = await callProcedure(server.url, 'knowledge.get', 'query', { id }, { token })
        if (r.status !== 200) {
          missing.push(`${id}: ${r.status} ${r.message}`)
          continue
        }
        const doc = r.data as { content: string; chunks?: unknown[] }
        if (sha(doc.content) !== hash || !doc.chunks?.length)
          torn.push(
            `${id}: ${doc.content?.length} chars, ${doc.chunks?.length} chunks, ${JSON.stringify(doc.content?.slice(-30))}`,
          )
      }
      expect(missing, 'acknowledged documents lost').toEqual([])
      expect(torn, 'documents whose content differs from what was acknowledged').toEqual([])
      // committed together: each document that exists has its audit event and its chunks
      const audit = await callProcedure(
        server.url,
        'audit.list',
        'query',
        { action: 'knowledge.doc.create', limit: 500 },
        { token },
      )
      const audited = new Set((audit.data as { rows: Array<{ targetId: string }> }).rows.map((r) => r.targetId))
      const list = await callProcedure(
        server.url,
        'knowledge.list',
        'query',
        { tag: 'crash-test', limit: 500 },
        { token },
      )
      const docs = (list.data as { docs: Array<{ id: string }> }).docs
      expect(docs.length).toBeGreaterThanOrEqual(acked.size)
      for (const d of docs) expect(audited.has(d.id), `document ${d.id} without its audit event`).toBe(true)
      // the database still takes writes after all this
      const after = await callProcedure(
        server.url,
        'knowledge.create',
        'mutation',
        { title: 'after the crashes', content: 'still writable' },
        { token },
      )
      expect(after.status).toBe(200)
      expect(await server.stop()).toBe(0)
      server = null
      recordFigures('unclean-stop', {
        kills: KILLS,
        writesSent: sent,
        acknowledged: acked.size,
        present: docs.length,
        inFlightAtKill,
        lost: missing.length,
        torn: torn.length,
        uncleanReported: reported,
      })
    },
    300_000 + KILLS * 120_000,
  )
})
