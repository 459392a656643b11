// "New run from here": an admin starts a run from another run's best candidate. The form opens
// with the source run's settings, the new run records where it came from, and both runs (and the
// candidates on either side) link to each other. The engine evaluates RunConfig.seedPrograms in
// the cold start: the forked run then holds the candidate's program as a seed, linked back to the
// candidate it was copied from.
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

async function finishedRun(page: Page, name: string, maxEvals: number) {
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name,
    config: { islands: 2, populationPerIsland: 6, exploration: 0.45, budget: { maxEvals }, seed: 31 },
  })
  await expect
    .poll(async () => (await api<{ status: string }>(page, 'query', 'runs.summary', { runId: run.id })).status, {
      timeout: 180_000,
    })
    .toBe('completed')
  return run.id
}

test('an admin forks a run from its best: the form opens with its settings, and both runs link to each other', async ({
  page,
}) => {
  await login(page)
  const source = await finishedRun(page, 'e2e fork source', 80)
  const best = (
    await api<{ best: { candidateId: string; score: number } }>(page, 'query', 'runs.summary', { runId: source })
  ).best

  await page.goto(`/runs/${source}`)
  await page.getByRole('link', { name: 'New run from the best' }).click()
  await page.waitForURL(/\/runs\/new\?fork=/)
  const banner = page.getByTestId('fork-source')
  await expect(banner).toContainText(`New run from candidate ${best.candidateId.slice(0, 8)}`)
  await expect(banner).toContainText('the run’s best')
  // the source run's settings, to edit; its problem, fixed
  await expect(page.getByLabel('Islands')).toHaveValue('2')
  await expect(page.getByLabel('Population per island')).toHaveValue('6')
  await expect(page.getByLabel('Exploration')).toHaveValue('0.45')
  await expect(page.getByLabel('Seed', { exact: true })).toHaveValue('31')
  await expect(page.getByLabel('Problem')).toHaveValue('test-curve-fit')
  await expect(page.getByLabel('Problem')).toBeDisabled()
  await page.getByLabel('Islands').fill('3')
  await page.getByLabel('Budget: evaluations').fill('40')
  await page.getByLabel('Name').fill('e2e fork child')
  await page.getByLabel('also seed with its island’s population').check()
  await page.getByRole('button', { name: 'Start the run from this candidate' }).click()
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
  const child = /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!
  expect(child).not.toBe(source)

  // the new run: where it came from, with the edited settings and the source's seeds
  await expect(page.getByTestId('forked-from')).toContainText('forked from e2e fork source')
  await expect(
    page.getByTestId('forked-from').getByRole('link', { name: best.candidateId.slice(0, 8) }),
  ).toHaveAttribute('href', `/runs/${source}/candidates/${best.candidateId}`)
  const overview = await api<{
    config: { islands: number; populationPerIsland: number; exploration: number; budget: { maxEvals: number } }
  }>(page, 'query', 'runs.overview', { runId: child })
  expect(overview.config).toMatchObject({
    islands: 3,
    populationPerIsland: 6,
    exploration: 0.45,
    budget: { maxEvals: 40 },
  })
  const exported = await api<{ run: { config: { seedPrograms: Array<{ sourceCandidateId: string }> } } }>(
    page,
    'query',
    'runs.export',
    { runId: child },
  )
  const seeds = exported.run.config.seedPrograms
  expect(seeds[0]!.sourceCandidateId).toBe(best.candidateId)
  expect(seeds.length).toBeGreaterThan(1)

  // the source run and the source candidate link to it
  await page.getByTestId('forked-from').getByRole('link', { name: 'e2e fork source' }).click()
  await expect(page.getByTestId('forks')).toContainText('e2e fork child')
  await page.goto(`/runs/${source}/candidates/${best.candidateId}`)
  await expect(page.getByTestId('forked-into')).toContainText('e2e fork child')
  // any candidate offers the same
  await expect(page.getByTestId('fork-candidate')).toHaveAttribute(
    'href',
    `/runs/new?fork=${source}&candidate=${best.candidateId}`,
  )
  await api(page, 'mutation', 'runs.stop', { runId: child }).catch(() => undefined)
})

test('a forked run evaluates the forked candidate in its cold start, and its seed links back across', async ({
  page,
}) => {
  await login(page)
  const source = await finishedRun(page, 'e2e fork seeds', 60)
  const best = (await api<{ best: { candidateId: string } }>(page, 'query', 'runs.summary', { runId: source })).best
  const code = (await api<{ code: string }>(page, 'query', 'candidates.get', { runId: source, id: best.candidateId }))
    .code
  const child = await api<{ id: string }>(page, 'mutation', 'runs.fork', {
    runId: source,
    candidateId: best.candidateId,
    name: 'e2e fork seeded',
    config: { islands: 2, budget: { maxEvals: 40 }, seed: 3 },
  })
  // the cold start is over once the run evolves (or already completed)
  await expect
    .poll(async () => (await api<{ status: string }>(page, 'query', 'runs.summary', { runId: child.id })).status, {
      timeout: 180_000,
    })
    .toMatch(/evolving|completed/)
  const seeds = await api<{ rows: Array<{ id: string }> }>(page, 'query', 'candidates.list', {
    runId: child.id,
    filter: { origins: ['seed'] },
    limit: 50,
  })
  const codes = await Promise.all(
    seeds.rows.map((r) =>
      api<{ id: string; code: string }>(page, 'query', 'candidates.get', { runId: child.id, id: r.id }),
    ),
  )
  const copied = codes.find((c) => c.code === code)
  expect(copied, 'a seed candidate whose code is the forked candidate’s').toBeTruthy()
  await page.goto(`/runs/${child.id}/candidates/${copied!.id}`)
  await expect(
    page.getByTestId('copied-from').getByRole('link', { name: best.candidateId.slice(0, 8) }),
  ).toHaveAttribute('href', `/runs/${source}/candidates/${best.candidateId}`)
  await api(page, 'mutation', 'runs.stop', { runId: child.id }).catch(() => undefined)
})
