// What is wrong with a problem.json, said in full: keys the schema does not know (zod strips them
// silently, so a typo such as "limit" for "limits" would otherwise leave the default in force) and
// every validation issue with its path, not only the first.
import type { z } from 'zod'

/** Edit distance (insertions, deletions, substitutions), case-insensitive: "heldout" is one from "heldOut". */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const cur = [i]
    for (let j = 1; j <= t.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[t.length]!
}

/** The known key a misspelt one most likely meant, when one is close enough to suggest. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  // a third of the key's length: "refrence" → "reference", but "foo" suggests nothing
  const limit = Math.max(1, Math.floor(key.length / 3))
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  const lower = key.toLowerCase()
  for (const k of known) {
    // on a tie, a key that extends the typed one or is cut from it ("bin" → "bins", not "min")
    const kl = k.toLowerCase()
    const affix = kl.startsWith(lower) || lower.startsWith(kl) ? 0.5 : 0
    const d = editDistance(key, k) - affix
    if (d < bestD) [best, bestD] = [k, d]
  }
  return bestD <= limit ? best : undefined
}

export interface UnknownKey {
  /** where it is: "limit", "limits.timeout", "features.1.bin" */
  path: string
  suggestion?: string
}

type Def = {
  type: string
  shape?: Record<string, z.ZodType>
  catchall?: z.ZodType
  innerType?: z.ZodType
  in?: z.ZodType
  element?: z.ZodType
  options?: z.ZodType[]
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def

/** The schema under its wrappers (optional, default, nullable, pipe…). */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema
  for (let i = 0; i < 16; i++) {
    const d = defOf(s)
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined)
    if (!inner) return s
    s = inner
  }
  return s
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Keys of `value` that `schema` does not declare, at every level the schema describes as an object
 * (records, whose keys are free, are not looked into). Objects declared strict are left out: parsing
 * them already fails on an unknown key.
 */
export function unknownKeys(schema: z.ZodType, value: unknown, path: string[] = []): UnknownKey[] {
  const s = unwrap(schema)
  const d = defOf(s)
  if (d.type === 'object' && d.shape && isPlainObject(value)) {
    const strict = d.catchall && defOf(d.catchall).type === 'never'
    const known = Object.keys(d.shape)
    const found: UnknownKey[] = []
    for (const [k, v] of Object.entries(value)) {
      const sub = d.shape[k]
      if (sub) found.push(...unknownKeys(sub, v, [...path, k]))
      else if (!strict) found.push({ path: [...path, k].join('.'), suggestion: closestKey(k, known) })
    }
    return found
  }
  if (d.type === 'array' && d.element && Array.isArray(value))
    return value.flatMap((v, i) => unknownKeys(d.element!, v, [...path, String(i)]))
  // a union of a plain value and an object (features: "name" or {name, min, max, bins})
  if (d.type === 'union' && d.options && isPlainObject(value)) {
    const obj = d.options.find((o) => defOf(unwrap(o)).type === 'object')
    return obj ? unknownKeys(obj, value, path) : []
  }
  return []
}

/** An unknown key in the words the loaders' other warnings use ("… is ignored"). */
export function describeUnknownKey(k: UnknownKey): string {
  return `"${k.path}" is not a known key and is ignored${k.suggestion ? `; did you mean "${k.suggestion}"?` : ''}`
}

/** The most issues a message lists: the first ones are what to fix first, the rest follow from a rerun. */
export const MAX_ISSUES = 10

/**
 * The issues worth reading: zod goes on checking a value of the wrong type ("features": "abc" is
 * also "too big" for an array of at most 4), so only the type issue of such a path is kept.
 */
export function relevantIssues(error: z.ZodError): z.core.$ZodIssue[] {
  const wrongType = new Set(error.issues.filter((i) => i.code === 'invalid_type').map((i) => i.path.join('\0')))
  return error.issues.filter((i) => i.code === 'invalid_type' || !wrongType.has(i.path.join('\0')))
}

/** Every validation issue (up to MAX_ISSUES), each with its path; unknown keys of strict objects get a suggestion. */
export function describeIssues(error: z.ZodError, schema?: z.ZodType, value?: unknown): string[] {
  const issues = relevantIssues(error)
  const lines = issues.slice(0, MAX_ISSUES).map((issue) => {
    const at = issue.path.map(String).join('.') || '(root)'
    if (issue.code === 'unrecognized_keys' && schema) {
      const known = knownKeysAt(schema, value, issue.path.map(String))
      const named = issue.keys.map((k) => {
        const near = known && closestKey(k, known)
        return near ? `"${k}" (did you mean "${near}"?)` : `"${k}"`
      })
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`
    }
    return `${at}: ${issue.message}`
  })
  if (issues.length > MAX_ISSUES) lines.push(`… and ${issues.length - MAX_ISSUES} more`)
  return lines
}

/** The keys the schema declares for the object at `path` of `value`, if it is an object there. */
function knownKeysAt(schema: z.ZodType, value: unknown, path: string[]): string[] | undefined {
  let s = unwrap(schema)
  let v = value
  for (const p of path) {
    const d = defOf(s)
    if (d.type === 'object' && d.shape?.[p]) s = unwrap(d.shape[p])
    else if (d.type === 'array' && d.element) s = unwrap(d.element)
    else return undefined
    v = isPlainObject(v) || Array.isArray(v) ? (v as Record<string, unknown>)[p] : undefined
  }
  const d = defOf(s)
  if (d.type === 'union' && d.options && isPlainObject(v)) {
    const obj = d.options.find((o) => defOf(unwrap(o)).type === 'object')
    if (obj) return Object.keys(defOf(unwrap(obj)).shape ?? {})
  }
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined
}
