// The design lives in docs/architecture.md: no source cites a design document the repository does
// not hold, and every `docs/architecture.md#section` cited in code or READMEs names a real section.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** what the repository holds and .gitignore does not exclude (walked: a release tarball has no git) */
const IGNORED = new Set(['node_modules', 'test-results', 'playwright-report', 'coverage', '__pycache__', 'tmp'])
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name.startsWith('.') || IGNORED.has(e.name) ? [] : sources(path)
    return /\.(ts|tsx|mjs|py|md)$/.test(e.name) ? [relative(ROOT, path)] : []
  })
}
const files = sources(ROOT).filter((f) => !f.startsWith('server/generated/') && f !== 'docs/links.test.ts')

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-')

describe('docs/architecture.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')
  const anchors = new Set([...doc.matchAll(/^#+ (.*)$/gm)].map((m) => anchor(m[1])))

  it('is what sources cite for the design, at sections that exist', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'server/runs/driver.ts', 'workers/child.ts']))
    const stale: string[] = []
    const broken: string[] = []
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), 'utf8')
      if (/\bDESIGN\.md\b/.test(text)) stale.push(f)
      for (const m of text.matchAll(/architecture\.md#([\w-]+)/g)) if (!anchors.has(m[1])) broken.push(`${f}: #${m[1]}`)
    }
    for (const m of doc.matchAll(/\]\(#([\w-]+)\)/g))
      if (!anchors.has(m[1])) broken.push(`docs/architecture.md: #${m[1]}`)
    expect(stale).toEqual([])
    expect(broken).toEqual([])
    expect(anchors).toContain('sandbox')
  })
})
