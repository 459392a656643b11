// The console's build is reused while its sources are unchanged, and a user who cannot write to the
// installation gets a reason and a fix instead of a failed `next build`.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from './log.ts'
import { consoleBuild, ensureNextBuild, markBuilt } from './next-build.ts'

const roots: string[] = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

/** An installation whose console was built (`.next/BUILD_ID`) from one page, with no `next` to build with. */
function installation() {
  const root = mkdtempSync(join(tmpdir(), 'fm-next-build-'))
  roots.push(root)
  mkdirSync(join(root, 'app'))
  writeFileSync(join(root, 'app', 'page.tsx'), 'export default function Page() { return null }\n')
  mkdirSync(join(root, '.next'))
  writeFileSync(join(root, '.next', 'BUILD_ID'), 'test-build\n')
  return root
}

describe('the console build', () => {
  it('is served as made by npm run build until a source changes', async () => {
    const root = installation()
    expect(consoleBuild(root, () => true)).toEqual({ current: false, reason: 'none was made here', canBuild: true })
    markBuilt(root)
    expect(consoleBuild(root, () => true)).toEqual({ current: true, reason: null, canBuild: true })
    // no next here: resolving means nothing was built
    await expect(ensureNextBuild(root, silentLogger, { canWrite: () => true })).resolves.toBeUndefined()
    utimesSync(join(root, 'app', 'page.tsx'), new Date(), new Date(Date.now() + 5_000))
    expect(consoleBuild(root, () => true)).toMatchObject({
      current: false,
      reason: 'its sources changed since the last one',
    })
    await expect(ensureNextBuild(root, silentLogger, { canWrite: () => true })).rejects.toThrow(/next build failed/)
  })

  it('needing a build where this user cannot write: the reason and the fix, and nothing started', async () => {
    const root = installation()
    const asked: string[] = []
    const refused = ensureNextBuild(root, silentLogger, { canWrite: (p) => (asked.push(p), false) })
    await expect(refused).rejects.toThrow(
      `the console needs a build (none was made here) and this user cannot write to ${root}: build it once as the installation's owner (npm run build), then start again`,
    )
    expect(asked).toEqual([root])
    markBuilt(root)
    writeFileSync(join(root, 'app', 'other.tsx'), 'export const x = 1\n')
    await expect(ensureNextBuild(root, silentLogger, { canWrite: () => false })).rejects.toThrow(
      /\(its sources changed since the last one\)/,
    )
  })
})
