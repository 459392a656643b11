// Pictures of candidates in the browser: a problem whose evaluator draws its result (an SVG and a
// PNG). The dashboard shows the best candidate's picture and follows the run live, with a filmstrip
// of the best over time; a frame opens the candidate, whose page shows its pictures beside its
// parent's; the picture itself is served with its exact type under a policy that runs nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Locator } from '@playwright/test'
import { api, expect, login, test } from './fixtures.ts'

const EVALUATOR = `import base64, json, runpy, struct, sys, zlib
ns = runpy.run_path(sys.argv[-1])
x, y = float(ns['X']), float(ns['Y'])
score = -((x - 0.62) ** 2 + (y - 0.41) ** 2)
px, py = 20 + 360 * min(max(x, 0), 1), 380 - 360 * min(max(y, 0), 1)
svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400">'
       '<rect width="400" height="400" fill="#ffffff"/><rect x="20" y="20" width="360" height="360" fill="none" stroke="#333"/>'
       '<circle cx="243.2" cy="232.4" r="9" fill="none" stroke="#d1242f" stroke-width="3"/>'
       '<circle cx="%.2f" cy="%.2f" r="7" fill="#1f6feb"/><text x="20" y="396" font-size="12">x=%.4f y=%.4f</text></svg>') % (px, py, x, y)
def png(w, h, v):
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = b''.join(b'\\x00' + bytes([v]) * w for _ in range(h))
    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
shade = int(255 * min(1.0, -score * 4))
print(json.dumps({"valid": True, "metrics": {"score": score}, "features": {"x": x, "y": y}, "artifacts": {
    "feedback": "distance to the target %.4f" % (-score) ** 0.5,
    "position": {"type": "image/svg+xml", "data": svg},
    "shade": {"type": "image/png", "data": base64.b64encode(png(24, 24, shade)).decode()}}}))
`

/** an <img> that the browser loaded and decoded */
async function expectLoaded(img: Locator) {
  await expect(img).toBeVisible()
  await expect
    .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), { timeout: 15_000 })
    .toBe(true)
}

test("the dashboard shows the best picture live with a filmstrip; a candidate shows its pictures beside its parent's", async ({
  page,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-e2e-pictures-'))
  writeFileSync(
    join(dir, 'problem.json'),
    JSON.stringify({
      id: 'e2e-pictures',
      name: 'Find the point (draws itself)',
      language: 'python',
      entry: 'seed.py',
      evaluator: 'eval.py',
      direction: 'max',
      primaryMetric: 'score',
      features: [
        { name: 'x', min: 0, max: 1, bins: 5 },
        { name: 'y', min: 0, max: 1, bins: 5 },
      ],
      limits: { timeoutS: 20, memoryMb: 512 },
    }),
  )
  writeFileSync(join(dir, 'seed.py'), '# EVOLVE-BLOCK-START\nX = 0.15\nY = 0.85\n# EVOLVE-BLOCK-END\n')
  writeFileSync(join(dir, 'eval.py'), EVALUATOR)
  try {
    await login(page)
    await api(page, 'mutation', 'problems.import', { path: dir })
    const run = await api<{ id: string }>(page, 'mutation', 'runs.create', {
      problemId: 'e2e-pictures',
      name: 'e2e pictures',
      // a budget no machine spends before the best changes: the test stops the run at its end
      config: { islands: 2, budget: { maxEvals: 1_000_000 }, seed: 3 },
    })
    await page.goto(`/runs/${run.id}`)

    // the best candidate's picture, loaded, and the filmstrip of the best over time
    const card = page.getByTestId('run-pictures')
    await expect(card).toBeVisible({ timeout: 120_000 })
    await expectLoaded(card.getByTestId('best-picture').locator('img'))
    const first = await card.getAttribute('data-best')
    expect(first).toMatch(/^[0-9a-f-]{36}$/)
    // it follows the run: a better candidate replaces it without a reload
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true))
    await expect.poll(() => card.getAttribute('data-best'), { timeout: 120_000 }).not.toBe(first)
    await expectLoaded(card.getByTestId('best-picture').locator('img'))
    const frames = card.getByTestId('film-frame')
    await expect.poll(() => frames.count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(3)
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true)
    // the filmstrip runs in evaluation order, every frame with its picture
    const evals = await frames.evaluateAll((els) => els.map((e) => Number(/#(\d+)/.exec(e.textContent ?? '')?.[1])))
    expect(evals).toEqual([...evals].sort((a, b) => a - b))
    for (const img of await frames.locator('img').all()) await expectLoaded(img)

    // a frame opens its candidate: its pictures beside its parent's
    await frames.last().click()
    await expect(page.getByTestId('candidate-page')).toBeVisible()
    const pics = page.getByTestId('candidate-pictures')
    await expect(pics.getByRole('heading', { name: 'position' })).toBeVisible()
    await expect(pics.getByRole('heading', { name: 'shade' })).toBeVisible()
    const parent = pics.getByTestId('parent-picture').first()
    const child = pics.getByTestId('candidate-picture').first()
    await expectLoaded(parent.locator('img'))
    await expectLoaded(child.locator('img'))
    await expectLoaded(pics.getByTestId('candidate-picture').nth(1).locator('img')) // the PNG
    const [pb, cb] = [(await parent.boundingBox())!, (await child.boundingBox())!]
    expect(Math.abs(pb.y - cb.y)).toBeLessThan(2) // side by side
    expect(cb.x).toBeGreaterThan(pb.x + pb.width - 2)
    await expect(parent).toContainText('parent')
    expect(await parent.locator('img').getAttribute('src')).not.toBe(await child.locator('img').getAttribute('src'))

    // the picture as served: its exact type, never sniffed, under a policy that runs nothing
    const src = (await child.locator('img').getAttribute('src'))!
    const head = await page.evaluate(async (u) => {
      const r = await fetch(u)
      return {
        status: r.status,
        type: r.headers.get('content-type'),
        csp: r.headers.get('content-security-policy'),
        nosniff: r.headers.get('x-content-type-options'),
        body: await r.text(),
      }
    }, src)
    expect(head).toMatchObject({ status: 200, type: 'image/svg+xml', nosniff: 'nosniff' })
    expect(head.csp).toContain("default-src 'none'")
    expect(head.csp).toContain('sandbox')
    expect(head.body.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    await api(page, 'mutation', 'runs.stop', { runId: run.id }).catch(() => undefined)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
