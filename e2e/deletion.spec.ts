// An admin deletes a finished run from its page and then its imported problem from the Problems
// page; a problem with runs is refused with the reason, and built-in problems offer no delete.
// The run's export, downloaded before, brings both back through the Runs page's Import.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

test('an admin deletes a finished run, then its imported problem', async ({ page }) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'fm-e2e-delete-')), 'problem')
  cpSync(CURVE_FIT, dir, { recursive: true })
  const spec = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8'))
  writeFileSync(join(dir, 'problem.json'), JSON.stringify({ ...spec, id: 'e2e-delete-me' }))
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: dir })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'e2e-delete-me',
    name: 'e2e delete me',
    config: { islands: 1, budget: { maxEvals: 12 }, seed: 3 },
  })
  page.on('dialog', (d) => void d.accept())

  // a problem with a run is not deleted: the reason is shown
  await page.goto('/problems')
  await page.getByRole('button', { name: 'delete problem e2e-delete-me' }).click()
  await expect(page.getByTestId('problem-delete-error')).toContainText('must be deleted first')
  await expect(page.getByRole('button', { name: 'delete problem circle-packing-26' })).toHaveCount(0)

  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('completed', { timeout: 120_000 })
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export', exact: true }).click(),
  ])
  const exported = join(dir, '..', download.suggestedFilename())
  await download.saveAs(exported)
  const candidates = (JSON.parse(readFileSync(exported, 'utf8')) as { candidates: unknown[] }).candidates.length
  expect(candidates).toBeGreaterThan(0)
  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  await expect(page).toHaveURL(/\/runs$/)
  const runs = await api<Array<{ id: string }>>(page, 'query', 'runs.list', {})
  expect(runs.some((r) => r.id === run.id)).toBe(false)

  await page.goto('/problems')
  await page.getByRole('button', { name: 'delete problem e2e-delete-me' }).click()
  await expect(page.getByTestId('problems-table')).not.toContainText('e2e-delete-me')
  await expect(page.getByTestId('problem-delete-error')).toHaveCount(0)

  // the export brings the run back, and its problem with it
  await page.goto('/runs')
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Import a run…' }).click(),
  ])
  await chooser.setFiles(exported)
  const outcome = page.getByTestId('run-import-outcome')
  await expect(outcome).toContainText(`Imported run ${run.id.slice(0, 8)} with ${candidates} candidates`)
  await expect(outcome).toContainText('Problem "e2e-delete-me" was created from the export.')
  await expect(page.getByTestId('runs-table')).toContainText('e2e delete me')
  await outcome.getByRole('link', { name: `run ${run.id.slice(0, 8)}` }).click()
  await expect(page).toHaveURL(new RegExp(`/runs/${run.id}$`))
  await expect(page.getByTestId('status-badge').first()).toHaveText('completed')
  // a second import of the same run is refused with the reason
  await page.goto('/runs')
  const [again] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Import a run…' }).click(),
  ])
  await again.setFiles(exported)
  await expect(outcome).toContainText(`was not imported: run ${run.id} already exists here`)
})
