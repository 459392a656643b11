// Comparing runs in the browser: two finished runs of one problem with different settings (and a
// third of another problem) are ticked in the run list; the compare page draws their best so far
// against evaluations, active time and spend, lists where they ended, shows what differs in their
// configurations, survives being opened from its URL, and exports CSV.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))
const OE_SUM = fileURLToPath(new URL('../test-support/problems/openevolve-sum', import.meta.url))

async function finished(page: Page, runId: string) {
  await expect
    .poll(async () => (await api<{ status: string }>(page, 'query', 'runs.summary', { runId })).status, {
      timeout: 180_000,
    })
    .toBe('completed')
}

test('compare runs: pick them in the list, one chart on three axes, the final table, the configuration diff, a shareable URL and CSV', async ({
  page,
}) => {
  test.slow()
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
  const a = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e compare A',
    config: { islands: 2, budget: { maxEvals: 60 }, seed: 1 },
  })
  const b = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e compare B',
    config: { islands: 3, exploration: 0.7, budget: { maxEvals: 90 }, seed: 2 },
  })
  await finished(page, a.id)
  await finished(page, b.id)

  await page.goto('/runs')
  await page.getByLabel('compare e2e compare A').check()
  await page.getByLabel('compare e2e compare B').check()
  await page.getByTestId('compare-link').click()
  await page.waitForURL(/\/runs\/compare\?runs=/)
  expect(new URL(page.url()).searchParams.get('runs')).toBe(`${a.id},${b.id}`)

  const chart = page.getByTestId('compare-chart')
  await expect(chart).toHaveAttribute('data-lines', '2')
  expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(3)
  await expect(chart.locator('.recharts-line-curve')).toHaveCount(2)
  const ticks = () => chart.locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value').allTextContents()
  for (const [button, x, unit] of [
    ['active time', 'time', / (s|min|h)$/],
    ['spend', 'spend', /^\$/],
    ['evaluations', 'evals', /^\d+$/],
  ] as const) {
    await page.getByRole('group', { name: 'compare x axis' }).getByRole('button', { name: button }).click()
    await expect(chart).toHaveAttribute('data-x', x)
    const labels = await ticks()
    expect(labels.length).toBeGreaterThan(1)
    expect(new Set(labels).size).toBe(labels.length)
    for (const l of labels) expect(l).toMatch(unit)
  }
  // one problem: raw scores by default, progress to the reference on request
  await expect(chart).toHaveAttribute('data-y', 'score')
  await page.getByRole('button', { name: 'progress to the reference' }).click()
  await expect(chart).toHaveAttribute('data-y', 'progress')

  // where they ended: the run row's own numbers, and the better one marked
  const rows = page.getByTestId('compare-row')
  await expect(rows).toHaveCount(2)
  const summaries = await Promise.all(
    [a.id, b.id].map((runId) =>
      api<{ evaluations: number; best: { score: number } | null; islands: number }>(page, 'query', 'runs.summary', {
        runId,
      }),
    ),
  )
  await expect(rows.nth(0)).toContainText(String(summaries[0]!.evaluations))
  await expect(rows.nth(1)).toContainText(String(summaries[1]!.evaluations))
  const better = summaries[0]!.best!.score <= summaries[1]!.best!.score ? 0 : 1 // curve fit minimizes
  await expect(rows.nth(better).getByText('best', { exact: true })).toBeVisible()
  await expect(rows.nth(1 - better).getByText('best', { exact: true })).toHaveCount(0)
  // budgets of 60 and 90: the table says the final scores are not at equal evaluations
  await expect(page.getByTestId('compare-caveat')).toHaveText(
    'they ran 60 to 90 evaluations: the chart compares them at equal evaluations.',
  )

  // the configuration diff: what was changed, and only that unless asked
  const diff = page.getByTestId('config-diff-row')
  const paths = await diff.evaluateAll((els) => els.map((e) => e.getAttribute('data-path')))
  expect(paths).toEqual(expect.arrayContaining(['islands', 'exploration', 'budget.maxEvals', 'seed']))
  expect(paths).not.toContain('populationPerIsland')
  await expect(page.locator('[data-testid="config-diff-row"][data-path="islands"]')).toContainText(/2\s*3/)
  await page.getByLabel('show identical settings too').check()
  await expect(page.locator('[data-testid="config-diff-row"][data-path="populationPerIsland"]')).toHaveAttribute(
    'data-differs',
    'false',
  )

  // CSV export of the final table
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ])
  const csv = readFileSync((await download.path())!, 'utf8')
    .trimEnd()
    .split('\r\n')
  expect(csv[0]).toMatch(/^run_id,name,problem,status,direction,best,/)
  expect(csv).toHaveLength(3)
  expect(csv[1]).toContain(`${a.id},e2e compare A,test-curve-fit,completed,min,${summaries[0]!.best!.score}`)
  expect(csv[2]).toContain(`${b.id},e2e compare B,test-curve-fit,completed,min,${summaries[1]!.best!.score}`)

  // the URL is the comparison: opened fresh, a third run of another problem added from the page
  const oe = await api<{ id: string }>(page, 'mutation', 'problems.import', { path: OE_SUM })
  const c = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: oe.id,
    name: 'e2e compare C',
    config: { islands: 2, budget: { maxEvals: 30 }, seed: 3 },
  })
  await finished(page, c.id)
  await page.goto(`/runs/compare?runs=${a.id},${b.id}`)
  await page.getByLabel('add a run').selectOption(c.id)
  await expect(page).toHaveURL(new RegExp(`runs=${a.id},${b.id},${c.id}$`))
  await expect(chart).toHaveAttribute('data-lines', '3')
  await expect(rows).toHaveCount(3)
  // different problems without a common reference: raw scores, and the page says they differ in scale
  await expect(page.getByText('These runs are of different problems')).toBeVisible()
  await expect(page.getByRole('button', { name: 'progress to the reference' })).toBeDisabled()
  await expect(rows.getByText('best', { exact: true })).toHaveCount(0)
  await page.getByRole('button', { name: `remove e2e compare A` }).click()
  await expect(page).toHaveURL(new RegExp(`runs=${b.id},${c.id}$`))
  await expect(rows).toHaveCount(2)

  // a shared link that names a run deleted since: the others are compared, the missing one named
  const gone = '00000000-0000-4000-8000-000000000000'
  await page.goto(`/runs/compare?runs=${b.id},${gone},${c.id}`)
  await expect(page.getByTestId('compare-missing')).toContainText(
    'A run in this link no longer exists (deleted): 00000000',
  )
  await expect(rows).toHaveCount(2)
  await page.getByRole('button', { name: 'Remove from the comparison' }).click()
  await expect(page).toHaveURL(new RegExp(`runs=${b.id},${c.id}$`))
  await expect(page.getByTestId('compare-missing')).toHaveCount(0)
})
