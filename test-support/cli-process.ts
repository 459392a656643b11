// A `fm-agent` child process watched through its stderr, for tests that kill it at chosen moments:
// which run it drives, the progress lines it printed (each one follows an ingested result), and
// a kill -9 that waits until the process is really gone.
import type { ChildProcess } from 'node:child_process'
import { startCli } from './cli.ts'

export interface Progress {
  status: string
  evaluations: number
  at: number
}

export class WatchedCli {
  readonly child: ChildProcess
  readonly startedAt = Date.now()
  stderr = ''
  stdout = ''
  runId: string | null = null
  progress: Progress[] = []
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  private readonly exited: Promise<void>
  private waiters: Array<() => void> = []

  constructor(args: string[], env: Record<string, string | undefined> = {}, opts: { group?: boolean } = {}) {
    this.child = startCli(args, env, opts)
    this.child.stdout!.on('data', (d) => (this.stdout += d))
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d
      this.runId ||= /run ([0-9a-f-]{36}) on /.exec(this.stderr)?.[1] ?? null
      for (const m of String(d).matchAll(/run [0-9a-f]{8} ([a-z-]+): (\d+)\/\d+ evaluations/g))
        this.progress.push({ status: m[1]!, evaluations: Number(m[2]), at: Date.now() })
      this.notify()
    })
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal }
        this.notify()
        resolve()
      }),
    )
  }

  private notify() {
    const w = this.waiters
    this.waiters = []
    w.forEach((f) => {
      f()
    })
  }

  /** Resolves true when the condition holds, false when the process ended (or the time ran out) first. */
  async until(cond: () => boolean, timeoutMs = 300_000): Promise<boolean> {
    const end = Date.now() + timeoutMs
    for (;;) {
      if (cond()) return true
      if (this.exit || Date.now() > end) return false
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50)
        this.waiters.push(() => (clearTimeout(t), r()))
      })
    }
  }

  get alive() {
    return this.exit === null
  }

  lastProgress(): Progress | null {
    return this.progress[this.progress.length - 1] ?? null
  }

  /** kill -9, then wait for the exit (the process and its lock are gone when this resolves). */
  async kill9(): Promise<boolean> {
    if (!this.alive) return false
    this.child.kill('SIGKILL')
    await this.exited
    return this.exit?.signal === 'SIGKILL'
  }

  async done(timeoutMs = 600_000) {
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await this.exited
    clearTimeout(t)
    const last = this.stdout.trim().split('\n').pop() ?? ''
    let json: any = null
    try {
      json = JSON.parse(last)
    } catch {
      json = null
    }
    return { code: this.exit?.code ?? null, signal: this.exit?.signal ?? null, json, stderr: this.stderr }
  }
}
