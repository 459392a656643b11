// The Problems page says which problems can run on this machine, and a run of one that cannot is
// refused with the reason. This machine has what the CPU problems need (scripts/test-setup.sh) and
// no GPU worker: the gpu-* problems are the ones that cannot run here.
import { expect, login, test } from './fixtures.ts'

test('the Problems page marks what can run here; a run that cannot is refused with the reason', async ({ page }) => {
  await login(page)
  await page.goto('/problems')
  await expect(page.getByTestId('problems-table')).toBeVisible()
  await expect(page.getByTestId('runs-here-circle-packing-26')).toHaveText('ready')
  await expect(page.getByTestId('runs-here-cpu-matmul')).toHaveText('ready')
  await expect(page.getByTestId('runs-here-gpu-softmax')).toHaveText('needs a GPU worker')
  // GPU problems do not make the machine unready: no alert for them
  await expect(page.getByTestId('problems-prerequisites')).toHaveCount(0)

  // a problem's id opens the new-run form with it chosen
  await page.getByRole('link', { name: 'gpu-softmax', exact: true }).click()
  await expect(page).toHaveURL(/\/runs\/new\?problem=gpu-softmax$/)
  await expect(page.getByLabel('Problem')).toHaveValue('gpu-softmax')
  await expect(page.getByTestId('problem-cannot-run')).toContainText(
    'This problem cannot run on this machine: it needs a GPU worker.',
  )
  await page.getByRole('button', { name: 'Start the run' }).click()
  await expect(page.getByRole('alert').filter({ hasText: 'The run was not created' })).toContainText(
    'problem "gpu-softmax" cannot run on this machine: it needs a GPU worker',
  )
  await expect(page).toHaveURL(/\/runs\/new/)

  await page.getByLabel('Problem').selectOption('circle-packing-26')
  await expect(page.getByTestId('problem-cannot-run')).toHaveCount(0)
})
