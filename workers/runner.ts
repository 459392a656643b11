// The runner: one EvalJob in, one EvalResult out. Materializes the problem bundle (cached by hash),
// copies it into a fresh folder in a sandbox slot, writes the candidate, prepares the language
// (TypeScript transpiled here, C/C++ compiled inside the sandbox), runs the evaluator (or the cascade
// stages) in the sandbox, reads its result, classifies failures, bounds artifacts, removes the folder.
// Never throws for anything an evaluation does: every failure is a result (infra ones are retried).
import {
  chownSync,
  closeSync,
  fstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  readSync,
  rmSync,
  chmodSync,
  copyFileSync,
  writeFileSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
  lstatSync,
  existsSync,
  readFileSync,
  statfsSync,
  statSync,
} from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { rm as rmAsync } from 'node:fs/promises'
import { cpus, hostname } from 'node:os'
import { basename, extname, join, resolve } from 'node:path'
import {
  EvalJob,
  type EvalErrorKind,
  type EvalResult,
  type IsolationReport,
  type Language,
} from '../server/contracts/evaluation.ts'
import type { ProblemSpec } from '../server/contracts/problem.ts'
import { isEvaluatorCommand } from '../server/problems/load.ts'
import { noScoreReason } from '../server/engine/fitness.ts'
import { BundleCache, type CachedBundle } from './bundle-cache.ts'
import { readImageFiles } from './images.ts'
import { hasToolchain, missingToolchainMessage } from './toolchains.ts'
import {
  classifyExit,
  findResultLine,
  headTail,
  hidePrivate,
  hidePrivateArtifacts,
  MAX_RESULT_BYTES,
  normalizeEvaluatorObject,
  resultArtifacts,
  parseJsonLenient,
  passesThreshold,
  privateLines,
  resultFileTooBig,
  resultLineTooBig,
  type CutLine,
  type NormalizeOptions,
  type NormalizedResult,
} from './result.ts'
import {
  bwrapTakesSize,
  detectIsolation,
  defaultHiddenPaths,
  traversable,
  visibleInSandbox,
  NODE,
  PYTHON,
  PYTHON_DIR,
  sandboxPythonDir,
  SandboxSlot,
  sandboxEnv,
  type StepLimits,
  type StepResult,
} from './sandbox.ts'

const openEvolveShim = () => join(sandboxPythonDir(), 'fm_openevolve.py')
const shinkaShim = () => join(sandboxPythonDir(), 'fm_shinka.py')
const BUILTIN_PROBLEMS = resolve(PYTHON_DIR, '../../problems')

const CANDIDATE_EXT: Record<Language, string> = {
  python: 'py',
  javascript: 'js',
  typescript: 'ts',
  cpp: 'cpp',
  c: 'c',
  cuda: 'cu',
  rust: 'rs',
  go: 'go',
  julia: 'jl',
  fortran: 'f90',
}
const DEFAULT_BUILD: Partial<Record<Language, string>> = {
  cpp: 'g++ -O2 -std=c++17 {candidate} -o {output}',
  c: 'gcc -O2 -std=c11 {candidate} -o {output} -lm',
  cuda: 'nvcc -O2 {candidate} -o {output}',
}
/** Address-space floors (MB): interpreters and compilers reserve more than they use. */
const AS_FLOOR = { python: 512, node: 2048, compile: 2048, binary: 64 }

/**
 * The floor that raises `limits.memoryMb` for the address space of a problem's evaluator, when it
 * does (what evaluate() below applies to the evaluator itself), so that `problem check` can say why
 * an evaluation runs under more than the problem asked for. Null when the value stands: at or above
 * the floor, a GPU problem (no address-space limit), a Node evaluator (its heap gets the value).
 */
export function memoryFloor(
  spec: ProblemSpec,
  isFile: (path: string) => boolean,
): { mb: number; because: string } | null {
  const python = { mb: AS_FLOOR.python, because: 'a Python evaluator reserves more address space than it uses' }
  const floor = (() => {
    if (spec.limits.gpu) return null
    if (spec.format === 'openevolve') return python
    if (spec.format === 'shinka')
      return spec.language === 'python'
        ? python
        : { mb: AS_FLOOR.compile, because: 'evaluate.py compiles the program, and compilers need more' }
    const ext = extname(spec.evaluator)
    if (!isEvaluatorCommand(spec.evaluator, isFile)) {
      if (ext === '.py') return python
      if (['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(ext)) return null
    }
    return spec.language === 'javascript' || spec.language === 'typescript'
      ? { mb: AS_FLOOR.node, because: 'Node reserves more address space than it uses' }
      : { mb: AS_FLOOR.python, because: 'the evaluator may start the sandbox’s Python, which needs that much' }
  })()
  return floor && floor.mb > spec.limits.memoryMb ? floor : null
}
const STREAM_READ_BYTES = 1 << 20

export interface RunnerOptions {
  cacheDir: string
  workerId: string
  /** evaluations this runner runs at once (one sandbox launcher each) */
  slots?: number
  /** folders and files the sandbox must not show (added to the cache folder and the defaults) */
  hide?: string[]
  isolation?: IsolationReport
  fetchBundle?: (hash: string) => Promise<Buffer>
  gpu?: boolean
  log?: (line: string) => void
  /** process-count limit per evaluation (default 64, FM_SANDBOX_NPROC) */
  nproc?: number
  /** file-size limit per file written (MB, default 256) */
  fsizeMb?: number
  /** where evaluation folders are made (default <cacheDir>/sbx, or /var/tmp/fm-agent-sbx when the
   * sandbox uid cannot reach the cache folder, e.g. inside a data folder private to its owner) */
  sandboxRoot?: string
  /** size of each slot's tmpfs when the worker is root (MB, default 2048, FM_SANDBOX_DISK_MB) */
  slotTmpfsMb?: number
  /** files and folders each slot's tmpfs may hold when the worker is root (default 262144,
   * FM_SANDBOX_INODES): bounds what removing an evaluation's folder can cost */
  slotInodes?: number
}

function defaultSandboxRoot(cacheDir: string, uid: number | null): string {
  const preferred = join(cacheDir, 'sbx')
  if (uid === null) return memoryRoot() ?? preferred
  mkdirSync(preferred, { recursive: true, mode: 0o711 })
  if (traversable(preferred, uid)) return preferred
  return '/var/tmp/fm-agent-sbx'
}

/** what /dev/shm must have free to hold evaluation folders */
const SHM_MIN_FREE_MB = 1024

/**
 * A worker not run as root cannot give each slot a tmpfs of its own; its evaluation folders go to a
 * private folder in /dev/shm (a tmpfs) instead of the disk, where making and removing them cost ~3–4
 * ms of CPU per evaluation on a small VM's ext4 (workers/README.md). What candidates write there
 * counts against /dev/shm's size (half the memory by default) as it would against the disk. Null
 * (the cache folder, on disk) when there is no such folder this user owns, or when /dev/shm has
 * less than `minFreeMb` free (a container's is 64 MB by default: a problem's data copied per
 * evaluation would fill it).
 */
export function memoryRoot(base = '/dev/shm', minFreeMb = SHM_MIN_FREE_MB): string | null {
  const uid = process.getuid?.()
  if (uid === undefined || !existsSync(base)) return null
  try {
    const vfs = statfsSync(base)
    if (vfs.bavail * vfs.bsize < minFreeMb * 1024 * 1024) return null
  } catch {
    return null
  }
  const dir = join(base, `fm-agent-sbx-${uid}`)
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null
  }
  try {
    // a shared place: not a folder someone else made, nor a link to elsewhere
    const st = lstatSync(dir)
    return st.isDirectory() && st.uid === uid ? dir : null
  } catch {
    return null
  }
}

/** Where a worker's evaluation folders will be made by default (fm-agent doctor says it). */
export function evaluationFolders(): { where: 'slot-tmpfs' | 'shm' | 'disk'; detail: string } {
  if (isRoot())
    return {
      where: 'slot-tmpfs',
      detail: 'in memory: each slot its own tmpfs (a worker run as root; on disk where it cannot mount one)',
    }
  const shm = memoryRoot()
  if (shm) return { where: 'shm', detail: `in memory: ${shm}` }
  return {
    where: 'disk',
    detail: `on disk, in the worker's cache folder (/dev/shm is missing or under ${SHM_MIN_FREE_MB} MB free): each evaluation's folder costs more`,
  }
}

interface Slot {
  index: number
  dir: string
  sandbox: SandboxSlot
  busy: boolean
  seq: number
  /** job folders the worker could not remove yet: tried again after each later evaluation of the slot */
  leftovers: { dir: string; warned: boolean }[]
  /** what the running evaluation is doing, for the message of an error the worker itself raises */
  phase: string
}

export interface RunnerStats {
  running: number
  completed: number
  failed: number
  launcherStarts: number
  /** last launcher start-up per slot (bwrap + interpreter), ms */
  launcherStartupMs: number[]
}

export interface Runner {
  readonly isolation: IsolationReport
  readonly languages: Language[]
  readonly slots: number
  readonly cache: BundleCache
  /** where the evaluation folders are made */
  readonly sandboxRoot: string
  /** pre-starts every slot's launcher */
  start(): Promise<void>
  /** `mask`: paths this job's steps must not see, beyond the worker's own (decided per job by the caller) */
  run(job: EvalJob, opts?: { dequeuedAt?: number; mask?: string[] }): Promise<EvalResult>
  stats(): RunnerStats
  close(): Promise<void>
}

const isRoot = () => process.getuid?.() === 0

function which(cmd: string): string | null {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin', '/usr/local/cuda/bin']) {
    const p = join(dir, cmd)
    if (existsSync(p)) return p
  }
  return null
}

export function availableLanguages(gpu: boolean): Language[] {
  const langs: Language[] = []
  if (existsSync(PYTHON)) langs.push('python')
  langs.push('javascript', 'typescript')
  if (which('g++')) langs.push('cpp')
  if (which('gcc')) langs.push('c')
  if (gpu && which('nvcc')) langs.push('cuda')
  for (const l of ['rust', 'go', 'julia', 'fortran'] as const) if (hasToolchain(l)) langs.push(l)
  return langs
}

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length)
  let off = 0
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off)
    if (n <= 0) break
    off += n
  }
  return buf.subarray(0, off)
}

/** Where the line holding byte `end` starts: after the last newline before it (0 when none). */
function lineStart(fd: number, end: number): number {
  const CHUNK = 64 * 1024
  for (let pos = end; pos > 0; ) {
    const n = Math.min(CHUNK, pos)
    pos -= n
    const i = readAt(fd, pos, n).lastIndexOf(10)
    if (i >= 0) return pos + i + 1
  }
  return 0
}

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a])

/**
 * The last `max` bytes of a file, '…' first when that is not all of it, and the file's size. With
 * `cutLine` (an output a result may be on): where the tail cuts a line that ends like a JSON object,
 * `cutLine` is that line's size, a result line too long to read, which the runner says rather than
 * "no JSON object". `carried`: the launcher restarted the file past its cap, and its first line had
 * this many bytes before.
 */
function readTail(
  path: string,
  max: number,
  opts: { cutLine?: boolean; carried?: number } = {},
): { text: string; size: number; cutLine?: CutLine } {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return { text: '', size: 0 }
  }
  try {
    const size = fstatSync(fd).size
    const start = Math.max(0, size - max)
    const buf = readAt(fd, start, size - start)
    const cut = start > 0 || opts.carried !== undefined
    const text = (cut ? '…' : '') + buf.toString('utf8')
    if (!cut || !opts.cutLine) return { text, size }
    const nl = buf.indexOf(10)
    const end = nl === -1 ? buf.length : nl
    let last = end - 1
    while (last >= 0 && WHITESPACE.has(buf[last]!)) last--
    if (last < 0 || buf[last] !== 0x7d) return { text, size }
    const from = lineStart(fd, start)
    const bytes = start + end - from + (from === 0 ? (opts.carried ?? 0) : 0)
    return bytes > max ? { text, size, cutLine: { bytes } } : { text, size }
  } finally {
    closeSync(fd)
  }
}

function readIfExists(path: string, max: number): { text: string; size: number } | null {
  if (!existsSync(path)) return null
  return readTail(path, max)
}

function chownTree(path: string, uid: number) {
  const st = lstatSync(path)
  chownSync(path, uid, uid)
  if (st.isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid)
}

/** Stops a quick removal that meets more entries than it may remove on the event loop. */
const TOO_MANY = new Error('too many entries to remove on the event loop')
/** entries a job folder may have to be removed in the worker's event loop (~10 µs each on a tmpfs) */
const QUICK_REMOVAL_ENTRIES = 4096

/**
 * Removes a job folder after each evaluation, when it is small: bottom-up by the entries' own types
 * (rmSync's recursion stats every entry and first tries each folder's rmdir, failing with an error
 * object, about twice the CPU: ~140 against ~80 µs for a job folder). A link is removed, never
 * followed. `budget` bounds the time the event loop is held (a candidate may leave a million files,
 * and the pool kills a worker whose heartbeats stop): past it, or on any error (a path past
 * PATH_MAX, an unwritable folder), it throws and leaves the rest to `rm` (removeTreeAsync).
 */
function removeEntries(dir: string, budget = { left: Number.POSITIVE_INFINITY }) {
  // entry by entry: readdirSync would first read a million names into memory
  const d = opendirSync(dir)
  try {
    for (let e = d.readSync(); e; e = d.readSync()) {
      if (--budget.left < 0) throw TOO_MANY
      const p = join(dir, e.name)
      if (e.isDirectory()) removeEntries(p, budget)
      else unlinkSync(p)
    }
  } finally {
    d.closeSync()
  }
  rmdirSync(dir)
}

const gone = (path: string) => {
  try {
    lstatSync(path)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT'
  }
}

/** A path of kilobytes (a candidate's folder chain) cut to a readable length. */
function shortPath(p: string, max = 160): string {
  return p.length <= max ? p : `${p.slice(0, max - 60)}…${p.slice(-59)}`
}
/** Every path-like run of characters in a message cut to a readable length. */
const shortenPaths = (s: string) => s.replace(/\S{161,}/g, (p) => shortPath(p))
const firstLine = (s: string) => shortenPaths(s.trim().split('\n')[0] ?? '')

const RM = which('rm') ?? 'rm'
const CHMOD = which('chmod') ?? 'chmod'
// `rm -rf` walks by descriptors (openat), so no depth or path length stops it; it never follows a
// link, and --one-file-system keeps it off anything mounted inside the folder.
const rmArgs = (path: string) => ['-rf', '--one-file-system', '--', path]
// a non-root worker cannot remove what a candidate made unwritable: the owner's rights back first
// (chmod -R follows no link it meets)
const chmodArgs = (path: string) => ['-R', 'u+rwx', '--', path]

/** Removes a folder whatever is in it, at start and close (synchronous: nothing else runs then). */
function removeTree(path: string) {
  try {
    removeEntries(path)
    return
  } catch {
    if (gone(path)) return
  }
  if (!isRoot()) spawnSync(CHMOD, chmodArgs(path))
  const r = spawnSync(RM, rmArgs(path), { encoding: 'utf8' })
  if (r.error)
    rmSync(path, { recursive: true, force: true, maxRetries: 2 }) // no rm here
  else if (!gone(path)) throw new Error(`could not remove ${shortPath(path)}: ${firstLine(r.stderr) || 'rm failed'}`)
}

function runTool(cmd: string, args: string[]): Promise<{ missing: boolean; stderr: string }> {
  return new Promise((done) => {
    let stderr = ''
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    p.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString()
    })
    p.on('error', (e: NodeJS.ErrnoException) => done({ missing: e.code === 'ENOENT', stderr: e.message }))
    p.on('close', () => done({ missing: false, stderr }))
  })
}

/**
 * Removes a folder in a child process, off the worker's event loop, however many entries it has
 * and however deep it goes. Null when it is gone, else why not (one line).
 */
async function removeTreeAsync(path: string): Promise<string | null> {
  let r = await runTool(RM, rmArgs(path))
  if (r.missing) {
    try {
      await rmAsync(path, { recursive: true, force: true, maxRetries: 2 })
    } catch (e) {
      return firstLine((e as Error).message)
    }
  }
  if (gone(path)) return null
  if (!isRoot()) {
    await runTool(CHMOD, chmodArgs(path))
    r = await runTool(RM, rmArgs(path))
    if (gone(path)) return null
  }
  return firstLine(r.stderr) || 'rm failed'
}

/** private files' lines by bundle hash: read once per problem a worker evaluates */
const privateLineCache = new Map<string, Set<string>>()
/** private files read for their lines, at most: a private data set past it is not searched */
const PRIVATE_SCAN_BYTES = 8 * 1024 * 1024

function privateLinesOf(b: CachedBundle): Set<string> {
  const known = privateLineCache.get(b.hash)
  if (known) return known
  const declared = new Set((b.spec.private ?? []).map((p) => p.replace(/^\.\//, '')))
  const files = b.files.filter((f) => declared.has(f.path) || f.path.startsWith('private/')).map((f) => f.path)
  let budget = PRIVATE_SCAN_BYTES
  const lines = privateLines(files, (p) => {
    try {
      const path = join(b.dir, p)
      const size = statSync(path).size
      if (size > budget) return null
      budget -= size
      const text = readFileSync(path, 'utf8')
      return text.includes('\u0000') ? null : text
    } catch {
      return null
    }
  })
  if (privateLineCache.size >= 32) privateLineCache.delete(privateLineCache.keys().next().value!)
  privateLineCache.set(b.hash, lines)
  return lines
}

/** A problem copy's private files (problem.json `private`) and its `private/` folder, where present. */
function privatePaths(problemDir: string, spec: ProblemSpec): string[] {
  const paths = (spec.private ?? []).map((p) => resolve(problemDir, p)).filter((p) => p.startsWith(problemDir + '/'))
  paths.push(join(problemDir, 'private'))
  return [...new Set(paths)].filter((p) => existsSync(p))
}

function mountPoints(): Set<string> {
  try {
    // mountinfo field 5 is the mount point (octal escapes for spaces and the like)
    return new Set(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
        .filter(Boolean),
    )
  } catch {
    return new Set()
  }
}

function releaseSlotDir(dir: string) {
  if (mountPoints().has(dir)) spawnSync('umount', ['-l', dir])
  removeTree(dir)
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Slot folders (and their tmpfs) left by worker processes that died without closing their runner
 * (every runner does this at start; tests that kill workers call it afterwards). */
export function cleanStaleSlots(root = '/var/tmp/fm-agent-sbx') {
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1])
    if (pid && pid !== process.pid && !pidAlive(pid)) releaseSlotDir(join(root, name))
  }
}

interface StepOutput {
  res: StepResult
  /** what the evaluator process itself wrote to its stdout */
  stdout: string
  /** what other processes of the evaluation wrote there (its children, a candidate it ran itself) */
  stdoutOther: string
  /** a line ending like a JSON object, too long to be read whole (on stdout; on stdoutOther) */
  cutLines: { stdout?: CutLine; stdoutOther?: CutLine }
  stderr: string
  resultFile: string | null
  resultFileBytes: number
}

interface StageOutcome extends NormalizedResult {
  error?: { kind: EvalErrorKind; message: string }
  /** the OpenEvolve shim says which stage ran last */
  stage?: number
}

export function createRunner(opts: RunnerOptions): Runner {
  const isolation = opts.isolation ?? detectIsolation()
  const gpu = !!opts.gpu
  const languages = availableLanguages(gpu)
  const cache = new BundleCache(opts.cacheDir)
  const nproc = opts.nproc ?? (Number(process.env.FM_SANDBOX_NPROC) || 64)
  const fsize = (opts.fsizeMb ?? 256) * 1024 * 1024
  const sandboxUid = isolation.uid ?? 65534
  const chownTo = isRoot() ? sandboxUid : null
  const sbxRoot = resolve(opts.sandboxRoot ?? defaultSandboxRoot(opts.cacheDir, chownTo))
  mkdirSync(sbxRoot, { recursive: true, mode: 0o711 })
  {
    // a shared place like /var/tmp: refuse a folder someone else made (or a link to elsewhere)
    const st = lstatSync(sbxRoot)
    if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid)) {
      throw new Error(`the sandbox folder ${sbxRoot} is not a folder owned by this user; remove it or set sandboxRoot`)
    }
  }
  const hide = [
    ...new Set([
      resolve(opts.cacheDir),
      BUILTIN_PROBLEMS,
      ...defaultHiddenPaths(),
      ...(opts.hide ?? []).map((p) => resolve(p)),
    ]),
  ]
  const safeId = opts.workerId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60)
  cleanStaleSlots(sbxRoot)
  // As root each slot folder is its own size-limited tmpfs: evaluation folders cost no disk I/O (on a
  // small VM's ext4 the create/copy/remove of one folder took 5–15 ms), and a candidate that writes
  // without end fills its slot, not the machine's disk or memory.
  const slotTmpfsMb = opts.slotTmpfsMb ?? (Number(process.env.FM_SANDBOX_DISK_MB) || 2048)
  // size= does not bound empty files: a million of them cost seconds to remove after the evaluation
  const slotInodes = opts.slotInodes ?? (Number(process.env.FM_SANDBOX_INODES) || 262_144)
  const slots: Slot[] = []
  for (let i = 0; i < Math.max(1, opts.slots ?? 1); i++) {
    const dir = join(sbxRoot, `${process.pid}-${safeId}-${i}`)
    removeTree(dir)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    if (chownTo !== null) {
      const m = spawnSync(
        'mount',
        [
          '-t',
          'tmpfs',
          '-o',
          `size=${slotTmpfsMb}m,nr_inodes=${slotInodes},mode=0700,uid=${chownTo},gid=${chownTo},nosuid,nodev`,
          'fm-sandbox',
          dir,
        ],
        { encoding: 'utf8' },
      )
      if (m.status !== 0)
        opts.log?.(`could not mount a tmpfs on ${dir} (${(m.stderr || '').trim()}); evaluation folders stay on disk`)
      chownSync(dir, chownTo, chownTo)
    }
    mkdirSync(join(dir, '.out'), { mode: 0o700 })
    if (chownTo !== null) chownSync(join(dir, '.out'), chownTo, chownTo)
    slots.push({
      index: i,
      dir,
      sandbox: new SandboxSlot({ isolation, slotDir: dir, hide, gpu, log: opts.log }),
      busy: false,
      seq: 0,
      leftovers: [],
      phase: 'preparing the evaluation',
    })
  }
  const waiters: ((s: Slot) => void)[] = []
  let completed = 0
  let failed = 0
  const transpiled = new Map<string, string>() // bundle hash + evaluator → bundled ESM

  const acquire = (): Promise<Slot> => {
    const free = slots.find((s) => !s.busy)
    if (free) {
      free.busy = true
      return Promise.resolve(free)
    }
    return new Promise((r) => waiters.push(r))
  }
  const release = (s: Slot) => {
    const next = waiters.shift()
    if (next) next(s)
    else s.busy = false
  }

  async function runStep(
    slot: Slot,
    name: string,
    step: {
      argv: string[]
      python?: boolean
      cwd: string
      env: Record<string, string>
      timeoutS: number
      cpuS: number
      asMb: number | null
      nproc?: number
      mask?: string[]
      /** a shell evaluator: its result may be on stdoutOther, which is then read as far as stdout */
      shell?: boolean
    },
    jobMask: string[],
  ): Promise<StepOutput> {
    // outside the evaluation folder, and masked inside the evaluation once the launcher has opened them
    const outDir = join(slot.dir, '.out')
    const base = join(outDir, `${slot.seq}-${name}`)
    const [stdout, stdoutOther, stderr, resultPath] = ['stdout', 'stdout-other', 'stderr', 'result'].map(
      (k) => `${base}.${k}`,
    )
    // + the launcher's own processes in the sandbox's user namespace (bwrap's init, launcher, A, B)
    const limits: StepLimits = {
      cpu: step.cpuS,
      nproc: (step.nproc ?? nproc) + 6,
      fsize,
      nofile: step.nproc ? 4096 : 1024,
    }
    if (step.asMb !== null) limits.as = Math.round(step.asMb * 1024 * 1024)
    slot.phase = `running the ${name} step`
    const res = await slot.sandbox.run({
      argv: step.argv,
      python: step.python,
      cwd: step.cwd,
      // the launcher hands the result file over as descriptor 3: no path to it exists in the evaluation
      env: { ...step.env, FM_RESULT_FILE: '/proc/self/fd/3' },
      stdout,
      stdoutOther,
      stderr,
      result: resultPath,
      outDir,
      mask: [...jobMask, ...(step.mask ?? [])],
      limits,
      timeoutS: step.timeoutS,
      tmpfsMb: 512,
    })
    slot.phase = `reading the output of the ${name} step`
    const own = readTail(stdout, MAX_RESULT_BYTES, { cutLine: true, carried: res.carried?.stdout })
    const other = readTail(stdoutOther, step.shell ? MAX_RESULT_BYTES : STREAM_READ_BYTES, {
      cutLine: step.shell,
      carried: res.carried?.stdoutOther,
    })
    const result = readIfExists(resultPath, MAX_RESULT_BYTES)
    const out: StepOutput = {
      res,
      stdout: own.text,
      stdoutOther: other.text,
      cutLines: { stdout: own.cutLine, stdoutOther: step.shell ? other.cutLine : undefined },
      stderr: readTail(stderr, 64 * 1024).text,
      resultFile: result?.text ?? null,
      resultFileBytes: result?.size ?? 0,
    }
    for (const f of [stdout, stdoutOther, stderr, resultPath]) rmSync(f, { force: true })
    return out
  }

  function interpret(
    out: StepOutput,
    ctx: { timeoutS: number; cpuS: number; memoryMb: number; what: string; shell?: boolean; keep?: NormalizeOptions },
  ): StageOutcome {
    const fail = classifyExit(out.res, {
      ...ctx,
      stderrTail: out.stderr.slice(-4000),
      stdoutTail: (out.stdout + out.stdoutOther).slice(-2000),
    })
    // The result is the last JSON line the evaluator process itself wrote: a candidate it runs, an orphan
    // it left, cannot put one after it. A shell evaluator (a command, a .sh file) prints through the
    // programs it starts, so there any process of the evaluation counts (workers/README.md says so).
    // $FM_RESULT_FILE only when stdout holds no result.
    const own = ctx.shell ? `${out.stdout}${out.stdoutOther}` : out.stdout
    const found = findResultLine(own)
    let obj: Record<string, unknown> | null = found.result
    const rest = found.rest
    let parseError: string | null = null
    if (!obj && out.resultFileBytes > MAX_RESULT_BYTES) parseError = resultFileTooBig(out.resultFileBytes)
    else if (!obj && out.resultFile !== null && out.resultFile.trim()) {
      try {
        const v = parseJsonLenient(out.resultFile)
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) obj = v as Record<string, unknown>
        else parseError = '$FM_RESULT_FILE does not hold a JSON object'
      } catch {
        parseError = '$FM_RESULT_FILE is not valid JSON'
      }
    }
    const { malformed, ...base }: NormalizedResult = obj
      ? normalizeEvaluatorObject(obj, ctx.keep)
      : { valid: false, metrics: {}, features: {}, artifacts: {} }
    const artifacts: Record<string, unknown> = { ...base.artifacts }
    if (rest.trim()) artifacts.stdout = rest
    if (!ctx.shell && out.stdoutOther.trim()) artifacts.stdout_subprocesses = out.stdoutOther
    if (out.stderr.trim()) artifacts.stderr = out.stderr
    const stage = obj && typeof obj.stage === 'number' ? obj.stage : undefined
    if (fail) return { ...base, valid: false, artifacts, error: fail, stage }
    if (!obj) {
      const cut = out.cutLines.stdout ?? out.cutLines.stdoutOther
      return {
        ...base,
        valid: false,
        artifacts,
        error: {
          kind: 'bad-output',
          message:
            parseError ??
            (cut
              ? resultLineTooBig(cut, ctx.what)
              : `${ctx.what} printed no JSON object (the result is the last stdout line that parses as one, or $FM_RESULT_FILE)`),
        },
        stage,
      }
    }
    if (malformed) return { ...base, valid: false, artifacts, error: { kind: 'bad-output', message: malformed }, stage }
    return { ...base, artifacts, stage }
  }

  async function evaluatorArgv(
    b: CachedBundle,
    problemDir: string,
    evaluator: string,
    candidateArg: string,
    memoryMb: number,
  ): Promise<{ argv: string[]; python?: boolean; asMb: number | null; kind: string }> {
    const language = b.spec.language
    const langFloor =
      language === 'python'
        ? AS_FLOOR.python
        : language === 'javascript' || language === 'typescript'
          ? AS_FLOOR.node
          : AS_FLOOR.python
    if (isEvaluatorCommand(evaluator, (path) => b.files.some((f) => f.path === path))) {
      const cmd = evaluator.includes('{candidate}')
        ? evaluator.replaceAll('{candidate}', shellQuote(candidateArg))
        : `${evaluator} ${shellQuote(candidateArg)}`
      return { argv: ['/bin/sh', '-c', cmd], asMb: Math.max(memoryMb, langFloor), kind: 'command' }
    }
    const path = join(problemDir, evaluator)
    const ext = extname(evaluator)
    if (ext === '.py')
      return { argv: [path, candidateArg], python: true, asMb: Math.max(memoryMb, AS_FLOOR.python), kind: 'python' }
    const nodeArgv = (file: string) => ({
      argv: [NODE, `--max-old-space-size=${memoryMb}`, file, candidateArg],
      asMb: Math.max(memoryMb + 1024, AS_FLOOR.node),
      kind: 'node',
    })
    if (ext === '.js' || ext === '.mjs' || ext === '.cjs') return nodeArgv(path)
    if (ext === '.ts' || ext === '.mts') {
      const key = `${b.hash}:${evaluator}`
      let code = transpiled.get(key)
      if (code === undefined) {
        const esbuild = await import('esbuild')
        const out = await esbuild.build({
          entryPoints: [join(b.dir, evaluator)],
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          write: false,
          packages: 'external',
          logLevel: 'silent',
        })
        code = out.outputFiles[0].text
        transpiled.set(key, code)
      }
      const file = join(problemDir, `${basename(evaluator, ext)}.fm.mjs`)
      writeFileSync(file, code)
      if (chownTo !== null) chownSync(file, chownTo, chownTo)
      return nodeArgv(file)
    }
    if (ext === '.sh')
      return { argv: ['/bin/sh', path, candidateArg], asMb: Math.max(memoryMb, langFloor), kind: 'command' }
    return { argv: [path, candidateArg], asMb: Math.max(memoryMb, langFloor), kind: 'binary' }
  }

  async function evaluate(
    job: EvalJob,
    slot: Slot,
    startedAt: number,
    t0: number,
    jobMask: string[],
  ): Promise<EvalResult> {
    let evaluatorMs = 0
    const timing = () => {
      const total = performance.now() - t0
      return {
        queuedMs: job.enqueuedAt ? Math.max(0, startedAt - job.enqueuedAt) : 0,
        startedAt,
        sandboxMs: Math.max(0, total - evaluatorMs),
        evaluatorMs,
      }
    }
    // what leaves the evaluation names no private file's line (a crash's traceback quotes its source)
    let hide = (s: string) => s
    slot.phase = 'preparing the evaluation'
    const finish = (o: StageOutcome, stage: number): EvalResult => {
      slot.phase = 'reading the evaluation’s result'
      return finishWith(o, stage)
    }
    const finishWith = (o: StageOutcome, stage: number): EvalResult => ({
      jobId: job.jobId,
      attempt: job.attempt,
      workerId: opts.workerId,
      valid: o.valid && !o.error,
      metrics: o.metrics,
      features: o.features,
      ...resultArtifacts(hidePrivateArtifacts(o.artifacts, hide)),
      stage,
      timing: timing(),
      ...(o.error ? { error: { kind: o.error.kind, message: hide(o.error.message).slice(0, 4000) } } : {}),
    })
    const infra = (message: string) =>
      finish({ valid: false, metrics: {}, features: {}, artifacts: {}, error: { kind: 'infra', message } }, 0)

    let bundle: CachedBundle
    try {
      bundle = await cache.ensure(job.problem.bundleHash, opts.fetchBundle)
    } catch (e) {
      return infra(`problem bundle ${job.problem.bundleHash.slice(0, 12)}… unavailable: ${(e as Error).message}`)
    }
    const spec: ProblemSpec = bundle.spec
    if ((job.needs.gpu || job.language === 'cuda') && !gpu)
      return infra('this worker has no GPU; the job needs a GPU worker')
    const missing = [job.language, ...job.needs.languages].filter((l) => !languages.includes(l))
    if (missing.length)
      return infra(
        `this worker cannot run ${[...new Set(missing)].join(', ')}: ${missingToolchainMessage(missing[0], `${missing[0]} programs`)}`,
      )

    const jobDir = join(slot.dir, `job-${++slot.seq}`)
    const secretLines = privateLinesOf(bundle)
    hide = (s) => hidePrivate(s, secretLines)
    const problemDir = join(jobDir, 'problem')
    const fmDir = join(jobDir, '.fm')
    let r: EvalResult
    try {
      mkdirSync(jobDir, { mode: 0o700 })
      mkdirSync(problemDir)
      mkdirSync(fmDir)
      for (const d of bundle.dirs) mkdirSync(join(problemDir, d))
      for (const f of bundle.files) {
        copyFileSync(join(bundle.dir, f.path), join(problemDir, f.path))
        if (f.mode & 0o111) chmodSync(join(problemDir, f.path), 0o755)
      }
      // ShinkaEvolve evaluators build the program themselves: it keeps the extension of the task's initial.<ext>
      const ext =
        spec.format === 'shinka'
          ? extname(spec.entry).slice(1) || CANDIDATE_EXT[job.language]
          : CANDIDATE_EXT[job.language]
      const sourcePath = join(jobDir, `candidate.${ext}`)
      writeFileSync(sourcePath, job.code)
      if (chownTo !== null) chownTree(jobDir, chownTo)
      r = await evaluateIn(
        job,
        slot,
        bundle,
        spec,
        jobDir,
        problemDir,
        sourcePath,
        finish,
        (ms) => (evaluatorMs += ms),
        t0,
        jobMask,
      )
    } catch (e) {
      r = infra(`worker error while ${slot.phase}: ${shortenPaths((e as Error).message)}`)
    }
    // The result stands whatever the clean-up meets. A small folder goes here; a big or odd one
    // (a million files, a chain past PATH_MAX) is left to rm after the result, the slot held till then.
    try {
      removeEntries(jobDir, { left: QUICK_REMOVAL_ENTRIES })
    } catch {
      if (!gone(jobDir)) slot.leftovers.push({ dir: jobDir, warned: false })
    }
    r.timing = timing() // the clean-up is the worker's time too
    return r
  }

  const warn = opts.log ?? ((line: string) => process.stderr.write(`fm-agent warn: worker ${opts.workerId}: ${line}\n`))

  /** Removes the slot's left job folders off the event loop; never throws (a failure is logged once). */
  async function sweep(slot: Slot) {
    const left: Slot['leftovers'] = []
    for (const l of slot.leftovers) {
      const why = await removeTreeAsync(l.dir)
      if (why === null) continue
      if (!l.warned)
        warn(
          `could not remove the evaluation folder ${shortPath(l.dir)} (${why}); its result stands, and the removal is tried again after each evaluation of this slot`,
        )
      left.push({ dir: l.dir, warned: true })
    }
    slot.leftovers = left
  }
  const sweeping = new Set<Promise<void>>()

  async function evaluateIn(
    job: EvalJob,
    slot: Slot,
    bundle: CachedBundle,
    spec: ProblemSpec,
    jobDir: string,
    problemDir: string,
    sourcePath: string,
    finish: (o: StageOutcome, stage: number) => EvalResult,
    addEvaluatorMs: (ms: number) => void,
    t0: number,
    jobMask: string[],
  ): Promise<EvalResult> {
    const { memoryMb, cpuS, timeoutS } = job.limits
    const noAs = job.needs.gpu || spec.limits.gpu // CUDA reserves far more address space than it uses
    // inline CUDA builds (ninja, nvcc) run many processes at once
    const stepNproc = noAs ? Math.max(nproc, 512) : undefined
    const childSandbox =
      isolation.mode === 'userns' && isolation.layers.find((l) => l.name === 'child-sandbox')?.active
        ? {
            mode: 'bwrap',
            bwrap: which('bwrap'),
            hide: [jobDir],
            root: join(jobDir, '.fm', 'child'),
            tmpfsSize: bwrapTakesSize(which('bwrap')!),
          }
        : {
            mode: 'none',
            reason: `the worker's isolation (${isolation.mode}) cannot nest a sandbox`,
            root: join(jobDir, '.fm', 'child'),
          }
    const env = sandboxEnv(jobDir, {
      // the held-out stage's variables never replace the sandbox's own
      ...(job.heldOut ? { ...heldOutEnv(spec.heldOut?.env ?? {}), FM_HELD_OUT: '1' } : {}),
      FM_JOB_ID: job.jobId,
      FM_PROBLEM_DIR: problemDir,
      FM_CANDIDATE_SOURCE: sourcePath,
      FM_CHILD_SANDBOX: JSON.stringify(childSandbox),
      ...(gpu ? { PATH: `/usr/bin:/bin:/usr/local/bin:/usr/local/cuda/bin`, FM_GPU: '1' } : {}),
    })
    let candidateArg = sourcePath
    // what a result keeps past its metric bound: what the run scores by and maps on
    const keep: NormalizeOptions = {
      primaryMetric: spec.primaryMetric,
      features: spec.features.map((f) => (typeof f === 'string' ? f : f.name)),
    }

    if (spec.format === 'shinka') {
      // evaluate.py --program_path <source> --results_dir <dir>, unchanged; it compiles non-Python programs itself
      const argv = [
        shinkaShim(),
        '--evaluator',
        join(problemDir, spec.evaluator),
        '--results-dir',
        join(jobDir, '.fm', 'shinka-results'),
        sourcePath,
      ]
      const out = await runStep(
        slot,
        'evaluate',
        {
          argv,
          python: true,
          cwd: problemDir,
          env,
          timeoutS,
          cpuS,
          asMb: noAs ? null : Math.max(memoryMb, job.language === 'python' ? AS_FLOOR.python : AS_FLOOR.compile),
          nproc: stepNproc,
        },
        jobMask,
      )
      addEvaluatorMs(out.res.wallMs)
      const o = interpret(out, { timeoutS, cpuS, memoryMb, what: 'evaluate.py', keep })
      // image files evaluate.py wrote into its results folder are image artifacts (workers/README.md)
      return finish(
        { ...o, artifacts: { ...readImageFiles(join(jobDir, '.fm', 'shinka-results')), ...o.artifacts } },
        0,
      )
    }

    // ---- language preparation (not for an OpenEvolve evaluator: its evaluate(program_path) gets the
    // program's source, as OpenEvolve gives it, and builds it itself)
    if (spec.format === 'openevolve') {
      // nothing to prepare
    } else if (job.language === 'typescript') {
      try {
        const esbuild = await import('esbuild')
        const out = await esbuild.transform(job.code, {
          loader: 'ts',
          target: 'node20',
          sourcefile: basename(sourcePath),
        })
        candidateArg = join(jobDir, 'candidate.js')
        writeFileSync(candidateArg, out.code)
        if (chownTo !== null) chownSync(candidateArg, chownTo, chownTo)
      } catch (e) {
        const msg = (e as Error).message
        return finish(
          {
            valid: false,
            metrics: {},
            features: {},
            artifacts: { compiler: headTail(msg) },
            error: { kind: 'crash', message: `TypeScript does not compile: ${msg.split('\n')[0].slice(0, 300)}` },
          },
          0,
        )
      }
    } else if (job.language === 'cpp' || job.language === 'c' || job.language === 'cuda') {
      const output = join(jobDir, 'candidate')
      const build = spec.build ?? DEFAULT_BUILD[job.language]!
      const cmd = build.replaceAll('{candidate}', shellQuote(sourcePath)).replaceAll('{output}', shellQuote(output))
      const compileTimeout = Math.max(60, Math.min(300, timeoutS))
      const out = await runStep(
        slot,
        'compile',
        {
          argv: ['/bin/sh', '-c', cmd],
          cwd: problemDir,
          env,
          timeoutS: compileTimeout,
          cpuS: compileTimeout,
          asMb: noAs ? null : Math.max(memoryMb, AS_FLOOR.compile),
          nproc: stepNproc,
          // the candidate's source is compiled here: `#include` or `.incbin` must not reach private data
          mask: privatePaths(problemDir, spec),
        },
        jobMask,
      )
      const compilerOut = `${out.stdout}${out.stdoutOther}`
      const fail = classifyExit(out.res, {
        timeoutS: compileTimeout,
        cpuS: compileTimeout,
        memoryMb: Math.max(memoryMb, AS_FLOOR.compile),
        stderrTail: out.stderr,
        stdoutTail: compilerOut,
        what: 'the compiler',
      })
      if (fail || !existsSync(output)) {
        const compiler = headTail(`${out.stderr}${compilerOut ? `\n${compilerOut}` : ''}`.trim() || 'no output')
        const firstError = out.stderr
          .split('\n')
          .find((l) => /error/i.test(l))
          ?.slice(0, 300)
        const error =
          fail && fail.kind !== 'crash'
            ? fail
            : { kind: 'crash' as const, message: `compilation failed${firstError ? `: ${firstError}` : ''}` }
        return finish(
          {
            valid: false,
            metrics: {},
            features: {},
            artifacts: { compiler, feedback: `compilation failed (${build})` },
            error,
          },
          0,
        )
      }
      candidateArg = output
    }

    // ---- evaluator / cascade
    const deadline = t0 + timeoutS * 1000
    const remaining = () => Math.max(1, (deadline - performance.now()) / 1000)
    const runEval = async (
      name: string,
      argvSpec: { argv: string[]; python?: boolean; asMb: number | null; kind?: string },
    ) => {
      const t = remaining()
      const out = await runStep(
        slot,
        name,
        {
          argv: argvSpec.argv,
          python: argvSpec.python,
          cwd: problemDir,
          env,
          timeoutS: t,
          cpuS,
          asMb: noAs ? null : argvSpec.asMb,
          nproc: stepNproc,
          shell: argvSpec.kind === 'command',
        },
        jobMask,
      )
      addEvaluatorMs(out.res.wallMs)
      // the problem's limit, which the evaluation as a whole keeps (this step got what was left of it)
      return interpret(out, {
        timeoutS,
        cpuS,
        memoryMb: argvSpec.asMb ?? memoryMb,
        what: 'the evaluator',
        shell: argvSpec.kind === 'command',
        keep,
      })
    }

    if (spec.format === 'openevolve') {
      const stages = spec.cascade?.filter((s) => s.function)
      const argv = [
        openEvolveShim(),
        '--evaluator',
        join(problemDir, spec.evaluator),
        ...(stages?.length ? ['--thresholds', JSON.stringify(stages.map((s) => s.threshold ?? null))] : []),
        ...(job.stage > 0 ? ['--max-stage', String(job.stage)] : []),
        ...(spec.features.length
          ? ['--features', spec.features.map((f) => (typeof f === 'string' ? f : f.name)).join(',')]
          : []),
        candidateArg,
      ]
      const o = await runEval('evaluate', { argv, python: true, asMb: Math.max(memoryMb, AS_FLOOR.python) })
      return finish(o, o.stage ?? 0)
    }

    if (!spec.cascade?.length) {
      const ev = await evaluatorArgv(bundle, problemDir, spec.evaluator, candidateArg, memoryMb)
      const o = await runEval('evaluate', ev)
      return finish(o, 0)
    }

    const stages = spec.cascade
    const last = job.stage > 0 ? Math.min(job.stage, stages.length) : stages.length
    let merged: StageOutcome = { valid: true, metrics: {}, features: {}, artifacts: {} }
    let ran = 0
    for (let i = 0; i < last; i++) {
      const st = stages[i]
      slot.phase = `preparing stage ${i + 1}`
      const ev = st.command
        ? await evaluatorArgv(bundle, problemDir, st.command, candidateArg, memoryMb)
        : {
            argv: [
              openEvolveShim(),
              '--evaluator',
              join(problemDir, spec.evaluator),
              '--function',
              st.function!,
              candidateArg,
            ],
            python: true,
            asMb: Math.max(memoryMb, AS_FLOOR.python),
          }
      const o = await runEval(`stage${i + 1}`, ev)
      ran = i + 1
      merged = {
        valid: o.valid,
        metrics: { ...merged.metrics, ...o.metrics },
        features: { ...merged.features, ...o.features },
        artifacts: { ...merged.artifacts, ...o.artifacts },
        ...(o.error ? { error: { ...o.error, message: `stage ${ran}: ${o.error.message}` } } : {}),
      }
      if (!o.valid || o.error) break
      if (i + 1 < last && !passesThreshold(merged.metrics[spec.primaryMetric], st.threshold, spec.direction)) {
        // a quick stage's score is on its own scale (fewer cases, a smaller size): ranked beside
        // candidates that ran every stage it could pass for better than they are. Stopped is rejected.
        const v = merged.metrics[spec.primaryMetric]
        const why =
          typeof v === 'number' && Number.isFinite(v)
            ? `stopped after stage ${ran}: ${spec.primaryMetric} = ${v} does not reach the threshold ${st.threshold} (${spec.direction})`
            : `stopped after stage ${ran}: ${noScoreReason(merged.metrics, spec.primaryMetric, merged.artifacts)}`
        merged.artifacts.cascade = why
        merged.valid = false
        merged.artifacts.feedback = `${why}; only a program that passes every stage of the cascade is ranked`
        break
      }
    }
    return finish(merged, ran)
  }

  return {
    isolation,
    languages,
    slots: slots.length,
    cache,
    sandboxRoot: sbxRoot,
    async start() {
      await Promise.all(slots.map((s) => s.sandbox.start()))
    },
    async run(jobIn, runOpts) {
      const job = EvalJob.parse(jobIn)
      const slot = await acquire()
      // the evaluation starts when it has a slot: a job that waited for one (prefetched) was not being worked on
      const startedAt = Math.max(Date.now(), runOpts?.dequeuedAt ?? 0)
      const t0 = performance.now()
      try {
        // what the outer sandbox already masks needs no mount of its own
        const jobMask = [...new Set((runOpts?.mask ?? []).map((p) => resolve(p)))].filter(
          (p) => visibleInSandbox(p) && !hide.includes(p),
        )
        const r = await evaluate(job, slot, startedAt, t0, jobMask)
        if (r.error) failed++
        completed++
        return r
      } finally {
        if (slot.leftovers.length) {
          // the result goes now; the slot takes no job before the folder is gone (or found unremovable)
          const done = sweep(slot).finally(() => {
            sweeping.delete(done)
            release(slot)
          })
          sweeping.add(done)
        } else release(slot)
      }
    },
    stats() {
      return {
        running: slots.filter((s) => s.busy).length,
        completed,
        failed,
        launcherStarts: slots.reduce((n, s) => n + s.sandbox.starts, 0),
        launcherStartupMs: slots.map((s) => Math.round(s.sandbox.startupMs * 10) / 10),
      }
    },
    async close() {
      await Promise.all(sweeping)
      await Promise.all(slots.map((s) => s.sandbox.close()))
      for (const s of slots) releaseSlotDir(s.dir)
    },
  }
}

export function machineCapabilities(gpu: boolean, gpuName?: string) {
  return { cpu: cpus().length, gpu, ...(gpuName ? { gpuName } : {}), languages: availableLanguages(gpu) }
}

export const HOST = hostname()

/** A problem's held-out variables, minus any the sandbox sets itself (PATH, HOME, PYTHONPATH, FM_…). */
export function heldOutEnv(env: Record<string, string>): Record<string, string> {
  const own = new Set(Object.keys(sandboxEnv('/')))
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !own.has(k) && !k.startsWith('FM_') && !k.startsWith('LD_')),
  )
}
