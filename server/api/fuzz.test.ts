// Property-based fuzzing of every procedure in the router, through the real HTTP server (pages
// off), as an admin so every handler is reached: inputs generated from each procedure's own zod
// schema, plus adversarial ones (huge strings, wrong types, odd unicode, deep nesting, prototype
// pollution keys, superjson special values, malformed bodies). The answer is never a 5xx and never
// shows a stack trace or an internal path.
//   FM_FUZZ_RUNS   generated inputs per procedure (default 10; 300 for a long run)
//   FM_FUZZ_FULL=1 every adversarial value at every field of every procedure (long run)
//   FM_FUZZ_SEED   fast-check seed (default: random, printed with any failure)
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { recordFigures, ROOT } from '../../test-support/figures.ts'
import { blockNetwork } from '../../test-support/no-network.ts'
import { callProcedure, encodeInput, rawRequest, type CallResult } from '../../test-support/http-client.ts'
import {
  arbitraryFor,
  inputArbitrary,
  listProcedures,
  offlineOverride,
  validSample,
  type ProcedureInfo,
  type ZodLike,
} from '../../test-support/zod-schema.ts'
import { RunConfig } from '../../client-safe/run-config.ts'
import { appRouter } from './root.ts'

const RUNS = Number(process.env.FM_FUZZ_RUNS ?? 10)
/** every odd value at every field (slow); by default each odd value is tried at one field, the core ones at all */
const FULL = process.env.FM_FUZZ_FULL === '1'
/** indexes into the odd values below: a number, NUL, a lone surrogate, a 100 kB string, an object */
const CORE_ODD = [1, 12, 13, 10, 9]
const SEED = process.env.FM_FUZZ_SEED ? Number(process.env.FM_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31)
const procedures = listProcedures(appRouter)

let h: ApiHarness
let known: Record<string, string[]> = {}
const tally = {
  generated: 0,
  adversarial: 0,
  transport: 0,
  byStatus: {} as Record<string, number>,
  slow: [] as string[],
}
const failures: string[] = []
const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort()

// a fuzzed endpoint (embedding model URL…) must never leave the machine
let network: ReturnType<typeof blockNetwork>

/** What a response must never be or show. */
function verdict(r: CallResult): string | null {
  if (r.status >= 500 || r.status === 0) return `HTTP ${r.status}: ${r.body.slice(0, 300)}`
  if (r.code === 'INTERNAL_SERVER_ERROR') return `internal error: ${r.body.slice(0, 300)}`
  if (/\n\s+at .+[(\s].*:\d+:\d+/.test(r.body) || /"stack"\s*:/.test(r.body))
    return `stack trace in the response: ${r.body.slice(0, 300)}`
  // error answers must not show the server's insides: source files, dependencies, code locations, the
  // data folder (a path the caller gave, resolved against the working directory, is the caller's own)
  const insides = [join(ROOT, 'server') + '/', join(ROOT, 'workers') + '/', 'node_modules/', 'file://', h.dataDir]
  if (r.status >= 400 && (insides.some((s) => r.body.includes(s)) || /\.[cm]?[jt]sx?:\d+/.test(r.body)))
    return `internal path in an error: ${r.body.slice(0, 300)}`
  return null
}

async function probe(
  p: ProcedureInfo,
  input: unknown,
  kind: 'generated' | 'adversarial',
  raw?: { body?: string; query?: string },
): Promise<string | null> {
  tally[kind]++
  if (!raw && input !== undefined) {
    try {
      encodeInput(input)
    } catch {
      // superjson refuses to encode some hostile values (__proto__ keys): send them as plain JSON text
      const text = JSON.stringify({ json: input }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
      raw = p.type === 'mutation' ? { body: text } : { query: `input=${encodeURIComponent(text)}` }
    }
  }
  const started = Date.now()
  const r = await callProcedure(h.url, p.path, p.type, input, {
    token: h.users.admin.token,
    readMs: 250,
    timeoutMs: 60_000,
    rawBody: raw?.body,
    rawQuery: raw?.query,
  })
  const ms = Date.now() - started
  if (ms > 2000) tally.slow.push(`${p.path} ${kind} ${ms} ms: ${describe_(input, raw).slice(0, 160)}`)
  const key = `${r.status}${r.code ? ` ${r.code}` : ''}`
  tally.byStatus[key] = (tally.byStatus[key] ?? 0) + 1
  const v = verdict(r)
  return v && `${p.path} ${kind}: ${v}\n  input: ${describe_(input, raw)}`
}

const describe_ = (input: unknown, raw?: { body?: string; query?: string }) => {
  const s =
    raw?.body ??
    raw?.query ??
    (() => {
      try {
        return encodeInput(input)
      } catch {
        return String(input)
      }
    })()
  return s.length > 400 ? `${s.slice(0, 400)}… (${s.length} chars)` : s
}

/** Generation hints: ids that exist, loopback-only URLs, and runs.create's config from the real RunConfig too. */
function override(path: string, key: string | null, schema: ZodLike): fc.Arbitrary<unknown> | undefined {
  if (path === 'input.config' && schema._zod.def.type === 'record') {
    // the procedure's own schema (an open record) and the schema the handler applies next
    return fc.oneof(arbitraryFor(schema), arbitraryFor(RunConfig as unknown as ZodLike, { override }))
  }
  // endpoints on loopback only; an embedding model's retry policy (which may wait minutes) tried once
  return offlineOverride(path, key)
}

beforeAll(async () => {
  network = blockNetwork()
  h = await startApiHarness()
  const db = h.server.app.db
  const run = await seedSyntheticRun(db, { candidates: 300, islands: 3, status: 'evolving', metricEvery: 5 })
  const cands = await db.prisma.candidate.findMany({ where: { runId: run.runId }, select: { id: true }, take: 5 })
  const doc = await callProcedure(
    h.url,
    'knowledge.create',
    'mutation',
    { title: 'fuzz seed', content: '# Seed\n\nA document for the fuzzer to find.' },
    { token: h.users.admin.token },
  )
  const docId = (doc.data as { id?: string } | undefined)?.id
  const problems = await db.prisma.problem.findMany({ select: { id: true }, take: 5 })
  const ids = [...cands.map((c) => c.id), ...(docId ? [docId] : []), h.users.viewer.userId]
  known = {
    runId: [run.runId],
    id: ids,
    parentId: cands.map((c) => c.id),
    problemId: problems.map((p) => p.id),
    focus: cands.map((c) => c.id),
  }
}, 180_000)

afterAll(async () => {
  network?.restore()
  await h?.stop()
})

describe('fuzzing every procedure over HTTP', () => {
  it('inputs generated from each procedure’s own schema: never a 5xx, never a stack trace', async () => {
    for (const p of procedures) {
      const arb = inputArbitrary(p, { known, override })
      try {
        await fc.assert(
          fc.asyncProperty(arb, async (input) => {
            const v = await probe(p, input, 'generated')
            if (v) throw new Error(v)
          }),
          { numRuns: p.inputs.length ? RUNS : 2, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: 120_000 },
        )
      } catch (e) {
        failures.push(
          (e as Error).message
            .split('\n')
            .filter((l) => l.trim() && !l.startsWith('Hint'))
            .slice(0, 12)
            .map((l) => l.slice(0, 600))
            .join('\n'),
        )
      }
    }
    expect(failures, `seed ${SEED}`).toEqual([])
  })

  it('adversarial inputs at every field: wrong types, huge and odd strings, deep nesting, pollution keys', async () => {
    const found: string[] = []
    const t0 = Date.now()
    const deepish = JSON.parse('['.repeat(60) + ']'.repeat(60))
    const odd: unknown[] = [
      null,
      0,
      -1,
      1e308,
      -0,
      2 ** 53 + 1,
      '',
      true,
      [],
      {},
      'x'.repeat(100_000),
      '\u0000',
      'a\u0000b',
      '\ud800',
      '\udfff\ud800',
      '\u202e\u2066evil',
      '🙂'.repeat(2000),
      'Z\u0351\u0352\u0353'.repeat(500),
      '\u2028\u2029',
      "'; DROP TABLE runs; --",
      '../../../../etc/passwd',
      '%00%0d%0a',
      '${7*7}{{7*7}}',
      deepish,
      new Date(8.64e15),
      new Map([['k', 'v']]),
      new Set([1]),
      10n ** 30n,
      { __proto__: null, constructor: { prototype: { polluted: 'yes' } } },
      JSON.parse('{"__proto__": {"polluted": "yes"}}'),
    ]
    for (const [pi, p] of procedures.entries()) {
      const sample = validSample(p, { known, override })
      const whole: unknown[] = [
        undefined,
        null,
        'string',
        42,
        [],
        [sample],
        deepish,
        JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}'),
      ]
      for (const input of whole) {
        const v = await probe(p, input, 'adversarial')
        if (v) found.push(v)
      }
      // fields of a valid input replaced by odd values: every odd value at some field, the core ones at
      // every field (FM_FUZZ_FULL=1: every value at every field)
      const leaves = leafPaths(sample)
      const pairs: Array<[number, number]> = []
      if (leaves.length) {
        for (let v = 0; v < odd.length; v++) pairs.push([(v + pi) % leaves.length, v])
        for (let l = 0; l < leaves.length; l++)
          for (const v of CORE_ODD) if ((v + pi) % leaves.length !== l) pairs.push([l, v])
        if (FULL)
          for (let l = 0; l < leaves.length; l++)
            for (let v = 0; v < odd.length; v++) if (!pairs.some(([a, b]) => a === l && b === v)) pairs.push([l, v])
      }
      for (const [l, v] of pairs) {
        const verdictText = await probe(p, setPath(sample, leaves[l]!, odd[v]), 'adversarial')
        if (verdictText) found.push(verdictText)
      }
      // nesting far deeper than any schema, at each field, written as text (a client-side encoder would overflow first)
      for (const path of leafPaths(sample).slice(0, 8)) {
        const n = p.type === 'mutation' ? 20_000 : 1_500
        const text = encodeInput(setPath(sample, path, '@@DEEP@@')).replace('"@@DEEP@@"', '['.repeat(n) + ']'.repeat(n))
        const v = await probe(
          p,
          undefined,
          'adversarial',
          p.type === 'mutation' ? { body: text } : { query: `input=${encodeURIComponent(text)}` },
        )
        if (v) found.push(v)
      }
      // unknown keys at the top level, pollution keys among them (as text: an object literal would set the prototype instead)
      if (sample && typeof sample === 'object' && !Array.isArray(sample)) {
        const inner = encodeInput(sample).replace(
          /^\{"json":\{/,
          '{"json":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"extraKey":"' +
            'x'.repeat(10_000) +
            '",',
        )
        const v = await probe(
          p,
          undefined,
          'adversarial',
          p.type === 'mutation' ? { body: inner } : { query: `input=${encodeURIComponent(inner)}` },
        )
        if (v) found.push(v)
      }
    }
    process.stdout.write(
      `[fuzz] adversarial: ${tally.adversarial} calls in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    )
    expect(found.slice(0, 20)).toEqual([])
  })

  it('malformed and hostile encodings of the request itself', async () => {
    const found: string[] = []
    const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
    const heavyFor = new Set(
      ['query', 'mutation', 'subscription']
        .map((t) => procedures.find((p) => p.type === t && p.inputs.length)?.path)
        .filter((x): x is string => !!x),
    )
    for (const [pi, p] of procedures.entries()) {
      const sample = validSample(p, { known, override })
      const s = superjsonParts(sample)
      const bodies = [
        '{"json":',
        'not json',
        '[]',
        'null',
        '"x"',
        // the heavy bodies once per kind of procedure (the parsing before the procedure is the same for all)
        ...(heavyFor.has(p.path)
          ? [
              '{"json": ' + '['.repeat(200_000) + ']'.repeat(200_000) + '}',
              `{"json": ${nested(50_000)}}`,
              `{"json": {"big": "${'a'.repeat(1_900_000)}"}}`,
            ]
          : []),
      ]
      // superjson's own metadata: special values where the schema wants something else, and pollution
      // through its paths. Decoded before any procedure runs: each goes to a third of the procedures,
      // rotating, so every one meets queries and mutations alike (FM_FUZZ_FULL=1: all to all)
      const meta = [
        JSON.stringify({ json: 'NaN', meta: { values: ['number'] } }),
        JSON.stringify({ json: 'Infinity', meta: { values: ['number'] } }),
        JSON.stringify({ json: '1e400', meta: { values: ['bigint'] } }),
        JSON.stringify({ json: [[1, 2]], meta: { values: ['map'] } }),
        JSON.stringify({ json: 'not a date', meta: { values: ['Date'] } }),
        JSON.stringify({ json: '/(a+)+$/', meta: { values: ['regexp'] } }),
        `{"json": ${JSON.stringify(s.json) ?? 'null'}, "meta": {"values": {"__proto__": ["undefined"]}}}`,
        JSON.stringify({
          json: s.json,
          meta: { values: { '__proto__.polluted': ['undefined'], 'constructor.prototype.polluted': ['Date'] } },
        }),
        JSON.stringify({
          json: s.json,
          meta: { referentialEqualities: { '': ['__proto__.polluted'], root: ['constructor.prototype'] } },
        }),
        JSON.stringify({ json: s.json, meta: { values: { x: ['class', 'Object'] } } }),
      ]
      bodies.push(...meta.filter((_, i) => FULL || (i + pi) % 3 === 0))
      for (const body of bodies) {
        tally.transport++
        const v =
          p.type === 'mutation'
            ? await probe(p, undefined, 'adversarial', { body })
            : await probe(p, undefined, 'adversarial', {
                query:
                  body.length < 8000
                    ? `input=${encodeURIComponent(body)}`
                    : `input=${encodeURIComponent(body.slice(0, 8000))}`,
              })
        if (v) found.push(v)
      }
    }
    // over the body limit, batching, unknown paths, methods
    const adminAuth = { authorization: `Bearer ${h.users.admin.token}` }
    const extra = [
      await rawRequest(`${h.url}/api/trpc/knowledge.create`, {
        method: 'POST',
        headers: { ...adminAuth, 'content-type': 'application/json' },
        body: `{"json":{"content":"${'b'.repeat(9_000_000)}"}}`,
      }),
      await rawRequest(`${h.url}/api/trpc/${Array(300).fill('health.check').join(',')}?batch=1`, {
        headers: adminAuth,
      }),
      await rawRequest(
        `${h.url}/api/trpc/${Array(40).fill('runs.list').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [i, { json: i % 2 ? null : { limit: 'x' } }]))))}`,
        { headers: adminAuth },
      ),
      await rawRequest(`${h.url}/api/trpc/no.such.procedure`, { headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/__proto__`, { headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/constructor.prototype`, { headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/runs.create`, { method: 'GET', headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/runs.list`, { method: 'PUT', headers: adminAuth, body: '{}' }),
      await rawRequest(`${h.url}/api/trpc/runs.list`, { method: 'DELETE', headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/runs.list?input=%E0%A4%A`, { headers: adminAuth }),
      await rawRequest(`${h.url}/api/trpc/health.check`, {
        headers: { ...adminAuth, 'content-type': 'application/json; charset=utf-7' },
      }),
    ]
    tally.transport += extra.length
    for (const r of extra) {
      const v = verdict({ ...r, code: null, message: null, data: undefined, events: [] })
      if (v) found.push(`transport: ${v}`)
    }
    expect(extra[0]!.status).toBe(413)
    expect(found.slice(0, 20)).toEqual([])
  })

  it('left the server process unpolluted, answering, and off the network', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore)
    const health = await callProcedure(h.url, 'health.check', 'query', undefined)
    expect(health.status).toBe(200)
    expect(network.attempts, 'name lookups that would have left the machine').toEqual([])
    const inputs = tally.generated + tally.adversarial
    recordFigures('fuzz', {
      procedures: procedures.length,
      inputsTried: inputs,
      generated: tally.generated,
      adversarial: tally.adversarial,
      transportCases: tally.transport,
      runsPerProcedure: RUNS,
      seed: SEED,
      byStatus: tally.byStatus,
      failures: failures.length,
      slowest: tally.slow.slice(0, 10),
    })
    expect(inputs).toBeGreaterThan(procedures.length * 10)
  })
})

function superjsonParts(v: unknown): { json: unknown } {
  return JSON.parse(encodeInput(v)) as { json: unknown }
}

/** Paths to every leaf of a JSON-like value (arrays by index, at most 40). */
function leafPaths(
  v: unknown,
  prefix: Array<string | number> = [],
  out: Array<Array<string | number>> = [],
): Array<Array<string | number>> {
  if (out.length >= 40) return out
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Array.isArray(v) ? v.slice(0, 3).map((x, i) => [i, x] as const) : Object.entries(v)
    if (!entries.length) out.push(prefix)
    for (const [k, x] of entries) leafPaths(x, [...prefix, k], out)
  } else if (prefix.length) out.push(prefix)
  return out
}

function setPath(v: unknown, path: Array<string | number>, value: unknown): unknown {
  if (!path.length) return value
  const [head, ...rest] = path
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) }
  copy[head!] = setPath(copy[head!], rest, value)
  return copy
}

describe('the raw input guard', () => {
  it('refuses NUL, lone surrogates and deep nesting, and lets ordinary input through', async () => {
    const { rawInputProblem, MAX_INPUT_DEPTH } = await import('./trpc.ts')
    expect(rawInputProblem({ a: ['x', { b: 'a\u0000' }] })).toMatch(/NUL/)
    expect(rawInputProblem({ 'k\u0000': 1 })).toMatch(/NUL/)
    expect(rawInputProblem(['\ud800'])).toMatch(/lone surrogate/)
    expect(rawInputProblem('\udc00x')).toMatch(/lone surrogate/)
    expect(rawInputProblem(JSON.parse('['.repeat(MAX_INPUT_DEPTH + 1) + ']'.repeat(MAX_INPUT_DEPTH + 1)))).toMatch(
      /nested deeper/,
    )
    expect(rawInputProblem(JSON.parse('['.repeat(MAX_INPUT_DEPTH - 1) + ']'.repeat(MAX_INPUT_DEPTH - 1)))).toBeNull()
    expect(
      rawInputProblem({
        text: 'héllo 🙂 \u202e',
        n: 1,
        d: new Date(),
        m: new Map([['a', 'b']]),
        nested: { list: [1, 2, { x: null }] },
      }),
    ).toBeNull()
    expect(rawInputProblem(undefined)).toBeNull()
  })
})
