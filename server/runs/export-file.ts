// The run export's file, format fm-agent-run/1: what `fm-agent export` writes and `fm-agent import`
// reads. Fields are only ever added under this format, so every earlier export still reads; a file
// without `problem` and `bundles` (written before exports carried their problem, or for a user
// who may not read problem files) imports only where its problem already is.
import { z } from 'zod'
import { limitNesting } from '../../workers/result.ts'
import { BadInputError } from '../errors.ts'
import { createLogger } from '../log.ts'
import { MAX_BUNDLE_BYTES, unpackBundle } from '../problems/bundle.ts'

export const EXPORT_FORMAT = 'fm-agent-run/1'

const LIMIT_MIB = MAX_BUNDLE_BYTES >> 20
const mib = (n: number) => (n / (1 << 20)).toFixed(1)

const Id = z.string().min(1).max(200)
const Int = z.number().int()
const Obj = z.looseObject({})

/** The problem's row as stored where the run was exported: enough to create it again. */
export const ExportedProblem = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  format: z.string(),
  language: z.string(),
  direction: z.enum(['max', 'min']),
  primaryMetric: z.string(),
  spec: Obj,
  seedCode: z.string(),
  runDefaults: Obj.default({}),
  warnings: z.array(z.string()).default([]),
  bundleHash: z.string().min(1),
})
export type ExportedProblem = z.infer<typeof ExportedProblem>

/** A problem folder's stored bundle (gzip, in base64): the run's own, and the problem's when it differs. */
export const ExportedBundle = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex'),
  size: Int.nonnegative(),
  fileCount: Int.nonnegative(),
  data: z.string(),
})
export type ExportedBundle = z.infer<typeof ExportedBundle>

/**
 * What an import needs of a file; rows keep their other fields as exported. Columns with a default
 * may be missing (an export from before they existed).
 */
export const ExportFile = z.object({
  format: z.literal(EXPORT_FORMAT),
  exportedAt: z.string().optional(),
  run: z.looseObject({
    id: Id,
    problemId: Id,
    status: z.string(),
    config: Obj,
    problemSnapshot: z.looseObject({ id: Id, bundleHash: z.string(), spec: Obj }),
    engineState: Obj.nullish(),
  }),
  islands: z.array(z.looseObject({ index: Int.nonnegative(), state: Obj.nullish() })).default([]),
  candidates: z.array(
    z.looseObject({
      id: Id,
      seq: Int,
      island: Int,
      parentIds: z.array(z.string()),
      origin: z.string(),
      code: z.string(),
      codeHash: z.string(),
      status: z.string(),
    }),
  ),
  migrations: z.array(Obj).default([]),
  guidance: z.array(Obj).default([]),
  metrics: z.array(Obj).default([]),
  ratings: z.array(Obj).default([]),
  images: z.array(Obj).default([]),
  /** the run's history (status, stagnation, escalations, interventions), oldest first */
  events: z.array(z.looseObject({ type: z.string().min(1).max(100), payload: z.unknown() })).default([]),
  problem: ExportedProblem.optional(),
  bundles: z.array(ExportedBundle).default([]),
})
export type ExportFile = z.infer<typeof ExportFile>

function describeIssue(i: z.core.$ZodIssue): string {
  const where = i.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')
  if (i.code === 'invalid_type' && i.input === undefined) return `"${where}" is missing (expected ${i.expected})`
  return `${where ? `"${where}": ` : ''}${i.message}`
}

/** The file checked: a clear line for what is wrong with it, not a failed insert halfway through. */
export function readExportFile(data: unknown): ExportFile {
  const format = data && typeof data === 'object' ? (data as { format?: unknown }).format : undefined
  if (format !== EXPORT_FORMAT) {
    throw new BadInputError(
      format === undefined
        ? `not an FM Agent run export (expected "format": "${EXPORT_FORMAT}")`
        : `not an FM Agent run export this version reads: "format" is ${JSON.stringify(format)}, expected "${EXPORT_FORMAT}"`,
    )
  }
  const r = ExportFile.safeParse(data, { reportInput: true })
  if (!r.success) {
    const more = r.error.issues.length - 1
    throw new BadInputError(
      `an FM Agent run export, but incomplete or damaged: ${describeIssue(r.error.issues[0]!)}${more ? ` (and ${more} more)` : ''}`,
    )
  }
  return r.data
}

/** A stored bundle as an export carries it, within the bound a problem folder has. */
export function exportedBundle(row: {
  hash: string
  data: Uint8Array
  size: number
  fileCount: number
}): ExportedBundle {
  if (row.size > MAX_BUNDLE_BYTES || row.data.length > MAX_BUNDLE_BYTES)
    throw new BadInputError(
      `the problem's files (bundle ${row.hash.slice(0, 12)}) are ${mib(Math.max(row.size, row.data.length))} MiB, over the ${LIMIT_MIB} MiB a problem folder may hold; an export carries them only within that limit`,
    )
  return { hash: row.hash, size: row.size, fileCount: row.fileCount, data: Buffer.from(row.data).toString('base64') }
}

/** A bundle from a file, checked before it is stored: its content against its hash, its size against the bound. */
export function importedBundle(b: ExportedBundle) {
  const what = `the export's problem files (bundle ${b.hash.slice(0, 12)})`
  const data = Buffer.from(b.data, 'base64')
  if (data.length > MAX_BUNDLE_BYTES)
    throw new BadInputError(`${what} are ${mib(data.length)} MiB, over the ${LIMIT_MIB} MiB a problem folder may hold`)
  let files: ReturnType<typeof unpackBundle>
  try {
    files = unpackBundle(data, b.hash)
  } catch (e) {
    throw new BadInputError(
      `${what} cannot be read (${(e as Error).message}); a problem folder may hold ${LIMIT_MIB} MiB at most`,
    )
  }
  if (files.size > MAX_BUNDLE_BYTES)
    throw new BadInputError(`${what} hold ${mib(files.size)} MiB, over the ${LIMIT_MIB} MiB a problem folder may hold`)
  return { hash: b.hash, data: new Uint8Array(data), size: files.size, fileCount: files.files.length }
}

const bigintAsNumber = (_k: string, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)

/** How deep a stored value is written as JSON when the whole of it cannot be (exportText). */
export const EXPORT_MAX_DEPTH = 100
/** The characters of JSON text kept of a value nested deeper than that. */
export const EXPORT_DEEP_TEXT_CHARS = 16_000

const exportLog = createLogger('fm-agent')

/**
 * An export as the file holds it: JSON, the event log's 64-bit ids as numbers. A row stored
 * before artifacts were bounded in depth may nest thousands of levels, past what JSON.stringify's
 * recursion can write: such a row is written with its too-deep values as the start of their JSON
 * text, and one warning line on stderr says so, rather than the whole export failing.
 */
export function exportText(data: unknown): string {
  try {
    return JSON.stringify(data, bigintAsNumber)
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    const { value, cut } = limitNesting(data, EXPORT_MAX_DEPTH, EXPORT_DEEP_TEXT_CHARS)
    if (!cut) throw e
    const id = (data as { id?: unknown } | null)?.id
    const what = typeof id === 'string' ? `the row ${JSON.stringify(id.slice(0, 100))}` : 'a row'
    exportLog.warn(
      `export: ${what} holds ${cut} value(s) nested deeper than ${EXPORT_MAX_DEPTH} levels, too deep to write as JSON; each is written as the start of its JSON text (${EXPORT_DEEP_TEXT_CHARS.toLocaleString('en-US')} characters at most), and the rest of the export is whole`,
    )
    return JSON.stringify(value, bigintAsNumber)
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * JSON.parse for an export file that may be longer than a string can be (V8: 2^29 − 24
 * characters, ~512 MiB; a 20,000-candidate run with its prompts exports more): the top-level
 * object is read member by member, and an array member element by element, each one parsed on its
 * own. The same result as JSON.parse for any JSON text; a syntax error says where.
 */
export function parseLargeJson(buf: Buffer): unknown {
  let at = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at byte ${at}`)
  }
  const ws = () => {
    while (at < buf.length && WS.has(buf[at]!)) at++
  }
  /** the end (exclusive) of the value starting at `at` */
  const valueEnd = (from: number): number => {
    const c = buf[from]
    if (c === 0x22) return stringEnd(from)
    if (c === 0x7b || c === 0x5b) {
      let depth = 0
      for (let i = from; i < buf.length; i++) {
        const b = buf[i]
        if (b === 0x22) i = stringEnd(i) - 1
        else if (b === 0x7b || b === 0x5b) depth++
        else if ((b === 0x7d || b === 0x5d) && --depth === 0) return i + 1
      }
      return fail('unterminated object or array')
    }
    let i = from
    while (i < buf.length && !WS.has(buf[i]!) && buf[i] !== 0x2c && buf[i] !== 0x7d && buf[i] !== 0x5d) i++
    return i
  }
  const stringEnd = (from: number): number => {
    for (let i = buf.indexOf(0x22, from + 1); i >= 0; i = buf.indexOf(0x22, i + 1)) {
      let slashes = 0
      while (buf[i - 1 - slashes] === 0x5c) slashes++
      if (slashes % 2 === 0) return i + 1
    }
    return fail('unterminated string')
  }
  const parse = (end: number): unknown => {
    const v = JSON.parse(buf.toString('utf8', at, end))
    at = end
    return v
  }
  ws()
  if (buf[at] !== 0x7b) return parse(buf.length) // not an object: as JSON.parse reads it (and says why)
  at++
  const out: Record<string, unknown> = {}
  // as JSON.parse makes them: an own property, whatever its name ("__proto__" included)
  const set = (key: string, value: unknown) =>
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  for (;;) {
    ws()
    if (buf[at] === 0x7d) {
      at++
      break
    }
    if (buf[at] !== 0x22) fail('expected a member name')
    const key = parse(stringEnd(at)) as string
    ws()
    if (buf[at] !== 0x3a) fail('expected ":"')
    at++
    ws()
    if (buf[at] === 0x5b) {
      at++
      const items: unknown[] = []
      for (;;) {
        ws()
        if (buf[at] === 0x5d) {
          at++
          break
        }
        items.push(parse(valueEnd(at)))
        ws()
        if (buf[at] === 0x2c) {
          at++
          ws()
          if (buf[at] === 0x5d) fail('a "," before "]"')
        } else if (buf[at] !== 0x5d) fail('expected "," or "]"')
      }
      set(key, items)
    } else set(key, parse(valueEnd(at)))
    ws()
    if (buf[at] === 0x2c) {
      at++
      ws()
      if (buf[at] === 0x7d) fail('a "," before "}"')
    } else if (buf[at] !== 0x7d) fail('expected "," or "}"')
  }
  ws()
  if (at < buf.length) fail('unexpected text after the object')
  return out
}
