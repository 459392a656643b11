// fm-agent's entry: global options, the command table, exit codes
// (0 done, 1 failed, 2 bad usage or input).
import { DataDirLockedError, resolveDataDir } from '../db/data-dir.ts'
import { DatabaseOpenError } from '../db.ts'
import { EnvError, readEnv, type Env } from '../env.ts'
import { createLogger, type Logger } from '../log.ts'
import { InputError, UsageError } from './args.ts'

export interface CommandContext {
  argv: string[]
  env: Env
  log: Logger
  dataDir(values: Record<string, unknown>): string
  out(text: string): void
}

export interface Command {
  summary: string
  usage: string
  run(ctx: CommandContext): Promise<number>
}

type Loader = () => Promise<Command>

const COMMANDS: Record<string, Loader> = {
  start: async () => (await import('./commands/start.ts')).start,
  problems: async () => (await import('./commands/problems.ts')).problems,
  user: async () => (await import('./commands/user.ts')).user,
  kb: async () => (await import('./commands/kb.ts')).kb,
  run: async () => (await import('./commands/run.ts')).run,
  resume: async () => (await import('./commands/resume.ts')).resume,
  runs: async () => (await import('./commands/runs.ts')).runs,
  candidate: async () => (await import('./commands/candidate.ts')).candidate,
  export: async () => (await import('./commands/export.ts')).exportCommand,
  import: async () => (await import('./commands/import.ts')).importCommand,
  'copy-to': async () => (await import('./commands/copy-to.ts')).copyTo,
  web: async () => (await import('./commands/web.ts')).web,
  engine: async () => (await import('./commands/engine.ts')).engine,
  worker: async () => (await import('./commands/worker.ts')).worker,
  'worker-role': async () => (await import('./commands/worker-role.ts')).workerRole,
  problem: async () => (await import('./commands/problem.ts')).problem,
  doctor: async () => (await import('./commands/doctor.ts')).doctor,
  'held-out': async () => (await import('./commands/held-out.ts')).heldOut,
}

/** Commands added by later parts of the system register here (run, worker, kb …). */
export function registerCommand(name: string, loader: Loader) {
  COMMANDS[name] = loader
}

async function help(out: (s: string) => void) {
  const lines = ['fm-agent: evolutionary program search with LLMs and a human-in-the-loop console', '', 'Commands:']
  for (const [name, load] of Object.entries(COMMANDS)) {
    const c = await load()
    lines.push(`  ${name.padEnd(10)} ${c.summary}`)
  }
  lines.push(
    '',
    'Global options:',
    '  --data-dir DIR   data folder (default $FM_DATA_DIR or ./.fm-agent)',
    '  -h, --help       help for a command',
  )
  lines.push(
    '',
    'Environment: DATABASE_URL (server mode), FM_DATA_DIR, PORT, FM_HOST, FM_WORKERS, FM_ADMIN_EMAIL, FM_ADMIN_PASSWORD, FM_PYTHON (the interpreter of the sandbox)',
  )
  out(lines.join('\n'))
}

export async function main(argv: string[]): Promise<number> {
  // a reader that stops early (`| head`, `grep -q`) closes the pipe: the command finishes its work
  // (a run still closes its database cleanly) and writes nothing more, instead of dying on EPIPE
  let readerGone = false
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
    readerGone = true
  })
  const out = (s: string) => {
    if (!readerGone) process.stdout.write(s.endsWith('\n') ? s : s + '\n')
  }
  // global options may come before the command name: fm-agent --data-dir D problems
  const lead: string[] = []
  let i = 0
  while (i < argv.length && argv[i].startsWith('-')) {
    if (argv[i] === '--data-dir') lead.push(argv[i], argv[i + 1] ?? ''), (i += 2)
    else if (argv[i].startsWith('--data-dir=') || argv[i] === '-h' || argv[i] === '--help') lead.push(argv[i++])
    else {
      process.stderr.write(`fm-agent: unknown option "${argv[i]}" before the command name\n`)
      return 2
    }
  }
  const name = argv[i]
  if (!name || name === 'help') {
    await help(out)
    return name || lead.some((a) => a === '-h' || a === '--help') ? 0 : 2
  }
  const rest = [...lead, ...argv.slice(i + 1)]
  const load = COMMANDS[name]
  if (!load) {
    process.stderr.write(`fm-agent: unknown command "${name}" (fm-agent help lists them)\n`)
    return 2
  }
  let env: Env
  try {
    env = readEnv()
  } catch (e) {
    process.stderr.write(`fm-agent: ${(e as Error).message}\n`)
    return 2
  }
  const log = createLogger('fm-agent', env.FM_LOG)
  const command = await load()
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`${command.summary}\n\nUsage: ${command.usage}`)
    return 0
  }
  try {
    return await command.run({
      argv: rest,
      env,
      log,
      out,
      dataDir: (values) => resolveDataDir((values['data-dir'] as string | undefined) ?? env.FM_DATA_DIR),
    })
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`fm-agent: ${e.message}\n${e instanceof InputError ? '' : `Usage: ${command.usage}\n`}`)
      return 2
    }
    if (e instanceof DataDirLockedError || e instanceof DatabaseOpenError || e instanceof EnvError) {
      process.stderr.write(`fm-agent: ${e.message}\n`)
      return 1
    }
    process.stderr.write(`fm-agent: ${(e as Error).message ?? e}\n`)
    if (env.FM_LOG === 'debug') process.stderr.write(`${(e as Error).stack}\n`)
    return 1
  }
}
