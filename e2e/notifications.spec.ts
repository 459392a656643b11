// Notifications in the browser and by webhook: the user switches browser notifications on and
// saves a webhook URL (a receiver this test runs on 127.0.0.1, standing for the user's own
// service); a test message arrives; the run they start (and so watch) completes: the browser
// raises a notification and the receiver gets the JSON message; the outcomes are listed.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { verifySignature } from '../server/notify/webhook.ts'
import { api, expect, login, test } from './fixtures.ts'

const CURVE_FIT = fileURLToPath(new URL('../test-support/problems/curve-fit', import.meta.url))

test('a watched run that completes notifies in the browser and at the user’s webhook; outcomes are shown', async ({
  page,
  context,
}) => {
  const got: Array<{
    path: string
    body: { type: string; id: string; text: string; run: { id: string; status: string; url: string | null } | null }
    raw: string
    signature: string
  }> = []
  const server: Server = createServer((req, res) => {
    let data = ''
    req.on('data', (c) => (data += c))
    req.on('end', () => {
      got.push({
        path: req.url ?? '',
        body: JSON.parse(data),
        raw: data,
        signature: String(req.headers['x-fm-agent-signature']),
      })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    await context.grantPermissions(['notifications'])
    // what the page shows as system notifications, recorded (they are real notifications too)
    await page.addInitScript(() => {
      const Native = window.Notification
      const shown: Array<{ title: string; body?: string }> = []
      ;(window as unknown as { __notes: typeof shown }).__notes = shown
      class Recorded extends Native {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options)
          shown.push({ title, body: options?.body })
        }
      }
      window.Notification = Recorded as typeof Notification
    })
    await login(page)
    await page.goto('/settings')
    const panel = page.getByTestId('notification-settings')
    await panel.getByLabel('notify me here while a console tab is open').check()
    await panel.getByLabel('webhook URL').fill('ftp://not-a-webhook')
    await panel.getByRole('button', { name: 'Save' }).click()
    await expect(panel.getByRole('alert')).toContainText('http://')
    await panel.getByLabel('webhook URL').fill(`${hook}/me`)
    await panel.getByRole('button', { name: 'Save' }).click()
    await panel.getByRole('button', { name: 'Send a test' }).click()
    await expect(panel.getByTestId('test-outcome')).toContainText('Delivered (HTTP 200)')
    expect(got.map((g) => [g.path, g.body.type])).toEqual([['/me', 'test']])
    // the secret the page shows verifies the message the receiver got
    await panel.getByRole('button', { name: 'Show the secret' }).click()
    const secret = (await panel.getByTestId('webhook-secret-value').textContent())!.trim()
    expect(verifySignature(secret, got[0]!.raw, got[0]!.signature)).toBe(true)
    // a secret that leaked is replaced, after a warning; the next message verifies with the new one only
    await panel.getByRole('button', { name: 'New secret…' }).click()
    await expect(panel.getByRole('group', { name: 'new secret' })).toContainText('stop verifying')
    await panel.getByRole('button', { name: 'Make a new secret' }).click()
    await expect(panel.getByTestId('secret-rotated')).toBeVisible()
    await expect(panel.getByTestId('webhook-secret-value')).not.toHaveText(secret)
    const renewed = (await panel.getByTestId('webhook-secret-value').textContent())!.trim()
    await panel.getByRole('button', { name: 'Send a test' }).click()
    await expect.poll(() => got.length, { timeout: 30_000 }).toBe(2)
    expect(verifySignature(renewed, got[1]!.raw, got[1]!.signature)).toBe(true)
    expect(verifySignature(secret, got[1]!.raw, got[1]!.signature)).toBe(false)
    // both test messages, the one before the new secret and the one after, listed as delivered
    await expect(panel.locator('[data-testid="delivery"][data-type="test"][data-status="delivered"]')).toHaveCount(2)

    // a run this admin starts: watched, so notified when it completes
    await api(page, 'mutation', 'problems.import', { path: CURVE_FIT })
    const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
      problemId: 'test-curve-fit',
      name: 'e2e notify me',
      config: { islands: 2, stagnationWindow: 4, budget: { maxEvals: 60 }, seed: 41 },
    })
    await page.goto(`/runs/${run.id}`)
    await expect(page.getByTestId('watch')).toHaveText('★ Watching')
    await expect(page.getByTestId('status-badge').first()).toHaveText('completed', { timeout: 180_000 })
    await expect
      .poll(() => got.filter((g) => g.body.type === 'run.completed' && g.body.run?.id === run.id).length, {
        timeout: 30_000,
      })
      .toBe(1)
    const done = got.find((g) => g.body.type === 'run.completed')!.body
    expect(done.run).toMatchObject({
      id: run.id,
      status: 'completed',
      url: expect.stringMatching(new RegExp(`/runs/${run.id}$`)),
    })
    expect(done.text).toContain('e2e notify me completed')
    // stalls of one run are folded: at most one message
    expect(got.filter((g) => g.body.type === 'run.stalled').length).toBeLessThanOrEqual(1)
    await expect
      .poll(
        () =>
          page.evaluate(() => (window as unknown as { __notes: Array<{ title: string }> }).__notes.map((n) => n.title)),
        { timeout: 30_000 },
      )
      .toContain('e2e notify me completed')

    // the run's own tab: its watchers, a run webhook (experts), what was sent about it
    await page.getByRole('link', { name: 'Notifications', exact: true }).click()
    const tab = page.getByTestId('run-notifications')
    await expect(tab).toContainText('1 person watches this run, you among them')
    await expect(tab.locator('[data-testid="delivery"][data-type="run.completed"]')).toHaveAttribute(
      'data-status',
      'delivered',
    )
    await tab.getByLabel('run webhook URL').fill(`${hook}/team`)
    await tab.getByRole('button', { name: 'Save' }).click()
    await tab.getByRole('button', { name: 'Send a test' }).click()
    await expect.poll(() => got.filter((g) => g.path === '/team').length, { timeout: 30_000 }).toBe(1)
    // stop watching: the settings page lists it, then no longer (beside the runs other specs started)
    const unwatchOnSettings = page.getByRole('button', { name: 'stop watching e2e notify me' })
    const runPage = page.url()
    await page.goto('/settings')
    await expect(unwatchOnSettings).toHaveCount(1)
    await page.goto(runPage)
    await page.getByTestId('watch').click()
    await expect(page.getByTestId('watch')).toHaveText('☆ Watch')
    await page.goto('/settings')
    // the list has loaded (some runs, or none) before its absence means anything
    await expect(page.getByTestId('watching').or(page.getByTestId('watching-none'))).toBeVisible()
    await expect(unwatchOnSettings).toHaveCount(0)
    await expect(
      page.getByTestId('notification-settings').locator('[data-testid="delivery"][data-type="run.completed"]'),
    ).toHaveAttribute('data-status', 'delivered')
  } finally {
    await new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))
  }
})
