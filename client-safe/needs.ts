// What a problem needs from the machine that evaluates it, what a machine lacks, and the one command
// that supplies it. Pure functions: the probe is server/setup/machine.ts, the installer server/setup/install.ts.
import type { ProblemSpec } from '../server/contracts/problem.ts'

export type Need =
  /** the sandbox's interpreter (FM_PYTHON): the launcher of every evaluation is Python, whatever the language */
  | { kind: 'python' }
  | { kind: 'python-module'; name: string }
  /** a program on the sandbox's PATH */
  | { kind: 'command'; name: string }
  | { kind: 'gpu' }

interface Known {
  label: string
  /** the Debian package that provides it (for Python modules: for Debian's /usr/bin/python3) */
  apt?: string
  /** the name pip knows it by */
  pip?: string
}

/** Python modules we know how to install. Imports of these in a problem's files count as needs. */
export const PYTHON_MODULES: Record<string, Known> = {
  numpy: { label: 'NumPy', apt: 'python3-numpy', pip: 'numpy' },
  scipy: { label: 'SciPy', apt: 'python3-scipy', pip: 'scipy' },
  sklearn: { label: 'scikit-learn', apt: 'python3-sklearn', pip: 'scikit-learn' },
  torch: { label: 'PyTorch', apt: 'python3-torch', pip: 'torch' },
  pandas: { label: 'pandas', apt: 'python3-pandas', pip: 'pandas' },
  yaml: { label: 'PyYAML', apt: 'python3-yaml', pip: 'pyyaml' },
  PIL: { label: 'Pillow', apt: 'python3-pil', pip: 'pillow' },
  networkx: { label: 'NetworkX', apt: 'python3-networkx', pip: 'networkx' },
  sympy: { label: 'SymPy', apt: 'python3-sympy', pip: 'sympy' },
  matplotlib: { label: 'Matplotlib', apt: 'python3-matplotlib', pip: 'matplotlib' },
  numba: { label: 'Numba', apt: 'python3-numba', pip: 'numba' },
}

export const COMMANDS: Record<string, Known> = {
  'g++': { label: 'g++ (C++ compiler)', apt: 'g++' },
  'c++': { label: 'c++ (C++ compiler)', apt: 'g++' },
  gcc: { label: 'gcc (C compiler)', apt: 'gcc' },
  cc: { label: 'cc (C compiler)', apt: 'gcc' },
  clang: { label: 'clang', apt: 'clang' },
  'clang++': { label: 'clang++', apt: 'clang' },
  make: { label: 'make', apt: 'make' },
  valgrind: { label: 'valgrind', apt: 'valgrind' },
  bwrap: { label: 'bubblewrap', apt: 'bubblewrap' },
  python3: { label: 'python3', apt: 'python3' },
  nvcc: { label: 'nvcc (the CUDA toolkit)' },
  // languages whose programs a ShinkaEvolve task's evaluate.py builds itself
  rustc: { label: 'rustc (the Rust toolchain)', apt: 'rustc' },
  go: { label: 'go (the Go toolchain)', apt: 'golang-go' },
  julia: { label: 'julia' },
  gfortran: { label: 'gfortran (Fortran compiler)', apt: 'gfortran' },
}

/** What the sandbox itself uses beyond Python: installed at start, but a run does not need it (isolation degrades, loudly). */
export const SANDBOX_NEEDS: Need[] = [{ kind: 'command', name: 'bwrap' }]

const DEFAULT_COMPILER: Record<string, string> = {
  cpp: 'g++',
  c: 'gcc',
  cuda: 'nvcc',
  rust: 'rustc',
  go: 'go',
  julia: 'julia',
  fortran: 'gfortran',
}

/** The program a command line starts (after VAR=value assignments), when it is a bare name. */
export function commandProgram(cmd: string): string | null {
  for (const word of cmd.trim().split(/\s+/)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue
    return /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(word) ? word : null
  }
  return null
}

const SHELL = new Set(['sh', 'bash', 'env', 'exec', 'timeout', 'nice', 'node', 'true'])

/** Programs that run the script named after them: "python3 eval.py" is a command, "my eval.py" a file. */
const INTERPRETER =
  /^(python[0-9.]*|pypy[0-9.]*|node|deno|bun|sh|bash|dash|zsh|julia|Rscript|ruby|perl|php|java|lua|uv|env|timeout|nice|exec)$/

/**
 * The program an evaluator given as a command starts, or null (a file, or no bare program name).
 * A stored spec comes without the folder's files, which decide it exactly (server/problems/common.ts
 * isEvaluatorCommand): a value with a space that ends in a file name is taken for that file unless it
 * starts with an interpreter. Guessing "file" wrongly leaves a program unchecked until it is run;
 * guessing "command" wrongly ("my" of "my eval.py") would refuse every run of the problem.
 */
export function evaluatorProgram(evaluator: string): string | null {
  if (!/\s|\{candidate\}/.test(evaluator)) return null
  const program = commandProgram(evaluator)
  const fileName = !evaluator.includes('{candidate}') && /\.[A-Za-z0-9]{1,5}$/.test(evaluator.trim())
  if (fileName && !(program && INTERPRETER.test(program))) return null
  return program
}

/** Known third-party modules imported at the top level (column 0) of Python source. */
export function scanPythonImports(source: string): string[] {
  const found = new Set<string>()
  for (const m of source.matchAll(/^(?:import[ \t]+([^\n#;]+)|from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b)/gm)) {
    const names = m[1] ? m[1].split(',').map((n) => n.trim().split(/\s+/)[0]) : [m[2]]
    for (const n of names) {
      const top = n.split('.')[0]
      if (Object.hasOwn(PYTHON_MODULES, top)) found.add(top)
    }
  }
  return [...found].sort()
}

export interface ProblemFile {
  path: string
  data: Buffer | string
}

/**
 * problem.json's `requires` completed with what the problem's own Python files import at the top
 * level (entry and evaluator): what is stored for an imported folder, so it gets the same check.
 */
export function completeRequires(spec: ProblemSpec, files: ProblemFile[]): NonNullable<ProblemSpec['requires']> {
  const python = new Set(spec.requires?.python ?? [])
  const scanned = new Set(
    [spec.entry, spec.format === 'openevolve' ? 'evaluator.py' : spec.evaluator].filter((f) => f.endsWith('.py')),
  )
  for (const f of files) if (scanned.has(f.path)) for (const m of scanPythonImports(f.data.toString())) python.add(m)
  return { python: [...python].sort(), commands: [...(spec.requires?.commands ?? [])] }
}

/** Everything the problem needs, from problem.json: language, build, evaluator, cascade, limits, `requires`. */
export function problemNeeds(spec: ProblemSpec): Need[] {
  const needs: Need[] = [{ kind: 'python' }]
  const command = (c: string | null) => c && !SHELL.has(c) && needs.push({ kind: 'command', name: c })
  const compiler = DEFAULT_COMPILER[spec.language]
  if (compiler) command((spec.build && commandProgram(spec.build)) || compiler)
  if (spec.language === 'cuda' || spec.limits?.gpu) needs.push({ kind: 'gpu' })
  command(evaluatorProgram(spec.evaluator))
  for (const s of spec.cascade ?? []) if (s.command) command(commandProgram(s.command))
  for (const m of spec.requires?.python ?? []) needs.push({ kind: 'python-module', name: m })
  for (const c of spec.requires?.commands ?? []) command(c)
  const seen = new Set<string>()
  return needs.filter((n) => {
    const k = needKey(n)
    return !seen.has(k) && !!seen.add(k)
  })
}

/** The Python modules and programs a probe must look for to judge these needs. */
export function probeTargets(needs: Need[]): { modules: string[]; commands: string[] } {
  const of = (kind: 'python-module' | 'command') => [
    ...new Set(needs.flatMap((n) => (n.kind === kind ? [n.name] : []))),
  ]
  return { modules: of('python-module'), commands: of('command') }
}

export const needKey = (n: Need) =>
  n.kind === 'python-module' || n.kind === 'command' ? `${n.kind}:${n.name}` : n.kind

/** What the probe found (machine.ts). */
export interface MachineState {
  python: { path: string; version: string | null; error?: string }
  /** import name → version ('' when unknown), or false when it does not import */
  modules: Record<string, string | false>
  /** why a module that is there does not import (a broken installation) */
  moduleErrors?: Record<string, string>
  /** program → its path on the sandbox's PATH, or null */
  commands: Record<string, string | null>
  os: { id: string; pretty: string; apt: boolean }
  root: boolean
  /** sudo without a password */
  sudo: boolean
  /** an NVIDIA device on this machine (GPU problems still need a GPU worker in server mode) */
  gpu: boolean
}

/** Debian's apt packages only serve Debian's own interpreter (RECIPES.md: a pyenv python does not see them). */
export const DEBIAN_PYTHON = '/usr/bin/python3'

export function describeNeed(n: Need, m: Pick<MachineState, 'python'>): string {
  if (n.kind === 'python') return `Python 3 at ${m.python.path}`
  if (n.kind === 'gpu') return 'a GPU worker'
  if (n.kind === 'command') return COMMANDS[n.name]?.label ?? n.name
  return PYTHON_MODULES[n.name]?.label ?? n.name
}

/**
 * The needs in words, the Python modules together after the rest and their interpreter named once
 * ("valgrind, bubblewrap (Python modules for …)" had read as if bubblewrap were one).
 */
export function describeNeeds(needs: Need[], m: Pick<MachineState, 'python'>): string {
  const rest = needs.filter((n) => n.kind !== 'python-module').map((n) => describeNeed(n, m))
  const modules = needs.filter((n) => n.kind === 'python-module').map((n) => describeNeed(n, m))
  if (!modules.length) return rest.join(', ')
  const named = `${modules.join(', ')} (Python modules for ${m.python.path})`
  return rest.length ? `${rest.join(', ')}; ${named}` : named
}

/** The needs this machine does not meet. A GPU need is met only where a GPU worker evaluates (server mode). */
export function unmet(needs: Need[], m: MachineState, opts: { gpuWorkers?: boolean } = {}): Need[] {
  return needs.filter((n) => {
    if (n.kind === 'python') return !m.python.version
    if (n.kind === 'python-module') return !m.python.version || !m.modules[n.name]
    if (n.kind === 'command') return !m.commands[n.name]
    return !opts.gpuWorkers
  })
}

export interface InstallPlan {
  /** Debian packages that supply what is missing */
  apt: string[]
  /** Python packages for a non-Debian interpreter */
  pip: string[]
  /** what no package manager here supplies, in words */
  manual: string[]
}

export function installPlan(missing: Need[], m: MachineState): InstallPlan {
  const plan: InstallPlan = { apt: [], pip: [], manual: [] }
  const add = (list: string[], v: string) => list.includes(v) || list.push(v)
  const debianPython = m.python.path === DEBIAN_PYTHON
  for (const n of missing) {
    if (n.kind === 'gpu') continue
    if (n.kind === 'python') {
      if (m.os.apt && debianPython) add(plan.apt, 'python3')
      else add(plan.manual, `Python 3 at ${m.python.path} (or set FM_PYTHON to an interpreter that exists)`)
      continue
    }
    const known = n.kind === 'command' ? COMMANDS[n.name] : PYTHON_MODULES[n.name]
    if (n.kind === 'python-module' && !(m.os.apt && debianPython)) {
      add(plan.pip, known?.pip ?? n.name)
    } else if (m.os.apt && known?.apt) add(plan.apt, known.apt)
    else add(plan.manual, describeNeed(n, m))
  }
  plan.apt.sort()
  plan.pip.sort()
  return plan
}

/** apt-get can run here without asking for a password. */
export const canInstall = (m: MachineState) => m.os.apt && (m.root || m.sudo)

export function aptCommand(packages: string[], m: Pick<MachineState, 'root'>) {
  return `${m.root ? '' : 'sudo '}apt-get install -y --no-install-recommends ${packages.join(' ')}`
}

/** The one command that supplies what the plan lists, or words where no command does. */
export function fixCommand(plan: InstallPlan, m: Pick<MachineState, 'root' | 'python'>): string | null {
  const parts: string[] = []
  if (plan.apt.length) parts.push(aptCommand(plan.apt, m))
  if (plan.pip.length) parts.push(`${m.python.path} -m pip install ${plan.pip.join(' ')}`)
  if (plan.manual.length) parts.push(`install ${plan.manual.join(', ')}`)
  return parts.length ? parts.join(' && ') : null
}

export interface Readiness {
  /** every need met: runs of this problem can start here */
  ok: boolean
  /** what is missing, in words (Python modules by name, for the sandbox's interpreter) */
  missing: string[]
  /** the sandbox's interpreter, which the Python modules are for */
  python: string
  /** the command that supplies it (or what to do, for a GPU) */
  fix: string | null
  /** `missing` as one phrase */
  text?: string
  /** what supplies it (absent when nothing is missing): readiness of several problems merges into one fix */
  plan?: InstallPlan
  gpu?: boolean
  root?: boolean
}

export function readiness(needs: Need[], m: MachineState, opts: { gpuWorkers?: boolean } = {}): Readiness {
  let missing = unmet(needs, m, opts)
  // without a GPU worker here the rest is for the GPU worker's machine to have
  if (missing.some((n) => n.kind === 'gpu')) missing = [{ kind: 'gpu' }]
  if (!missing.length) return { ok: true, missing: [], python: m.python.path, fix: null }
  const plan = installPlan(missing, m)
  const gpu = missing.some((n) => n.kind === 'gpu')
  return {
    ok: false,
    missing: missing.map((n) => describeNeed(n, m)),
    python: m.python.path,
    fix: joinFixes(fixCommand(plan, m), gpu),
    text: describeNeeds(missing, m),
    plan,
    gpu,
    root: m.root,
  }
}

/** What `missing` says of a machine whose runs are refused for want of a sandbox. */
export const NO_SANDBOX = 'a sandbox for candidate code (isolation is none here: fm-agent doctor says why)'

/**
 * A problem's readiness on a machine that refuses runs without a sandbox: every problem then cannot
 * run, whatever packages it has (fm-agent doctor and the Problems page had said "runs here" while
 * every run was refused). `refusal` is the refusal's text, null where runs may start.
 */
export function withSandboxRefusal(r: Readiness, refusal: string | null): Readiness {
  if (!refusal) return r
  const fix = 'see `fm-agent doctor`; or set FM_ALLOW_UNSANDBOXED=1 to accept running candidates unsandboxed'
  return {
    ...r,
    ok: false,
    missing: [...r.missing, NO_SANDBOX],
    fix: r.fix ? `${r.fix}; ${fix}` : fix,
    text: r.text ? `${r.text}; ${NO_SANDBOX}` : NO_SANDBOX,
  }
}

export const GPU_FIX =
  'GPU problems run on GPU workers: server mode (DATABASE_URL) with `fm-agent worker --gpu` on a machine with a GPU'
const joinFixes = (command: string | null, gpu: boolean) =>
  [command, gpu ? GPU_FIX : null].filter(Boolean).join('; ') || null

/** One command for several problems that cannot run (what `fm-agent problems` prints under its table); GPU_FIX aside. */
export function mergedFix(rs: Readiness[]): string | null {
  const failing = rs.filter((r) => !r.ok && r.plan)
  if (!failing.length) return null
  const plan: InstallPlan = { apt: [], pip: [], manual: [] }
  for (const r of failing)
    for (const k of ['apt', 'pip', 'manual'] as const) plan[k] = [...new Set([...plan[k], ...r.plan![k]])].sort()
  return fixCommand(plan, { root: !!failing[0].root, python: { path: failing[0].python, version: null } })
}

/** One line for the problem that cannot run: what it lacks and the fix. */
export function refusal(problemId: string, r: Readiness) {
  return `problem "${problemId}" cannot run on this machine: it needs ${r.text ?? r.missing.join(', ')}${r.fix ? `. Fix: ${r.fix}` : ''}`
}
