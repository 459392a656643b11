// The guarantees document's figures: filled from the last test run, and --check compares without
// writing (it used to rewrite the document).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { fillFigures } from './update-guarantees.ts'

const SCRIPT = fileURLToPath(new URL('./update-guarantees.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'fm-guarantees-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const DOC =
  'before\n<!-- figures:audit -->\nold text\n<!-- /figures:audit -->\n<!-- figures:soak -->\nkept\n<!-- /figures:soak -->\nafter\n'
const AUDIT = { name: 'audit', at: '2026-01-02T03:04:05.000Z', mutations: 12, scenarios: 10, events: 40 }

function runScript(args: string[], reportDir: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FM_HARDENING_REPORT_DIR: reportDir },
  })
  return { code: r.status, out: r.stdout + r.stderr }
}

describe('update-guarantees', () => {
  it('fills the blocks it has figures for and names the others', () => {
    const { doc, missing } = fillFigures(DOC, { audit: AUDIT })
    expect(doc).toContain(
      '<!-- figures:audit -->\n_Last run 2026-01-02 03:04 UTC:_ 12 mutations in the router, 10 performed through HTTP, 40 audit events checked',
    )
    expect(doc).not.toContain('old text')
    expect(doc).toContain('<!-- figures:soak -->\nkept\n<!-- /figures:soak -->')
    expect(missing).toEqual(['soak'])
  })

  it('--check compares without writing; without it the document is written', () => {
    const reportDir = join(dir, 'report')
    mkdirSync(reportDir)
    writeFileSync(join(reportDir, 'audit.json'), JSON.stringify(AUDIT))
    const docPath = join(dir, 'guarantees.md')
    const doc = DOC.replace(/<!-- figures:soak -->[\s\S]*<!-- \/figures:soak -->\n/, '')
    writeFileSync(docPath, doc)

    const stale = runScript(['--check', '--doc', docPath], reportDir)
    expect(stale.code).toBe(1)
    expect(stale.out).toContain('differs from the last figures')
    expect(readFileSync(docPath, 'utf8')).toBe(doc)

    expect(runScript(['--doc', docPath], reportDir).code).toBe(0)
    expect(readFileSync(docPath, 'utf8')).toBe(fillFigures(doc, { audit: AUDIT }).doc)

    const fresh = runScript(['--check', '--doc', docPath], reportDir)
    expect(fresh.code).toBe(0)
    expect(fresh.out).toContain('matches the last figures')

    // a block without figures fails the check too, and still nothing is written
    writeFileSync(docPath, DOC)
    expect(runScript(['--check', '--doc', docPath], reportDir).code).toBe(1)
    expect(readFileSync(docPath, 'utf8')).toBe(DOC)
    expect(runScript(['--chekc'], reportDir).code).toBe(2)
  })
})
