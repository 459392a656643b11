// Charts and alerts that follow the run: axis labels that never repeat, the fitness chart's
// "distance to the best" log scale, stagnation alerts folded per plateau and closed when the run
// ends. A real run of the curve-fit fixture with a short stagnation window, in Chromium.
import { fileURLToPath } from 'node:url'
import type { Locator } from '@playwright/test'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

async function tickLabels(chart: Locator, axis: 'x' | 'y'): Promise<string[]> {
  return chart.locator(`.recharts-${axis}Axis-tick-labels .recharts-cartesian-axis-tick-value`).allTextContents()
}

test('axis labels never repeat, distance to the best is on a log scale, and stagnation alerts fold and close with the run', async ({
  page,
}) => {
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e plateaus',
    config: { islands: 2, stagnationWindow: 4, budget: { maxEvals: 20_000 }, seed: 5 },
  })
  await page.goto(`/runs/${run.id}`)
  const fitness = page.getByTestId('fitness-chart')
  await expect
    .poll(async () => Number(await fitness.getAttribute('data-points')), { timeout: 120_000 })
    .toBeGreaterThan(40)

  // every chart on the dashboard: tick labels are distinct on both axes
  for (const id of ['fitness-chart', 'diversity-code', 'diversity-coverage', 'throughput', 'failures']) {
    const chart = page.getByTestId(id)
    for (const axis of ['x', 'y'] as const) {
      const labels = await tickLabels(chart, axis)
      expect(labels.length, `${id} ${axis} ticks`).toBeGreaterThan(1)
      expect(new Set(labels).size, `${id} ${axis}: ${labels.join(' | ')}`).toBe(labels.length)
    }
  }

  // distance to the best, log scale: decade labels, distinct, and the switch back restores scores
  await page.getByRole('button', { name: 'distance to the best (log)' }).click()
  await expect(fitness).toHaveAttribute('data-y', 'distance')
  const logLabels = await tickLabels(fitness, 'y')
  expect(logLabels.length).toBeGreaterThan(1)
  expect(new Set(logLabels).size).toBe(logLabels.length)
  for (const l of logLabels) {
    const v = Number(l)
    const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9)
    expect(
      [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6),
      `log tick ${l}`,
    ).toBe(true)
  }
  await page.getByRole('button', { name: 'score', exact: true }).click()
  await expect(fitness).toHaveAttribute('data-y', 'score')

  // a plateau: one alert per island, its escalations folded into it
  const alerts = page.getByTestId('stagnation-alert')
  await expect(alerts.first()).toBeVisible({ timeout: 120_000 })
  await expect
    .poll(async () => Number(await alerts.first().getAttribute('data-level')), { timeout: 120_000 })
    .toBeGreaterThan(2)
  const islands = await alerts.evaluateAll((els) => els.map((e) => e.getAttribute('data-island')))
  expect(new Set(islands).size).toBe(islands.length)
  await expect(page.getByTestId('alert-levels').first()).toContainText('folded into one')

  // the run ends: no alert is left open, and nothing offers to give a hint to it
  await api(page, 'mutation', 'runs.stop', { runId: run.id })
  await expect(page.getByTestId('status-badge').first()).toHaveText('stopped', { timeout: 30_000 })
  // and the panel says why it is empty: not "no island is stagnating" while islands ended on a plateau
  await expect(page.getByTestId('no-alerts')).toContainText('The run has ended', { timeout: 15_000 })
  await expect(alerts).toHaveCount(0)
  await expect(page.getByRole('link', { name: 'Give a hint' })).toHaveCount(0)
})
