// The console's three jobs, in Debian's Chromium against a real server (engine, sandboxed
// workers, embedded database), with every request held to 127.0.0.1 by the fixture:
//   1. start a run in the UI and watch the fitness and diversity charts receive points live
//      (and survive a dropped connection: it reconnects, catches up, keeps the zoom);
//   2. give a hint mid-run: it is active, attached to the next candidates, and in the prompt the
//      scripted OpenAI-protocol server received;
//   3. edit a candidate in Monaco, submit it, and see it evaluated, placed in the population and
//      in the lineage.
// Screenshots of the dashboard, a candidate page and the guidance panel go to docs/screenshots/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { startOpenAiTestServer, type OpenAiTestServer } from '../test-support/openai-server.ts'
import { api, expect, login, startScriptedRun, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))
const SHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
mkdirSync(SHOTS, { recursive: true })

async function importCurveFit(page: Page) {
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
}

async function stopRun(page: Page, runId: string) {
  await api(page, 'mutation', 'runs.stop', { runId }).catch(() => undefined)
}

/** A full-page screenshot at a desktop width, pointer out of the way (no tooltip in the picture). */
async function shoot(page: Page, name: string) {
  const before = page.viewportSize()
  await page.setViewportSize({ width: 1600, height: 1000 })
  await page.mouse.move(1, 1)
  await page.waitForTimeout(1500) // charts resize, Monaco repaints
  await page.screenshot({ path: `${SHOTS}${name}`, fullPage: true })
  if (before) await page.setViewportSize(before)
}

const runIdOf = (page: Page) => /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!

test.describe.configure({ mode: 'serial' })

test('an admin starts a run in the UI and the fitness and diversity charts grow live, through a dropped connection', async ({
  page,
  context,
}) => {
  test.slow()
  // keep a handle on the page's event streams, to cut them as a dead socket would
  await page.addInitScript(() => {
    const Native = window.EventSource
    const open: EventSource[] = []
    class Tracked extends Native {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init)
        open.push(this)
      }
    }
    window.EventSource = Tracked
    ;(window as unknown as { __dropSse: () => number }).__dropSse = () => {
      const all = open.splice(0)
      for (const es of all) {
        es.close()
        es.dispatchEvent(new Event('error'))
      }
      return all.length
    }
  })
  await login(page)
  await importCurveFit(page)
  await page.getByRole('link', { name: 'New run' }).click()
  await page.getByLabel('Problem').selectOption('test-curve-fit')
  await page.getByLabel('Name').fill('e2e live charts')
  await page.getByLabel('Islands').fill('3')
  await page.getByLabel('Budget: evaluations').fill('50000')
  await page.getByLabel('Seed', { exact: true }).fill('7')
  await page.getByRole('button', { name: 'Start the run' }).click()
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
  const runId = runIdOf(page)
  await expect(page.getByTestId('run-title')).toHaveText('e2e live charts')
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live')

  // a marker that a reload would wipe
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true))
  const fitness = page.getByTestId('fitness-chart')
  const diversity = page.getByTestId('diversity-code')
  const count = async () => ({
    points: Number(await fitness.getAttribute('data-points')),
    lines: Number(await fitness.getAttribute('data-lines')),
    diversity: Number(await diversity.getAttribute('data-points')),
  })
  await expect.poll(async () => (await count()).points, { timeout: 90_000 }).toBeGreaterThan(20)
  const first = await count()
  await expect.poll(async () => (await count()).points, { timeout: 30_000 }).toBeGreaterThan(first.points + 10)
  await expect.poll(async () => (await count()).diversity, { timeout: 30_000 }).toBeGreaterThan(first.diversity)
  await expect.poll(async () => (await count()).lines, { timeout: 30_000 }).toBeGreaterThan(first.lines)
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true)
  // the dots were painted (the chart's canvas layer reports what it drew), the lines are in the SVG
  expect(await page.evaluate(() => window.__fmChart?.points ?? 0)).toBeGreaterThan(10)
  expect(await fitness.locator('.recharts-line-curve').count()).toBeGreaterThan(3)
  await expect(page.getByTestId('heatmap')).toBeVisible()
  // FM_WORKERS=2: two evaluation slots, served by one worker process
  const workerRows = page.getByTestId('workers').getByTestId('worker-row')
  await expect(workerRows).toHaveCount(1)
  await expect(workerRows.first()).toContainText('/2')
  // the pipeline panel: an offline run's requests are the operators' proposals, and no model is named
  const pipeline = page.getByTestId('pipeline')
  await expect
    .poll(async () => Number(await pipeline.getAttribute('data-points')), { timeout: 30_000 })
    .toBeGreaterThan(1)
  await expect(pipeline.locator('.recharts-legend-wrapper')).toContainText('operator proposals in flight')
  await expect(page.getByTestId('pipeline-verdict')).toContainText(/workers/)
  await expect(page.getByTestId('pipeline-verdict')).not.toContainText(/model/i)
  await shoot(page, 'dashboard.png')

  // zoom into a range by dragging across the chart
  const box = (await fitness.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 })
  await page.mouse.up()
  await expect(page.getByTestId('zoom')).toBeVisible()
  // the zoomed range's points have arrived (the badge shows … while they load)
  await expect(page.getByTestId('zoom')).not.toContainText('…', { timeout: 30_000 })
  const zoomText = await page.getByTestId('zoom').textContent()

  // the connection drops. Chromium's offline mode leaves open streams alone, so the stream is
  // closed the way a dead socket ends it (an error on a closed EventSource), while new
  // connections fail for a few seconds; then the network is back
  const received = () => page.evaluate(() => Object.keys(window.__fmLive?.received ?? {}).map(Number))
  const before = Math.max(...(await received()))
  await context.setOffline(true)
  await page.evaluate(() => (window as unknown as { __dropSse: () => number }).__dropSse())
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'reconnecting', { timeout: 10_000 })
  // offline until the server has finished 20 evaluations the page could not receive (asked from the
  // test's side, which the browser's offline mode does not cut): the reconnect must deliver them all
  const evaluatedOnServer = async () => {
    const res = await page.request.get(
      `/api/trpc/runs.summary?input=${encodeURIComponent(JSON.stringify({ json: { runId } }))}`,
    )
    return ((await res.json()).result.data.json as { evaluations: number }).evaluations
  }
  await expect.poll(evaluatedOnServer, { timeout: 60_000 }).toBeGreaterThan(before + 21)
  await context.setOffline(false)
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 60_000 })
  await expect.poll(async () => Math.max(...(await received())), { timeout: 60_000 }).toBeGreaterThan(before + 20)
  // every evaluation finished while the page was cut off was delivered after the reconnect: no gap
  const after = new Set(await received())
  const upTo = Math.max(...after)
  expect([...Array(upTo - before).keys()].map((i) => before + 1 + i).filter((i) => !after.has(i))).toEqual([])
  await expect(page.getByTestId('zoom')).toHaveText(zoomText!)
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true)
  // back to the whole run: the chart draws the newest points again
  const drawn = Number(await fitness.getAttribute('data-points'))
  await page.getByRole('button', { name: 'reset zoom' }).click()
  await expect(page.getByTestId('zoom')).toHaveCount(0)
  await expect
    .poll(async () => page.evaluate(() => Math.max(...Object.keys(window.__fmChart?.seen ?? {}).map(Number))), {
      timeout: 30_000,
    })
    .toBeGreaterThan(before)
  expect(Number(await fitness.getAttribute('data-points'))).toBeGreaterThan(drawn)

  // the admin stops it from the header
  page.once('dialog', (d) => void d.accept())
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(page.getByTestId('status-badge').first()).toHaveText('stopped', { timeout: 30_000 })
  await expect(page.getByTestId('activity')).toContainText('status stopped')
})

test('an expert hint mid-run is active, attached to the next candidates and in the prompt the model server received', async ({
  page,
}) => {
  const key = process.env.FM_E2E_OPENAI_KEY!
  const server: OpenAiTestServer = await startOpenAiTestServer({ apiKey: key })
  try {
    await login(page)
    await importCurveFit(page)
    // a budget no machine spends before the hint is in: the test stops the run at its end
    const runId = await startScriptedRun(page, {
      name: 'e2e hint',
      islands: 2,
      maxEvals: 100_000,
      modelUrl: server.url,
    })
    await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 90_000 })

    await page.getByRole('link', { name: 'Guidance' }).click()
    const hint = `Keep the quadratic term and push the sine frequency D towards 2.1 (hint ${Date.now().toString(36)})`
    await page.getByLabel('hint', { exact: true }).fill(hint)
    await page.getByLabel('expiry', { exact: true }).selectOption('evals')
    // an expiry out of bounds is said beside the field, and nothing is sent
    await page.getByLabel('expiry amount').fill('2.5')
    await expect(page.getByText('a whole number of evaluations, 1 to 10,000,000')).toBeVisible()
    await expect(page.getByRole('button', { name: 'Add hint' })).toBeDisabled()
    // long enough that the card is still active when it is read, however fast the machine evaluates
    await page.getByLabel('expiry amount').fill('50000')
    const requestsBefore = server.chatRequests().length
    await page.getByRole('button', { name: 'Add hint' }).click()
    const card = page.getByTestId('active-hints').getByTestId('hint').filter({ hasText: hint })
    await expect(card).toHaveAttribute('data-state', 'active')
    await expect(card).toContainText('whole run')
    // the next candidates are made under it
    await expect
      .poll(async () => Number(await card.getAttribute('data-made')), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(3)

    // the model server received it in the prompts made after it
    const prompts = server
      .chatRequests()
      .slice(requestsBefore)
      .map((r) => JSON.stringify((r.body as { messages?: unknown }).messages ?? ''))
    expect(prompts.some((p) => p.includes('push the sine frequency D towards 2.1'))).toBe(true)
    expect(
      server
        .chatRequests()
        .slice(0, requestsBefore)
        .every((r) => !JSON.stringify(r.body).includes(hint)),
    ).toBe(true)
    await expect(card.getByTestId('hint-made')).toBeVisible()
    // its effect against the concurrent control (a share of prompts made without it), with a verdict
    await expect(page.getByTestId('control-share')).toContainText('20% of the prompts in its scope are made without it')
    await expect(card.getByTestId('effect-verdict')).toHaveAttribute('data-verdict', /^(better|worse|not yet clear)$/)
    // a model reads this run's hints: no note that the difference is chance
    await expect(card.getByTestId('hint-offline')).toHaveCount(0)
    await shoot(page, 'guidance.png')

    // one of those candidates: its page shows the hint and the prompt with the hint in it
    await card.getByRole('link', { name: 'see them' }).click()
    await expect(page.getByTestId('candidate-table')).toBeVisible()
    // a row is a link (middle-click, the keyboard): to that candidate's page
    await expect(page.getByTestId('candidate-row').first()).toHaveAttribute(
      'href',
      /^\/runs\/[^/]+\/candidates\/[^/]+$/,
    )
    await page.getByTestId('candidate-row').first().click()
    await expect(page.getByTestId('candidate-page')).toBeVisible()
    await expect(page.getByTestId('guidance-at-creation')).toContainText(hint)
    await expect(page.getByTestId('prompt')).toContainText('push the sine frequency D towards 2.1')
    await expect(page.getByTestId('response')).not.toBeEmpty()
    await expect(page.getByTestId('candidate-page')).toHaveAttribute('data-status', 'evaluated', { timeout: 30_000 })
    await expect(page.getByTestId('candidate-diff')).toBeVisible()
    await shoot(page, 'candidate.png')

    // withdrawn after a confirmation: dismissed, it stays; accepted, it moves to the past hints
    await page.goto(`/runs/${runId}/guidance`)
    page.once('dialog', (d) => void d.dismiss())
    await card.getByRole('button', { name: 'Withdraw' }).click()
    await expect(card).toHaveAttribute('data-state', 'active')
    page.once('dialog', (d) => {
      expect(d.message()).toContain('Withdraw this hint?')
      void d.accept()
    })
    await card.getByRole('button', { name: 'Withdraw' }).click()
    await expect(page.getByTestId('hint').filter({ hasText: hint })).toHaveAttribute('data-state', 'withdrawn')
    await stopRun(page, runId)
  } finally {
    await server.close()
  }
})

test('a run that fails says why, in the list and on its dashboard', async ({ page }) => {
  // a problem whose evaluator rejects every program: the run cannot leave its cold start
  const dir = mkdtempSync(join(tmpdir(), 'fm-e2e-broken-'))
  writeFileSync(
    join(dir, 'problem.json'),
    JSON.stringify({
      id: 'e2e-always-invalid',
      name: 'Always invalid (e2e)',
      language: 'python',
      entry: 'seed.py',
      evaluator: 'eval.py',
      direction: 'max',
      primaryMetric: 'score',
      limits: { timeoutS: 10, memoryMb: 512 },
    }),
  )
  writeFileSync(join(dir, 'seed.py'), 'x = 1.5\ny = 2.5\n')
  writeFileSync(
    join(dir, 'eval.py'),
    'import json\nprint(json.dumps({"valid": False, "metrics": {}, "features": {}, "artifacts": {"feedback": "the evaluator rejects everything"}}))\n',
  )
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: dir })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'e2e-always-invalid',
    name: 'e2e doomed',
    config: { islands: 2, budget: { maxEvals: 30 } },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('run-failed')).toContainText('no valid candidate', { timeout: 120_000 })
  await expect(page.getByTestId('run-failed')).toContainText('the evaluator rejects everything')
  await page.goto('/runs')
  const row = page.getByTestId('run-row').filter({ hasText: 'e2e doomed' })
  await expect(row.getByTestId('status-badge')).toHaveText('failed')
  await expect(row).toContainText('no valid candidate')
  rmSync(dir, { recursive: true, force: true })
})

// the hidden function of the curve-fit fixture: an expert who knows it writes the exact fit. The
// whole editable region is replaced, whatever the parent's: the offline operators perturb every
// literal in it (the 0.3 of predict too) and may swap its blocks, and which candidate is the best
// when the test looks depends on the machine's speed.
const EXACT_REGION = `A = 1.3
B = -0.4
C = 0.25
D = 2.1


def predict(x):
    return A * x * x + B * x + C + 0.3 * math.sin(D * x)`

/** The parent's code with everything between the EVOLVE-BLOCK markers replaced by `region`. */
function withRegion(code: string, region: string) {
  const start = code.indexOf('\n', code.indexOf('EVOLVE-BLOCK-START')) + 1
  const end = code.lastIndexOf('\n', code.indexOf('EVOLVE-BLOCK-END')) + 1
  return `${code.slice(0, start)}${region}\n${code.slice(end)}`
}

test('an expert edits a candidate in Monaco; the edit is evaluated, joins the population and the lineage', async ({
  page,
}) => {
  await login(page)
  await importCurveFit(page)
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e edit',
    // a budget no machine spends before the edit is in: the test stops the run at its end
    config: { islands: 2, budget: { maxEvals: 1_000_000 }, seed: 11 },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 90_000 })
  // the current best, from the dashboard's tile
  await page.getByTestId('tile-best').getByRole('link').click()
  await expect(page.getByTestId('candidate-page')).toBeVisible()
  const parentId = /candidates\/([0-9a-f-]{36})/.exec(page.url())![1]!
  await page.getByTestId('edit-candidate').click()
  const editor = page.getByTestId('monaco-edit')
  await expect(editor.locator('.monaco-editor')).toBeVisible({ timeout: 30_000 })
  const original = (await api<{ code: string }>(page, 'query', 'candidates.get', { runId: run.id, id: parentId })).code
  const intended = withRegion(original, EXACT_REGION)
  expect(intended).not.toBe(original)
  // select everything in the editor and paste the intended program in its place: typed text goes
  // through Monaco's auto-indent and auto-closing (a newline after an indented line is indented),
  // pasted text is inserted as it is
  await editor.locator('.view-lines').click()
  await page.keyboard.press('Control+A')
  await page.evaluate((text) => {
    const data = new DataTransfer()
    data.setData('text/plain', text)
    document.activeElement!.dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
    )
  }, intended)
  await page.getByLabel('show the diff').check()
  await expect(page.getByTestId('edit-diff')).toBeVisible()
  await page.getByLabel('island', { exact: true }).selectOption('1')
  await page.getByLabel('note', { exact: true }).fill('the exact coefficients')
  await page.getByTestId('submit-edit').click()
  await page.waitForURL((u) => /\/candidates\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.includes(parentId))
  // what reached the server is exactly the program the test meant
  const editedId = /candidates\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname)![1]!
  expect((await api<{ code: string }>(page, 'query', 'candidates.get', { runId: run.id, id: editedId })).code).toBe(
    intended,
  )
  const candidate = page.getByTestId('candidate-page')
  await expect(candidate).toHaveAttribute('data-origin', 'expert-edit')
  await expect(candidate).toHaveAttribute('data-status', 'evaluated', { timeout: 60_000 })
  await expect(page.getByTestId('candidate-score')).toHaveText(/^0$|e-\d\d|^0\.0000/)
  // on island 1, where it was submitted (a new best may also have migrated to the next island)
  await expect(page.getByTestId('population')).toContainText(/in island (\d+, )*1(?!\d)/)
  await expect(page.getByTestId('how-made')).toContainText('expert edit')
  // the expert's note is shown with the edit, to every reader
  await expect(page.getByTestId('edit-note')).toHaveText(': the exact coefficients')
  // the lineage shows it under its parent
  await page.getByRole('link', { name: 'Lineage', exact: true }).first().click()
  const node = page.locator('[data-testid="lineage-node"][data-origin="expert-edit"]')
  await expect(node).toHaveCount(1, { timeout: 20_000 })
  // from the keyboard: a node takes the focus and Enter inspects it
  await node.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('lineage-selection')).toContainText('expert edit')
  await stopRun(page, run.id)
})
