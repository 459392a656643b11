// Several browsers watching one fast run on the dashboard (the live subscription in real
// Chromium pages): every dashboard counts up to the run's last evaluation, the server's memory
// (RSS of the process serving this test) is sampled against progress and its slope reported, and
// once the browsers close their connections to the server are gone.
//   FM_SOAK_BROWSER_EVALS   evaluations (default 600)
//   FM_SOAK_BROWSERS        browser contexts on the dashboard (default 3)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { recordFigures } from '../test-support/figures.ts'
import { api, expect, login, test } from './fixtures.ts'

const EVALS = Number(process.env.FM_SOAK_BROWSER_EVALS ?? 600)
const BROWSERS = Number(process.env.FM_SOAK_BROWSERS ?? 3)
const PORT = Number(process.env.FM_E2E_PORT ?? 3210)
const TRIVIAL = fileURLToPath(new URL('../bench/problems/trivial', import.meta.url))
const LOCK = join(process.env.FM_E2E_DATA_DIR ?? '.fm-agent/e2e', 'fm-agent.lock')

/** The server process of this test session (the holder of the e2e data folder's lock). */
const serverPid = () => (JSON.parse(readFileSync(LOCK, 'utf8')) as { pid: number }).pid
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

/** Established TCP connections to the console's port (IPv4 and IPv6 tables). */
function connectionsToServer(): number {
  const hexPort = PORT.toString(16).toUpperCase().padStart(4, '0')
  let n = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // local address column ends with the port; state 01 is ESTABLISHED
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '01') n++
    }
  }
  return n
}

function slope(points: Array<[number, number]>): number {
  const n = points.length
  const mx = points.reduce((s, p) => s + p[0], 0) / n
  const my = points.reduce((s, p) => s + p[1], 0) / n
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0)
  return sxx ? points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx : 0
}

test('several browsers watch a fast run to its end: every dashboard complete, memory reported, connections released', async ({
  page,
  browser,
}) => {
  test.setTimeout(20 * 60_000)
  await login(page)
  const problem = await api<{ id: string }>(page, 'mutation', 'problems.import', { path: TRIVIAL })
  const pid = serverPid()
  const connectionsBefore = connectionsToServer()
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: problem.id,
    config: { islands: 4, budget: { maxEvals: EVALS }, seed: 5, stagnationWindow: 1_000_000 },
  })
  const contexts = await Promise.all(Array.from({ length: BROWSERS }, () => browser.newContext()))
  const pages = await Promise.all(
    contexts.map(async (ctx) => {
      const p = await ctx.newPage()
      await login(p)
      await p.goto(`/runs/${run.id}`)
      await expect(p.getByTestId('dashboard')).toBeVisible()
      return p
    }),
  )
  const samples: Array<[number, number]> = []
  for (;;) {
    const s = await api<{ status: string; evaluations: number }>(page, 'query', 'runs.summary', { runId: run.id })
    samples.push([s.evaluations, rssMb(pid)])
    if (['completed', 'failed', 'stopped'].includes(s.status)) {
      expect(s.status).toBe('completed')
      expect(s.evaluations).toBe(EVALS)
      break
    }
    await page.waitForTimeout(1000)
  }
  // every dashboard reaches the end through its live feed
  for (const p of pages) await expect(p.getByTestId('evaluations')).toHaveText(String(EVALS), { timeout: 60_000 })
  const connectionsOpen = connectionsToServer()
  await Promise.all(contexts.map((c) => c.close()))
  let connectionsAfter = connectionsToServer()
  for (let i = 0; i < 50 && connectionsAfter > connectionsBefore; i++) {
    await page.waitForTimeout(200)
    connectionsAfter = connectionsToServer()
  }
  expect(connectionsOpen).toBeGreaterThan(connectionsBefore)
  expect(connectionsAfter, 'connections left open by closed browsers').toBeLessThanOrEqual(connectionsBefore)
  const warm = samples.filter(([e]) => e >= EVALS / 4)
  const rssSlope = warm.length >= 2 ? slope(warm) * 1000 : 0
  // the server still answers
  expect((await api<{ status: string }>(page, 'query', 'runs.summary', { runId: run.id })).status).toBe('completed')
  // RSS of the whole console process (Next rendering included, no forced GC): reported, not judged;
  // server/queries/soak.test.ts measures the heap after collections
  recordFigures('soak-browsers', {
    evaluations: EVALS,
    browsers: BROWSERS,
    samples: samples.length,
    rssMbStart: Math.round(samples[0]![1]),
    rssMbEnd: Math.round(samples[samples.length - 1]![1]),
    rssSlopeMbPer1000Evals: Math.round(rssSlope * 10) / 10,
    connectionsBefore,
    connectionsOpen,
    connectionsAfter,
  })
})
