// The expert's editor around a candidate's diff, in Chromium against the real app:
//  - leaving a candidate page with its diff open for the editor throws nothing (Monaco's diff
//    editor is torn down with its models detached first);
//  - pause, craft an edit, resume: on a paused run the editor says the edit waits, queues it, and
//    the admin's Resume beside the note gets it evaluated, and its page names its author.
import { fileURLToPath } from 'node:url'
import { ADMIN, api, expect, login, pageErrors, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

test('a diff left for the editor throws nothing; an edit on a paused run is evaluated after the resume', async ({
  page,
}) => {
  const errors = pageErrors(page)
  await login(page)
  await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
  const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
    problemId: 'test-curve-fit',
    name: 'e2e paused edit',
    // a budget no machine spends before the test is done: it stops the run at its end
    config: { islands: 2, budget: { maxEvals: 1_000_000 }, seed: 21 },
  })
  await page.goto(`/runs/${run.id}`)
  await expect(page.getByTestId('status-badge').first()).toHaveText('evolving', { timeout: 90_000 })
  // from the keyboard: the pressed button is replaced, the focus stays in the run's actions
  await page.getByRole('button', { name: 'Pause', exact: true }).focus()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('status-badge').first()).toHaveText('paused', { timeout: 60_000 })
  await expect(page.getByTestId('status-announcement')).toHaveText('Run paused')
  await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).not.toBe('BODY')
  // a paused run can be stopped as it is, not only resumed or deleted
  await expect(page.getByRole('button', { name: 'Stop', exact: true })).toBeVisible()

  // a candidate with a parent: its page opens on the diff
  const lineage = await api<{ edges: Array<{ from: string; to: string }> }>(page, 'query', 'candidates.lineage', {
    runId: run.id,
  })
  const child = lineage.edges[0]!.to
  await page.goto(`/runs/${run.id}/candidates/${child}`)
  await expect(page.getByTestId('candidate-diff').locator('.monaco-diff-editor')).toBeVisible({ timeout: 30_000 })
  await page.getByTestId('edit-candidate').click()
  const editor = page.getByTestId('monaco-edit')
  await expect(editor.locator('.monaco-editor')).toBeVisible({ timeout: 30_000 })
  expect(errors).toEqual([])

  // the paused run: the editor says what happens to an edit, and queues it
  await expect(page.getByTestId('edit-run-note')).toContainText('evaluates it when the run resumes')
  await editor.locator('.view-lines').click()
  await page.keyboard.press('Control+End')
  // a statement, not a comment: a program that differs from its parent only in comments is refused
  await page.keyboard.type('\ntried_while_paused = 1\n')
  await page.getByTestId('submit-edit').click()
  const submitted = page.getByTestId('edit-submitted')
  await expect(submitted.getByTestId('command-status')).toHaveAttribute('data-status', 'pending')
  await page.getByTestId('edit-run-note').getByRole('button', { name: 'Resume the run' }).click()
  await expect(submitted.getByTestId('command-status')).toHaveAttribute('data-status', 'applied', {
    timeout: 60_000,
  })
  await submitted.getByRole('link').click()
  const candidate = page.getByTestId('candidate-page')
  await expect(candidate).toHaveAttribute('data-origin', 'expert-edit')
  await expect(candidate).toHaveAttribute('data-status', 'evaluated', { timeout: 60_000 })
  // another expert reading it sees whose edit it is
  await expect(page.getByTestId('edited-by')).toHaveText(ADMIN.email)
  await api(page, 'mutation', 'runs.stop', { runId: run.id }).catch(() => undefined)
  expect(errors).toEqual([])
})
