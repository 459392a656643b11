// A bounded soak on loopback: one run of thousands of fast evaluations (bench/problems/trivial, an
// awk evaluator in the real sandbox) driven by a separate server process, watched by several
// clients of the console's live subscription (runs.live over SSE, what every open dashboard
// holds), one of which drops its connection and resumes from its last event id mid-run.
//  - memory stays flat: the server's heap (after a forced GC) and RSS are sampled against the
//    evaluation count; the least-squares slope after warm-up is reported in MB per 1000 evaluations;
//  - no subscription leak: the run's listener count on the server's event bus is back to its
//    baseline once the clients are gone;
//  - no event loss: every client saw every evaluation index 0..N-1 exactly once.
//   FM_SOAK_EVALS     evaluations (default 1500; 20000 for a long run)
//   FM_SOAK_CLIENTS   live subscribers (default 4)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApiProcess, type ApiProcess } from '../../test-support/api-process.ts'
import { recordFigures, ROOT } from '../../test-support/figures.ts'
import { callProcedure } from '../../test-support/http-client.ts'
import { subscribe, type SseSubscription } from '../../test-support/sse-client.ts'

const EVALS = Number(process.env.FM_SOAK_EVALS ?? 1500)
const CLIENTS = Number(process.env.FM_SOAK_CLIENTS ?? 4)
/** flat means: heap grows by less than this per 1000 evaluations once warm */
const MAX_HEAP_SLOPE_MB = Number(process.env.FM_SOAK_MAX_HEAP_SLOPE_MB ?? 3)

const dataDir = mkdtempSync(join(tmpdir(), 'fm-soak-'))
let server: ApiProcess | null = null
afterAll(async () => {
  await server?.kill9()
  rmSync(dataDir, { recursive: true, force: true })
})

interface Client {
  name: string
  seen: Map<number, number>
  sub: SseSubscription
  reconnects: number
  resets: number
}

/** least squares slope of y on x */
function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, p) => s + p[0], 0) / n
  const my = points.reduce((s, p) => s + p[1], 0) / n
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0)
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0)
  return sxx ? sxy / sxx : 0
}

describe('soak: a long fast run watched live by several clients', () => {
  it(
    `${EVALS} evaluations, ${CLIENTS} live subscribers: flat memory, no listener leak, no lost or repeated event`,
    async () => {
      server = await startApiProcess({ dataDir, engine: true, workers: 2, exposeGc: true, env: { FM_LOG: 'warn' } })
      const token = server.adminToken()
      const imported = await callProcedure(
        server.url,
        'problems.import',
        'mutation',
        { path: join(ROOT, 'bench/problems/trivial') },
        { token },
      )
      expect(imported.status, imported.body).toBe(200)
      const problemId = (imported.data as { id: string }).id
      const created = await callProcedure(
        server.url,
        'runs.create',
        'mutation',
        { problemId, config: { islands: 4, budget: { maxEvals: EVALS }, seed: 11, stagnationWindow: 1_000_000 } },
        { token },
      )
      expect(created.status, created.body).toBe(200)
      const runId = (created.data as { id: string }).id
      // before anyone watches: nothing listens to this run, not even its engine (interventions reach
      // it through the stored command inbox, not the bus), once it is evaluating
      const baseline = 0
      const anyBefore = (await server.stats()).listeners.any
      for (;;) {
        const s = await callProcedure(server.url, 'runs.summary', 'query', { runId }, { token })
        if ((s.data as { evaluations: number }).evaluations > 0) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const engineListeners = (await server.stats(runId)).listeners.run ?? -1
      expect(engineListeners).toBe(baseline)

      const clients: Client[] = []
      const connect = (c: Omit<Client, 'sub'> & { sub?: SseSubscription }, lastEventId: string) => {
        c.sub = subscribe(
          server!.url,
          'runs.live',
          { runId, lastEventId },
          {
            token,
            onData: (msg) => {
              const m = msg as { type: string; points?: Array<{ evalIndex: number }> }
              if (m.type === 'reset') c.resets++
              for (const p of m.points ?? []) c.seen.set(p.evalIndex, (c.seen.get(p.evalIndex) ?? 0) + 1)
            },
          },
        )
        return c as Client
      }
      for (let i = 0; i < CLIENTS; i++)
        clients.push(connect({ name: `client-${i}`, seen: new Map(), reconnects: 0, resets: 0 }, 'c-1.m0.e0'))
      let subscribed = 0
      for (let i = 0; i < 100 && subscribed !== engineListeners + CLIENTS; i++) {
        await new Promise((r) => setTimeout(r, 100))
        subscribed = (await server.stats(runId)).listeners.run ?? -1
      }
      expect(subscribed).toBe(engineListeners + CLIENTS)

      // sample memory against progress; one client drops and resumes from its cursor halfway
      const heap: Array<[number, number]> = []
      const rss: Array<[number, number]> = []
      let dropped = false
      const started = Date.now()
      for (;;) {
        const s = await callProcedure(server.url, 'runs.summary', 'query', { runId }, { token })
        const { status, evaluations } = s.data as { status: string; evaluations: number }
        const st = await server.stats(runId, true)
        heap.push([evaluations, st.heapUsed / 1e6])
        rss.push([evaluations, st.rss / 1e6])
        if (!dropped && evaluations >= EVALS / 2) {
          dropped = true
          const c = clients[0]!
          c.sub.close()
          await c.sub.ended
          c.reconnects++
          await new Promise((r) => setTimeout(r, 300))
          connect(c, c.sub.lastEventId!)
        }
        if (['completed', 'failed', 'stopped'].includes(status)) {
          expect(status, s.body).toBe('completed')
          expect(evaluations, 'the run evaluated exactly its budget').toBe(EVALS)
          break
        }
        if (Date.now() - started > 20 * 60_000) throw new Error(`the soak run did not finish: ${s.body}`)
        await new Promise((r) => setTimeout(r, 1000))
      }
      const seconds = (Date.now() - started) / 1000

      // every client catches up to the end, then leaves
      const end = Date.now() + 60_000
      while (clients.some((c) => c.seen.size < EVALS) && Date.now() < end) await new Promise((r) => setTimeout(r, 200))
      for (const c of clients) {
        expect(c.sub.errors, c.name).toEqual([])
        expect(c.resets, `${c.name} was told to reload`).toBe(0)
        const missing = Array.from({ length: EVALS }, (_, i) => i).filter((i) => !c.seen.has(i))
        const repeated = [...c.seen].filter(([, n]) => n > 1).map(([i]) => i)
        expect(missing.slice(0, 20), `${c.name}: evaluations never received`).toEqual([])
        expect(repeated.slice(0, 20), `${c.name}: evaluations received twice`).toEqual([])
        expect(c.seen.size).toBe(EVALS)
      }
      for (const c of clients) c.sub.close()
      await Promise.all(clients.map((c) => c.sub.ended))
      let after = -1
      for (let i = 0; i < 50; i++) {
        after = (await server.stats(runId)).listeners.run ?? -1
        if (after === baseline) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(after, 'live listeners left on the event bus after every client left (and the engine finished)').toBe(
        baseline,
      )
      expect((await server.stats()).listeners.any).toBe(anyBefore)

      // flat memory: after warm-up (the first quarter), MB per 1000 evaluations
      const warm = (pts: Array<[number, number]>) => pts.filter(([e]) => e >= EVALS / 4)
      const heapSlope = slope(warm(heap)) * 1000
      const rssSlope = slope(warm(rss)) * 1000
      const final = await server.stats(runId, true)
      recordFigures('soak', {
        evaluations: EVALS,
        clients: CLIENTS,
        seconds: Math.round(seconds),
        evalsPerSecond: Math.round((EVALS / seconds) * 10) / 10,
        samples: heap.length,
        heapSlopeMbPer1000Evals: Math.round(heapSlope * 100) / 100,
        rssSlopeMbPer1000Evals: Math.round(rssSlope * 100) / 100,
        heapMbStart: Math.round(heap[0]![1]),
        heapMbEnd: Math.round(final.heapUsed / 1e6),
        rssMbEnd: Math.round(final.rss / 1e6),
        listenersBaseline: baseline,
        listenersEngine: engineListeners,
        listenersSubscribed: subscribed,
        listenersAfter: after,
        reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
        lostEvents: 0,
        repeatedEvents: 0,
      })
      expect(final.gc, 'the server ran with --expose-gc (heap figures after a collection)').toBe(true)
      expect(heap.length).toBeGreaterThanOrEqual(5)
      expect(heapSlope).toBeLessThan(MAX_HEAP_SLOPE_MB)
      expect(await server.stop()).toBe(0)
      server = null
    },
    30 * 60_000,
  )
})
