// One pre-started launcher (SandboxSlot) seen from outside: the processes it keeps per slot, and how
// it carries on when the launcher (pid 1 of its evaluations' namespace) dies between steps or stops
// answering.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { heldCount, heldName, holdLines, observed } from '../test-support/held.ts'
import { detectIsolation, SandboxSlot, type StepRequest, sandboxUid } from './sandbox.ts'
import { tempDir } from './test-helpers.ts'

const isolation = detectIsolation()
const owner = process.getuid?.() === 0 ? sandboxUid() : null
const opened: { slot: SandboxSlot; dir: string }[] = []

function openSlot() {
  const dir = tempDir('fm-slot-')
  const job = join(dir, 'job')
  mkdirSync(join(dir, '.out'))
  mkdirSync(job)
  if (owner !== null) for (const d of [dir, join(dir, '.out'), job]) chownSync(d, owner, owner)
  const slot = new SandboxSlot({ isolation, slotDir: dir })
  opened.push({ slot, dir })
  let n = 0
  const step = (lines: string[], timeoutS = 20): StepRequest => {
    const base = join(dir, '.out', `${++n}`)
    writeFileSync(join(job, 'eval.py'), `${lines.join('\n')}\n`)
    if (owner !== null) chownSync(join(job, 'eval.py'), owner, owner)
    return {
      argv: [join(job, 'eval.py')],
      python: true,
      cwd: job,
      env: {},
      stdout: `${base}.stdout`,
      stdoutOther: `${base}.other`,
      stderr: `${base}.stderr`,
      result: `${base}.result`,
      outDir: join(dir, '.out'),
      limits: { cpu: 20, nproc: 64, fsize: 1 << 26, nofile: 256 },
      timeoutS,
    }
  }
  const printed = (req: StepRequest) => readFileSync(req.stdout, 'utf8').trim()
  return { slot, dir, step, printed }
}

/** This slot's launcher interpreters (their environment names the slot's folder). */
function launcherProcesses(dir: string): { pid: number; ppid: number }[] {
  const found: { pid: number; ppid: number }[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python')) continue
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8')
      if (!env.includes('FM_LAUNCHER_CONFIG=') || !env.includes(dir)) continue
      found.push({ pid: Number(pid), ppid: parentOf(pid) })
    } catch {
      // gone meanwhile
    }
  }
  return found
}

function parentOf(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** The slot's launcher, pid 1 of its evaluations' namespace, by its host pid. */
function launcher(dir: string): number {
  const procs = launcherProcesses(dir)
  if (procs.length !== 1) throw new Error(`not one launcher: ${JSON.stringify(procs)}`)
  return procs[0]!.pid
}

afterEach(async () => {
  for (const { slot, dir } of opened.splice(0)) {
    await slot.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

describe.skipIf(isolation.mode === 'none')('a sandbox slot', () => {
  it("keeps one interpreter between steps: the launcher is pid 1 of its evaluations' namespace, no reaper beside it", async () => {
    const { slot, dir, step, printed } = openSlot()
    const req = step(['import os', 'print(os.getppid(), open("/proc/1/comm").read().strip())'])
    expect((await slot.run(req)).exitCode).toBe(0)
    expect(printed(req)).toMatch(/^1 python/) // the evaluation is the launcher's child, and the launcher pid 1
    const pid = launcher(dir) // the evaluation's own fork is reaped before the answer
    // bwrap's own process outside the namespace, and no second one inside it as pid 1
    const parent = parentOf(pid)
    expect(readFileSync(`/proc/${parent}/comm`, 'utf8').trim()).toBe('bwrap')
    expect(readFileSync(`/proc/${parentOf(parent)}/comm`, 'utf8').trim()).not.toBe('bwrap')
  }, 60_000)

  it('an evaluation writes only in its own job folder: nothing it leaves beside it reaches the next', async () => {
    const { slot, dir, step, printed } = openSlot()
    const attempt = [
      'import errno',
      'def attempt(path):',
      '    try:',
      '        open(path, "w").write("x")',
      '        return "written"',
      '    except OSError as e:',
      '        return errno.errorcode[e.errno]',
    ]
    const req = step([...attempt, `print(attempt(${JSON.stringify(join(dir, 'left-behind'))}), attempt("own-file"))`])
    expect((await slot.run(req)).exitCode).toBe(0)
    expect(printed(req)).toBe('EROFS written')
    expect(existsSync(join(dir, 'left-behind'))).toBe(false)
    expect(readFileSync(join(dir, 'job', 'own-file'), 'utf8')).toBe('x')
  }, 60_000)

  it("pid 1's command line, which an evaluation can read, names none of the sandbox's paths", async () => {
    const { slot, dir, step, printed } = openSlot()
    const req = step(['print(open("/proc/1/cmdline").read().replace("\\0", " "))'])
    expect((await slot.run(req)).exitCode).toBe(0)
    expect(printed(req)).toMatch(/fm_launcher\.py$/)
    expect(printed(req)).not.toContain(dir)
  }, 60_000)

  it('stderr past the file-size limit keeps its end, and the evaluator its result; /dev/stderr reopens it', async () => {
    const { slot, step, printed } = openSlot()
    // 96 MiB of stderr against this step's 64 MiB file-size limit: a plain file had ended the evaluator
    const req = step([
      'import sys',
      'line = "e" * 1023 + "\\n"',
      'for _ in range(96 * 1024): sys.stderr.write(line)',
      'sys.stderr.flush()',
      'open("/dev/stderr", "w").write("the last words\\n")',
      'print("done")',
    ])
    const r = await slot.run(req)
    expect([r.exitCode, r.infra]).toEqual([0, undefined])
    expect(printed(req)).toBe('done')
    const err = readFileSync(req.stderr, 'utf8')
    expect(err.length).toBeLessThanOrEqual(8 << 20)
    expect(err.endsWith('e\nthe last words\n')).toBe(true)
  }, 60_000)

  it('a signal the evaluation sends to pid 1 of its namespace changes nothing', async () => {
    const { slot, step, printed } = openSlot()
    // pid 1 is the launcher: Python's own SIGINT handler there had raised KeyboardInterrupt
    // (an infra error: retried, then counted towards failing the run)
    const req = step([
      'import os, signal',
      'for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD): os.kill(1, s)',
      'print("sent")',
    ])
    const r = await slot.run(req)
    expect([r.exitCode, r.infra]).toEqual([0, undefined])
    expect(printed(req)).toBe('sent')
    const next = step(['print("next")'])
    expect((await slot.run(next)).exitCode).toBe(0)
    expect(slot.starts).toBe(1)
  }, 60_000)

  it('runs the next step in a new launcher when the launcher died between steps', async () => {
    const { slot, dir, step, printed } = openSlot()
    expect((await slot.run(step(['print(1)']))).exitCode).toBe(0)
    process.kill(launcher(dir), 'SIGKILL')
    await observed(() => !slot.running)
    const req = step(['print(2)'])
    const r = await slot.run(req)
    expect(r.infra).toBeUndefined()
    expect(printed(req)).toBe('2')
    expect(slot.starts).toBe(2)
  }, 60_000)

  it('a namespace that stops answering is killed by the backstop, and the next step runs in a new launcher', async () => {
    const { slot, dir, step, printed } = openSlot()
    const name = heldName()
    const running = slot.run(step(holdLines(name), 1))
    await observed(() => heldCount(name) === 1)
    process.kill(launcher(dir), 'SIGSTOP') // the timeout is the launcher's to enforce: it never does
    const r = await running
    expect(r.infra).toMatch(/backstop/)
    expect(r.timedOut).toBe(true)
    await observed(() => heldCount(name) === 0) // the whole namespace went with the launcher, its pid 1
    const req = step(['print(3)'])
    expect((await slot.run(req)).exitCode).toBe(0)
    expect(printed(req)).toBe('3')
    expect(slot.starts).toBe(2)
  }, 60_000)
})
