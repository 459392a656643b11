// An expert rates candidates in the browser: the rating (with a note) is shown on the candidate,
// in the table (badge and filter), in the lineage and in the activity feed, and the guidance page
// counts how the children of rated parents fare against the rest.
import { fileURLToPath } from 'node:url'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

test('an expert rates a candidate: shown on its page, in the table, the lineage and the feed, and counted in the children statistics', async ({
  page,
}) => {
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e ratings',
    // a budget no machine spends before the rated parent's children are counted: stopped at the end
    config: { islands: 2, budget: { maxEvals: 1_000_000 }, seed: 21 },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 120_000 })
  // the best now, pinned: only a member of a population has children for the statistics below to
  // count, and a fast run may have evicted the best it reported before the pin arrives. The engine
  // says whether the pinned one is a member; another best is taken until it is.
  let id = ''
  for (let tries = 0; tries < 20 && !id; tries++) {
    const best = (await api<{ best: { candidateId: string } | null }>(page, 'query', 'runs.summary', { runId: run.id }))
      .best
    expect(best).not.toBeNull()
    await api(page, 'mutation', 'candidates.setPinned', { runId: run.id, id: best!.candidateId, pinned: true })
    const c = await api<{ population: number[] | null }>(page, 'query', 'candidates.get', {
      runId: run.id,
      id: best!.candidateId,
    })
    if (c.population?.length) id = best!.candidateId
    else await api(page, 'mutation', 'candidates.setPinned', { runId: run.id, id: best!.candidateId, pinned: false })
  }
  expect(id, 'a pinned best that is a member of a population').not.toBe('')
  await page.goto(`/runs/${run.id}/candidates/${id}`)
  await expect(page.getByTestId('candidate-page')).toBeVisible()

  const panel = page.getByTestId('candidate-rating')
  await expect(panel).toHaveAttribute('data-rating', '0')
  await page.getByLabel('rating note').fill('the quadratic term is right; keep refining D')
  await page.getByRole('button', { name: '▲ Promising' }).click()
  await expect(panel).toHaveAttribute('data-rating', '1')
  await expect(panel.getByTestId('rating')).toContainText('admin@fm-agent.local')
  await expect(panel.getByTestId('rating')).toContainText('keep refining D')
  await expect(page.getByTestId('candidate-page').locator('h2').first()).toContainText('▲ promising')

  // the table: its badge, and the filter finds it alone
  await page.goto(`/runs/${run.id}/candidates?rating=up`)
  await expect(page.getByTestId('candidate-table')).toHaveAttribute('data-total', '1')
  await expect(page.getByTestId('candidate-row').first().getByTestId('row-rating')).toHaveText('▲')
  await expect(page.getByLabel('filter rating')).toHaveValue('up')

  // the lineage marks it, and says so when selected
  await page.goto(`/runs/${run.id}/lineage`)
  const node = page.locator(`[data-testid="lineage-node"][data-id="${id}"]`)
  await expect(node).toHaveAttribute('data-rating', '1', { timeout: 20_000 })
  await node.click()
  await expect(page.getByTestId('lineage-selection')).toContainText('▲ promising')

  // the dashboard's activity feed, and the guidance page's statistics of its children
  await page.getByRole('link', { name: 'Dashboard' }).click()
  await expect(page.getByTestId('activity')).toContainText('rated')
  await expect(page.getByTestId('activity')).toContainText('▲ promising: the quadratic term is right')
  await page.getByRole('link', { name: 'Guidance', exact: true }).click()
  const effect = page.getByTestId('rating-effect')
  await expect(effect).toContainText('1 rated promising')
  // the run goes on: children of the rated parent are counted as they are evaluated
  await expect
    .poll(async () => Number(await effect.getByTestId('rating-effect-up').getAttribute('data-n')), { timeout: 120_000 })
    .toBeGreaterThan(0)

  // a second thought: withdrawn, the candidate is unrated again
  await page.goto(`/runs/${run.id}/candidates/${id}`)
  await page.getByRole('button', { name: 'Withdraw my rating' }).click()
  await expect(panel).toHaveAttribute('data-rating', '0')
  await expect(panel).toContainText('No expert has rated it.')
  await api(page, 'mutation', 'runs.stop', { runId: run.id })
})
