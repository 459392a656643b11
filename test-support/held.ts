// An evaluation that holds its sandbox until the test ends it, seen from outside the sandbox by its
// process name: tests wait for it to be running (progress), never for a time to pass.
import { readdirSync, readFileSync } from 'node:fs'

let made = 0

/** A process name of this test process's own (at most 15 characters, as the kernel keeps). */
export function heldName(): string {
  return `fmheld${process.pid % 1e6}${String.fromCharCode(97 + (made++ % 26))}`
}

/** Python lines that name the process and block for good (PR_SET_NAME: /proc/self/comm is read-only there). */
export function holdLines(name: string): string[] {
  return ['import ctypes, threading', `ctypes.CDLL(None).prctl(15, b"${name}", 0, 0, 0)`, 'threading.Event().wait()']
}

/** How many processes of that name run now. */
export function heldCount(name: string): number {
  return readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name
    } catch {
      return false // gone meanwhile
    }
  }).length
}

/**
 * Waits until a condition on what the test observes (a process, a pool's status) holds: no time
 * limit of its own (the test's timeout is the bound); the pause between looks only spares the CPU.
 */
export async function observed(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 25))
}
