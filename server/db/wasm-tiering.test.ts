import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { keepWasmOnBaselineCompiler, raiseWasmTieringBudget } from './wasm-tiering.ts'

const DB = new URL('../db.ts', import.meta.url).pathname
const TIERING = new URL('./wasm-tiering.ts', import.meta.url).pathname

/**
 * Opens an embedded database in a child node, runs the same statements each time, and counts the
 * WebAssembly functions V8 recompiled with its optimizing compiler (V8 prints one line per
 * compiled function under --trace-wasm-compilation-times). What triggers a recompile is the work
 * done, not time, so the counts do not depend on the machine's speed.
 */
async function optimizedFunctions(nodeFlags: string[], baselineOnly = false): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fm-tiering-'))
  const script = `
    ${baselineOnly ? `(await import(${JSON.stringify(TIERING)})).keepWasmOnBaselineCompiler()` : ''}
    const { openDatabase } = await import(${JSON.stringify(DB)})
    const db = await openDatabase({ dataDir: ${JSON.stringify(dir)} })
    await db.sql('CREATE TABLE t (id serial PRIMARY KEY, v text)')
    for (let i = 0; i < 200; i++) await db.sql('INSERT INTO t (v) VALUES ($1)', ['row ' + i])
    for (let i = 0; i < 100; i++) await db.sql('SELECT count(*) FROM t WHERE v LIKE $1', ['%' + i])
    await db.close()`
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--trace-wasm-compilation-times', ...nodeFlags, '--input-type=module', '-e', script],
      { maxBuffer: 64 << 20, env: { ...process.env, DATABASE_URL: '' } },
    )
    return stdout.split('\n').filter((l) => l.startsWith('Compiled function') && l.includes('using TurboFan')).length
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('the embedded database tunes WebAssembly tier-up', () => {
  it('recompiles far fewer of PostgreSQL functions than V8 would, unless node was given a budget', async () => {
    const tuned = await optimizedFunctions([])
    const v8Default = await optimizedFunctions(['--wasm-tiering-budget=1800000'])
    expect(v8Default).toBeGreaterThan(50) // ~150 here; compiles still queued at exit are not printed
    expect(tuned).toBeLessThan(v8Default / 3)
  }, 120_000)

  it("keeps a headless run's PostgreSQL on the baseline compiler, unless node was told otherwise", async () => {
    // V8's own budget: the same statements recompile ~150 functions without the call (test above);
    // with it, only a small helper module's 6 functions, which V8 compiles optimized from the start
    expect(await optimizedFunctions(['--wasm-tiering-budget=1800000'], true)).toBeLessThan(10)
    expect(keepWasmOnBaselineCompiler(['--wasm-tier-up'])).toBe(false)
    expect(keepWasmOnBaselineCompiler(['--no-liftoff-only'])).toBe(false)
  }, 120_000)

  it('leaves a budget given on the command line alone', () => {
    expect(raiseWasmTieringBudget(['--wasm_tiering_budget=5'])).toBe(false)
    expect(raiseWasmTieringBudget(['--wasm-tiering-budget', '5'])).toBe(false)
    expect(raiseWasmTieringBudget(['--max-old-space-size=512'])).toBe(true)
  })
})
