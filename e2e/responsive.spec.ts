// The console on a phone (390 px), a tablet (768 px) and a desktop (1440 px), on a real run of a
// built-in problem: below 900 px the navigation is a menu, the dashboard's cards stack in one
// column, the charts' tick labels stay apart and inside the screen, wide tables scroll inside
// their own box, and no page is wider than the screen. Full-page screenshots of the dashboard,
// a candidate page and the guidance page at each width go to docs/screenshots/.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Locator, Page } from '@playwright/test'
import { api, expect, login, test } from './fixtures.ts'

const SHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
mkdirSync(SHOTS, { recursive: true })
const WIDTHS = [390, 768, 1440] as const
const HEIGHT = { 390: 844, 768: 1024, 1440: 900 } as const

test.describe.configure({ mode: 'serial' })

let runId = ''
let candidateId = ''

/** the page is never wider than the screen: anything wide scrolls inside its own box */
async function expectNoPageOverflow(page: Page) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }))
  expect(scroll, 'page width against the screen').toBeLessThanOrEqual(inner)
}

/** tick labels of each axis of the charts inside `scope`: none overlaps another, none leaves the screen */
async function expectReadableAxes(page: Page, scope: Locator) {
  const axes = await scope.locator('.recharts-cartesian-axis-tick-labels').evaluateAll((els) =>
    els.map((el) => ({
      boxes: [...el.querySelectorAll('text.recharts-cartesian-axis-tick-value')].map((t) => {
        const r = t.getBoundingClientRect()
        return {
          l: r.left,
          r: r.right,
          t: r.top,
          b: r.bottom,
          text: t.textContent ?? '',
          size: parseFloat(getComputedStyle(t).fontSize),
        }
      }),
    })),
  )
  const width = page.viewportSize()!.width
  expect(axes.length).toBeGreaterThan(0)
  for (const { boxes } of axes) {
    expect(boxes.length, 'ticks on an axis').toBeGreaterThanOrEqual(2)
    for (const b of boxes) {
      expect(b.size, `font size of tick "${b.text}"`).toBeGreaterThanOrEqual(10)
      expect(b.l, `tick "${b.text}" starts on screen`).toBeGreaterThanOrEqual(0)
      expect(b.r, `tick "${b.text}" ends on screen`).toBeLessThanOrEqual(width)
    }
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!
        const b = boxes[j]!
        const overlap = a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5
        expect(overlap, `ticks "${a.text}" and "${b.text}" overlap`).toBe(false)
      }
  }
}

async function shoot(page: Page, name: string) {
  await page.mouse.move(1, 1)
  // charts resize to the new width, Monaco lays out again: wait until two frames apart agree
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  await page.waitForTimeout(800)
  await page.screenshot({ path: `${SHOTS}${name}`, fullPage: true })
}

test('set-up: a run of a built-in problem with a hint, evaluated past its cold start', async ({ page }) => {
  await login(page)
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'circle-packing-26',
    name: 'responsive: circle packing',
    config: { islands: 3, budget: { maxEvals: 400 }, seed: 5 },
  })
  runId = run.id
  await page.goto(`/runs/${runId}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 180_000 })
  await api(page, 'mutation', 'guidance.create', {
    runId,
    text: 'Try a hexagonal arrangement in the middle and let the circles at the walls grow.',
    island: null,
  })
  const fitness = page.getByTestId('fitness-chart')
  await expect
    .poll(async () => Number(await fitness.getAttribute('data-points')), { timeout: 180_000 })
    .toBeGreaterThan(40)
  const top = await api<{ bestCandidateId: string | null }>(page, 'query', 'runs.overview', { runId })
  expect(top.bestCandidateId).toBeTruthy()
  candidateId = top.bestCandidateId!
})

test('at 390 and 768 px the navigation is a menu that opens and closes', async ({ page }) => {
  for (const width of [390, 768]) {
    await page.setViewportSize({ width, height: 900 })
    await login(page)
    const nav = page.getByRole('navigation', { name: 'main' })
    const menu = nav.getByRole('button', { name: /menu/i })
    await expect(menu).toBeVisible()
    await expect(menu).toHaveAttribute('aria-expanded', 'false')
    await expect(nav.getByRole('link', { name: 'Problems' })).toBeHidden()
    // the bar takes the top, not a column: the page's content starts below it at the left edge
    const bar = (await nav.boundingBox())!
    expect(bar.width).toBeGreaterThan(width - 2)
    expect(bar.height).toBeLessThan(80)
    await menu.click()
    await expect(menu).toHaveAttribute('aria-expanded', 'true')
    await nav.getByRole('link', { name: 'Problems' }).click()
    await expect(page).toHaveURL(/\/problems$/)
    await expect(nav.getByRole('link', { name: 'Problems' })).toBeHidden()
    await expect(page.getByTestId('problems-table')).toBeVisible()
    await expectNoPageOverflow(page)
    // Escape closes it too
    await menu.click()
    await expect(nav.getByRole('link', { name: 'Runs' })).toBeVisible()
    await page.keyboard.press('Escape')
    await expect(nav.getByRole('link', { name: 'Runs' })).toBeHidden()
    // and gives the focus back to the button that opened it
    await expect(menu).toBeFocused()
  }
  // on a desktop the links are always there and there is no menu button
  await page.setViewportSize({ width: 1440, height: 900 })
  const nav = page.getByRole('navigation', { name: 'main' })
  await expect(nav.getByRole('link', { name: 'Problems' })).toBeVisible()
  await expect(nav.getByRole('button', { name: /menu/i })).toBeHidden()
})

test('a run named with 200 characters and no break in them still fits a phone', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 })
  await login(page)
  // a path or a hash as a name: nowhere to break a line
  const name = `results/${'x'.repeat(192)}`
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'circle-packing-26',
    name,
    config: { islands: 1, budget: { maxEvals: 3 }, seed: 1 },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('run-title')).toHaveText(name)
  await expectNoPageOverflow(page)
  // the settings it runs with, on its own page
  const settings = page.getByTestId('run-settings')
  await settings.locator('summary').click()
  await expect(settings.getByRole('row').filter({ hasText: 'budget.maxEvals' })).toContainText('3')
  await expect(settings.getByRole('row').filter({ hasText: /^seed/ })).toContainText('1')
  await expectNoPageOverflow(page)
  await page.goto(`/runs/compare?runs=${run.id},${runId}`)
  await expect(page.getByText('Where they ended')).toBeVisible()
  await expectNoPageOverflow(page)
  // the new-run form shows what the model will be told of the problem
  await page.goto('/runs/new?problem=circle-packing-26')
  const description = page.getByTestId('problem-description')
  await description.locator('summary').click()
  await expect(description).toContainText('26 circles')
  await expectNoPageOverflow(page)
  // on a desktop the run list keeps the row's figures on screen: the name is clipped, whole in its title
  await page.setViewportSize({ width: 1440, height: 900 })
  await page.goto('/runs')
  const link = page.getByRole('link', { name })
  await expect(link).toHaveAttribute('title', name)
  const problem = page.getByRole('row').filter({ has: link }).getByText('circle-packing-26')
  const box = (await problem.boundingBox())!
  expect(box.x + box.width).toBeLessThan(1440)
})

for (const width of WIDTHS) {
  test(`at ${width} px: dashboard, candidate page and guidance fit the screen (screenshots)`, async ({ page }) => {
    expect(runId, 'the set-up test ran').not.toBe('')
    await page.setViewportSize({ width, height: HEIGHT[width] })
    await login(page)

    await page.goto(`/runs/${runId}`)
    const fitness = page.getByTestId('fitness-chart')
    await expect
      .poll(async () => Number(await fitness.getAttribute('data-points')), { timeout: 60_000 })
      .toBeGreaterThan(40)
    await expect(page.getByTestId('heatmap')).toBeVisible()
    await expect(page.getByTestId('islands')).toBeVisible()
    // the best packing as the evaluator drew it
    await expect
      .poll(
        () =>
          page
            .getByTestId('best-picture')
            .locator('img')
            .evaluate((el: HTMLImageElement) => el.naturalWidth),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0)
    await expectNoPageOverflow(page)
    const cards = await page
      .locator('.dash > .card')
      .evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ x: r.left, w: r.width })))
    expect(cards.length).toBeGreaterThan(5)
    const lefts = new Set(cards.map((c) => Math.round(c.x)))
    if (width < 900) {
      // one column: every card starts at the same place and takes the whole width of the page
      expect(lefts.size, 'columns of cards').toBe(1)
      for (const c of cards) expect(c.w).toBeGreaterThan(width - 40)
    } else {
      expect(lefts.size, 'columns of cards').toBeGreaterThan(1)
    }
    await expectReadableAxes(page, fitness)
    await expectReadableAxes(page, page.getByTestId('diversity-code'))
    await expectReadableAxes(page, page.getByTestId('throughput'))
    if (width === 390) {
      // the islands table is wider than a phone: it scrolls inside its box
      const box = page.getByTestId('islands').locator('xpath=..')
      const s = await box.evaluate((el) => ({
        scroll: el.scrollWidth,
        client: el.clientWidth,
        overflow: getComputedStyle(el).overflowX,
      }))
      expect(s.overflow).toBe('auto')
      expect(s.scroll).toBeGreaterThan(s.client)
      await box.evaluate((el) => el.scrollTo({ left: el.scrollWidth }))
      await expect.poll(() => box.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0)
      await box.evaluate((el) => el.scrollTo({ left: 0 }))
    }
    await shoot(page, `dashboard-${width}.png`)

    await page.goto(`/runs/${runId}/candidates/${candidateId}`)
    await expect(page.getByTestId('candidate-page')).toHaveAttribute('data-status', 'evaluated')
    await expect(page.locator('[data-testid=candidate-page] .view-lines:visible').first()).toBeVisible({
      timeout: 30_000,
    })
    await expect
      .poll(
        () =>
          page
            .getByTestId('candidate-picture')
            .first()
            .locator('img')
            .evaluate((el: HTMLImageElement) => el.naturalWidth),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0)
    await expectNoPageOverflow(page)
    await shoot(page, `candidate-${width}.png`)

    await page.goto(`/runs/${runId}/guidance`)
    await expect(page.getByTestId('active-hints').getByTestId('hint')).toHaveCount(1)
    // offline operators read no hint: its effect is said to be chance
    await expect(page.getByTestId('hint-offline')).toBeVisible({ timeout: 30_000 })
    await expectNoPageOverflow(page)
    await shoot(page, `guidance-${width}.png`)

    await page.goto(`/runs/${runId}/candidates`)
    const table = page.getByTestId('candidate-table')
    await expect(page.getByTestId('candidate-row').first()).toBeVisible()
    await expectNoPageOverflow(page)
    if (width === 390) {
      const s = await table.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }))
      expect(s.scroll, 'the candidate table scrolls sideways').toBeGreaterThan(s.client)
    }
  })
}

test('at 390 px every other page of the console fits the screen too', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 })
  await login(page)
  for (const path of [
    '/runs',
    '/runs/new',
    `/runs/${runId}/lineage`,
    '/problems',
    '/knowledge',
    '/knowledge/usefulness',
    '/knowledge/lessons',
    '/workers',
    '/settings',
    '/settings/audit',
  ]) {
    await page.goto(path)
    await expect(page.locator('main').locator('h1, table, .card, .vtable').first()).toBeVisible()
    await expect(page.getByRole('main')).not.toContainText('Loading')
    await expectNoPageOverflow(page)
  }
})

test('clean-up: stop the run', async ({ page }) => {
  await login(page)
  if (runId) await api(page, 'mutation', 'runs.stop', { runId }).catch(() => undefined)
})
