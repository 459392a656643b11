import { setFlagsFromString } from 'node:v8'

/**
 * How much WebAssembly a function runs (V8 counts roughly bytes of code executed) before V8
 * compiles it again with its optimizing compiler. V8's default, 1,800,000, suits a page's small
 * module; hundreds of PostgreSQL's functions inside PGlite pass it in a process's first seconds
 * (~730 in a 1,000-evaluation run), and recompiling them took ~1.4 s of CPU on background threads
 * in that run on 2 cores (more than half of the engine process's compile work, taken from the
 * sandboxed evaluations' cores) for no gain measurable in the statements' own time. At 64× about
 * 60 are recompiled in that run: the hot loops (a vector index build, a scan) still are, the rest
 * stays on the baseline compiler.
 */
export const WASM_TIERING_BUDGET = 115_200_000

const FLAG = /^--wasm[-_]tiering[-_]budget(=|$)/

/**
 * Raise the budget for this process, before its first WebAssembly module is compiled (V8 reads
 * it when a module is created). A budget given on node's command line wins.
 */
export function raiseWasmTieringBudget(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => FLAG.test(a))) return false
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`)
  return true
}

const TIER_FLAG = /^--(no-)?(liftoff[-_]only|wasm[-_]tier[-_]up)(=|$)/

/**
 * A headless run's process: PGlite there answers the engine's small writes and lookups, for which
 * the optimizing compiler's code (and its compilations' memory) paid nothing back. Every function
 * stays on the baseline compiler: ~45-55 MB less peak resident memory in a run of 1,000 or 10,000
 * evaluations, the same CPU per evaluation (bench/history.md, 2026-12-06). The console's process
 * keeps the tiering budget above: its reads of a large run are the hot loops it exists for. Call
 * before the process's first WebAssembly module is compiled; a choice on node's command line wins.
 */
export function keepWasmOnBaselineCompiler(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => TIER_FLAG.test(a))) return false
  setFlagsFromString('--liftoff-only')
  return true
}
