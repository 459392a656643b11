// An admin deletes a finished run from its page and then its imported problem from the Problems
// page; a problem with runs is refused with the reason, and built-in problems offer no delete.
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
  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  await expect(page).toHaveURL(/\/runs$/)
  const runs = await api<Array<{ id: string }>>(page, 'query', 'runs.list', {})
  expect(runs.some((r) => r.id === run.id)).toBe(false)

  await page.goto('/problems')
  await page.getByRole('button', { name: 'delete problem e2e-delete-me' }).click()
  await expect(page.getByTestId('problems-table')).not.toContainText('e2e-delete-me')
  await expect(page.getByTestId('problem-delete-error')).toHaveCount(0)
})
