// The figures each hardening test measured in its last run (trials survived, inputs tried,
// memory slope…), written as JSON next to the data folders so that docs/guarantees.md can be
// refreshed from them (npx tsx scripts/update-guarantees.ts) instead of by hand.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const REPORT_DIR = process.env.FM_HARDENING_REPORT_DIR ?? join(ROOT, '.fm-agent', 'hardening-report')

export type Figures = Record<
  string,
  string | number | boolean | null | Array<string | number> | Record<string, unknown>
>

export function recordFigures(name: string, figures: Figures) {
  mkdirSync(REPORT_DIR, { recursive: true })
  const entry = { name, at: new Date().toISOString(), ...figures }
  writeFileSync(join(REPORT_DIR, `${name}.json`), JSON.stringify(entry, null, 2) + '\n')
  // also visible in the test output
  process.stdout.write(`[figures] ${name}: ${JSON.stringify(figures)}\n`)
}

export function readAllFigures(): Record<string, Figures & { at: string }> {
  const out: Record<string, Figures & { at: string }> = {}
  let files: string[] = []
  try {
    files = readdirSync(REPORT_DIR).filter((f) => f.endsWith('.json'))
  } catch {
    return out
  }
  for (const f of files) {
    try {
      out[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(REPORT_DIR, f), 'utf8'))
    } catch {
      // a half-written file from an interrupted run: skip it
    }
  }
  return out
}
