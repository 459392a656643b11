// The prerequisite check: which problems can run on this machine, the set-up `fm-agent start` does
// before serving (install what is missing where apt can, else say how), and the refusal of runs
// that cannot start here.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ProblemSpec } from '../contracts/problem.ts'
import { PrerequisiteError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { listBuiltinProblemFolders, loadProblemFolder } from '../problems/load.ts'
import { sharedFiles } from '../problems/shared.ts'
import { aptInstall } from './install.ts'
import { currentMachine, probeMachine } from './machine.ts'
import { detectIsolationAsync, unsandboxedRefusal } from '../../workers/sandbox.ts'
import {
  canInstall,
  completeRequires,
  describeNeed,
  describeNeeds,
  fixCommand,
  installPlan,
  needKey,
  probeTargets,
  problemNeeds,
  PYTHON_MODULES,
  readiness,
  refusal,
  SANDBOX_NEEDS,
  unmet,
  withSandboxRefusal,
  type MachineState,
  type Need,
  type Readiness,
} from '../../client-safe/needs.ts'

/** A problem folder's spec with `requires` completed from its Python imports (what saving it stores). */
export function folderSpec(folder: string): ProblemSpec {
  try {
    const spec = ProblemSpec.parse(JSON.parse(readFileSync(join(folder, 'problem.json'), 'utf8')))
    const shared = sharedFiles(spec)
    const read = (f: string) => shared.find((s) => s.path === f)?.data ?? readFileSync(join(folder, f))
    const files = [spec.entry, spec.evaluator].filter((f) => f.endsWith('.py')).map((f) => ({ path: f, data: read(f) }))
    return { ...spec, requires: completeRequires(spec, files) }
  } catch {
    // not a native folder (OpenEvolve) or an unreadable one: the loader says what is wrong
    const p = loadProblemFolder(folder)
    return { ...p.spec, requires: completeRequires(p.spec, p.files) }
  }
}

export const builtinSpecs = () => listBuiltinProblemFolders().map(folderSpec)

export interface ProblemCheck {
  id: string
  /** a GPU problem: runs only on GPU workers (server mode) */
  gpu: boolean
  readiness: Readiness
}

export function checkProblems(
  specs: ProblemSpec[],
  m: MachineState,
  opts: { gpuWorkers?: boolean } = {},
): ProblemCheck[] {
  return specs.map((s) => ({
    id: s.id,
    gpu: problemNeeds(s).some((n) => n.kind === 'gpu'),
    readiness: readiness(problemNeeds(s), m, opts),
  }))
}

/** `Python 3.11.2 (/usr/bin/python3) with NumPy 1.24.2, SciPy 1.10.1; g++, valgrind` for the needs given */
export function presentLine(needs: Need[], m: MachineState) {
  const mods = needs
    .filter((n) => n.kind === 'python-module' && m.modules[n.name])
    .map((n) => {
      const name = (n as { name: string }).name
      return `${PYTHON_MODULES[name]?.label ?? name}${m.modules[name] ? ` ${m.modules[name]}` : ''}`
    })
  const cmds = needs
    .filter((n) => n.kind === 'command' && m.commands[n.name])
    .map((n) => describeNeed(n, m).replace(/ \(.*\)$/, ''))
  return `Python ${m.python.version ?? '(missing)'} (${m.python.path})${mods.length ? ` with ${mods.join(', ')}` : ''}${cmds.length ? `; ${cmds.join(', ')}` : ''}`
}

export function uniqueNeeds(lists: Need[][]): Need[] {
  const byKey = new Map<string, Need>()
  for (const n of lists.flat()) byKey.set(needKey(n), n)
  return [...byKey.values()]
}

/**
 * Before `fm-agent start` serves (embedded mode: evaluations run on this machine): the built-in
 * problems' and the sandbox's prerequisites, installed with apt when missing and the machine allows
 * it; otherwise a warning with the one command that fixes it. One line when all is present.
 */
export async function ensurePrerequisites(opts: {
  log: Logger
  install: boolean
  python?: string
}): Promise<{ machine: MachineState; problems: ProblemCheck[] }> {
  const { log } = opts
  const specs = builtinSpecs()
  // GPU problems run on GPU workers only, never in the embedded pool: their needs (PyTorch) are not installed here
  const cpuSpecs = specs.filter((s) => !problemNeeds(s).some((n) => n.kind === 'gpu'))
  const needs = uniqueNeeds([...cpuSpecs.map(problemNeeds), SANDBOX_NEEDS])
  const probe = () =>
    probeMachine({ python: opts.python, ...probeTargets(uniqueNeeds([...specs.map(problemNeeds), SANDBOX_NEEDS])) })
  let m = await probe()
  let missing = unmet(needs, m)
  if (missing.length && opts.install) {
    const plan = installPlan(missing, m)
    if (plan.apt.length && canInstall(m)) {
      const started = Date.now()
      log.info(`prerequisites: missing ${describeNeeds(missing, m)}`)
      log.info(
        `prerequisites: installing ${plan.apt.join(' ')} with apt-get (once; \`fm-agent start --no-install\` skips this)`,
      )
      const r = await aptInstall(plan.apt, m, log)
      if (!r.ok) log.warn(`prerequisites: ${r.error}`)
      m = await probe()
      missing = unmet(needs, m)
      if (r.ok) log.info(`prerequisites: installed in ${Math.round((Date.now() - started) / 1000)} s`)
    }
  }
  await currentMachine({ maxAgeMs: 0 }) // what run creation checks against from now on
  const problems = checkProblems(specs, m)
  const gpuOnly = problems.filter((p) => p.gpu).map((p) => p.id)
  const gpuNote = gpuOnly.length ? `; ${gpuOnly.join(', ')} need a GPU worker (server mode)` : ''
  const blocked = problems.filter((p) => !p.gpu && !p.readiness.ok)
  if (!missing.length) {
    log.info(`prerequisites: all present: ${presentLine(needs, m)}${gpuNote}`)
  } else {
    const fix = fixCommand(installPlan(missing, m), m)
    const why = !opts.install
      ? 'not installed (--no-install)'
      : !m.os.apt
        ? 'this is not a Debian or Ubuntu system'
        : !canInstall(m)
          ? 'installing needs root or passwordless sudo'
          : 'the installation did not supply them'
    log.warn(`prerequisites: missing ${describeNeeds(missing, m)}: ${why}`)
    if (blocked.length)
      log.warn(
        `prerequisites: ${blocked.length} of ${problems.length} built-in problems cannot run here until then (their runs are refused): ${blocked.map((p) => p.id).join(', ')}`,
      )
    if (missing.some((n) => n.kind === 'command' && n.name === 'bwrap'))
      log.warn('prerequisites: without bubblewrap the sandbox isolates less (the workers say which layers are active)')
    if (fix) log.warn(`prerequisites: fix with: ${fix}`)
    if (gpuNote) log.info(`prerequisites: ${gpuNote.slice(2)}`)
  }
  return { machine: m, problems }
}

/** Set to run a problem even when the check says this machine cannot (a check that is wrong for an unusual set-up). */
export const ignorePrerequisites = () => ['1', 'true'].includes(process.env.FM_IGNORE_PREREQS ?? '')

/** Whether this problem can run on this machine's local workers. */
export async function localReadiness(spec: ProblemSpec, opts: { maxAgeMs?: number } = {}): Promise<Readiness> {
  const needs = problemNeeds(spec)
  // the programs this problem's evaluator runs are probed too (awk, a compiler…), not only the usual ones
  const [m, isolation] = await Promise.all([
    currentMachine({ ...probeTargets(needs), maxAgeMs: opts.maxAgeMs }),
    detectIsolationAsync(),
  ])
  return withSandboxRefusal(readiness(needs, m), unsandboxedRefusal(isolation))
}

/** Refuses a run of a problem this machine cannot evaluate, naming what is missing and the fix. */
export async function assertRunnableHere(spec: ProblemSpec) {
  if (ignorePrerequisites()) return
  let r = await localReadiness(spec)
  if (!r.ok) r = await localReadiness(spec, { maxAgeMs: 0 }) // installed since the last probe?
  if (!r.ok) throw new PrerequisiteError(refusal(spec.id, r))
}
