// The browser side of the console's protections, in Chromium against the real app:
//  - security headers on pages (CSP with frame-ancestors 'none', nosniff, no framing);
//  - the CSP lets Monaco run: an editor page loads, its web workers start, and no CSP violation
//    (securitypolicyviolation event or console report) happens;
//  - CSRF: a page on another origin of this machine (same site, so the Lax session cookie goes
//    along) auto-submits a form and fires a credentialed fetch at a state-changing API route; both
//    are refused and nothing changes, while the console's own same-origin calls work.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect, login, test } from './fixtures.ts'

test('pages carry the security headers', async ({ page }) => {
  const loginPage = await page.goto('/login')
  const check = (headers: Record<string, string>, what: string) => {
    expect(headers['content-security-policy'], what).toContain("frame-ancestors 'none'")
    expect(headers['content-security-policy'], what).toContain("worker-src 'self' blob:")
    expect(headers['content-security-policy'], what).not.toContain('unsafe-eval')
    expect(headers['x-content-type-options'], what).toBe('nosniff')
    expect(headers['x-frame-options'], what).toBe('DENY')
  }
  check(loginPage!.headers(), '/login')
  await login(page)
  const runs = await page.goto('/runs')
  check(runs!.headers(), '/runs')
  const settings = await page.goto('/settings')
  check(settings!.headers(), '/settings')
})

test('Monaco runs under the CSP: the editor loads, its workers start, no violation is reported', async ({ page }) => {
  const violations: string[] = []
  const workers: string[] = []
  page.on('console', (m) => {
    const t = m.text()
    if (/Content Security Policy|Refused to (load|create|execute)|Could not create web worker/i.test(t))
      violations.push(`console: ${t}`)
  })
  page.on('worker', (w) => workers.push(w.url()))
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      ;((window as unknown as { __csp: string[] }).__csp ??= []).push(
        `${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`,
      )
    })
  })
  await login(page)
  await page.goto('/knowledge/new')
  const editor = page.getByTestId('doc-editor')
  await expect(editor.locator('.monaco-editor')).toBeVisible()
  await editor.locator('.view-lines').click()
  await page.keyboard.type('# Under the CSP\n\nTyping drives the editor worker (tokens, word ranges).')
  await expect(editor.locator('.view-lines')).toContainText('Under the CSP')
  // the editor's worker comes from this origin (or a blob: it made); give it time to start
  await expect.poll(() => workers.length, { timeout: 15_000 }).toBeGreaterThan(0)
  for (const w of workers) expect(w.startsWith('http://127.0.0.1') || w.startsWith('blob:http://127.0.0.1')).toBe(true)
  const reported = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])
  expect([...violations, ...reported]).toEqual([])
})

test.describe('CSRF', () => {
  let other: Server
  let otherUrl = ''
  const consoleUrl = `http://127.0.0.1:${process.env.FM_E2E_PORT ?? 3210}`

  test.beforeAll(async () => {
    // another application on the same machine: same site as the console (so SameSite=Lax cookies
    // are sent with its requests), another origin
    other = createServer((_req, res) => {
      const target = `${consoleUrl}/api/trpc/tokens.create`
      const page = `<!doctype html><html><body>
<form id="f" method="POST" action="${target}" enctype="text/plain">
  <input name='{"json":{"name":"csrf-form","scope":"cli","pad":"' value='"}}'>
</form>
<script>
  fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ json: { name: 'csrf-fetch', scope: 'cli' } }) })
    .finally(() => document.getElementById('f').submit())
</script></body></html>`
      res.writeHead(200, { 'content-type': 'text/html' }).end(page)
    })
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()))
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
  })
  test.afterAll(() => new Promise<void>((r) => other.close(() => r())))

  test('a form and a fetch from another origin, with the session cookie, change nothing; the console’s own calls work', async ({
    page,
  }) => {
    await login(page)
    const tokenNames = async () =>
      page.evaluate(async () => {
        const res = await fetch('/api/trpc/tokens.mine')
        return ((await res.json()).result.data.json as Array<{ name: string }>).map((t) => t.name)
      })
    const before = await tokenNames()
    const refused: number[] = []
    page.on('response', (r) => {
      if (r.url().includes('/api/trpc/tokens.create')) refused.push(r.status())
    })
    await page.goto(otherUrl)
    // the form's navigation lands on the console's refusal
    await page.waitForURL(/\/api\/trpc\/tokens\.create/)
    await expect(page.locator('body')).toContainText('cross-site request refused')
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused.every((s) => s === 403)).toBe(true)
    await page.goto('/settings')
    const after = await tokenNames()
    expect(after.filter((n) => n.startsWith('csrf-'))).toEqual([])
    expect(after.length).toBe(before.length)
    // the same mutation from the console's own origin goes through
    const ok = await page.evaluate(async () => {
      const res = await fetch('/api/trpc/tokens.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { name: 'same-origin', scope: 'cli' } }),
      })
      return res.status
    })
    expect(ok).toBe(200)
    expect(await tokenNames()).toContain('same-origin')
  })

  test('the session cookie is httpOnly and SameSite=Lax (not readable by page scripts)', async ({ page, context }) => {
    await login(page)
    const session = (await context.cookies()).find((c) => c.name.includes('session_token'))
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Lax')
    expect(await page.evaluate(() => document.cookie)).not.toContain('session_token')
  })
})
