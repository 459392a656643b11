// Reading zod 4 schemas at run time, for the hardening tests: which procedures of the router
// exist, whether each input schema bounds everything a caller can send (a static walk), and
// fast-check arbitraries generated from a procedure's own schema. Test support only.
import fc from 'fast-check'

/** A zod 4 schema, as far as this module needs to know it. */
export interface ZodLike {
  _zod: { def: ZodDef }
  safeParse(v: unknown): { success: boolean }
}
type ZodDef = Record<string, any> & { type: string }
interface CheckDef {
  check: string
  [k: string]: any
}

export const defOf = (s: ZodLike): ZodDef => s._zod.def

/** The checks on a schema, flattened (a format schema such as z.email() is itself a check). */
export function checksOf(s: ZodLike): CheckDef[] {
  const d = defOf(s)
  const out: CheckDef[] = []
  if (d.check) out.push(d as unknown as CheckDef)
  for (const c of (d.checks ?? []) as Array<{ _zod: { def: CheckDef } }>) {
    const cd = c._zod.def
    out.push(cd)
    // a format check (ZodUUID in z.string().uuid()) carries checks of its own
    for (const inner of (cd.checks ?? []) as Array<{ _zod: { def: CheckDef } }>) out.push(inner._zod.def)
  }
  return out
}

// ------------------------------------------------------------------ the router

export interface ProcedureInfo {
  path: string
  type: 'query' | 'mutation' | 'subscription'
  meta: { access?: string; worker?: boolean } | undefined
  /** the input parsers, in order (tRPC merges several .input() calls) */
  inputs: ZodLike[]
}

/** Every procedure of a tRPC v11 router, read from its definition (so new ones are included). */
export function listProcedures(router: { _def: unknown }): ProcedureInfo[] {
  const procedures = (router._def as { procedures: Record<string, { _def: Record<string, any> }> }).procedures
  return Object.entries(procedures)
    .map(([path, p]) => ({ path, type: p._def.type, meta: p._def.meta, inputs: (p._def.inputs ?? []) as ZodLike[] }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

// ------------------------------------------------------------------ bounds (static)

/** String formats whose own pattern fixes a maximum length. */
const BOUNDED_STRING_FORMATS = new Set([
  'uuid',
  'guid',
  'ulid',
  'xid',
  'ksuid',
  'ipv4',
  'ipv6',
  'cidrv4',
  'cidrv6',
  'e164',
  'date',
  'time',
  'datetime',
  'duration',
])
const BOUNDED_NUMBER_FORMATS = new Set(['int32', 'uint32', 'float32'])
const BOUNDED_BIGINT_FORMATS = new Set(['int64', 'uint64'])
const LEAF_OK = new Set(['boolean', 'literal', 'enum', 'null', 'undefined', 'void', 'never', 'nan', 'date', 'symbol'])
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional', 'success'])

const has = (checks: CheckDef[], ...kinds: string[]) => checks.some((c) => kinds.includes(c.check))
const refinedHere = (checks: CheckDef[]) => has(checks, 'custom')

export interface BoundsIssue {
  path: string
  problem: string
}

/**
 * What a caller could send without limit: strings without a maximum length, arrays without a
 * maximum size, numbers without a range, records with open keys and z.unknown()/z.any() that no
 * refinement (expected to bound the size) encloses, recursive schemas. Empty when bounded.
 */
export function boundsIssues(schema: ZodLike, path = 'input'): BoundsIssue[] {
  const issues: BoundsIssue[] = []
  const walk = (s: ZodLike, p: string, refined: boolean, stack: ZodLike[]) => {
    if (stack.includes(s)) {
      if (!refined) issues.push({ path: p, problem: 'recursive schema: nesting depth is unbounded' })
      return
    }
    const d = defOf(s)
    const checks = checksOf(s)
    const r = refined || refinedHere(checks)
    const next = [...stack, s]
    const t = d.type
    if (WRAPPERS.has(t)) return walk(d.innerType, p, r, next)
    switch (t) {
      case 'string': {
        const formats = checks.filter((c) => c.check === 'string_format').map((c) => c.format as string)
        if (!has(checks, 'max_length', 'length_equals') && !formats.some((f) => BOUNDED_STRING_FORMATS.has(f))) {
          issues.push({
            path: p,
            problem: `string without a maximum length${formats.length ? ` (format ${formats.join(', ')})` : ''}`,
          })
        }
        return
      }
      case 'number': {
        const fmt = checks.filter((c) => c.check === 'number_format').map((c) => c.format as string)
        if (fmt.some((f) => BOUNDED_NUMBER_FORMATS.has(f))) return
        if (!has(checks, 'greater_than')) issues.push({ path: p, problem: 'number without a minimum' })
        if (!has(checks, 'less_than')) issues.push({ path: p, problem: 'number without a maximum' })
        return
      }
      case 'bigint': {
        const fmt = checks.filter((c) => c.check === 'bigint_format').map((c) => c.format as string)
        if (fmt.some((f) => BOUNDED_BIGINT_FORMATS.has(f))) return
        if (!has(checks, 'greater_than') || !has(checks, 'less_than'))
          issues.push({ path: p, problem: 'bigint without a range' })
        return
      }
      case 'array':
        if (!has(checks, 'max_length', 'length_equals'))
          issues.push({ path: p, problem: 'array without a maximum size' })
        return walk(d.element, `${p}[]`, r, next)
      case 'set':
      case 'map':
        if (!has(checks, 'max_size', 'size_equals')) issues.push({ path: p, problem: `${t} without a maximum size` })
        if (d.keyType) walk(d.keyType, `${p}<key>`, r, next)
        return walk(d.valueType, `${p}<value>`, r, next)
      case 'record': {
        const kt = defOf(d.keyType).type
        const finiteKeys = kt === 'enum' || kt === 'literal'
        if (!finiteKeys && !r) issues.push({ path: p, problem: 'record with open keys and no size refinement' })
        walk(d.keyType, `${p}<key>`, r, next)
        return walk(d.valueType, `${p}<value>`, r, next)
      }
      case 'object': {
        for (const [k, v] of Object.entries(d.shape as Record<string, ZodLike>)) walk(v, `${p}.${k}`, r, next)
        const catchall = d.catchall as ZodLike | undefined
        if (catchall && defOf(catchall).type !== 'never') {
          if (!r)
            issues.push({
              path: p,
              problem: 'object that keeps unknown keys (passthrough/catchall) with no size refinement',
            })
          else walk(catchall, `${p}.*`, r, next)
        }
        return
      }
      case 'tuple':
        ;(d.items as ZodLike[]).forEach((it, i) => {
          walk(it, `${p}[${i}]`, r, next)
        })
        if (d.rest) {
          issues.push({ path: p, problem: 'tuple with an unbounded rest' })
          walk(d.rest, `${p}[...]`, r, next)
        }
        return
      case 'union':
        return (d.options as ZodLike[]).forEach((o, i) => {
          walk(o, `${p}|${i}`, r, next)
        })
      case 'intersection':
        walk(d.left, p, r, next)
        return walk(d.right, p, r, next)
      case 'pipe':
        // the input side is what a caller sends; the output side only sees what it let through
        return walk(d.in, p, r, next)
      case 'lazy':
        return walk(d.getter(), p, r, next)
      case 'transform':
        return
      case 'unknown':
      case 'any':
      case 'custom':
        if (!r) issues.push({ path: p, problem: `z.${t}() not enclosed in a size refinement` })
        return
      default:
        if (LEAF_OK.has(t)) return
        issues.push({
          path: p,
          problem: `schema type "${t}" is not understood by the bounds check (teach test-support/zod-schema.ts)`,
        })
    }
  }
  walk(schema, path, false, [])
  return issues
}

/** Refined nodes that let open-ended values (records, unknown) through: the refinement must bound them. */
export function refinedOpenNodes(
  schema: ZodLike,
  path = 'input',
): Array<{ path: string; schema: ZodLike; kind: 'record' | 'unknown' }> {
  const out: Array<{ path: string; schema: ZodLike; kind: 'record' | 'unknown' }> = []
  const seen = new Set<ZodLike>()
  const walk = (s: ZodLike, p: string) => {
    if (seen.has(s)) return
    seen.add(s)
    const d = defOf(s)
    if (refinedHere(checksOf(s))) {
      if (d.type === 'record' && !['enum', 'literal'].includes(defOf(d.keyType).type))
        out.push({ path: p, schema: s, kind: 'record' })
      if (d.type === 'unknown' || d.type === 'any') out.push({ path: p, schema: s, kind: 'unknown' })
    }
    if (WRAPPERS.has(d.type)) return walk(d.innerType, p)
    if (d.type === 'object')
      for (const [k, v] of Object.entries(d.shape as Record<string, ZodLike>)) walk(v, `${p}.${k}`)
    if (d.type === 'array') walk(d.element, `${p}[]`)
    if (d.type === 'union')
      (d.options as ZodLike[]).forEach((o, i) => {
        walk(o, `${p}|${i}`)
      })
    if (d.type === 'pipe') walk(d.in, p)
  }
  walk(schema, path)
  return out
}

// ------------------------------------------------------------------ arbitraries

export interface ArbitraryOptions {
  /** values that exist in the database, by object key (runId, id, …): used half of the time */
  known?: Record<string, readonly string[]>
  /** replace the arbitrary at a key path (e.g. "config" of runs.create) */
  override?: (path: string, key: string | null, schema: ZodLike) => fc.Arbitrary<unknown> | undefined
  /** generated strings and arrays are at most this long, except for an exact-maximum edge case */
  softMaxLength?: number
}

/**
 * Overrides every caller of a generated input should use: endpoints (a model's or an embedder's
 * baseURL, optional in their schemas, where absent means the provider's public API) always on
 * loopback, and an embedder's retry policy tried once.
 */
export function offlineOverride(_path: string, key: string | null): fc.Arbitrary<unknown> | undefined {
  if (key === 'baseURL') return fc.constantFrom('http://127.0.0.1:9/v1', 'http://localhost:9/v1')
  if (key === 'retry')
    return fc.record(
      { maxAttempts: fc.constant(1), baseDelayMs: fc.integer({ min: 0, max: 50 }) },
      { requiredKeys: ['maxAttempts'] },
    )
  return undefined
}

/** URLs that stay on this machine: a fuzzed endpoint must never reach the network. */
const LOOPBACK_URL = fc.constantFrom(
  'http://127.0.0.1:9/v1',
  'http://127.0.0.1:1/',
  'http://[::1]:9/x',
  'http://localhost:9/v1/embeddings',
)
const EMAIL = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9._+-]{0,20}[a-z0-9]$/),
    fc.constantFrom('example.test', 'fm-agent.local', 'x.example.org'),
  )
  .map(([u, d]) => `${u}@${d}`)

function stringArbitrary(checks: CheckDef[], soft: number): fc.Arbitrary<string> {
  let min = 0
  let max = Number.POSITIVE_INFINITY
  let exact: number | null = null
  const patterns: RegExp[] = []
  let format: string | null = null
  for (const c of checks) {
    if (c.check === 'min_length') min = Math.max(min, c.minimum)
    if (c.check === 'max_length') max = Math.min(max, c.maximum)
    if (c.check === 'length_equals') exact = c.length
    if (c.check === 'string_format') {
      if (c.format === 'regex' || c.format === 'starts_with' || c.format === 'ends_with' || c.format === 'includes') {
        if (c.pattern) patterns.push(c.pattern)
      } else format = c.format
    }
  }
  if (exact !== null) min = max = exact
  const fits = (s: string) => s.length >= min && s.length <= max
  let base: fc.Arbitrary<string>
  if (format === 'url') base = LOOPBACK_URL
  else if (format === 'email') base = EMAIL
  else if (format === 'uuid' || format === 'guid') base = fc.uuid()
  else if (patterns.length && matcher(patterns[0]!)) base = matcher(patterns[0]!)!
  else {
    const hi = Math.min(max, Math.max(min, soft))
    const units = fc.constantFrom<'grapheme' | 'grapheme-ascii' | 'binary'>('grapheme-ascii', 'grapheme', 'binary')
    base = units.chain((unit) => fc.string({ unit, minLength: min, maxLength: hi }))
    const edges: fc.Arbitrary<string>[] = []
    // the largest value the schema accepts: the handler must cope with it too
    if (Number.isFinite(max)) edges.push(fc.constant('m'.repeat(max)), fc.constant('é'.repeat(max)))
    if (min > 0) edges.push(fc.constant('a'.repeat(min)))
    if (edges.length) base = fc.oneof({ weight: 8, arbitrary: base }, { weight: 1, arbitrary: fc.oneof(...edges) })
    return base.filter(fits)
  }
  return base.filter((s) => fits(s) && patterns.every((p) => p.test(s)))
}

/** fast-check cannot generate from every regex (flags, lookarounds): those fall back to plain strings. */
function matcher(re: RegExp): fc.Arbitrary<string> | null {
  try {
    // lower-case matches of a case-insensitive pattern are still matches
    return fc.stringMatching(new RegExp(re.source, re.flags.replace(/[igmy]/g, '')))
  } catch {
    return null
  }
}

function numberArbitrary(checks: CheckDef[]): fc.Arbitrary<number> {
  let min = -Number.MAX_VALUE
  let max = Number.MAX_VALUE
  let minExcluded = false
  let maxExcluded = false
  let int = false
  for (const c of checks) {
    if (c.check === 'greater_than' && c.value >= min) (min = Number(c.value)), (minExcluded = !c.inclusive)
    if (c.check === 'less_than' && c.value <= max) (max = Number(c.value)), (maxExcluded = !c.inclusive)
    if (c.check === 'number_format' && /int/.test(c.format)) int = true
  }
  if (int) {
    const lo = Math.max(Number.MIN_SAFE_INTEGER, Math.ceil(minExcluded ? min + 1 : min))
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(maxExcluded ? max - 1 : max))
    return fc.integer({ min: lo, max: hi })
  }
  return fc.double({ min, max, minExcluded, maxExcluded, noNaN: true, noDefaultInfinity: true })
}

function bigintArbitrary(checks: CheckDef[]): fc.Arbitrary<bigint> {
  let min = -(2n ** 70n)
  let max = 2n ** 70n
  for (const c of checks) {
    if (c.check === 'greater_than') min = BigInt(c.value) + (c.inclusive ? 0n : 1n)
    if (c.check === 'less_than') max = BigInt(c.value) - (c.inclusive ? 0n : 1n)
  }
  return fc.bigInt({ min, max })
}

/** An arbitrary of values shaped by the schema (mostly valid; refinements are not solved). */
export function arbitraryFor(schema: ZodLike, opts: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const soft = opts.softMaxLength ?? 300
  const build = (s: ZodLike, p: string, key: string | null, depth: number): fc.Arbitrary<unknown> => {
    const o = opts.override?.(p, key, s)
    if (o) return o
    const d = defOf(s)
    const checks = checksOf(s)
    switch (d.type) {
      case 'optional':
        return fc.option(build(d.innerType, p, key, depth), { nil: undefined, freq: 3 })
      case 'nullable':
        return fc.option(build(d.innerType, p, key, depth), { nil: null, freq: 4 })
      case 'default':
      case 'prefault':
        return fc.option(build(d.innerType, p, key, depth), { nil: undefined, freq: 3 })
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        return build(d.innerType, p, key, depth)
      case 'string': {
        const gen = stringArbitrary(checks, soft)
        const known = key ? opts.known?.[key] : undefined
        return known?.length ? fc.oneof(fc.constantFrom(...known), gen) : gen
      }
      case 'number':
        return numberArbitrary(checks)
      case 'bigint':
        return bigintArbitrary(checks)
      case 'boolean':
        return fc.boolean()
      case 'literal':
        return fc.constantFrom(...(d.values as unknown[]))
      case 'enum':
        return fc.constantFrom(...Object.values(d.entries as Record<string, unknown>))
      case 'null':
        return fc.constant(null)
      case 'undefined':
      case 'void':
        return fc.constant(undefined)
      case 'date':
        return fc.date({ noInvalidDate: true })
      case 'array': {
        let min = 0
        let max = 10
        for (const c of checks) {
          if (c.check === 'min_length') min = c.minimum
          if (c.check === 'max_length') max = c.maximum
          if (c.check === 'length_equals') min = max = c.length
        }
        const el = build(d.element, `${p}[]`, key, depth + 1)
        const arr = fc.array(el, { minLength: min, maxLength: Math.max(min, Math.min(max, 6)) })
        // the largest array the schema accepts, now and then
        return max > 6 && max <= 5000
          ? fc.oneof(
              { weight: 9, arbitrary: arr },
              { weight: 1, arbitrary: fc.array(el, { minLength: max, maxLength: max }) },
            )
          : arr
      }
      case 'object': {
        const shape = d.shape as Record<string, ZodLike>
        const model: Record<string, fc.Arbitrary<unknown>> = {}
        const required: string[] = []
        for (const [k, v] of Object.entries(shape)) {
          model[k] = build(v, `${p}.${k}`, k, depth + 1)
          const t = defOf(v).type
          if (t !== 'optional' && t !== 'default' && t !== 'prefault') required.push(k)
        }
        return fc.record(model, { requiredKeys: required })
      }
      case 'record': {
        const kt = defOf(d.keyType)
        const keys =
          kt.type === 'enum'
            ? fc.constantFrom(...Object.values(kt.entries as Record<string, string>))
            : (build(d.keyType, `${p}<key>`, null, depth + 1) as fc.Arbitrary<string>)
        return fc.dictionary(keys, build(d.valueType, `${p}<value>`, null, depth + 1), { maxKeys: 6 })
      }
      case 'tuple':
        return fc.tuple(...(d.items as ZodLike[]).map((it, i) => build(it, `${p}[${i}]`, null, depth + 1)))
      case 'union':
        return fc.oneof(...(d.options as ZodLike[]).map((it, i) => build(it, `${p}|${i}`, key, depth + 1)))
      case 'intersection':
        return build(d.left, p, key, depth)
      case 'pipe':
        return build(d.in, p, key, depth)
      case 'lazy':
        return depth > 6 ? fc.constant(null) : build(d.getter(), p, key, depth + 1)
      case 'never':
        return fc.constant(undefined)
      case 'unknown':
      case 'any':
      case 'custom':
        return fc.jsonValue({ maxDepth: 3 })
      default:
        return fc.anything({ maxDepth: 2 })
    }
  }
  return build(schema, 'input', null, 0)
}

/** One input for a procedure (undefined when it takes none): the first of its parsers, merged. */
export function inputArbitrary(p: ProcedureInfo, opts: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  if (!p.inputs.length) return fc.constant(undefined)
  if (p.inputs.length === 1) return arbitraryFor(p.inputs[0]!, opts)
  return fc
    .tuple(...p.inputs.map((i) => arbitraryFor(i, opts)))
    .map((parts) => Object.assign({}, ...parts.filter((x) => x && typeof x === 'object')))
}

/** A value the schema accepts, when the generator finds one in a few tries (for the access tests). */
export function validSample(p: ProcedureInfo, opts: ArbitraryOptions = {}, tries = 200): unknown {
  const arb = inputArbitrary(p, opts)
  const samples = fc.sample(arb, { numRuns: tries, seed: 42 })
  return samples.find((v) => p.inputs.every((i) => i.safeParse(v).success)) ?? samples[0]
}
