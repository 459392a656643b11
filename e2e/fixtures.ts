// Every end-to-end test runs with a guard that aborts any request leaving 127.0.0.1 and fails
// the test if one was attempted: the console must work offline, behind any firewall.
import { expect, test as base, type Page } from '@playwright/test'

export const ADMIN = { email: 'admin@fm-agent.local', password: 'e2e-admin-password' }

export const test = base.extend<{ offlineGuard: string[] }>({
  offlineGuard: [
    async ({ context }, use) => {
      const outside: string[] = []
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url())
        if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue()
        outside.push(url.href)
        return route.abort('blockedbyclient')
      })
      await use(outside)
      expect(outside, 'requests that tried to leave 127.0.0.1').toEqual([])
    },
    { auto: true },
  ],
})

export { expect }

export async function login(page: Page, who = ADMIN) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password').fill(who.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/\/runs/)
}
