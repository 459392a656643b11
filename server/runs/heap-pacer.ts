// Heap pacing for the process that drives runs (and, with a smaller step, for the worker children).
// A fast run allocates quickly (prompts, model answers, HTTP and database plumbing: ~65 MB/s at
// 230 evaluations/s) while keeping little alive (~45 MB, flat over 10,000 evaluations), and V8 then
// lets its heap grow ahead of its collector: ~280 MB committed and resident for that live heap, most
// of the engine's memory. While runs are driven, a full collection is asked for whenever the heap has
// grown by a step past what the last one left.
// It is a trade, measured in bench/README.md: ~150 MB less for all processes together at 10,000
// evaluations, for ~0.6 ms more engine CPU per evaluation (each forced collection stops the engine
// for 15–50 ms). FM_HEAP_PACING=off turns it off.
import v8 from 'node:v8'
import vm from 'node:vm'

const MB = 1024 * 1024

export interface PacingOptions {
  /** the least growth that triggers a collection */
  minStepBytes: number
  /** growth allowed in proportion to what the last collection left */
  stepRatio: number
}

export const DEFAULT_PACING: PacingOptions = { minStepBytes: 32 * MB, stepRatio: 0.25 }

/** Whether the heap has grown enough since the last collection (which left `floor` bytes in use). */
export function collectionDue(used: number, floor: number, o: PacingOptions = DEFAULT_PACING): boolean {
  return used > floor + Math.max(o.minStepBytes, floor * o.stepRatio)
}

let collect: (() => void) | null | undefined
function collector(): (() => void) | null {
  if (collect !== undefined) return collect
  try {
    // global.gc exists only with --expose-gc; the flag set now reaches contexts created after it
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as unknown
    collect = typeof gc === 'function' ? (gc as () => void) : null
  } catch {
    collect = null
  }
  return collect
}

/** V8's heap in use (process.memoryUsage's heapUsed, without its reading of the resident size) */
const heapUsed = () => v8.getHeapStatistics().used_heap_size

let holders = 0
let ticking = false
let pacing = DEFAULT_PACING
let floor = 0
let collections = 0

/** Paces the heap while the caller holds it (refcounted: one pacer however many runs are driven). */
export function holdHeapPacing(
  opts: { env?: Record<string, string | undefined>; pacing?: PacingOptions } = {},
): () => void {
  const setting = (opts.env ?? process.env).FM_HEAP_PACING
  if (setting === 'off' || !collector()) return () => undefined
  if (holders++ === 0) {
    // FM_HEAP_PACING=<MB>: the least step, for measuring the trade (bench/README.md)
    const stepMb = Number(setting)
    pacing = opts.pacing ?? (stepMb > 0 ? { ...DEFAULT_PACING, minStepBytes: stepMb * MB } : DEFAULT_PACING)
    floor = heapUsed()
  }
  // one timer for the process's life, idle (a comparison) while nobody holds the pacer
  if (!ticking) {
    setInterval(paceHeap, 250).unref()
    ticking = true
  }
  let released = false
  return () => {
    if (released) return
    released = true
    holders--
  }
}

/** One look at the heap (the timer's; tests call it to act at a known point): collects when due. */
export function paceHeap(): void {
  if (!holders || !collect) return
  if (!collectionDue(heapUsed(), floor, pacing)) return
  collect()
  collections++
  floor = heapUsed()
}

/** Collections asked for so far in this process (for the bench and tests). */
export function pacedCollections(): number {
  return collections
}
