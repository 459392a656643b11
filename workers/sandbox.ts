// The evaluation sandbox (docs/architecture.md#sandbox): isolation detection at worker start, the
// allow-listed environment, and SandboxSlot, the Node side of one pre-started launcher
// (workers/python/fm_launcher.py) that runs one evaluation step at a time.
//
// Layers, outermost first (userns mode, the normal case on Linux):
//   setpriv    as root, drop to a dedicated uid BEFORE bwrap: RLIMIT_NPROC does not bind root, not
//              even root mapped inside a user namespace
//   bwrap      user, pid, network, ipc and uts namespaces; `--ro-bind / /`; private /tmp and
//              /dev/shm; secret folders masked; only this slot's folder writable; --die-with-parent
//   launcher   per step: a fresh mount + pid namespace, pid 1 that kills the whole namespace at the end
//              or at the wall-clock timeout, rlimits (CPU, address space, processes, file size),
//              every capability dropped, no inherited descriptor
// Fallbacks: `unshare` as root (namespaces without a user namespace; the launcher drops the uid)
// and none (rlimits, a subreaper and a process-tree kill; no network isolation), each announced.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { IsolationLayer, IsolationReport, IsolationMode } from '../server/contracts/evaluation.ts'

export type { IsolationLayer, IsolationReport, IsolationMode }

export const WORKERS_DIR = dirname(fileURLToPath(import.meta.url))
export const PYTHON_DIR = join(WORKERS_DIR, 'python')

let sandboxPy: string | null = null
/**
 * The copy of workers/python the sandbox uses: this folder when the sandbox uid can read it, else (an
 * installation under a home folder private to root) a root-owned, world-readable copy in /var/tmp,
 * named by content so an update makes a new one.
 */
export function sandboxPythonDir(): string {
  if (sandboxPy) return sandboxPy
  if (!isRoot() || traversable(PYTHON_DIR, sandboxUid())) return (sandboxPy = PYTHON_DIR)
  // modules and the compatibility packages (openevolve/, shinka/) that peer-format evaluators import
  const files = (readdirSync(PYTHON_DIR, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.py') && !f.includes('__pycache__'))
    .sort()
  const h = createHash('sha256')
  for (const f of files) h.update(f).update(readFileSync(join(PYTHON_DIR, f)))
  const dir = join('/var/tmp', `fm-agent-python-${h.digest('hex').slice(0, 16)}`)
  if (!existsSync(join(dir, '.complete'))) {
    mkdirSync(dir, { recursive: true, mode: 0o755 })
    for (const f of files) {
      mkdirSync(dirname(join(dir, f)), { recursive: true, mode: 0o755 })
      copyFileSync(join(PYTHON_DIR, f), join(dir, f))
    }
    for (const f of files) chmodSync(join(dir, f), 0o644)
    writeFileSync(join(dir, '.complete'), '')
  }
  return (sandboxPy = dir)
}
const launcherPath = () => join(sandboxPythonDir(), 'fm_launcher.py')
/** A plain string record as a child's environment (NodeJS.ProcessEnv is augmented elsewhere with required keys). */
export const processEnv = (env: Record<string, string>) => env as unknown as NodeJS.ProcessEnv

/** Debian's interpreter: numpy/scipy/torch from Debian load only under it (RECIPES.md) */
export const PYTHON = process.env.FM_PYTHON ?? '/usr/bin/python3'
export const NODE = process.execPath
export const SANDBOX_PATH = '/usr/bin:/bin:/usr/local/bin'

/** The dedicated sandbox uid when the worker runs as root (FM_SANDBOX_UID, default nobody). */
export function sandboxUid(): number {
  const v = Number(process.env.FM_SANDBOX_UID ?? 65534)
  return Number.isInteger(v) && v > 0 ? v : 65534
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? SANDBOX_PATH).split(':').concat(SANDBOX_PATH.split(':'))) {
    const p = join(dir, cmd)
    try {
      if (statSync(p).isFile()) return p
    } catch {
      /* not here */
    }
  }
  return null
}

/**
 * The environment every sandboxed step starts from: an allow-list, never the parent's environment
 * (no DATABASE_URL, no *_API_KEY, nothing else the worker holds).
 */
export function sandboxEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: home,
    TMPDIR: '/tmp',
    PYTHONPATH: sandboxPythonDir(),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONNOUSERSITE: '1',
    // evaluations share the machine's cores: one BLAS/OpenMP thread each unless a problem sets more
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    ...extra,
  }
}

// Probe run inside the candidate sandbox: can it make per-step namespaces, what network does it see,
// can it nest a user namespace (the child sandbox for evaluators with private data)?
const PROBE = `
import ctypes, json, os, socket, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
out = {'uid': os.getuid()}
pid = os.fork()
if pid == 0:
    os._exit(0 if libc.unshare(0x00020000 | 0x20000000) == 0 else 1)
out['unshare'] = os.waitpid(pid, 0)[1] == 0
out['ifaces'] = [n for _, n in socket.if_nameindex()]
bw = sys.argv[1] if len(sys.argv) > 1 else ''
if bw:
    pid = os.fork()
    if pid == 0:
        try:
            sys.path.insert(0, sys.argv[2])
            import fm_launcher
            fm_launcher.drop_capabilities()  # as the evaluator will be
            r = subprocess.run([bw, '--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '/bin/true'], capture_output=True, timeout=10)
            os._exit(0 if r.returncode == 0 else 1)
        except BaseException:
            os._exit(2)
    out['nested'] = os.waitpid(pid, 0)[1] == 0
print(json.dumps(out))
`

export interface DetectOptions {
  /** force a mode (tests, or a user who knows better); default: the strongest that works */
  prefer?: IsolationMode | 'auto'
  uid?: number
}

const detectCache = new Map<string, IsolationReport>()
const PROBE_TIMEOUT_MS = 20_000
const detectInFlight = new Map<string, Promise<IsolationReport>>()

interface ProbeOutput {
  stdout: string
  stderr: string
  error?: Error
}

type Probe = { uid?: number; unshare?: boolean; ifaces?: string[]; nested?: boolean }

/** which detection the options ask for: the cache's key */
function detectKey(opts: DetectOptions) {
  const prefer = opts.prefer ?? ((process.env.FM_ISOLATION as IsolationMode | undefined) || 'auto')
  const uid = opts.uid ?? sandboxUid()
  return { key: `${prefer}:${uid}`, prefer, uid }
}

/** What detection will try, in order, and what it already knows is missing. */
function isolationPlan({ key, prefer, uid }: ReturnType<typeof detectKey>) {
  const root = isRoot()
  const bwrap = which('bwrap')
  const setpriv = which('setpriv')
  const unshare = which('unshare')
  const warnings: string[] = []
  const python = existsSync(PYTHON) ? PYTHON : null
  if (!python) warnings.push(`${PYTHON} is missing: the sandbox launcher and Python evaluators cannot run`)
  const env = processEnv(sandboxEnv('/tmp'))
  const tries: Array<{ mode: 'userns' | 'rootns'; cmd: string[]; failed: string }> = []
  const userns = () => {
    if (!bwrap || !python) return
    if (root && !setpriv) {
      warnings.push('running as root without setpriv: cannot drop to an unprivileged uid before bubblewrap')
      return
    }
    tries.push({
      mode: 'userns',
      cmd: [
        ...(root ? dropPrivileges(setpriv!, uid) : []),
        bwrap,
        ...bwrapArgs({ hide: [], binds: [] }),
        '--',
        python,
        '-s',
        '-c',
        PROBE,
        bwrap,
        sandboxPythonDir(),
      ],
      failed: 'bubblewrap does not start here',
    })
  }
  const rootns = () => {
    if (!root || !unshare || !python) return
    tries.push({
      mode: 'rootns',
      cmd: [unshare, ...UNSHARE_ARGS, '--', python, '-s', '-c', PROBE],
      failed: 'unshare does not work here',
    })
  }
  if (prefer === 'userns' || prefer === 'auto') userns()
  if (prefer === 'rootns' || prefer === 'auto') rootns()
  return { key, prefer, uid, root, env, tries, warnings }
}

/** A probe's answer, or null (with the reason among the warnings) when that mode does not work. */
function readProbe(t: { mode: 'userns' | 'rootns'; failed: string }, r: ProbeOutput, warnings: string[]) {
  let probe: Probe
  try {
    probe = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    warnings.push(`${t.failed}: ${(r.stderr || r.error?.message || 'no output').trim().slice(0, 300)}`)
    return null
  }
  if (!probe.unshare) {
    if (t.mode === 'userns') warnings.push('bubblewrap runs but per-evaluation namespaces cannot be created inside it')
    return null
  }
  return probe
}

/**
 * Checks each isolation layer on this machine (runs a few tiny probes, ~100 ms, cached per process).
 * The worker announces the result at start (`announceIsolation`) and reports it in its status.
 */
export function detectIsolation(opts: DetectOptions = {}): IsolationReport {
  const k = detectKey(opts)
  const cached = detectCache.get(k.key)
  if (cached) return cached
  const plan = isolationPlan(k)
  for (const t of plan.tries) {
    const r = spawnSync(t.cmd[0]!, t.cmd.slice(1), { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, env: plan.env })
    const probe = readProbe(t, r, plan.warnings)
    if (probe) return isolationReport(plan, t.mode, probe)
  }
  return isolationReport(plan, 'none', {})
}

/**
 * detectIsolation without blocking the event loop: a command starts it early and opens its database
 * meanwhile; later calls in the process (sync ones included) find the report cached.
 */
export function detectIsolationAsync(opts: DetectOptions = {}): Promise<IsolationReport> {
  const k = detectKey(opts)
  const cached = detectCache.get(k.key)
  if (cached) return Promise.resolve(cached)
  let p = detectInFlight.get(k.key)
  if (!p) {
    const plan = isolationPlan(k)
    p = (async () => {
      for (const t of plan.tries) {
        const r = await new Promise<ProbeOutput>((resolve) =>
          execFile(
            t.cmd[0]!,
            t.cmd.slice(1),
            { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, env: plan.env },
            (error, stdout, stderr) => resolve({ stdout, stderr, error: error ?? undefined }),
          ),
        )
        const probe = readProbe(t, r, plan.warnings)
        if (probe) return detectCache.get(plan.key) ?? isolationReport(plan, t.mode, probe)
      }
      return detectCache.get(plan.key) ?? isolationReport(plan, 'none', {})
    })().finally(() => detectInFlight.delete(plan.key))
    detectInFlight.set(plan.key, p)
  }
  return p
}

function isolationReport(
  { key, prefer, uid, root, warnings }: ReturnType<typeof isolationPlan>,
  mode: IsolationMode,
  probe: Probe,
): IsolationReport {
  if (prefer !== 'auto' && prefer !== 'none' && mode !== prefer)
    warnings.push(`isolation mode ${prefer} was asked for but is not available here`)

  const ns = mode !== 'none'
  const netIsolated = ns && (probe.ifaces ?? []).every((n) => n === 'lo')
  const dropsUid = root // the sandbox runs as `uid`; a non-root worker's sandbox runs as the worker's own user
  const layers: IsolationLayer[] = [
    {
      name: 'unprivileged-user',
      active: true,
      detail: root
        ? `candidates run as uid ${uid}, never root (${mode === 'userns' ? 'setpriv before bubblewrap' : 'setuid in the launcher'})`
        : `the worker is not root; candidates run as its uid ${process.getuid?.() ?? '?'}`,
    },
    {
      name: 'namespaces',
      active: ns,
      detail:
        mode === 'userns'
          ? 'bubblewrap: user, pid, network, ipc, uts; a mount + pid namespace per evaluation'
          : mode === 'rootns'
            ? 'unshare as root: mount, pid, network, ipc, uts (no user namespace)'
            : 'none',
    },
    {
      name: 'network',
      active: netIsolated,
      detail: netIsolated ? 'no network (loopback only, inside its own namespace)' : 'the host network is reachable',
    },
    {
      name: 'read-only-fs',
      active: ns,
      detail:
        mode === 'userns'
          ? 'read-only root; writable: the evaluation folder, private /tmp and /dev/shm'
          : mode === 'rootns'
            ? 'file permissions only (uid drop); private /tmp, /var/tmp, /dev/shm'
            : 'file permissions only',
    },
    {
      name: 'process-tree-kill',
      active: true,
      detail: ns
        ? 'pid namespace: every process dies with the evaluation'
        : 'subreaper + process-tree kill (a process that escapes the tree survives)',
    },
    { name: 'rlimits', active: true, detail: 'CPU seconds, address space, process count, file size (setrlimit)' },
    {
      name: 'nproc-binds',
      active: dropsUid || !root,
      detail: 'the process-count limit binds (the sandbox uid is not root)',
    },
    {
      name: 'child-sandbox',
      active: mode === 'userns' && !!probe.nested,
      detail:
        mode === 'userns' && probe.nested
          ? 'nested bubblewrap for evaluators with private data'
          : 'unavailable: fm_sandbox.run_candidate degrades to a plain subprocess',
    },
    { name: 'secret-env', active: true, detail: 'environment from an allow-list (no DATABASE_URL, no API keys)' },
  ]
  if (!ns) warnings.push('NO NAMESPACE ISOLATION: candidates can reach the network and any file their uid can read')
  else if (!netIsolated) warnings.push('the sandbox network namespace has interfaces besides loopback')
  if (mode === 'rootns')
    warnings.push('bubblewrap/user namespaces unavailable: using unshare as root (partial isolation)')
  if (mode === 'userns' && !probe.nested)
    warnings.push('nested sandboxes do not work here: evaluators with private data cannot hide them from the candidate')
  const level: IsolationReport['level'] = mode === 'userns' && netIsolated ? 'full' : ns ? 'partial' : 'none'
  const report: IsolationReport = { level, mode, layers, warnings, uid: root ? uid : (process.getuid?.() ?? null) }
  detectCache.set(key, report)
  return report
}

/** FM_ALLOW_UNSANDBOXED=1: the user accepts running candidates at isolation "none". */
export const allowUnsandboxed = () => ['1', 'true'].includes(process.env.FM_ALLOW_UNSANDBOXED ?? '')

/** Why candidates must not run with this isolation, or null when they may (a sandbox, or the user's opt-in). */
export function unsandboxedRefusal(report: IsolationReport): string | null {
  if (report.level !== 'none' || allowUnsandboxed()) return null
  const why = report.warnings.filter((w) => !/NO NAMESPACE ISOLATION/.test(w)).join('; ')
  return (
    `candidate code would run without a sandbox on this machine (isolation: none${why ? `: ${why}` : ''}): it could read this user's files ` +
    `and reach the network and the API on loopback. ${sandboxAdvice(!!which('bwrap'), isRoot())}; or set FM_ALLOW_UNSANDBOXED=1 to accept ` +
    'the risk (the console then shows a red banner while such runs exist)'
  )
}

/** What would give this machine a sandbox, from what it has: advice it has already followed helps nobody. */
export function sandboxAdvice(hasBwrap: boolean, root: boolean): string {
  const fallback = root ? '' : ' or run the workers as root (the unshare fallback)'
  if (!hasBwrap) return `Install bubblewrap (apt-get install bubblewrap)${fallback}`
  return (
    'bubblewrap is installed but cannot create namespaces here: this is a chroot, a container whose seccomp profile ' +
    'blocks them (Docker: --security-opt seccomp=unconfined, or a VM), or the kernel forbids unprivileged user ' +
    `namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)${fallback}`
  )
}

/** Says which isolation is active, loudly (stderr) when a layer is missing. */
export function announceIsolation(
  report: IsolationReport,
  name = 'worker',
  write: (s: string) => void = (s) => process.stderr.write(s),
) {
  const active = report.layers.filter((l) => l.active).map((l) => l.name)
  if (report.level === 'full' && report.warnings.length === 0) {
    write(`[${name}] sandbox isolation: full (${active.join(', ')})\n`)
    return
  }
  const bar = '!'.repeat(78)
  const lines = [
    bar,
    `[${name}] SANDBOX ISOLATION IS ${report.level.toUpperCase()} (mode ${report.mode})`,
    ...report.layers.filter((l) => !l.active).map((l) => `  missing: ${l.name}: ${l.detail}`),
    ...report.warnings.map((w) => `  warning: ${w}`),
    bar,
  ]
  write(lines.join('\n') + '\n')
}

function dropPrivileges(setpriv: string, uid: number): string[] {
  return [setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--']
}

const UNSHARE_ARGS = ['--mount', '--pid', '--fork', '--net', '--ipc', '--uts', '--kill-child']

/** Can `uid` (in no group) walk down to `path`? (root can always) */
export function traversable(path: string, uid: number): boolean {
  if (uid === 0) return true
  let p = resolve(path)
  for (;;) {
    try {
      const st = statSync(p)
      const ok = st.uid === uid ? st.mode & 0o100 : st.mode & 0o001
      if (!ok) return false
    } catch {
      return false
    }
    const parent = dirname(p)
    if (parent === p) return true
    p = parent
  }
}

const takesSize = new Map<string, boolean>()

/**
 * Whether this bubblewrap takes --size for a tmpfs (0.5 and later): the child sandbox bounds its
 * /tmp and /dev/shm with it, which otherwise could each hold half the machine's memory.
 */
export function bwrapTakesSize(bwrap: string): boolean {
  let known = takesSize.get(bwrap)
  if (known === undefined) {
    const r = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 5000 })
    known = `${r.stdout ?? ''}${r.stderr ?? ''}`.includes('--size')
    takesSize.set(bwrap, known)
  }
  return known
}

/** NVIDIA device nodes: bwrap's --dev gives a minimal /dev without them */
function gpuDevices(): string[] {
  try {
    return readdirSync('/dev')
      .filter((n) => n.startsWith('nvidia'))
      .map((n) => join('/dev', n))
  } catch {
    return []
  }
}

/** Top-level folders an evaluation may see: the system. Everything else under `/` (home folders, /root,
 * /srv, /mnt, /media, /var, /run, a checkout in /work…) is masked, so a problem folder, a data folder or a
 * cache is hidden wherever a user keeps it; the `hide` list covers what lives inside these. */
const VISIBLE_TOP = new Set([
  'usr',
  'bin',
  'sbin',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'etc',
  'opt',
  'nix',
  'snap',
  'sys',
  'proc',
  'dev',
  'tmp',
])

/** Is `path` in a folder the sandbox shows (so that hiding it takes a mask of its own)? */
export function visibleInSandbox(path: string): boolean {
  const top = resolve(path).split('/')[1]
  return !!top && VISIBLE_TOP.has(top) && top !== 'tmp' && existsSync(path)
}

/** The top-level folders the sandbox masks (see VISIBLE_TOP). */
export function maskedTopLevel(): string[] {
  let names: string[] = []
  try {
    names = readdirSync('/')
  } catch {
    return []
  }
  return names
    .filter((n) => !VISIBLE_TOP.has(n) && !lstatIsLink(join('/', n)) && isDir(join('/', n)))
    .map((n) => join('/', n))
}

const lstatIsLink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}
const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

/** Installation folders the sandbox needs back when they sit in a masked place: Node's and Python's. */
export function runtimeDirs(): string[] {
  const out: string[] = []
  for (const exe of [NODE, PYTHON]) {
    const top = resolve(exe).split('/')[1]
    if (top && !VISIBLE_TOP.has(top)) out.push(dirname(dirname(resolve(exe))))
  }
  return [...new Set(out)]
}

const isWithin = (p: string, folder: string) => p.startsWith(folder.endsWith('/') ? folder : `${folder}/`)

/**
 * The folders to mask, without those inside another one (already hidden by it): a mask placed over a
 * folder that holds an earlier mask buries it, and bwrap's read-only remount of the buried one then
 * fails (a data folder in a home folder, with its cache inside it, stopped every sandbox of a worker
 * not run as root). Duplicates go too; the order is kept.
 */
export function outermostPaths(paths: string[]): string[] {
  const all = [...new Set(paths.map((p) => resolve(p)))]
  return all.filter((p) => !all.some((q) => q !== p && isWithin(p, q)))
}

function bwrapArgs(o: { hide: string[]; binds: string[]; uid?: number; gpu?: boolean }): string[] {
  const args = [
    '--unshare-user',
    '--unshare-pid',
    // the launcher is pid 1 of the sandbox's pid namespace itself: no reaper beside it, and each
    // evaluation's end kills everything else there (fm_launcher.py); the probe runs so too, so that a
    // bubblewrap without the option is found out before any launcher starts
    '--as-pid-1',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'fm-sandbox',
    '--die-with-parent',
    '--new-session',
    // capabilities inside the sandbox's own user namespace only: the launcher needs them to create
    // each evaluation's mount and pid namespace, and drops them all before any evaluator code runs
    '--cap-add',
    'ALL',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/dev/shm',
  ]
  if (o.gpu) for (const d of gpuDevices()) args.push('--dev-bind', d, d)
  const hidden: string[] = []
  const files: string[] = []
  for (const p of o.hide) {
    // what the sandbox uid cannot even reach needs no mask (and bwrap, running as that uid, could not place one)
    if (!existsSync(p) || (o.uid !== undefined && !traversable(dirname(p), o.uid))) continue
    ;(statSync(p).isDirectory() ? hidden : files).push(p)
  }
  const masks = outermostPaths([...maskedTopLevel(), ...hidden])
  for (const p of files) if (!masks.some((m) => isWithin(p, m))) args.push('--ro-bind', '/dev/null', p)
  for (const p of masks) args.push('--tmpfs', p)
  // after the masks, so a writable folder inside a hidden one reappears, and the sandbox's own
  // Python helpers stay visible wherever the installation lives (a checkout under /tmp included)
  args.push('--ro-bind', sandboxPythonDir(), sandboxPythonDir())
  for (const d of runtimeDirs()) args.push('--ro-bind', d, d)
  for (const b of o.binds) args.push('--bind', b, b)
  // the masks themselves read-only (what was bound back inside them keeps its own mode)
  for (const p of masks) args.push('--remount-ro', p)
  return args
}

/** Folders the sandbox hides by default besides the worker's own: the usual homes of credentials. */
export function defaultHiddenPaths(): string[] {
  const home = homedir()
  const paths = [
    '.ssh',
    '.aws',
    '.gnupg',
    '.config',
    '.docker',
    '.kube',
    '.npmrc',
    '.netrc',
    '.pgpass',
    '.git-credentials',
    '.env',
  ].map((p) => join(home, p))
  paths.push(resolve('.env'))
  // the FM data folder: FM_DATA_DIR, or its default (server/db/data-dir.ts); the engine passes --data-dir in `hide`
  paths.push(resolve(process.env.FM_DATA_DIR ?? './.fm-agent'))
  return paths
}

export interface StepLimits {
  /** address space, bytes */
  as?: number
  cpu?: number
  nproc?: number
  /** file size, bytes */
  fsize?: number
  nofile?: number
}

export interface StepRequest {
  argv: string[]
  /** run argv[0] (a .py file) in the launcher's warm interpreter instead of exec */
  python?: boolean
  cwd: string
  env: Record<string, string>
  /** what the evaluator process itself writes to its stdout */
  stdout: string
  /** what any other process of the evaluation writes to that stdout */
  stdoutOther: string
  stderr: string
  /** the result file, the evaluator's descriptor 3 */
  result: string
  /** the folder of those files: masked inside the evaluation once they are open */
  outDir: string
  /** more paths this step must not see (a problem's private files during a compile step) */
  mask?: string[]
  limits: StepLimits
  timeoutS: number
  tmpfsMb?: number
}

export interface StepResult {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  wallMs: number
  cpuMs: number
  maxRssKb: number
  setupMs: number
  /**
   * per output file that passed the launcher's cap (64 MiB) and restarted: the bytes its first line
   * had before the restart (a line's whole size for the runner's messages)
   */
  carried?: { stdout?: number; stdoutOther?: number }
  /** the sandbox itself failed (not the evaluation): retried as an infra error */
  infra?: string
}

function carriedOf(v: unknown): Pick<StepResult, 'carried'> {
  if (typeof v !== 'object' || v === null) return {}
  const out: NonNullable<StepResult['carried']> = {}
  for (const k of ['stdout', 'stdoutOther'] as const) {
    const n = (v as Record<string, unknown>)[k]
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) out[k] = n
  }
  return Object.keys(out).length ? { carried: out } : {}
}

export interface SlotOptions {
  isolation: IsolationReport
  /** the only writable folder of this slot's sandbox (created by the runner, owned by the sandbox uid) */
  slotDir: string
  hide?: string[]
  /** expose the GPU's device nodes */
  gpu?: boolean
  log?: (line: string) => void
}

/**
 * One pre-started launcher. Runs one step at a time; starts another after a crash or a backstop kill.
 */
export class SandboxSlot {
  private proc: ChildProcess | null = null
  private starting: Promise<void> | null = null
  private pending: {
    resolve: (r: StepResult) => void
    timer: NodeJS.Timeout
    proc: ChildProcess
  } | null = null
  private nextId = 1
  /** the launcher's configuration (its environment carries it: see fm_launcher.py) */
  private config = '{}'
  /** how long the last launcher start took (bwrap + interpreter), ms */
  startupMs = 0
  starts = 0

  constructor(readonly opts: SlotOptions) {}

  get mode() {
    return this.opts.isolation.mode
  }

  start(): Promise<void> {
    if (this.proc && !this.proc.killed && this.proc.exitCode === null) return Promise.resolve()
    if (this.starting) return this.starting
    this.starting = this.spawnLauncher().finally(() => {
      this.starting = null
    })
    return this.starting
  }

  private command(): string[] {
    const iso = this.opts.isolation
    const uid = iso.uid ?? sandboxUid()
    const hide = [...(this.opts.hide ?? [])]
    // the launcher's own Python folder may sit under /tmp (a checkout there) or a hidden folder; in the
    // root fallback the launcher masks the top-level folders itself
    const cfg = {
      mode: iso.mode,
      uid,
      gid: uid,
      hide: iso.mode === 'rootns' ? [...maskedTopLevel(), ...hide] : hide,
      keep: [this.opts.slotDir, sandboxPythonDir(), ...runtimeDirs()],
      slot: this.opts.slotDir,
    }
    this.config = JSON.stringify(cfg)
    const py = [PYTHON, '-s', launcherPath()]
    if (iso.mode === 'userns') {
      const pre = isRoot() ? dropPrivileges(which('setpriv')!, uid) : []
      return [
        ...pre,
        which('bwrap')!,
        ...bwrapArgs({
          hide,
          binds: [this.opts.slotDir],
          uid: isRoot() ? uid : process.getuid?.(),
          gpu: this.opts.gpu,
        }),
        '--chdir',
        this.opts.slotDir,
        '--',
        ...py,
      ]
    }
    if (iso.mode === 'rootns') return [which('unshare')!, ...UNSHARE_ARGS, '--', ...py]
    return py
  }

  private spawnLauncher(): Promise<void> {
    const t0 = performance.now()
    const cmd = this.command()
    const proc = spawn(cmd[0], cmd.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...processEnv(sandboxEnv(this.opts.slotDir)), FM_LAUNCHER_CONFIG: this.config },
      cwd: this.opts.slotDir,
    })
    this.proc = proc
    this.starts++
    // a launcher that died between steps: the write fails, and its exit answers the step
    proc.stdin!.on('error', () => undefined)
    const rl = createInterface({ input: proc.stdout! })
    let errTail = ''
    proc.stderr!.on('data', (d: Buffer) => {
      errTail = (errTail + d.toString()).slice(-2000)
      this.opts.log?.(d.toString())
    })
    return new Promise<void>((resolveStart, rejectStart) => {
      let ready = false
      const fail = (why: string) => {
        if (!ready) {
          ready = true
          clearTimeout(startTimer)
          rejectStart(new Error(`the sandbox launcher did not start: ${why}${errTail ? `: ${errTail.trim()}` : ''}`))
        }
      }
      const startTimer = setTimeout(() => {
        fail('no answer within 20 s')
        proc.kill('SIGKILL')
      }, 20_000)
      proc.on('error', (e) => fail(e.message))
      proc.on('exit', (code, sig) => {
        fail(`exited (${sig ?? code})`)
        if (this.proc === proc) this.proc = null
        const p = this.pending
        if (p?.proc === proc) {
          this.pending = null
          clearTimeout(p.timer)
          p.resolve(
            infraResult(
              `the sandbox launcher died (${sig ?? `exit ${code}`})${errTail ? `: ${errTail.trim().slice(-500)}` : ''}`,
            ),
          )
        }
      })
      rl.on('line', (line) => {
        let msg: Record<string, unknown>
        try {
          msg = JSON.parse(line)
        } catch {
          return
        }
        if (!ready) {
          if (msg.ready) {
            ready = true
            clearTimeout(startTimer)
            this.startupMs = performance.now() - t0
            resolveStart()
          }
          return
        }
        const p = this.pending
        if (p?.proc !== proc) return
        this.pending = null
        clearTimeout(p.timer)
        // the launcher could not set the step up (its mounts may be left half made) and exits after
        // this answer: the next step goes to a new one
        if (msg.restart && this.proc === proc) this.proc = null
        p.resolve({
          exitCode: (msg.exitCode as number | null) ?? null,
          signal: (msg.signal as string | null) ?? null,
          timedOut: !!msg.timedOut,
          wallMs: Number(msg.wallMs ?? 0),
          cpuMs: Number(msg.cpuMs ?? 0),
          maxRssKb: Number(msg.maxRssKb ?? 0),
          setupMs: Number(msg.setupMs ?? 0),
          ...carriedOf(msg.carried),
          ...(typeof msg.infra === 'string' ? { infra: msg.infra } : {}),
        })
      })
    })
  }

  async run(req: StepRequest): Promise<StepResult> {
    if (this.pending) throw new Error('SandboxSlot.run: a step is already running in this slot')
    try {
      await this.start()
    } catch (e) {
      return infraResult((e as Error).message)
    }
    const proc = this.proc
    if (!proc) return infraResult('the sandbox launcher is not running')
    const id = this.nextId++
    return new Promise<StepResult>((resolveRun) => {
      // the backstop: the launcher enforces the timeout; a launcher that does not answer 8 s past it is
      // killed, and its whole pid namespace with it
      const timer = setTimeout(
        () => {
          if (this.pending?.resolve !== resolveRun) return
          this.pending = null
          proc.kill('SIGKILL')
          resolveRun({
            ...infraResult('the sandbox launcher stopped answering; the backstop killed it'),
            timedOut: true,
          })
        },
        (req.timeoutS + 8) * 1000,
      )
      this.pending = { resolve: resolveRun, timer, proc }
      const { timeoutS, ...rest } = req
      proc.stdin!.write(JSON.stringify({ op: 'run', id, ...rest, timeout: timeoutS }) + '\n')
    })
  }

  busy() {
    return this.pending !== null
  }

  /** whether a launcher is up (or starting) for the next step */
  get running(): boolean {
    return this.proc !== null
  }

  async close() {
    const proc = this.proc
    this.proc = null
    if (!proc) return
    await new Promise<void>((done) => {
      const t = setTimeout(() => {
        proc.kill('SIGKILL')
      }, 2000)
      proc.once('exit', () => {
        clearTimeout(t)
        done()
      })
      try {
        proc.stdin!.end(JSON.stringify({ op: 'exit' }) + '\n')
      } catch {
        proc.kill('SIGKILL')
      }
    })
  }
}

function infraResult(message: string): StepResult {
  return { exitCode: null, signal: null, timedOut: false, wallMs: 0, cpuMs: 0, maxRssKb: 0, setupMs: 0, infra: message }
}
