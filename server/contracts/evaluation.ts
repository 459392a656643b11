// The contract between the engine and the workers (docs/architecture.md#evaluation-jobs-and-results): one module,
// imported by both sides, holding the queue names and the zod schemas of jobs and results.
import { z } from 'zod'

/**
 * The version of what travels between engine and workers (jobs, results, problem bundles). The
 * evaluation tasks carry it in their names, so a worker of another version never takes a job it
 * would misread: it waits, marked outdated on the Workers page, and a run with no worker of this
 * version says it waits for one. Raise it with any change a worker of the previous version misreads.
 */
export const JOB_PROTOCOL = 2

/** graphile-worker task names (server mode). Workers only subscribe to the tasks they can run. */
export const QUEUE_TASKS = {
  evaluateCpu: `fm_evaluate_cpu_v${JOB_PROTOCOL}`,
  evaluateGpu: `fm_evaluate_gpu_v${JOB_PROTOCOL}`,
  result: 'fm_eval_result',
} as const

/** rust, go, julia and fortran run through evaluators that build them themselves (ShinkaEvolve tasks) */
export const LANGUAGES = [
  'python',
  'javascript',
  'typescript',
  'cpp',
  'c',
  'cuda',
  'rust',
  'go',
  'julia',
  'fortran',
] as const
export const Language = z.enum(LANGUAGES)
export type Language = z.infer<typeof Language>

/** Upper bound on a candidate program's size, everywhere it enters the system. */
export const MAX_CODE_BYTES = 256 * 1024

export const EvalLimits = z.object({
  timeoutS: z
    .number()
    .positive()
    .max(24 * 3600),
  memoryMb: z
    .number()
    .int()
    .min(16)
    .max(1024 * 1024),
  cpuS: z
    .number()
    .positive()
    .max(24 * 3600),
})
export type EvalLimits = z.infer<typeof EvalLimits>

export const EvalJob = z.object({
  /** = the candidate's id: the row is written first and its id is the job id */
  jobId: z.string().min(1).max(64),
  runId: z.string().min(1).max(64),
  problem: z.object({ id: z.string().min(1).max(128), bundleHash: z.string().regex(/^[0-9a-f]{64}$/) }),
  language: Language,
  code: z.string().max(MAX_CODE_BYTES),
  /** 0: the whole cascade; k > 0: stop after stage k */
  stage: z.number().int().min(0).max(16).default(0),
  limits: EvalLimits,
  needs: z.object({ gpu: z.boolean(), languages: z.array(Language).max(8) }),
  attempt: z.number().int().min(0).max(100),
  /** the problem's held-out stage (FM_HELD_OUT=1 and its variables): never a search evaluation */
  heldOut: z.boolean().optional(),
  /** when the engine enqueued it (ms since epoch), for queue-time accounting */
  enqueuedAt: z.number().int().nonnegative().optional(),
  /**
   * server mode: the queue task the result goes to, the submitting engine's own (several engines
   * share one queue; a result must reach the engine that waits for it). Default: the shared task.
   */
  resultTask: z
    .string()
    .regex(/^fm_eval_result(_[a-z0-9]{1,32})?$/)
    .optional(),
  /**
   * server mode: workers whose infra errors this job's earlier attempts got; the queue keeps the
   * retry from them while another online worker can take it (a broken machine would fail it again)
   */
  avoidWorkers: z.array(z.string().min(1).max(128)).max(8).optional(),
})
export type EvalJob = z.infer<typeof EvalJob>

export const ERROR_KINDS = ['timeout', 'memory', 'crash', 'bad-output', 'infra'] as const
export const EvalErrorKind = z.enum(ERROR_KINDS)
export type EvalErrorKind = z.infer<typeof EvalErrorKind>

const finiteOrNull = z.number().nullable()

/** A picture of the result, checked by the worker (workers/images.ts: SVG sanitized, PNG validated, bounded). */
export const EvalImage = z.object({
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/),
  mime: z.enum(['image/svg+xml', 'image/png']),
  /** SVG: the document's text; PNG: base64 */
  data: z.string().min(1).max(140_000),
})
export type EvalImage = z.infer<typeof EvalImage>

export const EvalResult = z.object({
  jobId: z.string().min(1).max(64),
  attempt: z.number().int().min(0).max(100),
  workerId: z.string().min(1).max(128),
  valid: z.boolean(),
  /** numeric metrics; NaN and infinities arrive as null */
  metrics: z.record(z.string().max(128), finiteOrNull),
  features: z.record(z.string().max(128), finiteOrNull),
  /** evaluator feedback, stdout/stderr tails, compiler errors... (bounded by the worker) */
  artifacts: z.record(z.string().max(128), z.unknown()),
  /** pictures of the result (image artifacts, taken out of `artifacts`); absent when none */
  images: z.array(EvalImage).max(8).optional(),
  /** the last cascade stage that ran (1-based); 0 when there is no cascade */
  stage: z.number().int().min(0).max(16).default(0),
  timing: z.object({
    queuedMs: z.number().nonnegative(),
    startedAt: z.number().int().nonnegative(),
    sandboxMs: z.number().nonnegative(),
    evaluatorMs: z.number().nonnegative(),
  }),
  error: z.object({ kind: EvalErrorKind, message: z.string().max(4000) }).optional(),
})
export type EvalResult = z.infer<typeof EvalResult>

// What a result's artifacts say about what the worker could not keep of it (workers/result.ts writes
// them); the engine's reason for a missing score reads them back (server/engine/fitness.ts).

/** metrics (and, apart, features) a result keeps; the primary metric and the declared features always */
export const MAX_RESULT_METRICS = 200

/** The `metrics_dropped` / `features_dropped` artifact: how many were left out, of how many, and the bound. */
export function droppedNote(what: 'metrics' | 'features', dropped: number, reported: number, always: string[]): string {
  const kept = always.length ? ` (${always.map((k) => `"${k}"`).join(', ')} always)` : ''
  return `${dropped} of ${reported} ${what} left out: a result keeps at most ${MAX_RESULT_METRICS} ${what}${kept}; report fewer, or the rest as one artifact`
}

/** droppedNote's counts, read back (null when `note` is not one). */
export function readDroppedNote(note: unknown): { dropped: number; reported: number; limit: number } | null {
  const m = /^(\d+) of (\d+) (?:metrics|features) left out: a result keeps at most (\d+) /.exec(
    typeof note === 'string' ? note : '',
  )
  return m ? { dropped: Number(m[1]), reported: Number(m[2]), limit: Number(m[3]) } : null
}

/** What a value is, for a message about a wrong kind of value: a string ("0.5"), an array ([1,2]). */
export function describeValue(v: unknown): string {
  const clip = (t: string) => (t.length > 60 ? `${t.slice(0, 57)}…` : t)
  if (v === null) return 'null'
  if (typeof v === 'string') return `a string (${clip(JSON.stringify(v))})`
  if (Array.isArray(v)) return `an array (${clip(JSON.stringify(v) ?? '')})`
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'number') return `a number (${v})`
  if (typeof v === 'boolean') return String(v)
  return `a ${typeof v}`
}

/** infra errors (worker died, bundle missing, sandbox could not start) are retried; the rest are results */
export const MAX_INFRA_ATTEMPTS = 3

export function isRetryable(result: Pick<EvalResult, 'error'>): boolean {
  return result.error?.kind === 'infra'
}

// ------------------------------------------------------------------------------------------------
// Workers: isolation report, status, and the backend the engine codes against (embedded pool or
// server-mode queue). Implementations: workers/pool.ts (createLocalPool), server/queue/backend.ts
// (createQueueBackend).

/** userns: bubblewrap as an unprivileged uid; rootns: `unshare` as root; none: rlimits + process-tree kill */
export type IsolationMode = 'userns' | 'rootns' | 'none'

export interface IsolationLayer {
  name: string
  active: boolean
  detail: string
}

/** What a worker found at start; shown by the console and the CLI. */
export interface IsolationReport {
  level: 'full' | 'partial' | 'none'
  mode: IsolationMode
  layers: IsolationLayer[]
  warnings: string[]
  /** the uid candidates run as (null when unknown) */
  uid: number | null
}

export interface WorkerCapabilities {
  /** CPU cores the worker's machine has */
  cpu: number
  gpu: boolean
  gpuName?: string
  languages: Language[]
  /** server workers: the queue tasks it takes (absent: a worker from before JOB_PROTOCOL) */
  tasks?: string[]
  /** server workers: it connects with a role that can read the application's tables */
  appRole?: boolean
}

/** backing-off: online, but not taking jobs for a while after infra errors of its own (statusDetail says why) */
export type WorkerState = 'starting' | 'online' | 'backing-off' | 'offline' | 'dead'

export interface WorkerStatus {
  id: string
  name: string
  host: string
  mode: 'embedded' | 'server'
  capabilities: WorkerCapabilities
  isolation: IsolationReport | null
  concurrency: number
  running: number
  completed: number
  lastHeartbeat: Date
  status: WorkerState
  /** why the worker is in its status, where it says (a back-off's last error and when it takes jobs again) */
  statusDetail?: string
  /** pid of the worker process (embedded children, server workers) */
  pid?: number
}

export interface EvaluationBackend {
  readonly mode: 'embedded' | 'server'
  start(): Promise<void>
  /** durable in server mode (graphile-worker job; jobKey from jobId+attempt so a resubmit is a no-op); dispatch in embedded mode */
  submit(job: EvalJob): Promise<void>
  /**
   * drops these jobs where no worker has started them (a stopped run's queue); a started one runs to
   * its end or limit, and its result, if any, is ignored as any stale one is
   */
  cancel(jobs: Array<{ jobId: string; attempt: number }>): Promise<void>
  /**
   * Takes over the jobs an earlier engine of this run left (server mode: the queue outlives an
   * engine; the embedded pool ends with its engine and has no such method). Of `jobs`, those still
   * queued, running or answered and not yet delivered are passed to `register` (keys
   * `jobId:attempt`); their results come to this engine from then on, the ones already posted
   * included, so they are not evaluated again. The rest must be submitted anew.
   */
  adopt?(
    runId: string,
    jobs: Array<{ jobId: string; attempt: number }>,
    register: (adopted: Set<string>) => void,
  ): Promise<Set<string>>
  /** every result, exactly as the worker produced it; the engine's ingestion is idempotent on (jobId, attempt) */
  onResult(cb: (r: EvalResult) => void | Promise<void>): void
  /** evaluations that can run at once now (sum of connected workers' concurrency) */
  capacity(): number
  /** for the console and CLI: id, name, host, capabilities {cpu, gpu, languages}, isolation, concurrency, running, completed, lastHeartbeat, status */
  workers(): Promise<WorkerStatus[]>
  close(): Promise<void>
}
