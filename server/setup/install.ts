// Installs Debian packages with apt-get (as root, or through passwordless sudo), printing progress:
// what `fm-agent start` does when the machine lacks what evaluations need.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Logger } from '../log.ts'
import type { MachineState } from '../../client-safe/needs.ts'

const TIMEOUT_MS = 20 * 60_000

/** Reads apt-get's output and says, at most once a second, how far it is. */
export function aptProgress(say: (line: string) => void, now = () => Date.now()) {
  let total = 0
  let got = 0
  let setUp = 0
  let last = 0
  const throttled = (line: string, force = false) => {
    if (!force && now() - last < 1000) return
    last = now()
    say(line)
  }
  return (line: string) => {
    let m: RegExpExecArray | null
    if ((m = /^\d+ upgraded, (\d+) newly installed/.exec(line))) {
      total = Number(m[1])
      throttled(`${total} packages to install`, true)
    } else if ((m = /^Need to get ([\d.,]+ [kMG]?B)/.exec(line))) throttled(`downloading ${m[1]}`, true)
    else if (/^Get:\d+/.test(line)) throttled(`downloaded ${++got}${total ? `/${total}` : ''}`)
    else if ((m = /^Setting up ([^\s:]+)/.exec(line))) {
      setUp++
      throttled(`set up ${setUp}${total ? `/${total}` : ''} (${m[1]})`, total > 0 && setUp === total)
    } else if (/^(E|W): /.test(line)) say(line)
  }
}

function aptGet(args: string[], m: Pick<MachineState, 'root'>, log: Logger): Promise<{ ok: boolean; tail: string }> {
  const cmd = m.root ? 'apt-get' : 'sudo'
  const argv = [
    ...(m.root ? [] : ['-n', 'apt-get']),
    '-o',
    'DPkg::Lock::Timeout=300',
    '-o',
    'Dpkg::Progress-Fancy=0',
    ...args,
  ]
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LANG: 'C', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const timer = setTimeout(() => {
      log.warn(`apt-get ${args[0]} took longer than ${TIMEOUT_MS / 60_000} minutes: stopped`)
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        /* already gone */
      }
    }, TIMEOUT_MS)
    const progress = aptProgress((l) => log.info(`apt: ${l}`))
    const tail: string[] = []
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line)
        if (tail.length > 20) tail.shift()
        progress(line)
      })
    }
    child.on('error', (e) => tail.push(e.message))
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ ok: code === 0, tail: tail.join('\n') })
    })
  })
}

const hasPackageLists = () => {
  try {
    return readdirSync('/var/lib/apt/lists').some((f) => f.endsWith('_Packages'))
  } catch {
    return false
  }
}

/** `apt-get install` of these packages; `apt-get update` first when there are no package lists, or once on failure. */
export async function aptInstall(
  packages: string[],
  m: Pick<MachineState, 'root'>,
  log: Logger,
): Promise<{ ok: boolean; error?: string }> {
  const install = () => aptGet(['install', '-y', '--no-install-recommends', ...packages], m, log)
  let updated = false
  const update = async () => {
    log.info('apt: updating the package lists')
    updated = true
    return aptGet(['update', '-q'], m, log)
  }
  if (!hasPackageLists()) {
    const u = await update()
    if (!u.ok) return { ok: false, error: `apt-get update failed: ${u.tail.slice(-600)}` }
  }
  let r = await install()
  if (!r.ok && !updated) {
    const u = await update()
    if (u.ok) r = await install()
  }
  return r.ok ? { ok: true } : { ok: false, error: `apt-get install failed: ${r.tail.slice(-600)}` }
}
