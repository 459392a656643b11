// Knowledge base in the console: add a document (Monaco editor, markdown preview), find it by
// search with highlights, import a file, and see a document used by a run (a stalled island
// retrieves it; the scripted OpenAI-protocol server receives it in prompts). Offline: the
// fixtures abort any request leaving 127.0.0.1 (Monaco included: it must load from the app's own
// bundle).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { startOpenAiTestServer } from '../test-support/openai-server.ts'
import { api, expect, login, pageErrors, startScriptedRun, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

async function writeDocument(page: Page, title: string, body: string) {
  await page.goto('/knowledge')
  await page.getByRole('link', { name: 'New document' }).click()
  await expect(page).toHaveURL(/\/knowledge\/new$/)
  await page.getByLabel('Title').fill(title)
  const editor = page.getByTestId('doc-editor')
  await expect(editor.locator('.monaco-editor')).toBeVisible()
  await editor.locator('.view-lines').click()
  await page.keyboard.type(body)
}

test('at first start the empty base offers the starter knowledge: one click imports it, tagged by family', async ({
  page,
}) => {
  await login(page)
  await page.goto('/knowledge')
  // this file runs first among the tests that write documents: the base is empty
  const offer = page.getByTestId('starter-knowledge')
  await expect(offer).toBeVisible()
  await expect(offer.getByRole('listitem')).toHaveCount(7)
  await expect(offer).toContainText('Travelling salesman')
  await offer.getByRole('button', { name: 'Import the starter knowledge' }).click()
  const table = page.getByTestId('documents-table')
  await expect(table.getByRole('row')).toHaveCount(8, { timeout: 120_000 }) // a header and 7 documents
  await expect(offer).toBeHidden()
  const tsp = table.getByRole('row').filter({ hasText: 'Travelling salesman' })
  await expect(tsp).toContainText('starter')
  await expect(tsp).toContainText('tsp')
  await expect(tsp).toContainText('starter/tsp-local-search.md')
  await expect(table).not.toContainText('pending')
  await page.getByLabel('Search text').fill('double bridge kick')
  await page.getByRole('button', { name: 'Search' }).click()
  await expect(page.getByTestId('search-hit').first()).toContainText('Travelling salesman')
  // a second import (the CLI's --starter, the same service) creates nothing
  const again = await api<Array<{ status: string }>>(page, 'mutation', 'knowledge.importStarter', undefined)
  expect(again.map((r) => r.status)).toEqual(Array(7).fill('unchanged'))
  // leave the base as it was for the other tests, which search it
  const docs = await api<{ docs: Array<{ id: string; sourcePath: string | null }> }>(page, 'query', 'knowledge.list', {
    limit: 100,
  })
  for (const d of docs.docs.filter((d) => d.sourcePath?.startsWith('starter/')))
    await api(page, 'mutation', 'knowledge.delete', { id: d.id })
})

test('add a document in the editor, then find it by search with highlights', async ({ page }) => {
  await login(page)
  // Monaco: click into the editor and type like a user
  await writeDocument(
    page,
    'Hexagonal packing notes',
    '# Hexagonal lattice\n\nCircles placed on a hexagonal lattice cover about 90.7% of the plane.\n\n## Caveat\n\nNear the walls the lattice must be trimmed.',
  )
  await page.getByLabel('Tags').fill('geometry, packing')
  await expect(page.getByTestId('doc-preview').getByRole('heading', { name: 'Hexagonal lattice' })).toBeVisible()
  await page.getByRole('button', { name: 'Create' }).click()
  await expect(page).toHaveURL(/\/knowledge\/doc\/[0-9a-f-]{36}$/)
  await expect(page.getByText('embedded', { exact: true })).toBeVisible()
  await expect(page.getByTestId('chunks-table')).toContainText('Hexagonal lattice › Caveat')

  await page.getByRole('link', { name: 'Documents' }).click()
  await expect(page.getByTestId('documents-table')).toContainText('Hexagonal packing notes')
  // Download all: a tar of the files kb export writes, this document's among them
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('knowledge-download').click()])
  expect(download.suggestedFilename()).toMatch(/^fm-agent-knowledge-\d{4}-\d\d-\d\d\.tar$/)
  const archive = readFileSync((await download.path())!, 'utf8')
  expect(archive).toMatch(/hexagonal-packing-notes-[0-9a-f]{8}\.md/)
  expect(archive).toContain('fm-agent-export: 1\ntitle: "Hexagonal packing notes"\ntags: ["geometry","packing"]')
  await page.getByLabel('Search text').fill('circles lattice plane')
  await page.getByRole('button', { name: 'Search' }).click()
  const first = page.getByTestId('search-hit').first()
  await expect(first).toContainText('Hexagonal packing notes')
  await expect(first).toContainText('words #1')
  await expect(first.locator('mark').first()).toBeVisible()
  await expect(first.locator('mark', { hasText: 'lattice' }).first()).toBeVisible()
  await expect(page.getByTestId('no-word-match')).toHaveCount(0)
  // misspelt, it shares no word with any document: the nearest by the embedding are shown, and said to be only that
  await page.getByLabel('Search text').fill('latice hexagonl')
  await page.getByRole('button', { name: 'Search' }).click()
  await expect(page.getByTestId('no-word-match')).toContainText('No document shares a word with the query')
})

test('import files from the browser; a notebook becomes markdown, a binary file is refused with a reason', async ({
  page,
}) => {
  // 3 MiB with its plot: over the API's limit per document as JSON, so the browser must convert it
  const notebook = {
    cells: [
      { cell_type: 'markdown', source: '# Quench schedules\n\nQuenching by a factor of 0.95 worked best.' },
      {
        cell_type: 'code',
        source: 'def quench(heat):\n    return 0.95 * heat',
        outputs: [{ output_type: 'display_data', data: { 'image/png': 'A'.repeat(3 * 1024 * 1024) } }],
      },
    ],
  }
  await login(page)
  await page.goto('/knowledge')
  await page.getByRole('button', { name: 'Import files' }).click()
  await page.getByLabel('Choose files to import').setInputFiles([
    {
      name: 'two_opt.py',
      mimeType: 'text/x-python',
      buffer: Buffer.from('def two_opt_swap(tour, i, j):\n    tour[i:j] = tour[i:j][::-1]\n    return tour\n'),
    },
    { name: 'blob.txt', mimeType: 'text/plain', buffer: Buffer.from([0x48, 0, 0x49]) },
    { name: 'quench.ipynb', mimeType: 'application/x-ipynb+json', buffer: Buffer.from(JSON.stringify(notebook)) },
  ])
  const results = page.getByTestId('import-results')
  await expect(results).toContainText('two_opt.py')
  await expect(results.getByRole('row', { name: /quench\.ipynb/ })).toContainText('created')
  await expect(results.getByRole('row', { name: /quench\.ipynb/ })).toContainText('Quench schedules')
  await expect(results).toContainText('looks binary')
  await page.getByLabel('Search text').fill('two opt swap')
  await page.getByRole('button', { name: 'Search' }).click()
  await expect(page.getByTestId('search-hit').first()).toContainText('two_opt.py')
  await page.getByLabel('Search text').fill('quench heat')
  await page.getByRole('button', { name: 'Search' }).click()
  await expect(page.getByTestId('search-hit').first()).toContainText('Quench schedules')
})

test('an over-long file is skipped with its size and the limit, the rest imported; a failed request names its files', async ({
  page,
}) => {
  const errors = pageErrors(page)
  await login(page)
  await page.goto('/knowledge')
  await page.getByRole('button', { name: 'Import files' }).click()
  const picker = page.getByLabel('Choose files to import')
  await picker.setInputFiles([
    { name: 'fresh1.md', mimeType: 'text/markdown', buffer: Buffer.from('# Fresh one\n\nAbout numbats.\n') },
    // under the 2 MiB file limit, over the 524,288-character document limit
    { name: 'huge.md', mimeType: 'text/markdown', buffer: Buffer.from(`# Huge\n\n${'lorem ipsum\n'.repeat(50_000)}`) },
    { name: 'fresh2.md', mimeType: 'text/markdown', buffer: Buffer.from('# Fresh two\n\nAbout bilbies.\n') },
  ])
  const results = page.getByTestId('import-results')
  await expect(results.getByRole('row', { name: /fresh1\.md/ })).toContainText('created')
  await expect(results.getByRole('row', { name: /fresh2\.md/ })).toContainText('created')
  await expect(results.getByRole('row', { name: /huge\.md/ })).toContainText(
    'skipped600,008 characters, over the 524,288-character document limit; split it',
  )
  // the request is lost on the way: each of its files says so, nothing is thrown
  await page.route('**/api/trpc/knowledge.import**', (route) => route.abort(), { times: 1 })
  await picker.setInputFiles([
    { name: 'lost.md', mimeType: 'text/markdown', buffer: Buffer.from('# Lost\n\nNever arrives.\n') },
  ])
  await expect(results.getByRole('row', { name: /lost\.md/ })).toContainText('failed')
  expect(errors).toEqual([])
})

test('a picked file named like an existing document with other content is replaced only when the user says so', async ({
  page,
}) => {
  const errors = pageErrors(page)
  const readme = (body: string) => [{ name: 'README.md', mimeType: 'text/markdown', buffer: Buffer.from(body) }]
  await login(page)
  await page.goto('/knowledge')
  await page.getByRole('button', { name: 'Import files' }).click()
  const picker = page.getByLabel('Choose files to import')
  const results = page.getByTestId('import-results')
  const row = results.getByRole('row', { name: /README\.md/ })
  await picker.setInputFiles(readme('# Project A readme\n\nHow project A builds.\n'))
  await expect(row).toContainText('created')
  // another project's README: nothing is replaced until the user chooses
  await picker.setInputFiles(readme('# Project B readme\n\nHow project B deploys.\n'))
  const ask = page.getByRole('alertdialog', { name: 'replace existing documents?' })
  await expect(ask).toContainText('README.md holds “Project A readme”')
  await expect(row).toContainText('conflict')
  await ask.getByRole('button', { name: 'Keep both' }).click()
  await expect(row).toContainText('kept beside the existing document, as README (2).md: Project B readme')
  await picker.setInputFiles(readme('# Project A readme, revised\n\nHow project A builds now.\n'))
  await ask.getByRole('button', { name: 'Replace it' }).click()
  await expect(row).toContainText('replaced')
  await expect(row).toContainText('replaced the earlier content of this document: Project A readme, revised')
  await expect(ask).toHaveCount(0)
  expect(errors).toEqual([])
})

test('a document added in the console is retrieved by a stalled run, sent in its prompts and shown in its history', async ({
  page,
}) => {
  const key = process.env.FM_E2E_OPENAI_KEY!
  const server = await startOpenAiTestServer({ apiKey: key })
  const marker = `quokka-${Date.now().toString(36)}`
  try {
    await login(page)
    await writeDocument(
      page,
      'Curve fitting advice',
      `# Fitting a hidden smooth function\n\nWhen the coefficients of predict(x) stop improving the mean squared error, move the quadratic coefficient toward 1.3 and the offset toward 0.25 (${marker}).`,
    )
    await page.getByRole('button', { name: 'Create' }).click()
    await expect(page).toHaveURL(/\/knowledge\/doc\/[0-9a-f-]{36}$/)
    const docUrl = page.url()
    await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })

    // a run that stalls quickly (a short stagnation window) with the scripted model server
    const runId = await startScriptedRun(page, {
      name: 'e2e knowledge',
      islands: 2,
      maxEvals: 60,
      stagnationWindow: 3,
      modelUrl: server.url,
    })
    await expect(page.getByTestId('status-badge').first()).toHaveText('completed', { timeout: 240_000 })
    // the model server received the document in the prompts of the stalled islands
    expect(server.chatRequests().some((r) => JSON.stringify(r.body).includes(marker))).toBe(true)

    // the document's chunk lists the run and the candidates it informed
    await page.goto(docUrl)
    await page.getByTestId('chunks-table').getByRole('button', { name: 'History' }).first().click()
    const history = page.getByTestId('chunk-history')
    await expect(history.getByRole('link', { name: runId.slice(0, 8) }).first()).toBeVisible()
    await expect(history).not.toContainText("No candidate's prompt has included it yet.")

    // one of those candidates shows the chunk as retrieved knowledge, and its prompt holds it
    await history.locator('a[href*="/candidates/"]').first().click()
    await expect(page.getByTestId('candidate-page')).toBeVisible()
    await expect(page.getByTestId('knowledge-used')).toContainText('Curve fitting advice')
    await expect(page.getByTestId('prompt')).toContainText(marker)
  } finally {
    await server.close()
  }
})

test('a knowledge base of more documents than a page is listed page by page', async ({ page }) => {
  await login(page)
  // 105 short notes under a tag of their own (two imports: at most 100 files a request)
  const notes = Array.from({ length: 105 }, (_, i) => ({
    path: `paging/note-${String(i).padStart(3, '0')}.md`,
    content: `# Paging note ${i}\n\nA short note, number ${i}, for the list's pages.\n`,
  }))
  const imported: Array<{ status: string; docId?: string }> = []
  for (const files of [notes.slice(0, 100), notes.slice(100)])
    imported.push(
      ...(await api<Array<{ status: string; docId?: string }>>(page, 'mutation', 'knowledge.import', {
        files,
        tags: ['paging-e2e'],
      })),
    )
  expect(imported.filter((r) => r.status === 'created')).toHaveLength(105)
  await page.goto('/knowledge')
  await page.getByLabel('Filter by title').fill('Paging note')
  const pages = page.getByTestId('documents-pages')
  await expect(pages).toContainText('1–100 of 105')
  await expect(page.getByTestId('documents-table').getByRole('row')).toHaveCount(101)
  await pages.getByRole('button', { name: 'Next →' }).click()
  await expect(pages).toContainText('101–105 of 105')
  await expect(page.getByTestId('documents-table').getByRole('row')).toHaveCount(6)
  await expect(pages.getByRole('button', { name: 'Next →' })).toBeDisabled()
  // a new filter starts again at the first page: notes 1, 10–19 and 100–104
  await page.getByLabel('Filter by title').fill('Paging note 1')
  await expect(page.getByTestId('documents-table').getByRole('row')).toHaveCount(17)
  await expect(pages).toBeHidden()
  for (const r of imported) if (r.docId) await api(page, 'mutation', 'knowledge.delete', { id: r.docId })
})
