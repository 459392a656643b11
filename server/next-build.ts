// `fm-agent start` serves a production build of the console; it builds one when none exists
// or when the console's sources changed since (so `git pull && npm start` just works).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from './log.ts'

const SOURCES = ['app', 'components', 'client-safe', 'next.config.mjs', 'package-lock.json', 'tsconfig.json']

export function sourceFingerprint(root: string): string {
  const h = createHash('sha256')
  const visit = (p: string) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) visit(join(p, name))
    } else {
      h.update(p.slice(root.length)).update(String(st.size)).update(String(st.mtimeMs))
    }
  }
  for (const s of SOURCES) visit(join(root, s))
  return h.digest('hex')
}

export async function ensureNextBuild(root: string, log: Logger, force = false): Promise<void> {
  const marker = join(root, '.next', 'fm-agent-fingerprint')
  const fingerprint = sourceFingerprint(root)
  const built =
    existsSync(join(root, '.next', 'BUILD_ID')) && existsSync(marker) && readFileSync(marker, 'utf8') === fingerprint
  if (built && !force) return
  log.info('building the console (first start or changed sources; about a minute)…')
  const started = Date.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: root,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let tail = ''
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-8000)
      for (const line of d.toString().split('\n'))
        if (/^\s*(✓|▲|Creating|Compiled|Generating|Route)/.test(line)) log.info(`  ${line.trim()}`)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${tail}`)),
    )
  })
  writeFileSync(marker, fingerprint)
  log.info(`console built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
