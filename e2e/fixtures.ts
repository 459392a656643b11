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
        if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:')
          return route.continue()
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
  // bounded: a refused sign-in (wrong password, rate limit) fails here, not at the test's timeout
  await page.waitForURL(/\/runs/, { timeout: 30_000 })
}

/**
 * The uncaught errors of a page (`pageerror`: an exception no code caught, as an error tracker or
 * the dev overlay would report it), collected from now on; assert the list is empty.
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`))
  return errors
}

/** A tRPC call from the signed-in page (same origin, the session cookie), for set-up only. */
export async function api<T>(page: Page, kind: 'query' | 'mutation', path: string, input: unknown): Promise<T> {
  return page.evaluate(
    async ({ kind, path, input }) => {
      const url =
        kind === 'query'
          ? `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`
          : `/api/trpc/${path}`
      const res = await fetch(
        url,
        kind === 'query'
          ? {}
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: input }) },
      )
      const body = await res.json()
      if (!res.ok) throw new Error(`${path}: ${JSON.stringify(body)}`)
      return body.result.data.json
    },
    { kind, path, input },
  ) as Promise<T>
}

/**
 * Starts a run of the curve-fit fixture from the New run form, its model the scripted
 * OpenAI-protocol server at `modelUrl` (the key in FM_E2E_OPENAI_KEY, which the server process
 * holds); returns the run's id once its dashboard is open.
 */
export async function startScriptedRun(
  page: Page,
  o: { name: string; islands: number; maxEvals: number; modelUrl: string; stagnationWindow?: number },
) {
  await page.goto('/runs/new')
  await page.getByLabel('Problem').selectOption('test-curve-fit')
  await page.getByLabel('Name').fill(o.name)
  await page.getByLabel('Islands').fill(String(o.islands))
  await page.getByLabel('Budget: evaluations').fill(String(o.maxEvals))
  if (o.stagnationWindow) await page.getByLabel('Stagnation window').fill(String(o.stagnationWindow))
  await page.getByLabel('language models').check()
  await page.getByLabel('provider 1').selectOption('openai')
  await page.getByLabel('model 1').fill('scripted-coder')
  await page.getByLabel('base URL 1').fill(o.modelUrl)
  await page.getByLabel('key variable 1').fill('FM_E2E_OPENAI_KEY')
  await page.getByRole('button', { name: 'Start the run' }).click()
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
  return /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!
}
