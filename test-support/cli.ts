// Runs the real `fm-agent` CLI as a child process, the way users and scripts do.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const FM_AGENT = fileURLToPath(new URL('../bin/fm-agent.mjs', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('./problems', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** the last stdout line parsed as JSON, when it is JSON */
  json: any
}

/** `group`: in a process group of its own, as a terminal starts a command (a Ctrl-C signals all of it) */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { group?: boolean } = {},
): ChildProcess {
  return spawn(process.execPath, [FM_AGENT, ...args], {
    // a progress line a second, as on a terminal: tests follow a run by them
    env: { ...process.env, DATABASE_URL: '', FM_LOG: 'info', FM_PROGRESS_S: '1', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: !!opts.group,
  })
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? ''
      let json: unknown = null
      try {
        json = JSON.parse(last)
      } catch {
        json = null
      }
      resolve({ code, stdout, stderr, json })
    }),
  )
}

export function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return collect(startCli(args, env))
}
