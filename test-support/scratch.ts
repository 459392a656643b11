// Temporary folders a test file makes, removed after its last test, and run configs written into them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

export function scratchDirs(prefix: string) {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), prefix))
    dirs.push(d)
    return d
  }
  /** a run config as a file, for `fm-agent run --config` */
  const configFile = (config: unknown) => {
    const f = join(tempDir(), 'run.json')
    writeFileSync(f, JSON.stringify(config))
    return f
  }
  return { tempDir, configFile }
}
