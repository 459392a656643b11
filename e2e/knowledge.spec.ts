// Knowledge base in the console: add a document (Monaco editor, markdown preview), find it by
// search with highlights, import a file. Offline: the fixtures abort any request leaving 127.0.0.1
// (Monaco included: it must load from the app's own bundle).
// Still to come when runs exist (fm-agent run / the runs console): "see it used by a run".
import { expect, login, test } from './fixtures.ts'

test('add a document in the editor, then find it by search with highlights', async ({ page }) => {
  await login(page)
  await page.goto('/knowledge')
  await page.getByRole('link', { name: 'New document' }).click()
  await expect(page).toHaveURL(/\/knowledge\/new$/)
  await page.getByLabel('Title').fill('Hexagonal packing notes')
  await page.getByLabel('Tags').fill('geometry, packing')
  // Monaco: click into the editor and type like a user
  const editor = page.getByTestId('doc-editor')
  await expect(editor.locator('.monaco-editor')).toBeVisible()
  await editor.locator('.view-lines').click()
  await page.keyboard.type('# Hexagonal lattice\n\nCircles placed on a hexagonal lattice cover about 90.7% of the plane.\n\n## Caveat\n\nNear the walls the lattice must be trimmed.')
  await expect(page.getByTestId('doc-preview').getByRole('heading', { name: 'Hexagonal lattice' })).toBeVisible()
  await page.getByRole('button', { name: 'Create' }).click()
  await expect(page).toHaveURL(/\/knowledge\/doc\/[0-9a-f-]{36}$/)
  await expect(page.getByText('embedded', { exact: true })).toBeVisible()
  await expect(page.getByTestId('chunks-table')).toContainText('Hexagonal lattice › Caveat')

  await page.getByRole('link', { name: 'Documents' }).click()
  await expect(page.getByTestId('documents-table')).toContainText('Hexagonal packing notes')
  await page.getByLabel('Search text').fill('circles lattice plane')
  await page.getByRole('button', { name: 'Search' }).click()
  const first = page.getByTestId('search-hit').first()
  await expect(first).toContainText('Hexagonal packing notes')
  await expect(first).toContainText('words #1')
  await expect(first.locator('mark').first()).toBeVisible()
  await expect(first.locator('mark', { hasText: 'lattice' }).first()).toBeVisible()
})

test('import a file from the browser; a binary file is refused with a reason', async ({ page }) => {
  await login(page)
  await page.goto('/knowledge')
  await page.getByRole('button', { name: 'Import files' }).click()
  await page.getByLabel('Choose files to import').setInputFiles([
    { name: 'two_opt.py', mimeType: 'text/x-python', buffer: Buffer.from('def two_opt_swap(tour, i, j):\n    tour[i:j] = tour[i:j][::-1]\n    return tour\n') },
    { name: 'blob.txt', mimeType: 'text/plain', buffer: Buffer.from([0x48, 0, 0x49]) },
  ])
  const results = page.getByTestId('import-results')
  await expect(results).toContainText('two_opt.py')
  await expect(results).toContainText('created')
  await expect(results).toContainText('looks binary')
  await page.getByLabel('Search text').fill('two opt swap')
  await page.getByRole('button', { name: 'Search' }).click()
  await expect(page.getByTestId('search-hit').first()).toContainText('two_opt.py')
})
