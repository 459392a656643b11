// The client/server boundary that `next build` enforces (next.config.mjs runs the check): the real
// tree holds it, and each kind of crossing is caught with the chain of imports that made it.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PHASE_PRODUCTION_BUILD, PHASE_PRODUCTION_SERVER } from 'next/constants.js'
import { afterAll, describe, expect, it } from 'vitest'
import { checkClientBoundary } from './check-client-boundary.mjs'
import nextConfig from '../next.config.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const temp = mkdtempSync(join(tmpdir(), 'fm-boundary-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

let n = 0
function tree(files: Record<string, string>): string {
  const root = join(temp, `t${++n}`)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}
const page = (imports: string) => `'use client'\n${imports}\nexport default function Page() { return null }\n`

describe('the client/server boundary', () => {
  it('holds in this repository, and next.config.mjs lets the build go on', async () => {
    expect(checkClientBoundary(ROOT)).toEqual([])
    expect(await nextConfig(PHASE_PRODUCTION_BUILD)).toMatchObject({ reactStrictMode: true })
  })

  it('allows client-safe modules, browser packages and type-only imports of server code', () => {
    const root = tree({
      'app/page.tsx': page(
        `import { fmt } from '../client-safe/series.ts'\nimport type { Db } from '../server/db.ts'\nimport { type Actor } from '../server/auth/roles.ts'\nimport { z } from 'zod'`,
      ),
      'client-safe/series.ts': `import { z } from 'zod'\nimport type { Db } from '../server/db.ts'\nexport const fmt = (x: number) => String(x)\n`,
      'server/db.ts': `import { readFileSync } from 'node:fs'\nexport type Db = unknown\n`,
      'server/auth/roles.ts': `export type Actor = unknown\n`,
      // a server component (no 'use client') may use the server
      'app/layout.tsx': `import { openDatabase } from '../server/db.ts'\n`,
    })
    expect(checkClientBoundary(root)).toEqual([])
  })

  it('catches a client component that reaches a server module, through any chain of imports', () => {
    const root = tree({
      'app/runs/page.tsx': page(`import { Chart } from '../../components/chart.tsx'`),
      'components/chart.tsx': `import { shape } from '../client-safe/shape.ts'\nexport const Chart = () => shape\n`,
      'client-safe/shape.ts': `export const shape = 1\n`,
      'components/list.tsx': page(`import { listRuns } from '../server/runs/service.ts'`),
      'components/lazy.tsx': page(`const m = () => import('../server/db.ts')`),
      'components/reexport.tsx': page(`export { openDatabase } from '../server/db.ts'`),
      'server/runs/service.ts': `export const listRuns = 1\n`,
      'server/db.ts': `export const openDatabase = 1\n`,
    })
    const v: string[] = checkClientBoundary(root)
    expect(v).toHaveLength(3)
    expect(v).toContainEqual(
      expect.stringMatching(/^components\/list\.tsx imports server\/runs\/service\.ts: browser code may import only/),
    )
    expect(v).toContainEqual(expect.stringMatching(/^components\/lazy\.tsx imports server\/db\.ts/))
    expect(v).toContainEqual(expect.stringMatching(/^components\/reexport\.tsx imports server\/db\.ts/))
  })

  it('names the whole chain when the crossing is deep', () => {
    const root = tree({
      'app/page.tsx': page(`import { A } from '../components/a.tsx'`),
      'components/a.tsx': `import { B } from './b.tsx'\nexport const A = B\n`,
      'components/b.tsx': `import { q } from '../server/queries/run-data.ts'\nexport const B = q\n`,
      'server/queries/run-data.ts': `export const q = 1\n`,
    })
    expect(checkClientBoundary(root)).toEqual([
      'app/page.tsx → components/a.tsx → components/b.tsx imports server/queries/run-data.ts: browser code may import only app/, components/ and client-safe/ (see client-safe/README.md)',
    ])
  })

  it('keeps client-safe modules pure: no server modules, no Node built-ins, no server packages', () => {
    const root = tree({
      'client-safe/a.ts': `import { db } from '../server/db.ts'\nexport const a = db\n`,
      'client-safe/b.ts': `import { readFileSync } from 'node:fs'\nexport const b = readFileSync\n`,
      'client-safe/c.ts': `import pg from 'pg'\nexport const c = pg\n`,
      'client-safe/d.ts': `import { a } from './a.ts'\nimport { z } from 'zod'\nexport const d = [a, z]\n`,
      'server/db.ts': `export const db = 1\n`,
    })
    const v: string[] = checkClientBoundary(root)
    expect(v.map((l) => l.split(' imports ')[0]).sort()).toEqual([
      'client-safe/a.ts',
      'client-safe/b.ts',
      'client-safe/c.ts',
    ])
  })

  it('fails the build in next.config.mjs, and does not check when an existing build is served', async () => {
    const root = tree({
      'components/list.tsx': page(`import { listRuns } from '../server/runs/service.ts'`),
      'server/runs/service.ts': `export const listRuns = 1\n`,
    })
    mkdirSync(join(root, 'scripts'))
    copyFileSync(join(ROOT, 'next.config.mjs'), join(root, 'next.config.mjs'))
    copyFileSync(join(ROOT, 'scripts/check-client-boundary.mjs'), join(root, 'scripts/check-client-boundary.mjs'))
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'))
    const { default: config } = await import(join(root, 'next.config.mjs'))
    await expect(config(PHASE_PRODUCTION_BUILD)).rejects.toThrow(
      /the client\/server boundary is crossed:\n {2}components\/list\.tsx imports server\/runs\/service\.ts/,
    )
    expect(await config(PHASE_PRODUCTION_SERVER)).toMatchObject({ poweredByHeader: false })
  })
})
