// Pure helpers that turn what an evaluator left behind (stdout, stderr, result file, exit status)
// into the parts of an EvalResult: the result object, bounded artifacts, the error classification.
import {
  describeValue,
  droppedNote,
  MAX_RESULT_METRICS,
  type EvalErrorKind,
  type EvalImage,
} from '../server/contracts/evaluation.ts'
import { splitImages } from './images.ts'

export const MAX_ARTIFACT_CHARS = 16_000
export const MAX_ARTIFACTS_TOTAL_CHARS = 96_000
export const MAX_ARTIFACT_KEYS = 40
export const STREAM_TAIL_CHARS = 8_000
export const MAX_METRICS = MAX_RESULT_METRICS
/**
 * The largest result line (and $FM_RESULT_FILE) read: a result carries at most MAX_METRICS metrics and
 * bounded artifacts, so anything near this size is data that would be cut anyway. Per evaluation the
 * worker holds about this much of the evaluator's stdout in memory, twice for a shell evaluator.
 */
export const MAX_RESULT_BYTES = 8 * 1024 * 1024

/** Keeps the end of a text (output tails: the last lines say what went wrong). */
export function tail(text: string, limit = STREAM_TAIL_CHARS): string {
  return text.length <= limit ? text : '…' + text.slice(text.length - limit + 1)
}

/** Keeps the start and the end (feedback, compiler errors: the first error and the summary). */
export function headTail(text: string, limit = MAX_ARTIFACT_CHARS): string {
  if (text.length <= limit) return text
  const half = Math.floor((limit - 3) / 2)
  return text.slice(0, half) + '\n…\n' + text.slice(text.length - half)
}

/** Which members of a parsed object were Python's NaN / Infinity / -Infinity (parseJsonLenient), by object. */
const nonFiniteTokens = new WeakMap<object, Record<string, string>>()

/** The members of `holder` that parseJsonLenient read as NaN / Infinity / -Infinity (now null). */
export function nonFiniteMembers(holder: unknown): Record<string, string> {
  return (typeof holder === 'object' && holder !== null && nonFiniteTokens.get(holder)) || {}
}

/**
 * JSON.parse that also accepts Python's NaN / Infinity / -Infinity tokens (json.dumps emits them), as
 * null. Which member held which token stays readable through nonFiniteMembers: "is NaN" tells an
 * evaluator's author more than "is null".
 */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    if (!/NaN|Infinity/.test(text)) throw new SyntaxError('not JSON')
    // each bare token becomes a string no evaluator prints (a fresh tag), turned back into null below
    const id = Math.random().toString(36).slice(2)
    const fixed = text.replace(/"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g, (m, bare) =>
      bare ? `"\\u0000${id}:${bare}"` : m,
    )
    const mark = `\u0000${id}:`
    const isTag = (v: unknown): v is string => typeof v === 'string' && v.startsWith(mark)
    // the tags turned back by an explicit walk: JSON.parse's reviver recurses, and a result nested a
    // few thousand levels deep overflowed the stack (the valid result read as "not JSON")
    const root = JSON.parse(fixed) as unknown
    if (isTag(root)) return null
    const stack: object[] = isContainer(root) ? [root] : []
    while (stack.length) {
      const holder = stack.pop() as Record<string, unknown>
      for (const key of Object.keys(holder)) {
        const value = holder[key]
        if (isContainer(value)) stack.push(value)
        else if (isTag(value)) {
          const seen = nonFiniteTokens.get(holder) ?? {}
          seen[key] = value.slice(mark.length)
          nonFiniteTokens.set(holder, seen)
          setOwn(holder, key, null)
        }
      }
    }
    return root
  }
}

/**
 * How deep an artifact's arrays and objects may nest. JSON.stringify recurses: a few thousand
 * levels (6 KB of text, well inside the size bounds) overflowed the stack in the worker and in the
 * run's export. A deeper value is kept as the start of its JSON text.
 */
export const MAX_ARTIFACT_DEPTH = 64

/** `holder[key] = value` as JSON.parse makes members: an own property, whatever its name ("__proto__" included). */
function setOwn(holder: object, key: string, value: unknown) {
  Object.defineProperty(holder, key, { value, enumerable: true, writable: true, configurable: true })
}

/** An array or object whose members JSON writes (a Date, with its toJSON, is written as a string). */
function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function'
}

/**
 * How deeply `v`'s arrays and objects nest (a string or number: 0, `[1]`: 1), measured without
 * recursion; past `stopAbove` the walk stops and returns a depth over it.
 */
export function nestingDepth(v: unknown, stopAbove = Number.POSITIVE_INFINITY): number {
  let max = 0
  const stack: Array<[object, number]> = isContainer(v) ? [[v, 1]] : []
  while (stack.length) {
    const [x, depth] = stack.pop()!
    if (depth > max) max = depth
    if (max > stopAbove) return max
    for (const member of Object.values(x)) if (isContainer(member)) stack.push([member, depth + 1])
  }
  return max
}

/** A member as JSON.stringify sees it: its toJSON's value, a bigint as a number (as exports write them). */
function jsonValue(v: unknown, key: string): unknown {
  const withToJson = v as { toJSON?: (key: string) => unknown } | null
  const u =
    typeof v === 'object' && v !== null && typeof withToJson!.toJSON === 'function' ? withToJson!.toJSON(key) : v
  return typeof u === 'bigint' ? Number(u) : u
}

/**
 * JSON text of a value nested to any depth, written without recursion and cut to `limit`
 * characters (the last one "…" when cut). Members JSON leaves out (undefined, functions) are left out.
 */
export function jsonTextBounded(value: unknown, limit: number): string {
  const parts: string[] = []
  let size = 0
  const emit = (s: string) => {
    parts.push(s)
    size += s.length
  }
  type Frame =
    | { array: unknown[]; i: number }
    | { object: Record<string, unknown>; keys: string[]; i: number; n: number }
  const stack: Frame[] = []
  const write = (v: unknown) => {
    if (isContainer(v)) {
      if (Array.isArray(v)) {
        emit('[')
        stack.push({ array: v, i: 0 })
      } else {
        emit('{')
        stack.push({ object: v as Record<string, unknown>, keys: Object.keys(v), i: 0, n: 0 })
      }
    } else emit(JSON.stringify(v) ?? 'null')
  }
  write(jsonValue(value, ''))
  while (stack.length && size <= limit) {
    const f = stack[stack.length - 1]!
    if ('array' in f) {
      if (f.i >= f.array.length) {
        emit(']')
        stack.pop()
        continue
      }
      if (f.i) emit(',')
      write(jsonValue(f.array[f.i], String(f.i)))
      f.i++
    } else {
      if (f.i >= f.keys.length) {
        emit('}')
        stack.pop()
        continue
      }
      const key = f.keys[f.i++]!
      const v = jsonValue(f.object[key], key)
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue
      emit(`${f.n++ ? ',' : ''}${JSON.stringify(key)}:`)
      write(v)
    }
  }
  const text = parts.join('')
  return text.length <= limit ? text : `${text.slice(0, Math.max(0, limit - 1))}…`
}

/**
 * A copy of `value` nested at most `maxDepth` levels: an array or object deeper than that becomes
 * the start of its JSON text (`textChars` at most). `cut` counts them.
 * Without recursion, so any depth is handled.
 */
export function limitNesting(value: unknown, maxDepth: number, textChars: number): { value: unknown; cut: number } {
  let cut = 0
  const root: Record<string, unknown> = { value }
  const stack: Array<[Record<string, unknown>, number]> = []
  const visit = (holder: Record<string, unknown>, key: string, depth: number) => {
    const x = holder[key]
    if (!isContainer(x)) return
    if (depth > maxDepth) {
      setOwn(holder, key, jsonTextBounded(x, textChars))
      cut++
      return
    }
    const copy = (Array.isArray(x) ? x.slice() : { ...x }) as Record<string, unknown>
    setOwn(holder, key, copy)
    stack.push([copy, depth])
  }
  visit(root, 'value', 1)
  while (stack.length) {
    const [copy, depth] = stack.pop()!
    for (const key of Object.keys(copy)) visit(copy, key, depth + 1)
  }
  return { value: root.value, cut }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The evaluator's result: the last stdout line that parses as a JSON object. Returns it with the rest of
 * stdout (the lines before and after it), which becomes the `stdout` artifact.
 */
export function findResultLine(stdout: string): { result: Record<string, unknown> | null; rest: string } {
  const lines = stdout.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim()
    if (!line.startsWith('{') || !line.endsWith('}')) continue
    try {
      const v = parseJsonLenient(line)
      if (isPlainObject(v)) return { result: v, rest: [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n') }
    } catch {
      /* not this line */
    }
  }
  return { result: null, rest: stdout }
}

/** A stdout line ending like a JSON object that the read bound cut: its size in bytes. */
export interface CutLine {
  bytes: number
}

const bytesText = (n: number) => `${n.toLocaleString('en-US')} bytes`
const MIB = 1024 * 1024

/** Why nothing past the result line's bound can help: what a result keeps anyway. */
const KEEP_IT_SMALL = `keep it small: a result keeps at most ${MAX_METRICS} metrics and its artifacts are cut to ${MAX_ARTIFACT_CHARS.toLocaleString('en-US')} characters each (${MAX_ARTIFACTS_TOTAL_CHARS.toLocaleString('en-US')} in all) anyway, so report a summary (totals, a sample) rather than the raw data`

/** The error of a result line too long to read (instead of "printed no JSON object"). */
export function resultLineTooBig(cut: CutLine, what = 'the evaluator'): string {
  return `${what}'s result line is ${bytesText(cut.bytes)}, over the ${MAX_RESULT_BYTES / MIB} MiB (${bytesText(MAX_RESULT_BYTES)}) a result line may have, so it was not read: ${KEEP_IT_SMALL}`
}

/** The error of a result file too long to read. */
export function resultFileTooBig(bytes: number): string {
  return `$FM_RESULT_FILE holds ${bytesText(bytes)}, over the ${MAX_RESULT_BYTES / MIB} MiB (${bytesText(MAX_RESULT_BYTES)}) a result may have, so it was not read: ${KEEP_IT_SMALL}`
}

export interface NumberRecord {
  numbers: Record<string, number | null>
  /** members that are not numbers (nor booleans, nor null): they move to the artifacts */
  other: Record<string, unknown>
  /** members the evaluator reported */
  reported: number
  /** members left out past the bound */
  dropped: number
  /** numbers kept as null that were NaN or infinite, with what they were ("NaN", "Infinity", "-Infinity") */
  nonFinite: Record<string, string>
}

/**
 * An evaluator's metrics (or features) as numbers, at most `limit` of them. The names in `keep`
 * (the primary metric, the declared features) are kept whatever their place: past the bound the
 * evaluator's own order would otherwise decide whether a run can score at all.
 */
export function toNumberRecord(v: unknown, limit = MAX_METRICS, keep: Iterable<string> = []): NumberRecord {
  const out: NumberRecord = { numbers: {}, other: {}, reported: 0, dropped: 0, nonFinite: {} }
  if (!isPlainObject(v)) return out
  const tokens = nonFiniteMembers(v)
  const entries = Object.entries(v)
  out.reported = entries.length
  const kept = new Set(keep)
  let room = limit
  if (entries.length > limit) for (const [k] of entries) if (kept.has(k)) room--
  for (const [rawKey, val] of entries) {
    if (!kept.has(rawKey)) {
      if (room <= 0) {
        out.dropped++
        continue
      }
      room--
    }
    const key = rawKey.slice(0, 128)
    if (typeof val === 'number') {
      out.numbers[key] = Number.isFinite(val) ? val : null
      if (!Number.isFinite(val)) out.nonFinite[key] = String(val)
    } else if (typeof val === 'boolean') out.numbers[key] = val ? 1 : 0
    else if (val === null) {
      out.numbers[key] = null
      if (tokens[rawKey]) out.nonFinite[key] = tokens[rawKey]
    } else out.other[key] = val
  }
  return out
}

/** The feedback of a result the evaluator marked invalid without saying why. */
export const NO_REASON_FEEDBACK =
  'the evaluator reported "valid": false without a reason (add "feedback" to its "artifacts", or an "error" string, to say why)'

/** Bounds every artifact and their total; strings keep head and tail, other values their JSON. */
export function boundArtifacts(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let total = 0
  let dropped = 0
  const tooDeep: string[] = []
  for (const [rawKey, val] of Object.entries(input)) {
    if (val === undefined) continue
    const key = rawKey.slice(0, 128)
    if (Object.keys(out).length >= MAX_ARTIFACT_KEYS) {
      dropped++
      continue
    }
    let v: unknown = val
    let size: number
    if (typeof v === 'string') {
      v = key === 'stdout' || key === 'stderr' ? tail(v) : headTail(v)
      size = (v as string).length
    } else if (nestingDepth(v, MAX_ARTIFACT_DEPTH) > MAX_ARTIFACT_DEPTH) {
      v = jsonTextBounded(v, MAX_ARTIFACT_CHARS)
      size = (v as string).length
      tooDeep.push(key)
    } else {
      let json: string
      try {
        json = JSON.stringify(v) ?? 'null'
      } catch {
        json = JSON.stringify(String(v))
        v = String(v)
      }
      if (json.length > MAX_ARTIFACT_CHARS) {
        v = headTail(json)
        size = (v as string).length
      } else size = json.length
    }
    if (total + size > MAX_ARTIFACTS_TOTAL_CHARS) {
      const room = MAX_ARTIFACTS_TOTAL_CHARS - total
      if (room < 200) {
        dropped++
        continue
      }
      v = headTail(typeof v === 'string' ? v : JSON.stringify(v), room)
      size = (v as string).length
    }
    out[key] = v
    total += size
  }
  if (tooDeep.length)
    out.artifacts_too_deep = `${tooDeep.map((k) => JSON.stringify(k)).join(', ')} nested deeper than ${MAX_ARTIFACT_DEPTH} levels, so each is kept as the start of its JSON text: report a flatter value (a summary, a list of rows) to keep it as data`
  if (dropped)
    out.artifacts_dropped = `${dropped} artifact(s) left out: the artifacts exceeded ${MAX_ARTIFACTS_TOTAL_CHARS} characters or ${MAX_ARTIFACT_KEYS} entries`
  return out
}

/** What a result carries: its image artifacts taken out and checked (images.ts), the rest bounded. */
export function resultArtifacts(artifacts: Record<string, unknown>): {
  artifacts: Record<string, unknown>
  images?: EvalImage[]
} {
  const { artifacts: rest, images } = splitImages(artifacts)
  return { artifacts: boundArtifacts(rest), ...(images.length ? { images } : {}) }
}

export interface NormalizedResult {
  valid: boolean
  metrics: Record<string, number | null>
  features: Record<string, number | null>
  artifacts: Record<string, unknown>
  /** what is wrong with the object's shape (a wrong kind of `valid`, `metrics` or `features`): a bad-output error */
  malformed?: string
}

export interface NormalizeOptions {
  /** the problem's primary metric: kept past the bound, and a non-number one is said first in the artifacts */
  primaryMetric?: string
  /** the problem's declared features: kept past the bound */
  features?: string[]
}

/**
 * An evaluator's JSON object as our result parts; non-numeric metrics move to the artifacts. What was
 * lost on the way is said in the artifacts (`metrics_dropped`, `features_dropped`,
 * `metrics_not_finite`): the engine's reasons for a missing score read them.
 */
export function normalizeEvaluatorObject(obj: Record<string, unknown>, opts: NormalizeOptions = {}): NormalizedResult {
  const primary = opts.primaryMetric ? [opts.primaryMetric] : []
  const m = toNumberRecord(obj.metrics, MAX_METRICS, primary)
  const f = toNumberRecord(obj.features, MAX_METRICS, opts.features ?? [])
  const shape: string[] = []
  // describeValue quotes an array's JSON: a deeply nested one would overflow the stack
  const describe = (v: unknown) => describeValue(limitNesting(v, MAX_ARTIFACT_DEPTH, 80).value)
  if (obj.valid !== undefined && typeof obj.valid !== 'boolean')
    shape.push(`"valid" is ${describe(obj.valid)}: it must be true or false`)
  for (const key of ['metrics', 'features'] as const)
    if (obj[key] !== undefined && obj[key] !== null && !isPlainObject(obj[key]))
      shape.push(`"${key}" is ${describe(obj[key])}: it must be an object of numbers, {"name": number, …}`)
  const artifacts: Record<string, unknown> = {}
  // first, so that the artifacts' bound never leaves out why the primary metric is not a number
  const primaryOther = opts.primaryMetric ? m.other[opts.primaryMetric.slice(0, 128)] : undefined
  if (primaryOther !== undefined) artifacts[`metric:${opts.primaryMetric!.slice(0, 128)}`] = primaryOther
  if (isPlainObject(obj.artifacts)) Object.assign(artifacts, obj.artifacts)
  for (const [k, v] of Object.entries(m.other)) artifacts[`metric:${k}`] = v
  for (const [k, v] of Object.entries(f.other)) artifacts[`feature:${k}`] = v
  if (m.dropped) artifacts.metrics_dropped = droppedNote('metrics', m.dropped, m.reported, primary)
  if (f.dropped) artifacts.features_dropped = droppedNote('features', f.dropped, f.reported, opts.features ?? [])
  if (Object.keys(m.nonFinite).length) artifacts.metrics_not_finite = m.nonFinite
  if (typeof obj.error === 'string' && obj.error && !('feedback' in artifacts)) artifacts.feedback = obj.error
  const said = artifacts.feedback
  if (obj.valid === false && (said === undefined || said === null || said === ''))
    artifacts.feedback = NO_REASON_FEEDBACK
  return {
    valid: shape.length ? false : obj.valid !== false,
    metrics: m.numbers,
    features: f.numbers,
    artifacts,
    ...(shape.length ? { malformed: `the evaluator's result is malformed: ${shape.join('; ')}` } : {}),
  }
}

export interface ExitInfo {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  cpuMs: number
  infra?: string
}

const MEMORY_PATTERNS =
  /\bMemoryError\b|std::bad_alloc|JavaScript heap out of memory|Fatal process out of memory|Cannot allocate memory|failed to map segment|Failed to reserve virtual memory|out of memory|Killed process .* total-vm/i

/**
 * Why a step failed, or null when it exited 0. `stderrTail` (and `stdoutTail`) are searched for the
 * address-space symptoms of each language: under an address-space limit an allocation fails inside the
 * program rather than the kernel killing it, so the message is the only trace.
 */
export function classifyExit(
  e: ExitInfo,
  ctx: { timeoutS: number; cpuS: number; memoryMb: number; stderrTail: string; stdoutTail?: string; what?: string },
): { kind: EvalErrorKind; message: string } | null {
  const what = ctx.what ?? 'the evaluator'
  if (e.infra) return { kind: 'infra', message: e.infra }
  if (e.timedOut)
    return {
      kind: 'timeout',
      message: `${what} exceeded the wall-clock limit of ${ctx.timeoutS} s (the whole process tree was killed)`,
    }
  if (e.signal === 'SIGXCPU' || (e.signal === 'SIGKILL' && e.cpuMs >= ctx.cpuS * 1000 * 0.95)) {
    return { kind: 'timeout', message: `${what} exceeded the CPU-time limit of ${ctx.cpuS} s` }
  }
  if (e.exitCode === 0 && !e.signal) return null
  const text = `${ctx.stderrTail}\n${ctx.stdoutTail ?? ''}`
  const lastLine = ctx.stderrTail.trim().split('\n').pop()?.slice(0, 300) ?? ''
  if (MEMORY_PATTERNS.test(text)) {
    return {
      kind: 'memory',
      message: `${what} ran out of memory (address-space limit ${ctx.memoryMb} MB)${lastLine ? `: ${lastLine}` : ''}`,
    }
  }
  if (e.signal === 'SIGXFSZ') return { kind: 'crash', message: `${what} exceeded the file-size limit` }
  if (e.signal) return { kind: 'crash', message: `${what} was killed by ${e.signal}${lastLine ? `: ${lastLine}` : ''}` }
  return { kind: 'crash', message: `${what} exited with code ${e.exitCode}${lastLine ? `: ${lastLine}` : ''}` }
}

/** Does a stage's primary metric let the next cascade stage run? */
export function passesThreshold(
  value: number | null | undefined,
  threshold: number | undefined,
  direction: 'max' | 'min',
): boolean {
  if (threshold === undefined) return true
  if (value === null || value === undefined || !Number.isFinite(value)) return false
  return direction === 'max' ? value >= threshold : value <= threshold
}

/** Lines of a private file shorter than this are too common to tell it by (`return x`, `}`). */
const PRIVATE_LINE_MIN = 6

/**
 * The distinctive lines of a problem's private files (problem.json `private`, its `private/`
 * folder): what a crash's traceback must not carry out of the evaluation, since artifacts reach the
 * model's prompts and every viewer. `read` gives a file's text (null: unreadable or too large).
 */
export function privateLines(paths: string[], read: (path: string) => string | null): Set<string> {
  const lines = new Set<string>()
  for (const p of paths)
    for (const l of read(p)?.split('\n') ?? []) {
      const t = l.trim()
      if (t.length >= PRIVATE_LINE_MIN && t.length <= 2000) lines.add(t)
    }
  return lines
}

/** `text` with every line that is a private file's line replaced. */
export function hidePrivate(text: string, lines: ReadonlySet<string>): string {
  if (!lines.size) return text
  return text
    .split('\n')
    .map((l) => (lines.has(l.trim()) ? `${l.slice(0, l.length - l.trimStart().length)}[a line of a private file]` : l))
    .join('\n')
}

/** the artifacts that are an evaluation's captured output, not what its evaluator chose to report */
const CAPTURED = ['stderr', 'stdout', 'stdout_subprocesses', 'compiler']

/**
 * `hide` over an outcome's captured output (a crash's traceback is there). What the evaluator put
 * in its own result is its author's to choose, private data included, and is left as it is.
 */
export function hidePrivateArtifacts(
  artifacts: Record<string, unknown>,
  hide: (s: string) => string,
): Record<string, unknown> {
  const out = { ...artifacts }
  for (const k of CAPTURED) if (typeof out[k] === 'string') out[k] = hide(out[k] as string)
  return out
}
