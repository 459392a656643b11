// Which languages this machine can run, by the toolchain each needs, looked up where the sandbox can
// see it (its PATH is /usr/bin:/bin:/usr/local/bin, plus CUDA's folder on GPU workers). A language
// whose toolchain is missing gets a message that names it, for `problem check`, runs and workers.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Language } from '../server/contracts/evaluation.ts'

const SEARCH_DIRS = ['/usr/bin', '/bin', '/usr/local/bin', '/usr/local/cuda/bin']

/** the toolchain a language needs: any one of `commands` will do */
export const TOOLCHAINS: Record<Language, { name: string; commands: string[] }> = {
  python: { name: 'Python 3', commands: ['python3'] },
  javascript: { name: 'Node.js', commands: [] },
  typescript: { name: 'Node.js', commands: [] },
  cpp: { name: 'C++ compiler', commands: ['g++'] },
  c: { name: 'C compiler', commands: ['gcc'] },
  cuda: { name: 'CUDA compiler', commands: ['nvcc'] },
  rust: { name: 'Rust toolchain', commands: ['rustc', 'cargo'] },
  go: { name: 'Go toolchain', commands: ['go'] },
  julia: { name: 'Julia', commands: ['julia'] },
  fortran: { name: 'Fortran compiler', commands: ['gfortran', 'flang'] },
}

export function findCommand(cmd: string): string | null {
  for (const dir of SEARCH_DIRS) {
    const p = join(dir, cmd)
    if (existsSync(p)) return p
  }
  return null
}

/** true when the language's toolchain is installed where the sandbox finds it (Node runs everywhere) */
export function hasToolchain(language: Language): boolean {
  const t = TOOLCHAINS[language]
  return t.commands.length === 0 || t.commands.some((c) => findCommand(c) !== null)
}

/** "… needs the Rust toolchain (rustc or cargo), which this machine lacks …" */
export function missingToolchainMessage(language: Language, what = `${language} programs`): string {
  const t = TOOLCHAINS[language]
  return (
    `${what} need the ${t.name} (${t.commands.join(' or ')}), which this machine lacks: none in ${SEARCH_DIRS.slice(0, 3).join(', ')} ` +
    `(the only folders the sandbox searches). Install it there, or run this problem where a worker has it.`
  )
}

/** The first GPU's name as nvidia-smi reports it; undefined when there is no (visible) NVIDIA GPU. */
export function detectGpuName(): string | undefined {
  try {
    return (
      execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 })
        .trim()
        .split('\n')[0] || undefined
    )
  } catch {
    return undefined
  }
}
