// An admin reads and filters the audit log in the console: interventions made in the UI (a user
// added, a role changed) appear with their author, time, and the state before and after; filters
// by action and actor narrow the table; a non-admin cannot read it; an admin sees and revokes
// another user's API token.
import { ADMIN, api, expect, login, test } from './fixtures.ts'

test('an admin finds an intervention in the audit log and filters it', async ({ page }) => {
  await login(page)
  const email = `audited-${Date.now()}@example.test`
  // an intervention through the UI: add a user, then change their role
  await page.goto('/settings')
  await page.getByPlaceholder('email').fill(email)
  await page.getByRole('button', { name: 'Add user' }).click()
  await expect(page.getByText(`${email}:`)).toBeVisible()
  const row = page.getByRole('row').filter({ hasText: email })
  await row.getByRole('combobox').selectOption('expert')
  await expect(row.getByRole('combobox')).toHaveValue('expert')
  // the admin role is asked again: dismissed, nothing changes
  const asked: string[] = []
  page.once('dialog', (d) => (asked.push(d.message()), d.dismiss()))
  await row.getByRole('combobox').selectOption('admin')
  await expect
    .poll(() => asked)
    .toEqual([`Make ${email} an admin? Admins manage users, models, secrets and every run.`])
  await expect(row.getByRole('combobox')).toHaveValue('expert')

  // from Settings to the log
  await page.getByRole('link', { name: 'Audit log' }).click()
  await expect(page).toHaveURL(/\/settings\/audit$/)
  const table = page.getByTestId('audit-table')
  await expect(table).toBeVisible()

  await page.getByLabel('Action').fill('user.update')
  await page.getByRole('button', { name: 'Filter' }).click()
  const rows = table.getByTestId('audit-row')
  await expect(rows.first()).toContainText('user.update')
  for (const text of await rows.allTextContents()) expect(text).toContain('user.update')
  const change = rows.filter({ hasText: email }).first()
  await expect(change).toContainText(ADMIN.email) // author
  await expect(change.getByTestId('audit-before').first()).toContainText('"role": "viewer"')
  await expect(change.getByTestId('audit-after').first()).toContainText('"role": "expert"')
  // a time is shown, and it is today's
  const time = await change.locator('td').first().getAttribute('title')
  expect(Math.abs(Date.parse(time!) - Date.now())).toBeLessThan(10 * 60_000)

  // the creation, by action prefix
  await page.getByLabel('Action').fill('user.')
  await page.getByRole('button', { name: 'Filter' }).click()
  await expect(rows.filter({ hasText: 'user.create' }).first()).toBeVisible()

  // an actor nobody is: nothing
  await page.getByLabel('Action').fill('')
  await page.getByLabel('Actor').fill('nobody-at-all')
  await page.getByRole('button', { name: 'Filter' }).click()
  await expect(page.getByText('No audit events match.')).toBeVisible()
  await page.getByRole('button', { name: 'Clear' }).click()
  await expect(rows.first()).toBeVisible()
})

test('a viewer cannot read the audit log', async ({ page, browser }) => {
  await login(page)
  // a viewer with a known password, made through the API as the admin would
  const email = `viewer-${Date.now()}@example.test`
  const created = await page.evaluate(async (email) => {
    const res = await fetch('/api/trpc/users.create', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email, role: 'viewer' } }),
    })
    return (await res.json()).result.data.json as { oneTimePassword: string }
  }, email)
  const ctx = await browser.newContext()
  const viewer = await ctx.newPage()
  await viewer.goto('/login')
  await viewer.getByLabel('Email').fill(email)
  await viewer.getByLabel('Password').fill(created.oneTimePassword)
  await viewer.getByRole('button', { name: 'Sign in' }).click()
  // a one-time password must be replaced before anything else answers
  await expect(viewer.getByTestId('password-change-required')).toBeVisible()
  await viewer.getByLabel('Current password').fill(created.oneTimePassword)
  await viewer.getByLabel(/New password/).fill('a-viewer-password-of-her-own')
  await viewer.getByRole('button', { name: 'Change password' }).click()
  // the session the change is made from stays signed in
  await expect(viewer.getByTestId('password-change-required')).toBeHidden()
  await viewer.goto('/settings/audit')
  await expect(
    viewer.getByText('The audit log is for admins.').or(viewer.getByText(/needs the admin role/)),
  ).toBeVisible()
  await expect(viewer.getByTestId('audit-row')).toHaveCount(0)

  // the viewer's token, leaked say: the admin finds it among everyone's and revokes it
  const token = await api<{ id: string }>(viewer, 'mutation', 'tokens.create', { name: 'viewer laptop', scope: 'cli' })
  await page.goto('/settings')
  await page.getByTestId('tokens-everyone').check()
  const row = page.getByTestId('tokens-table').getByRole('row').filter({ hasText: 'viewer laptop' })
  await expect(row).toContainText(email)
  await row.getByRole('button', { name: `Revoke viewer laptop of ${email}` }).click()
  await expect(row.getByText('revoked')).toBeVisible()
  const mine = await api<Array<{ id: string; revokedAt: string | null }>>(viewer, 'query', 'tokens.mine', undefined)
  expect(mine.find((t) => t.id === token.id)?.revokedAt).toBeTruthy()
  await ctx.close()
})
