// `fm-agent start` serves a production build of the console; it builds one when none exists
// or when the console's sources changed since (so `git pull && npm start` just works).
// `npm run build` makes the same build ahead of time (an image whose users cannot write to it).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from './log.ts'

/** the installation whose console this is */
export const INSTALL_ROOT = fileURLToPath(new URL('..', import.meta.url))

const SOURCES = ['app', 'components', 'client-safe', 'next.config.mjs', 'package-lock.json', 'tsconfig.json']

export function sourceFingerprint(root: string): string {
  const h = createHash('sha256')
  const visit = (p: string) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) visit(join(p, name))
    } else {
      h.update(relative(root, p)).update(String(st.size)).update(String(st.mtimeMs))
    }
  }
  for (const s of SOURCES) visit(join(root, s))
  return h.digest('hex')
}

const markerPath = (root: string) => join(root, '.next', 'fm-agent-fingerprint')

/** Records that the build in `root`/.next is of the sources as they are now (or were, by `fingerprint`). */
export function markBuilt(root: string, fingerprint = sourceFingerprint(root)) {
  writeFileSync(markerPath(root), fingerprint)
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

export interface ConsoleBuild {
  /** a build of the console's sources as they are now */
  current: boolean
  /** why a build is needed, when it is */
  reason: string | null
  /** this user can make one here */
  canBuild: boolean
}

/** The state of the console's build in `root` (fm-agent start builds when it is not current). */
export function consoleBuild(root: string, canWrite: (path: string) => boolean = writable): ConsoleBuild {
  return inspect(root, canWrite).state
}

function inspect(root: string, canWrite: (path: string) => boolean) {
  const marker = markerPath(root)
  const marked = existsSync(marker)
  const fingerprint = sourceFingerprint(root)
  const current = existsSync(join(root, '.next', 'BUILD_ID')) && marked && readFileSync(marker, 'utf8') === fingerprint
  const next = join(root, '.next')
  const state: ConsoleBuild = {
    current,
    reason: current ? null : marked ? 'its sources changed since the last one' : 'none was made here',
    canBuild: canWrite(root) && (!existsSync(next) || canWrite(next)),
  }
  return { state, fingerprint }
}

/** What a user who cannot build the console here is told. */
export const cannotBuildMessage = (root: string, reason: string) =>
  `the console needs a build (${reason}) and this user cannot write to ${root.replace(/(.)\/+$/, '$1')}: build it once as the installation's owner (npm run build), then start again`

export async function ensureNextBuild(
  root: string,
  log: Logger,
  opts: { force?: boolean; canWrite?: (path: string) => boolean } = {},
): Promise<void> {
  // the sources as the build starts: one changed meanwhile makes the next start build again
  const { state, fingerprint } = inspect(root, opts.canWrite ?? writable)
  if (state.current && !opts.force) return
  if (!state.canBuild) throw new Error(cannotBuildMessage(root, state.reason ?? 'a rebuild was asked for'))
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
  markBuilt(root, fingerprint)
  log.info(`console built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
