// The design lives in docs/architecture.md: no source cites a design document the repository does
// not hold, and every `docs/architecture.md#section` cited in code or READMEs names a real section.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const files = execFileSync('git', ['ls-files', '*.ts', '*.tsx', '*.mjs', '*.py', '*.md'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('server/generated/') && f !== 'docs/links.test.ts')

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
