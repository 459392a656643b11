import { ADMIN, api, expect, login, test } from './fixtures.ts'

test('an anonymous visitor is sent to the login page, and a wrong password is refused', async ({ page }) => {
  await page.goto('/runs')
  await expect(page).toHaveURL(/\/login\?next=%2Fruns/)
  await expect(page).toHaveTitle('Sign in · FM Agent')
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
  // each page has its own title; the first Tab stop skips the sidebar to the page
  await expect(page).toHaveTitle('Runs · FM Agent')
  await page.keyboard.press('Tab')
  await expect(page.getByRole('link', { name: 'Skip to the page' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.locator('#content')).toBeFocused()
  await nav.getByRole('link', { name: 'Problems' }).click()
  await expect(page.getByTestId('problems-table')).toContainText('circle-packing-26')
  await expect(page).toHaveTitle('Problems · FM Agent')
})

test('session cookies are httpOnly and SameSite', async ({ page, context }) => {
  await login(page)
  const cookies = await context.cookies()
  const session = cookies.find((c) => c.name.includes('session_token'))
  expect(session, 'a session cookie').toBeTruthy()
  expect(session!.httpOnly).toBe(true)
  expect(session!.sameSite).toBe('Lax')
})

// a password change ends every session of the user: the console goes to the login page and says
// why, for the forced first change and for one from Settings, and signing in again goes back
test('after a password change the login page says so, and signing in goes back where the user was', async ({
  page,
  browser,
}) => {
  await login(page)
  const email = `changer-${Date.now()}@example.test`
  const { oneTimePassword } = await api<{ oneTimePassword: string }>(page, 'mutation', 'users.create', {
    email,
    role: 'viewer',
  })
  const ctx = await browser.newContext()
  const user = await ctx.newPage()
  const signIn = async (password: string) => {
    await user.getByLabel('Email').fill(email)
    await user.getByLabel('Password', { exact: true }).fill(password)
    await user.getByRole('button', { name: 'Sign in' }).click()
  }
  await user.goto('/login')
  await signIn(oneTimePassword)
  await expect(user.getByTestId('password-change-required')).toBeVisible()
  await user.getByLabel('Current password').fill(oneTimePassword)
  await user.getByLabel(/New password/).fill('first-password-of-mine')
  await user.getByRole('button', { name: 'Change password' }).click()
  await expect(user.getByTestId('login-notice')).toHaveText('Password changed: sign in with your new password.')
  await signIn('first-password-of-mine')
  await user.waitForURL((u) => !u.pathname.startsWith('/login'))

  // from Settings: the page does not stay (its calls would be refused), it says why on the login page
  await user.goto('/settings')
  await user.getByLabel('Current password').fill('first-password-of-mine')
  await user.getByLabel(/New password/).fill('second-password-of-mine')
  await user.getByRole('button', { name: 'Change password' }).click()
  await user.waitForURL(/\/login\?/)
  await expect(user.getByTestId('login-notice')).toHaveText('Password changed: sign in with your new password.')
  expect(new URL(user.url()).searchParams.get('next')).toBe('/settings')
  await signIn('second-password-of-mine')
  await user.waitForURL((u) => u.pathname === '/settings')
  await expect(user.getByRole('heading', { name: 'Settings' })).toBeVisible()
  await ctx.close()
})

test('the console has an icon, also on the login page before sign-in', async ({ page }) => {
  const failed: string[] = []
  page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`))
  await page.goto('/login')
  const href = await page.locator('link[rel="icon"]').first().getAttribute('href')
  const icon = await page.request.get(href!)
  expect(icon.status()).toBe(200)
  expect(icon.headers()['content-type']).toMatch(/image\//)
  const ico = await page.request.get('/favicon.ico', { maxRedirects: 0 })
  expect(ico.status()).toBe(200)
  expect(failed).toEqual([])
})

test('a page whose session ended (signed out elsewhere, expired, disabled) goes to the login page, saying why', async ({
  page,
}) => {
  await login(page)
  await page.goto('/problems')
  await expect(page.getByTestId('problems-table')).toBeVisible()
  // the session ends outside this page: the cookie it holds is revoked on the server
  const out = await page.evaluate(
    async () =>
      (
        await fetch('/api/auth/sign-out', {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
  )
  expect(out).toBe(200)
  await expect(page).toHaveURL(/\/login\?notice=signed-out&next=%2Fproblems/, { timeout: 60_000 })
  await expect(page.getByTestId('login-notice')).toContainText('Your session ended')
})
