import { resolve } from 'node:path'
import type { ProblemSpec } from '../../contracts/problem.ts'
import { builtinSpecs, checkProblems, folderSpec, type ProblemCheck, uniqueNeeds } from '../../setup/check.ts'
import { probeMachine } from '../../setup/machine.ts'
import {
  canInstall,
  COMMANDS,
  describeNeeds,
  fixCommand,
  installPlan,
  type MachineState,
  type Need,
  probeTargets,
  problemNeeds,
  PYTHON_MODULES,
  SANDBOX_NEEDS,
  unmet,
  withSandboxRefusal,
} from '../../../client-safe/needs.ts'
import { evaluationFolders } from '../../../workers/runner.ts'
import { cannotBuildMessage, type ConsoleBuild, consoleBuild, INSTALL_ROOT } from '../../next-build.ts'
import { detectIsolation, type IsolationReport, unsandboxedRefusal } from '../../../workers/sandbox.ts'
import { InputError, parse } from '../args.ts'
import type { Command } from '../main.ts'

export interface DoctorReport {
  /** every built-in problem this machine is meant to run can run */
  ok: boolean
  machine: MachineState & { canInstall: boolean }
  isolation: Pick<IsolationReport, 'level' | 'mode' | 'warnings'> & {
    layers: Array<{ name: string; active: boolean; detail: string }>
  }
  /** where a worker's evaluation folders go by default */
  evaluationFolders: ReturnType<typeof evaluationFolders>
  /** the console's production build here (`fm-agent start` serves it) */
  console: ConsoleBuild
  problems: Array<ProblemCheck & { builtin: boolean }>
  /** everything missing for the problems above and the sandbox, in words */
  missing: string
  fix: string | null
  /** `fm-agent start` would install it all itself */
  startInstalls: boolean
  /** why runs are refused here for want of a sandbox (isolation none without FM_ALLOW_UNSANDBOXED), or null */
  sandboxRefusal: string | null
}

const mark = (ok: boolean) => (ok ? 'ok     ' : 'MISSING')

export function formatDoctor(r: DoctorReport, needs: Need[]): string {
  const m = r.machine
  const lines = [
    `machine   ${m.os.pretty}, ${m.root ? 'root' : m.sudo ? 'passwordless sudo' : 'no root'}: ${
      r.machine.canInstall
        ? '`fm-agent start` installs what is missing with apt-get'
        : m.os.apt
          ? 'installing with apt-get needs root or passwordless sudo'
          : 'no apt-get: install what is missing yourself'
    }`,
    `python    ${mark(!!m.python.version)} ${m.python.path}${m.python.version ? ` ${m.python.version}` : ''} (FM_PYTHON)${m.python.error ? `: ${m.python.error}` : ''}`,
  ]
  for (const n of needs) {
    if (n.kind !== 'python-module') continue
    const v = m.modules[n.name]
    const broken = m.moduleErrors?.[n.name]
    lines.push(
      `module    ${mark(!!v)} ${PYTHON_MODULES[n.name]?.label ?? n.name}${v ? ` ${v}` : ''}${broken ? ` (does not import: ${broken})` : ''}`,
    )
  }
  for (const n of needs) {
    if (n.kind === 'command')
      lines.push(
        `program   ${mark(!!m.commands[n.name])} ${COMMANDS[n.name]?.label ?? n.name}${m.commands[n.name] ? ` ${m.commands[n.name]}` : ''}`,
      )
  }
  lines.push(
    `gpu       ${m.gpu ? 'an NVIDIA device is present (GPU problems run on `fm-agent worker --gpu` in server mode)' : 'none (GPU problems run on GPU workers in server mode)'}`,
  )
  const active = r.isolation.layers.filter((l) => l.active).map((l) => l.name)
  lines.push(`sandbox   isolation ${r.isolation.level} (mode ${r.isolation.mode}): ${active.join(', ') || 'no layer'}`)
  for (const l of r.isolation.layers.filter((x) => !x.active))
    lines.push(`          missing layer ${l.name}: ${l.detail}`)
  for (const w of r.isolation.warnings) lines.push(`          warning: ${w}`)
  if (r.sandboxRefusal) lines.push(`          RUNS REFUSED: ${r.sandboxRefusal}`)
  lines.push(`folders   evaluation folders ${r.evaluationFolders.detail}`)
  lines.push(
    `console   ${
      r.console.current
        ? 'built for the current sources'
        : r.console.canBuild
          ? `not built (${r.console.reason}): \`fm-agent start\` builds it first (about a minute)`
          : cannotBuildMessage(INSTALL_ROOT, r.console.reason ?? '')
    }`,
  )
  lines.push('', 'problems')
  const width = Math.max(...r.problems.map((p) => p.id.length))
  for (const p of r.problems) {
    const state = p.readiness.ok ? 'runs here' : `${p.gpu ? '' : 'CANNOT RUN: '}needs ${p.readiness.missing.join(', ')}`
    lines.push(`  ${p.id.padEnd(width)}  ${state}${p.builtin ? '' : '  (folder)'}`)
  }
  if (r.missing) lines.push('', `missing: ${r.missing}`)
  if (r.fix) lines.push(`fix:     ${r.fix}${r.startInstalls ? '\n         (`npm start` runs this itself)' : ''}`)
  lines.push(
    '',
    r.ok
      ? 'ready: every built-in problem meant for this machine can run here'
      : r.sandboxRefusal
        ? 'NOT READY: runs are refused here, for want of a sandbox (see sandbox above)'
        : 'NOT READY: some built-in problems cannot run here (see above)',
  )
  return lines.join('\n')
}

export const doctor: Command = {
  summary: 'what this machine has for evaluations, what is missing, which problems can run here and how isolated',
  usage:
    'fm-agent doctor [folder…] [--gpu] [--json]\n' +
    '  checks the built-in problems (and the problem folders given) against this machine; --gpu checks as a GPU worker\n' +
    '  (fm-agent worker --gpu) would run them. Exit code 1 when a built-in problem cannot run here.',
  async run({ argv, out }) {
    const { values, positionals } = parse('doctor', argv, { json: { type: 'boolean' }, gpu: { type: 'boolean' } }, 32)
    const gpuWorker = !!values.gpu
    const specs: Array<{ spec: ProblemSpec; builtin: boolean }> = builtinSpecs().map((spec) => ({
      spec,
      builtin: true,
    }))
    for (const folder of positionals) {
      try {
        specs.push({ spec: folderSpec(resolve(folder)), builtin: false })
      } catch (e) {
        throw new InputError(`${folder}: ${(e as Error).message}`)
      }
    }
    // a machine without a GPU is not meant to run GPU problems: they do not make it unready
    const meantHere = (s: ProblemSpec) => gpuWorker || !problemNeeds(s).some((n) => n.kind === 'gpu')
    const machine = await probeMachine({
      importModules: true,
      ...probeTargets(uniqueNeeds(specs.map((s) => problemNeeds(s.spec)))),
    })
    const gpuWorkers = gpuWorker && machine.gpu
    const isolation = detectIsolation()
    // a machine that refuses runs without a sandbox runs none of them, whatever packages it has
    const sandboxRefusal = unsandboxedRefusal(isolation)
    const checks = checkProblems(
      specs.map((s) => s.spec),
      machine,
      { gpuWorkers },
    ).map((c) => ({ ...c, readiness: withSandboxRefusal(c.readiness, sandboxRefusal) }))
    const needs = uniqueNeeds([
      ...specs.filter((s) => meantHere(s.spec)).map((s) => problemNeeds(s.spec)),
      SANDBOX_NEEDS,
    ])
    const missingNeeds = unmet(needs, machine, { gpuWorkers })
    const plan = installPlan(missingNeeds, machine)
    const report: DoctorReport = {
      ok: checks.every((c, i) => !specs[i].builtin || !meantHere(specs[i].spec) || c.readiness.ok),
      machine: { ...machine, canInstall: canInstall(machine) },
      isolation: {
        level: isolation.level,
        mode: isolation.mode,
        warnings: isolation.warnings,
        layers: isolation.layers.map((l) => ({ name: l.name, active: l.active, detail: l.detail })),
      },
      evaluationFolders: evaluationFolders(),
      console: consoleBuild(INSTALL_ROOT),
      problems: checks.map((c, i) => ({ ...c, builtin: specs[i].builtin })),
      missing: missingNeeds.length ? describeNeeds(missingNeeds, machine) : '',
      fix: fixCommand(plan, machine),
      startInstalls: canInstall(machine) && !plan.pip.length && !plan.manual.length && plan.apt.length > 0,
      sandboxRefusal,
    }
    out(values.json ? JSON.stringify(report) : formatDoctor(report, needs))
    return report.ok ? 0 : 1
  },
}
