import { ADMIN, expect, login, test } from './fixtures.ts'

test('an anonymous visitor is sent to the login page, and a wrong password is refused', async ({ page }) => {
  await page.goto('/runs')
  await expect(page).toHaveURL(/\/login\?next=%2Fruns/)
  await page.getByLabel('Email').fill(ADMIN.email)
  await page.getByLabel('Password').fill('not-the-password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong email or password' })).toBeVisible()
})

test('the admin logs in and sees the console', async ({ page }) => {
  await login(page)
  const nav = page.getByRole('navigation', { name: 'main' })
  for (const section of ['Runs', 'Problems', 'Knowledge', 'Workers', 'Settings']) {
    await expect(nav.getByRole('link', { name: section })).toBeVisible()
  }
  await expect(page.getByTestId('whoami')).toContainText(ADMIN.email)
  await expect(page.getByTestId('whoami')).toContainText('admin')
  await nav.getByRole('link', { name: 'Problems' }).click()
  await expect(page.getByTestId('problems-table')).toContainText('circle-packing-26')
})

test('session cookies are httpOnly and SameSite', async ({ page, context }) => {
  await login(page)
  const cookies = await context.cookies()
  const session = cookies.find((c) => c.name.includes('session_token'))
  expect(session, 'a session cookie').toBeTruthy()
  expect(session!.httpOnly).toBe(true)
  expect(session!.sameSite).toBe('Lax')
})
