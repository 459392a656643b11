// What this machine has for evaluations: the sandbox's Python and its modules, programs on the
// sandbox's PATH, the OS and whether apt can run without a password. Probed the way the sandbox sees
// things (its interpreter with -s, its PATH), cached briefly per process.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { PYTHON, SANDBOX_PATH } from '../../workers/sandbox.ts'
import { COMMANDS, PYTHON_MODULES, type MachineState } from '../../client-safe/needs.ts'

// Arguments: the deep flag, then `module=distribution` (the name pip installs it by). The version is
// read from the distribution by name; packages_distributions() (a read of every installed package's
// file list, ~60 ms of a run's start with a hundred packages) only when that name is not installed.
const PROBE = `
import importlib, importlib.util, json, sys
deep = sys.argv[1] == '1'
out = {'version': sys.version.split()[0], 'modules': {}, 'errors': {}}
dists = None
def installed_version(name, dist):
    global dists
    from importlib.metadata import packages_distributions, version
    for d in (dist, name):
        try:
            return version(d)
        except Exception:
            pass
    if dists is None:
        try:
            dists = packages_distributions()
        except Exception:
            dists = {}
    for d in dists.get(name, []):
        try:
            return version(d)
        except Exception:
            pass
    return ''
for arg in sys.argv[2:]:
    name, _, dist = arg.partition('=')
    try:
        if deep:
            v = getattr(importlib.import_module(name), '__version__', '')
        else:
            if importlib.util.find_spec(name) is None:
                out['modules'][name] = False
                continue
            v = installed_version(name, dist or name)
        out['modules'][name] = str(v or '')
    except BaseException as e:
        out['modules'][name] = False
        if not (isinstance(e, ModuleNotFoundError) and e.name == name):
            out['errors'][name] = (type(e).__name__ + ': ' + str(e))[:300]
print(json.dumps(out))
`

function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env, timeout: opts.timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
        resolve({
          code,
          stdout: stdout ?? '',
          stderr: stderr || (err && typeof err.code !== 'number' ? err.message : ''),
        })
      },
    )
  })
}

/** A program as the sandbox finds it: on its fixed PATH only. */
export function onSandboxPath(name: string): string | null {
  for (const dir of SANDBOX_PATH.split(':')) {
    const p = join(dir, name)
    try {
      if (statSync(p).isFile()) return p
    } catch {
      /* not here */
    }
  }
  return null
}

function readOs(): MachineState['os'] {
  let text = ''
  try {
    text = readFileSync('/etc/os-release', 'utf8')
  } catch {
    /* not Linux, or a minimal root without it */
  }
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? ''
  const id = field('ID') || process.platform
  const family = `${id} ${field('ID_LIKE')}`
  return {
    id,
    pretty: field('PRETTY_NAME') || id,
    apt: /\b(debian|ubuntu)\b/.test(family) && !!onSandboxPath('apt-get'),
  }
}

export interface ProbeOptions {
  python?: string
  /** import each module (catches broken installs; seconds with torch) instead of only locating it */
  importModules?: boolean
  modules?: string[]
  commands?: string[]
}

export async function probeMachine(opts: ProbeOptions = {}): Promise<MachineState> {
  const python = opts.python ?? PYTHON
  const modules = [...new Set([...Object.keys(PYTHON_MODULES), ...(opts.modules ?? [])])]
  const commands = [...new Set([...Object.keys(COMMANDS), ...(opts.commands ?? [])])]
  const root = process.getuid?.() === 0
  const env = {
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    PYTHONNOUSERSITE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    HOME: '/nonexistent',
  } as unknown as NodeJS.ProcessEnv
  const [py, sudo] = await Promise.all([
    existsSync(python)
      ? run(
          python,
          [
            '-s',
            '-c',
            PROBE,
            opts.importModules ? '1' : '0',
            ...modules.map((m) => `${m}=${PYTHON_MODULES[m]?.pip ?? m}`),
          ],
          { env, timeoutMs: 120_000 },
        )
      : null,
    !root && onSandboxPath('sudo')
      ? run('sudo', ['-n', 'true'], { timeoutMs: 10_000 }).then((r) => r.code === 0)
      : false,
  ])
  let state: MachineState['python'] = { path: python, version: null, error: `${python} does not exist` }
  let found: Record<string, string | false> = Object.fromEntries(modules.map((m) => [m, false]))
  let moduleErrors: Record<string, string> = {}
  if (py) {
    try {
      const out = JSON.parse(py.stdout.trim().split('\n').pop() ?? '') as {
        version: string
        modules: Record<string, string | false>
        errors: Record<string, string>
      }
      state = { path: python, version: out.version }
      found = out.modules
      moduleErrors = out.errors
    } catch {
      state = {
        path: python,
        version: null,
        error: `${python} does not run: ${(py.stderr || py.stdout).trim().slice(0, 300) || `exit code ${py.code}`}`,
      }
    }
  }
  return {
    python: state,
    modules: found,
    moduleErrors,
    commands: Object.fromEntries(commands.map((c) => [c, onSandboxPath(c)])),
    os: readOs(),
    root,
    sudo,
    gpu: existsSync('/dev/nvidia0') || !!onSandboxPath('nvidia-smi'),
  }
}

let cached: { at: number; modules: Set<string>; commands: Set<string>; state: Promise<MachineState> } | null = null

/**
 * The machine as probed at most `maxAgeMs` ago (0: now), with these Python modules among those
 * probed; callers that refuse something ask again with 0 first.
 */
export function currentMachine(
  opts: { modules?: string[]; commands?: string[]; maxAgeMs?: number } = {},
): Promise<MachineState> {
  const wanted = opts.modules ?? []
  const wantedCommands = opts.commands ?? []
  if (
    !cached ||
    Date.now() - cached.at > (opts.maxAgeMs ?? 60_000) ||
    wanted.some((m) => !cached!.modules.has(m)) ||
    wantedCommands.some((c) => !cached!.commands.has(c))
  ) {
    const modules = new Set([...(cached?.modules ?? []), ...wanted])
    const commands = new Set([...(cached?.commands ?? []), ...wantedCommands])
    const state = probeMachine({ modules: [...modules], commands: [...commands] })
    const entry = { at: Date.now(), modules, commands, state }
    cached = entry
    state.catch(() => cached === entry && (cached = null))
  }
  return cached.state
}
