// Server mode as several machines run it: PostgreSQL with pgvector, one `fm-agent web`, two
// `fm-agent engine` and two `fm-agent worker` processes (workers started first, on the restricted
// worker role), the scripted OpenAI-protocol model. Through the browser, every intervention is made
// and its effect checked in what the engine does (what the model server receives, what gets
// evaluated), not only in the database; then the engine that drives the run is killed and the other
// one finishes it with exactly its budget while the dashboard keeps updating. Every wait is for
// something the processes do (a row, a request, a page state), never for a length of time.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createWorkerRole, dropWorkerRole } from '../server/queue/roles.ts'
import { literalEditResponder } from '../test-support/literal-edit-responder.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../test-support/openai-server.ts'
import { createTestDatabase, type TestDatabase } from '../test-support/pg.ts'
import { ADMIN, api as pageApi, expect, login, test } from './fixtures.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PORT = Number(process.env.FM_E2E_CLUSTER_PORT ?? 3266)
const BASE = `http://127.0.0.1:${PORT}`
const KEY = 'sk-e2e-cluster-key-0000'
const HINT = 'Prefer coefficients written as exact fractions'
/** evaluations after the resume that the surviving engine must finish exactly (more than the kill and the takeover take) */
const FINAL = 200
test.use({ baseURL: BASE })
test.describe.configure({ mode: 'serial' })

const procs: Array<{ name: string; p: ChildProcess; log: string[] }> = []
const dirs: string[] = []
let db: TestDatabase
let model: OpenAiTestServer
let admin: pg.Pool
let workerRole = ''

function start(name: string, args: string[], env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), `fm-cluster-${name}-`))
  dirs.push(dataDir)
  const p = spawn(process.execPath, [join(ROOT, 'bin/fm-agent.mjs'), ...args, '--data-dir', dataDir], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      NEXT_TELEMETRY_DISABLED: '1',
      FM_LOG: 'info',
      ...env,
    } as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  for (const s of [p.stdout!, p.stderr!]) s.on('data', (d) => log.push(String(d)))
  procs.push({ name, p, log })
  return p
}

/** the first truthy value of fn, polled by Playwright until it comes (the test's timeout guards a hang) */
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>): Promise<T> {
  let value: T | null | undefined | false = null
  await expect.poll(async () => !!(value = await fn()), { message: what, timeout: 0 }).toBe(true)
  return value as T
}

const q = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) =>
  (await admin.query<T>(text, params)).rows

test.beforeAll(async () => {
  db = await createTestDatabase()
  admin = new pg.Pool({ connectionString: db.url, max: 3 })
  // the database is dropped WITH (FORCE) at the end: an idle connection cut then is no failure
  admin.on('error', () => undefined)
  const edit = literalEditResponder({ precision: 10 })
  model = await startOpenAiTestServer({
    apiKey: KEY,
    maxRecorded: 100_000,
    responder: edit,
  })
  workerRole = `fm_worker_cluster${process.pid}`
  const worker = await createWorkerRole(db.url, workerRole, `pw-cluster-${process.pid}`)
  // as a process manager starts them: workers first (they wait for what they need), then web, then engines
  for (const n of ['a', 'b'])
    start(`worker-${n}`, ['worker', '--concurrency', '1', '--name', `cluster-${n}`], {
      DATABASE_URL: worker.databaseUrl,
      FM_WORKER_HEARTBEAT_MS: '500',
    })
  start('web', ['web', '--port', String(PORT)], {
    DATABASE_URL: db.url,
    FM_ADMIN_EMAIL: ADMIN.email,
    FM_ADMIN_PASSWORD: ADMIN.password,
    FM_SIGNIN_LIMIT: '1000',
  })
  for (const n of ['1', '2'])
    start(`engine-${n}`, ['engine'], { DATABASE_URL: db.url, FM_LEASE_S: '5', FM_E2E_OPENAI_KEY: KEY })
  await until('the console', async () => (await fetch(`${BASE}/api/health`).catch(() => null))?.ok)
  await until(
    'two workers online',
    async () =>
      (
        await q<{ n: string }>("SELECT count(*) AS n FROM fm_queue.workers WHERE status = 'online'").catch(() => [
          { n: '0' },
        ])
      )[0]!.n === '2',
  )
})

// the processes' own words, attached to a failed test's report
// biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument destructured
test.afterEach(async ({}, info) => {
  if (info.status === info.expectedStatus) return
  for (const x of procs) await info.attach(x.name, { body: x.log.join('').slice(-20_000), contentType: 'text/plain' })
})

test.afterAll(async () => {
  for (const { p } of procs) if (p.exitCode === null) p.kill('SIGKILL')
  await model?.close()
  await admin?.end()
  await dropWorkerRole(db.url, workerRole, { force: true }).catch(() => undefined)
  await db?.drop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

test('every intervention reaches the engine that drives the run, and a killed engine is replaced', async ({ page }) => {
  test.slow()
  const started = Date.now()
  // where the time goes, in the CI log: this spec's length varied 2.1–5.8 min between runs
  const mark = (what: string) => console.log(`[cluster] ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`)
  page.on('dialog', (d) => void d.accept('exploits the evaluator'))
  await login(page)
  const api = <T>(kind: 'query' | 'mutation', path: string, input: unknown) => pageApi<T>(page, kind, path, input)
  await api('mutation', 'problems.import', { path: join(ROOT, 'test-support/problems/curve-fit') })
  await api('mutation', 'knowledge.importStarter', {})
  // the starter documents are about other problems: retrieval gives a curve fit none of them
  await api('mutation', 'knowledge.create', {
    title: 'Fitting smooth functions',
    content:
      '# Fitting smooth functions\n\nWhen the mean squared error of predict(x) stalls, fit the coefficients of a smooth function on [-1, 1] one at a time: the quadratic coefficient A toward 1.3, then the offset C toward 0.25.\n',
  })
  const models = ['scripted-a', 'scripted-b'].map((m) => ({
    provider: 'openai',
    model: m,
    baseURL: model.url,
    apiKeyEnv: 'FM_E2E_OPENAI_KEY',
    weight: 1,
  }))
  const { id: runId } = await api<{ id: string }>('mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'cluster',
    config: {
      mutator: 'llm',
      models,
      islands: 2,
      stagnationWindow: 8,
      // more than the interventions need: the final budget is set after them
      budget: { maxEvals: 1_000_000 },
      generation: { maxInFlight: 2 },
      seed: 5,
    },
  })
  mark('run created')
  await page.goto(`/runs/${runId}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 120_000 })
  const drivenBy = async () =>
    (await q<{ lease_owner: string | null }>('SELECT lease_owner FROM runs WHERE id = $1', [runId]))[0]!.lease_owner!
  await expect(page.getByTestId('driven-by')).toHaveText(await drivenBy(), { timeout: 30_000 })
  const ack = async (kind: string) =>
    until(
      `the engine's acknowledgement of ${kind}`,
      async () =>
        (
          await q<{ status: string; applied_at: Date; result: Record<string, unknown> }>(
            "SELECT status, applied_at, result FROM run_commands WHERE run_id = $1 AND kind = $2 AND status <> 'pending' ORDER BY id DESC LIMIT 1",
            [runId, kind],
          )
        )[0],
    )
  const prompts = () =>
    model.chatRequests().map((r) => ({
      model: (r.body as { model: string }).model,
      text: (r.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content).join('\n'),
      at: r.receivedAt,
    }))

  mark('step 1')
  // 1. a hint, through the guidance page: it reaches the prompts the model server receives
  await page.getByRole('link', { name: 'Guidance', exact: true }).first().click()
  await page.getByLabel('hint', { exact: true }).fill(HINT)
  await page.getByRole('button', { name: /Add hint/ }).click()
  await expect(page.getByTestId('command-status')).toHaveAttribute('data-status', 'applied', { timeout: 30_000 })
  const hinted = await ack('guidance.reload')
  expect(hinted.status).toBe('applied')
  await until('a prompt with the hint', async () => prompts().some((p) => p.text.includes(HINT)))

  mark('step 2')
  // 2. new weights: model A out; the engine stops asking it (beyond what was already in flight)
  await page.goto(`/runs/${runId}`)
  await page.getByLabel('weight of openai:scripted-a').fill('0')
  await page.getByRole('button', { name: 'Apply weights' }).click()
  await expect(page.getByTestId('steering').getByTestId('command-status')).toHaveAttribute('data-status', 'applied', {
    timeout: 30_000,
  })
  const weighted = await ack('run.weights')
  const toA = prompts().filter((p) => p.model === 'scripted-a').length
  const total = prompts().length
  await until('30 more requests', async () => prompts().length >= total + 30)
  expect(prompts().filter((p) => p.model === 'scripted-a').length - toA).toBeLessThanOrEqual(2) // at most the requests in flight then
  expect(weighted.status).toBe('applied')

  mark('step 3')
  // 3. an island's exploration: held by the engine, acknowledged with its value
  await page.getByLabel('exploration scope').selectOption('1')
  await page.getByLabel('exploration', { exact: true }).fill('0.95')
  await page.getByRole('button', { name: 'Set', exact: true }).click()
  const explored = await ack('run.exploration')
  expect(explored.status).toBe('applied')
  expect((explored.result.effectiveExploration as number[])[1]).toBeGreaterThanOrEqual(0.95)

  mark('step 4')
  // 4. ban the current best: it is never a parent of anything evaluated afterwards
  await page.getByTestId('tile-best').getByRole('link').click()
  await page.waitForURL(/candidates\/[0-9a-f-]{36}/)
  const bannedId = /candidates\/([0-9a-f-]{36})/.exec(page.url())![1]!
  await page.getByRole('button', { name: /^Ban/ }).click()
  await expect(page.getByTestId('command-status')).toHaveAttribute('data-status', 'applied', { timeout: 30_000 })
  const banned = await ack('candidate.ban')

  mark('step 5')
  // 5. an expert edit of a candidate, through Monaco: evaluated
  const parent = await q<{ id: string; code: string }>(
    "SELECT id, code FROM candidates WHERE run_id = $1 AND status = 'evaluated' AND valid AND NOT banned ORDER BY score ASC LIMIT 1",
    [runId],
  )
  await page.goto(`/runs/${runId}/candidates/${parent[0]!.id}/edit`)
  const editor = page.getByTestId('monaco-edit')
  await expect(editor.locator('.monaco-editor')).toBeVisible({ timeout: 30_000 })
  const intended = parent[0]!.code.replace(/^A = .*$/m, 'A = 1.3')
  await editor.locator('.view-lines').click()
  await page.keyboard.press('Control+A')
  await page.evaluate((text) => {
    const data = new DataTransfer()
    data.setData('text/plain', text)
    document.activeElement!.dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
    )
  }, intended)
  await page.getByTestId('submit-edit').click()
  await page.waitForURL((u) => /\/candidates\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.includes(parent[0]!.id), {
    timeout: 30_000,
  })
  const editId = /candidates\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)![1]!
  await expect(page.getByTestId('candidate-page')).toHaveAttribute('data-status', 'evaluated', { timeout: 60_000 })
  expect(
    (await q<{ code: string; origin: string }>('SELECT code, origin FROM candidates WHERE id = $1', [editId]))[0],
  ).toEqual({ code: intended, origin: 'expert-edit' })

  mark('step 6')
  // 6. knowledge on a stalled island, from the dashboard's alert: its chunks go into the next prompts
  await page.goto(`/runs/${runId}`)
  const alert = page.getByTestId('stagnation-alert').first()
  await expect(alert).toBeVisible({ timeout: 180_000 })
  await alert.getByRole('button', { name: 'Retrieve knowledge' }).click()
  const retrieved = await ack('run.retrieve')
  expect(retrieved.status).toBe('applied')
  expect(Number(retrieved.result.chunks)).toBeGreaterThan(0)
  const chunk = await q<{ content: string }>(
    "SELECT c.content FROM retrievals r JOIN knowledge_chunks c ON c.id = r.chunk_ids[1] WHERE r.run_id = $1 AND r.trigger = 'expert' ORDER BY r.created_at DESC LIMIT 1",
    [runId],
  )
  const snippet = chunk[0]!.content
    .trim()
    .split('\n')
    .find((l) => l.trim().length > 30)!
    .trim()
    .slice(0, 60)
  await until('a prompt with the retrieved knowledge', async () =>
    prompts().some((p) => p.at > retrieved.applied_at.getTime() && p.text.includes(snippet)),
  )

  // the ban held: nothing evaluated after it has the banned candidate as a parent
  const children = await q<{ n: string }>(
    "SELECT count(*) AS n FROM candidates WHERE run_id = $1 AND status <> 'rejected' AND $2 = ANY(parent_ids) AND created_at > $3",
    [runId, bannedId, banned.applied_at],
  )
  expect(Number(children[0]!.n)).toBe(0)

  mark('step 7')
  // 7. a final budget (pause, then resume with a new total), and at once the engine that drives the
  // run dies: the other one takes it over and finishes exactly that budget
  await api('mutation', 'runs.pause', { runId })
  await until(
    'the run paused',
    async () => (await q<{ status: string }>('SELECT status FROM runs WHERE id = $1', [runId]))[0]!.status === 'paused',
  )
  const paused = (await q<{ evaluations: number }>('SELECT evaluations FROM runs WHERE id = $1', [runId]))[0]!
    .evaluations
  const BUDGET = paused + FINAL
  await api('mutation', 'runs.resume', { runId, maxEvals: BUDGET })
  const owner = await until(
    'an engine driving the resumed run',
    async () =>
      (
        await q<{ status: string; lease_owner: string | null }>('SELECT status, lease_owner FROM runs WHERE id = $1', [
          runId,
        ])
      ).find((r) => r.status === 'evolving' && r.lease_owner)?.lease_owner,
  )
  const victim = procs.find((x) => x.name.startsWith('engine') && owner === `${hostname()}:${x.p.pid}`)!
  expect(victim).toBeTruthy()
  const before = Number((await page.getByTestId('evaluations').textContent()) ?? 0)
  mark('engine killed')
  victim.p.kill('SIGKILL')
  const survivor = procs.find((x) => x.name.startsWith('engine') && x !== victim)!
  await expect(page.getByTestId('driven-by')).toHaveText(`${hostname()}:${survivor.p.pid}`, { timeout: 60_000 })
  // the dashboard keeps updating from the new engine's events
  await expect
    .poll(async () => Number((await page.getByTestId('evaluations').textContent()) ?? 0), { timeout: 60_000 })
    .toBeGreaterThan(before + 10)
  mark('the survivor drives the run')
  await expect(page.getByTestId('status-badge').first()).toHaveText('completed', { timeout: 300_000 })
  mark('completed')
  const run = (
    await q<{ evaluations: number; status: string }>('SELECT evaluations, status FROM runs WHERE id = $1', [runId])
  )[0]!
  expect(run).toEqual({ evaluations: BUDGET, status: 'completed' })
  const idx = (
    await q<{ eval_index: number }>(
      "SELECT eval_index FROM candidates WHERE run_id = $1 AND status = 'evaluated' ORDER BY eval_index",
      [runId],
    )
  ).map((r) => r.eval_index)
  expect(idx).toEqual(Array.from({ length: BUDGET }, (_, i) => i))
  await expect(page.getByTestId('evaluations')).toHaveText(String(BUDGET))
  // every command was acknowledged by an engine, none left pending
  expect(
    (
      await q<{ n: string }>("SELECT count(*) AS n FROM run_commands WHERE run_id = $1 AND status = 'pending'", [runId])
    )[0]!.n,
  ).toBe('0')
})
