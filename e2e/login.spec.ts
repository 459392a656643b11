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

// a password change ends the user's other sessions, never the one it is made from: the forced first
// change lets the user in, and one from Settings stays on the page and says what it ended
test('a password change keeps the session it is made from and signs the others out', async ({ page, browser }) => {
  await login(page)
  const email = `changer-${Date.now()}@example.test`
  const { oneTimePassword } = await api<{ oneTimePassword: string }>(page, 'mutation', 'users.create', {
    email,
    role: 'viewer',
  })
  const ctx = await browser.newContext()
  const user = await ctx.newPage()
  const signIn = async (p: typeof user, password: string) => {
    await p.goto('/login')
    await p.getByLabel('Email').fill(email)
    await p.getByLabel('Password', { exact: true }).fill(password)
    await p.getByRole('button', { name: 'Sign in' }).click()
  }
  await signIn(user, oneTimePassword)
  await expect(user.getByTestId('password-change-required')).toBeVisible()
  await user.getByLabel('Current password').fill(oneTimePassword)
  await user.getByLabel(/New password/).fill('first-password-of-mine')
  await user.getByRole('button', { name: 'Change password' }).click()
  await expect(user.getByTestId('password-change-required')).toBeHidden()
  await expect(user.getByTestId('whoami')).toContainText(email)

  // a second browser of the same user is signed out by a change from Settings in the first
  const otherCtx = await browser.newContext()
  const other = await otherCtx.newPage()
  await signIn(other, 'first-password-of-mine')
  await other.waitForURL((u) => !u.pathname.startsWith('/login'))
  await user.goto('/settings')
  await user.getByLabel('Current password').fill('first-password-of-mine')
  await user.getByLabel(/New password/).fill('second-password-of-mine')
  await user.getByRole('button', { name: 'Change password' }).click()
  await expect(user.getByTestId('password-changed')).toContainText('1 other session signed out')
  await user.reload()
  await expect(user.getByRole('heading', { name: 'Settings' })).toBeVisible()
  await other.goto('/settings')
  await other.waitForURL(/\/login\?/)
  await otherCtx.close()
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
