// A run by an ordinary user, the way most people run FM Agent. Every other test runs as root, where
// each slot gets a tmpfs and the sandbox's own uid cannot even reach a private data folder; two bugs
// of this path (every evaluation failing on a data folder in a home folder, evaluation folders on
// disk) were found by hand. Here the whole `fm-agent run` runs as a uid that is not root and has no
// account, from the checkout bound to a place that uid can reach (its clone may live in root's home)
// and cannot write to, as in a container whose installation root owns; and `fm-agent start` there with
// no console build it could serve.
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../server/db.ts'
import { tempDir, removeTempDirs } from './test-helpers.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** a uid no account has and no evaluation folder of which is in /dev/shm (so none of it is removed here) */
function unusedUid() {
  const taken = new Set(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':')[2]),
  )
  for (;;) {
    const u = 20_000 + randomInt(40_000)
    if (!taken.has(String(u)) && !existsSync(`/dev/shm/fm-agent-sbx-${u}`)) return u
  }
}
const uid = unusedUid()
const shmFolder = `/dev/shm/fm-agent-sbx-${uid}`

afterAll(() => {
  rmSync(shmFolder, { recursive: true, force: true })
  removeTempDirs()
})

/** Every file under `dir` to `uid`, as if that user had made them. */
function chownTree(dir: string) {
  chownSync(dir, uid, uid)
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    chownSync(join(e.parentPath ?? e.path, e.name), uid, uid)
}

/**
 * `fm-agent ARGS` as `uid` with HOME=`home`, from the checkout bound at `base`/checkout, a place that
 * uid can reach and cannot write to; with `hideConsoleBuild`, the checkout's console build is hidden
 * (an empty folder the uid cannot write to takes its place).
 */
function fmAgentAsUser(base: string, home: string, args: string[], o: { hideConsoleBuild?: boolean } = {}) {
  const repo = join(base, 'checkout')
  mkdirSync(repo, { recursive: true })
  const hide = o.hideConsoleBuild
    ? '{ [ ! -d "$2/.next" ] || mount -t tmpfs -o mode=0755 fm-no-build "$2/.next"; } && '
    : ''
  return spawnSync(
    'unshare',
    [
      '--mount',
      '--',
      'sh',
      '-c',
      `mount --bind "$1" "$2" && ${hide}u=$3 && cd "$4" && shift 4 && exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"`,
      'sh',
      ROOT,
      repo,
      String(uid),
      home,
      'env',
      '-i',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      `HOME=${home}`,
      process.execPath,
      join(repo, 'bin', 'fm-agent.mjs'),
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
}

/** A temporary folder others can traverse, with a home in it that `uid` owns. */
function userHome() {
  const base = tempDir('fm-user-')
  chmodSync(base, 0o755)
  const home = join(base, 'home')
  mkdirSync(home)
  chownSync(home, uid, uid)
  return { base, home }
}

describe.runIf(process.getuid?.() === 0)('a run by a user that is not root', () => {
  it('evaluates every candidate, in memory, and hides its data folder and its keys from them', () => {
    const { base, home } = userHome()
    mkdirSync(join(home, '.ssh'), { recursive: true })
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY\n', { mode: 0o600 })
    const data = join(home, 'data')
    const problem = join(home, 'probe')
    mkdirSync(problem)
    // OpenEvolve format, the program probing what it can reach; the evaluator reports it as metrics
    writeFileSync(
      join(problem, 'evaluator.py'),
      `import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"combined_score": -abs(float(module.X) - 3.14), **module.FOUND}
`,
    )
    writeFileSync(
      join(problem, 'initial_program.py'),
      `import os


def readable(path):
    try:
        open(path, "rb").read(1)
        return 1
    except OSError:
        return 0


FOUND = {
    "data_folder": readable(${JSON.stringify(join(data, 'pgdata', 'PG_VERSION'))}),
    "key": readable(${JSON.stringify(join(home, '.ssh', 'id_ed25519'))}),
    "in_shm": int(os.path.abspath(__file__).startswith(${JSON.stringify(`${shmFolder}/`)})),
}
# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END
`,
    )
    chownTree(home)
    const evals = 24
    const r = fmAgentAsUser(base, home, [
      'run',
      problem,
      '--operators',
      'local',
      '--max-evals',
      String(evals),
      '--json',
      '--data-dir',
      data,
    ])
    expect(r.status, r.stderr.slice(-3000)).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(summary).toMatchObject({ status: 'completed', evaluations: evals })
    // the CLI and each worker's child ran from bundles built in the user's own cache (bin/bundle.mjs)
    expect(r.stderr).not.toMatch(/running from the TypeScript sources/)
    const bundles = join(home, '.cache', 'fm-agent', 'bundles')
    const built = readdirSync(bundles).flatMap((d) => readdirSync(join(bundles, d)))
    expect(
      built
        .filter((f) => /^(cli|worker-child)-[0-9a-f]{16}\.mjs$/.test(f))
        .map((f) => f.split('-')[0])
        .sort(),
    ).toEqual(['cli', 'worker'])
    expect(r.stderr).toMatch(/sandbox isolation: full/)
    // the folders the run made are the user's
    expect(lstatSync(join(data, 'pgdata')).uid).toBe(uid)
    return checkCandidates(data, summary.runId, evals)
  })

  it('fm-agent start without a console build it may make: the reason and the fix, and no account made', async () => {
    const { base, home } = userHome()
    const data = join(home, 'data')
    const r = fmAgentAsUser(base, home, ['start', '--port', '0', '--no-install', '--data-dir', data], {
      hideConsoleBuild: true,
    })
    expect(r.status, r.stderr.slice(-3000)).toBe(1)
    expect(r.stderr).toContain(
      `the console needs a build (none was made here) and this user cannot write to ${join(base, 'checkout')}: build it once as the installation's owner (npm run build)`,
    )
    // the first start's password is shown once: not by a start that fails
    expect(r.stdout).not.toMatch(/admin account was created/)
    const doctor = fmAgentAsUser(base, home, ['doctor', '--json'], { hideConsoleBuild: true })
    expect(JSON.parse(doctor.stdout).console).toEqual({ current: false, reason: 'none was made here', canBuild: false })
    const db = await openDatabase({ dataDir: data, databaseUrl: '' })
    try {
      expect(await db.prisma.user.count()).toBe(0)
    } finally {
      await db.close()
    }
  })
})

async function checkCandidates(data: string, runId: string, evals: number) {
  const db = await openDatabase({ dataDir: data, databaseUrl: '' })
  try {
    const evaluated = await db.prisma.candidate.findMany({
      where: { runId, status: 'evaluated' },
      select: { valid: true, error: true, metrics: true },
    })
    expect(evaluated).toHaveLength(evals)
    // in memory unless /dev/shm is too small for evaluation folders (workers/runner.ts, memoryRoot)
    const shm = statfsSync('/dev/shm')
    const inShm = shm.bavail * shm.bsize >= 1024 * 1024 * 1024 ? 1 : 0
    for (const c of evaluated) {
      expect(c.error).toBeNull()
      expect(c.valid).toBe(true)
      expect(c.metrics).toMatchObject({ data_folder: 0, key: 0, in_shm: inShm })
    }
    if (inShm) expect(lstatSync(shmFolder)).toMatchObject({ uid, mode: 0o40700 })
  } finally {
    await db.close()
  }
}
