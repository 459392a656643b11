// Evaluator integrity in the browser: a run of a problem with a held-out stage completes, and the
// dashboard shows its top candidates scored on instances the search never saw, beside the seed they
// are calibrated against, each with a verdict; an expert re-evaluates them on request.
import { fileURLToPath } from 'node:url'
import { api, expect, login, test } from './fixtures.ts'

const HELD_OUT = fileURLToPath(new URL('../test-support/problems/curve-fit-heldout', import.meta.url))

test('a completed run shows its held-out check: the seed as baseline, a verdict per top candidate, re-evaluated on request', async ({
  page,
}) => {
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: HELD_OUT })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit-heldout',
    name: 'e2e held-out',
    config: { islands: 1, budget: { maxEvals: 30 }, seed: 4 },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('completed', { timeout: 180_000 })
  const panel = page.getByTestId('held-out')
  await expect(panel).toContainText('the same function on [1, 3]')
  // the seed's held-out score is known: the calibrated rule is the one in force
  await expect(panel).toContainText('overfit when a candidate keeps less than 95% of its gain over the seed')
  const rows = panel.getByTestId('held-out-row')
  await expect(rows).toHaveCount(3, { timeout: 60_000 })
  for (const row of await rows.all()) {
    await expect(row).not.toHaveAttribute('data-overfit', 'unknown', { timeout: 60_000 })
    await expect(row).toContainText(/keeps -?\d+% of its gain|% worse|% better|as the baseline/)
  }
  // the seed is shown, apart or marked among the best
  await expect(panel.getByText('seed', { exact: false }).first()).toBeVisible()
  const report = await api<{
    baseline: { id: string } | null
    candidates: Array<{ id: string; heldOut: { attempt: number } }>
  }>(page, 'query', 'runs.heldOut', { runId: run.id })
  expect(report.baseline).not.toBeNull()
  const attempts = new Map(report.candidates.map((c) => [c.id, c.heldOut.attempt]))

  await panel.getByRole('button', { name: /Re-evaluate the top 3/ }).click()
  await expect
    .poll(
      async () => {
        const now = await api<typeof report>(page, 'query', 'runs.heldOut', { runId: run.id })
        return now.candidates.filter((c) => c.heldOut.attempt > (attempts.get(c.id) ?? 0)).length
      },
      { timeout: 120_000 },
    )
    .toBe(3)
  await expect(rows).toHaveCount(3)
})
