// The console's responsiveness, measured in Debian's Chromium against a real `fm-agent start`
// (engine, sandboxed workers, embedded database):
//
//   node --import tsx bench/console-latency.ts [--events 150] [--size 100000] [--baseline 1000] [--port 3231] [--write]
//
// 1. Live latency: a real run of the curve-fit fixture evolves while its dashboard is open; for
//    every evaluation finished after the page went live, the time from the result being stored
//    (candidates.evaluated_at, written in the same statement that stores the result) to its point
//    being painted in the fitness chart (the page records that in window.__fmChart, in the first
//    animation frame after the render that holds it). Same machine, same clock. Goal: p95 ≤ 1 s.
// 2. A run of 100,000 candidates (bulk-inserted with set-based SQL before the server starts:
//    test-support/synthetic-run.ts, with a metric tick every 10 evaluations), against a baseline run
//    of 1,000 measured in the same process: dashboard load (navigation to the chart drawn and the
//    MAP-Elites grid shown), zoom (drag to the zoomed chart drawn), candidates table (first rows,
//    sort by score, jump to the middle of the list, filter by island), lineage, candidate page,
//    the compare page (the run beside a second run of 1,000), the fork form opened from the
//    run's best, the run list; and the API calls behind them, timed from the page.
//
// --write replaces the "Console" section of bench/README.md with the figures.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium, type Page } from '@playwright/test'
import { openDatabase } from '../server/db.ts'
import { seedSyntheticRun } from '../test-support/synthetic-run.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '150' },
    size: { type: 'string', default: '100000' },
    baseline: { type: 'string', default: '1000' },
    port: { type: 'string', default: '3231' },
    repeat: { type: 'string', default: '3' },
    write: { type: 'boolean', default: false },
  },
})
const EVENTS = Number(args.events)
const SIZE = Number(args.size)
const BASE = Number(args.baseline)
const PORT = Number(args.port)
const REPEAT = Number(args.repeat)
const URL_ = `http://127.0.0.1:${PORT}`
const ADMIN = { email: 'bench@fm-agent.local', password: 'bench-console-password' }

const q = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(f * s.length) - 1))]!
}
const median = (xs: number[]) => q(xs, 0.5)
const ms = (v: number) => `${Math.round(v)} ms`

async function startServer(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/fm-agent.mjs'), 'start', '--port', String(PORT), '--data-dir', dataDir],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        FM_ADMIN_EMAIL: ADMIN.email,
        FM_ADMIN_PASSWORD: ADMIN.password,
        FM_WORKERS: '2',
        NEXT_TELEMETRY_DISABLED: '1',
        FM_LOG: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let log = ''
  child.stdout!.on('data', (d) => (log = (log + d).slice(-4000)))
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)))
  const deadline = Date.now() + 300_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fm-agent start exited (${child.exitCode}):\n${log}`)
    const ok = await fetch(`${URL_}/api/health`)
      .then((r) => r.ok)
      .catch(() => false)
    if (ok) return child
    if (Date.now() > deadline) throw new Error(`the server did not come up:\n${log}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

async function api<T>(
  page: Page,
  kind: 'query' | 'mutation',
  path: string,
  input: unknown,
): Promise<{ data: T; ms: number }> {
  return page.evaluate(
    async ({ kind, path, input }) => {
      const url =
        kind === 'query'
          ? `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`
          : `/api/trpc/${path}`
      const t0 = performance.now()
      const res = await fetch(
        url,
        kind === 'query'
          ? {}
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) },
      )
      const body = await res.json()
      const t = performance.now() - t0
      if (!res.ok) throw new Error(`${path}: ${JSON.stringify(body).slice(0, 500)}`)
      return { data: body.result.data.json, ms: t }
    },
    { kind, path, input },
  ) as Promise<{ data: T; ms: number }>
}

async function login(page: Page) {
  await page.goto(`${URL_}/login`)
  await page.getByLabel('Email').fill(ADMIN.email)
  await page.getByLabel('Password').fill(ADMIN.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/\/runs/)
}

// ------------------------------------------------------------------ 1. live latency

async function liveLatency(page: Page) {
  await api(page, 'mutation', 'problems.import', { path: join(ROOT, 'test-support/problems/curve-fit') })
  const run = (
    await api<{ id: string }>(page, 'mutation', 'runs.create', {
      problemId: 'test-curve-fit',
      name: 'latency',
      config: { islands: 3, budget: { maxEvals: 20_000 }, seed: 3 },
    })
  ).data
  await page.goto(`${URL_}/runs/${run.id}`)
  await page.getByTestId('connection').and(page.locator('[data-state="live"]')).waitFor({ timeout: 120_000 })
  const liveAt = await page.evaluate(() => Date.now())
  const deadline = Date.now() + 600_000
  let seen: Record<string, number> = {}
  for (;;) {
    // what the chart painted, then what was stored; only results stored 3 s before the first read
    // count (a result stored a moment ago may not have reached the page yet)
    seen = await page.evaluate(() => ({ ...(window.__fmChart?.seen ?? {}) }))
    const readAt = Date.now()
    const exported = (
      await api<{ rows: Array<{ evalIndex: number; evaluatedAt: string | null; valid: boolean | null }> }>(
        page,
        'query',
        'candidates.export',
        { runId: run.id, filter: { valid: true }, sort: { field: 'evalIndex', dir: 'asc' }, offset: 0, limit: 5000 },
      )
    ).data.rows
    const after = exported.filter(
      (r) =>
        r.evaluatedAt &&
        new Date(r.evaluatedAt).getTime() > liveAt + 1000 &&
        new Date(r.evaluatedAt).getTime() < readAt - 3000,
    )
    const measured = after.filter((r) => seen[r.evalIndex] !== undefined)
    if (measured.length >= EVENTS || Date.now() > deadline) {
      await api(page, 'mutation', 'runs.stop', { runId: run.id })
      const lat = measured.map((r) => seen[r.evalIndex]! - new Date(r.evaluatedAt!).getTime())
      const missing = after.length - measured.length
      return {
        n: lat.length,
        p50: median(lat),
        p95: q(lat, 0.95),
        max: Math.max(...lat),
        min: Math.min(...lat),
        missing,
        evalsPerSec: after.length / ((Date.now() - liveAt) / 1000),
      }
    }
    await page.waitForTimeout(2000)
  }
}

// ------------------------------------------------------------------ 2. big run

interface Figures {
  load: number
  zoom: number
  tableFirst: number
  tableSort: number
  tableJump: number
  tableFilter: number
  lineage: number
  candidate: number
  compare: number
  fork: number
  runList: number
  apiSeries: number
  apiHeatmap: number
  apiListSorted: number
  apiLineage: number
  apiOverview: number
  apiCompare: number
  apiForkPreview: number
}

async function timeUntil(_page: Page, action: () => Promise<unknown>, until: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now()
  await action()
  await until()
  return Date.now() - t0
}

async function measureRun(page: Page, runId: string, bestId: string, compareWith: string): Promise<Figures> {
  // dashboard: navigation to the fitness chart drawn with its points and the MAP-Elites grid shown
  const load = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/${runId}`),
    async () => {
      await page.waitForFunction(() => (window.__fmChart?.points ?? 0) > 0, null, { timeout: 120_000 })
      await page.getByTestId('heatmap').waitFor({ timeout: 120_000 })
    },
  )
  // zoom: drag across the middle of the chart until the zoomed range is drawn
  const chart = page.getByTestId('fitness-chart')
  const box = (await chart.boundingBox())!
  const zoom = await timeUntil(
    page,
    async () => {
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2)
      await page.mouse.down()
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 3 })
      await page.mouse.up()
    },
    () =>
      page.waitForFunction(
        () => {
          const z = document.querySelector('[data-testid="zoom"]')
          return !!z && !z.textContent!.includes('…')
        },
        null,
        { timeout: 60_000 },
      ),
  )
  // candidates table
  const firstRowText = () => page.getByTestId('candidate-row').first().textContent()
  const tableFirst = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/${runId}/candidates`),
    () =>
      page.waitForFunction(
        () => (document.querySelector('[data-testid="candidate-row"]')?.textContent ?? '…') !== '…',
        null,
        { timeout: 60_000 },
      ),
  )
  const before = await firstRowText()
  const tableSort = await timeUntil(
    page,
    () => page.getByRole('button', { name: /^score/ }).click(),
    () =>
      page.waitForFunction(
        (b) => {
          const t = document.querySelector('[data-testid="candidate-row"]')?.textContent ?? ''
          return t !== b && t !== '…' && location.search.includes('sort=score')
        },
        before,
        { timeout: 60_000 },
      ),
  )
  const tableJump = await timeUntil(
    page,
    () =>
      page.evaluate(() => {
        const el = document.querySelector('[data-testid="candidate-scroller"]') as HTMLElement
        el.scrollTop = el.scrollHeight / 2
      }),
    () =>
      page.waitForFunction(
        () => {
          const rows = [...document.querySelectorAll('[data-testid="candidate-row"]')]
          return rows.length > 0 && rows.every((r) => r.textContent !== '…')
        },
        null,
        { timeout: 60_000 },
      ),
  )
  const countBefore = await page.getByTestId('candidate-table').getAttribute('data-total')
  const tableFilter = await timeUntil(
    page,
    () => page.getByLabel('filter island').selectOption('1'),
    () =>
      page.waitForFunction(
        (c) => {
          const t = document.querySelector('[data-testid="candidate-table"]')?.getAttribute('data-total')
          const rows = [...document.querySelectorAll('[data-testid="candidate-row"]')]
          return t !== c && rows.length > 0 && rows.every((r) => r.textContent !== '…')
        },
        countBefore,
        { timeout: 60_000 },
      ),
  )
  const lineage = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/${runId}/lineage`),
    () => page.getByTestId('lineage-node').first().waitFor({ timeout: 60_000 }),
  )
  const candidate = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/${runId}/candidates/${bestId}`),
    () => page.getByTestId('candidate-score').waitFor({ timeout: 60_000 }),
  )
  // compare page: navigation to both best-so-far lines drawn and the final table shown
  const compare = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/compare?runs=${runId},${compareWith}`),
    async () => {
      await page.locator('[data-testid="compare-chart"][data-lines="2"]').waitFor({ timeout: 60_000 })
      await page.getByTestId('compare-row').nth(1).waitFor({ timeout: 60_000 })
    },
  )
  // fork form from the best: navigation to the form filled with the run's settings and the island's population counted
  const fork = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs/new?fork=${runId}&candidate=${bestId}`),
    async () => {
      await page.getByTestId('fork-source').getByText('also seed with its island').waitFor({ timeout: 60_000 })
      await page.waitForFunction(
        () => (document.querySelector('input[aria-label="Islands"]') as HTMLInputElement | null)?.value === '4',
        null,
        { timeout: 60_000 },
      )
    },
  )
  const runList = await timeUntil(
    page,
    () => page.goto(`${URL_}/runs`),
    () => page.getByTestId('run-row').nth(2).waitFor({ timeout: 60_000 }),
  )
  const apiSeries = (await api(page, 'query', 'runs.series', { runId })).ms
  const apiHeatmap = (await api(page, 'query', 'runs.heatmap', { runId })).ms
  const apiListSorted = (
    await api(page, 'query', 'candidates.list', {
      runId,
      sort: { field: 'score', dir: 'desc' },
      offset: Math.floor(SIZE / 2),
      limit: 100,
    })
  ).ms
  const apiLineage = (await api(page, 'query', 'candidates.lineage', { runId })).ms
  const apiOverview = (await api(page, 'query', 'runs.overview', { runId })).ms
  const apiCompare = (await api(page, 'query', 'runs.compare', { runIds: [runId, compareWith] })).ms
  const apiForkPreview = (await api(page, 'query', 'runs.forkPreview', { runId, candidateId: bestId })).ms
  return {
    load,
    zoom,
    tableFirst,
    tableSort,
    tableJump,
    tableFilter,
    lineage,
    candidate,
    compare,
    fork,
    runList,
    apiSeries,
    apiHeatmap,
    apiListSorted,
    apiLineage,
    apiOverview,
    apiCompare,
    apiForkPreview,
  }
}

const LABELS: Array<[keyof Figures, string]> = [
  ['load', 'dashboard load (navigation → chart and grid drawn)'],
  ['zoom', 'zoom into a range (drag → zoomed chart drawn)'],
  ['tableFirst', 'candidates table, first rows'],
  ['tableSort', 'table: sort by score'],
  ['tableJump', 'table: jump to the middle'],
  ['tableFilter', 'table: filter by island'],
  ['lineage', 'lineage view (collapsed) drawn'],
  ['candidate', 'candidate page (best) shown'],
  ['compare', 'compare page, beside a run of 1,000 (navigation → lines and table drawn)'],
  ['fork', 'fork form from the best (navigation → settings and island population shown)'],
  ['runList', 'run list (navigation → rows drawn; the same page for both)'],
  ['apiSeries', 'API runs.series (downsampled)'],
  ['apiHeatmap', 'API runs.heatmap'],
  ['apiListSorted', 'API candidates.list, by score, middle page'],
  ['apiLineage', 'API candidates.lineage'],
  ['apiOverview', 'API runs.overview'],
  ['apiCompare', 'API runs.compare (two runs)'],
  ['apiForkPreview', 'API runs.forkPreview (best, its island)'],
]

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-bench-console-'))
  let server: ChildProcess | null = null
  const cleanup = () => {
    if (server && server.exitCode === null) server.kill('SIGTERM')
  }
  process.on('SIGINT', () => (cleanup(), rmSync(dataDir, { recursive: true, force: true }), process.exit(130)))
  try {
    // the big runs go in before the server holds the database
    const t0 = Date.now()
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    const big = await seedSyntheticRun(db, {
      candidates: SIZE,
      islands: 4,
      metricEvery: 10,
      problemId: 'synthetic-bench',
    })
    const small = await seedSyntheticRun(db, {
      candidates: BASE,
      islands: 4,
      metricEvery: 10,
      problemId: 'synthetic-bench',
    })
    // the run each one is compared with on the compare page
    const other = await seedSyntheticRun(db, {
      candidates: BASE,
      islands: 4,
      metricEvery: 10,
      problemId: 'synthetic-bench',
    })
    const rows = await db.prisma.$queryRaw<
      Array<{ c: bigint; m: bigint }>
    >`SELECT (SELECT count(*) FROM candidates) AS c, (SELECT count(*) FROM run_metrics) AS m`
    await db.close()
    const seedS = (Date.now() - t0) / 1000
    process.stderr.write(`seeded ${rows[0]!.c} candidates and ${rows[0]!.m} metric rows in ${seedS.toFixed(1)} s\n`)
    server = await startServer(dataDir)
    const browser = await chromium.launch({
      executablePath: process.env.FM_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--no-first-run',
      ],
    })
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
    await login(page)

    process.stderr.write('big run vs baseline, interleaved…\n')
    const figs: { big: Figures[]; small: Figures[] } = { big: [], small: [] }
    // a warm-up pass loads the pages' code once, so neither run pays for it
    await measureRun(page, small.runId, small.bestId!, other.runId)
    for (let i = 0; i < REPEAT; i++) {
      figs.small.push(await measureRun(page, small.runId, small.bestId!, other.runId))
      figs.big.push(await measureRun(page, big.runId, big.bestId!, other.runId))
    }
    process.stderr.write('live latency…\n')
    const live = await liveLatency(page)
    const version = browser.version()
    await browser.close()

    const med = (xs: Figures[], k: keyof Figures) => median(xs.map((f) => f[k]))
    const lines: string[] = []
    lines.push(
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} at the end; Chromium ${version}, 1600×1000; embedded database; FM_WORKERS=2.`,
    )
    lines.push('')
    lines.push(
      `**Live latency** (result stored → point painted in the chart), ${live.n} evaluations of a real run (${live.evalsPerSec.toFixed(1)} evaluations/s):`,
    )
    lines.push('')
    lines.push('| p50 | p95 | min | max | not drawn |')
    lines.push('| ---: | ---: | ---: | ---: | ---: |')
    lines.push(`| ${ms(live.p50)} | ${ms(live.p95)} | ${ms(live.min)} | ${ms(live.max)} | ${live.missing} |`)
    lines.push('')
    lines.push(
      `**A run of ${SIZE.toLocaleString('en')} candidates** against one of ${BASE.toLocaleString('en')} (the same shape, measured interleaved in one browser; median of ${REPEAT}):`,
    )
    lines.push('')
    lines.push(`| | ${BASE.toLocaleString('en')} | ${SIZE.toLocaleString('en')} | ratio |`)
    lines.push('| --- | ---: | ---: | ---: |')
    for (const [k, label] of LABELS) {
      const a = med(figs.small, k)
      const b = med(figs.big, k)
      lines.push(`| ${label} | ${ms(a)} | ${ms(b)} | ${(b / Math.max(1, a)).toFixed(2)} |`)
    }
    const table = lines.join('\n')
    process.stdout.write(table + '\n')
    if (args.write) {
      const readme = join(ROOT, 'bench/README.md')
      const text = readFileSync(readme, 'utf8')
      const start = '<!-- console-latency:start -->'
      const end = '<!-- console-latency:end -->'
      const body = `${start}\n${table}\n${end}`
      const next = text.includes(start)
        ? text.replace(new RegExp(`${start}[\\s\\S]*${end}`), body)
        : `${text.trimEnd()}\n\n## Console: \`bench/console-latency.ts\`\n\n${body}\n`
      writeFileSync(readme, next)
    }
  } finally {
    cleanup()
    await new Promise((r) => setTimeout(r, 1500))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
