// Every procedure's input is bounded: a static walk of each zod schema in the router as it is
// when the test runs. A new procedure that takes an unbounded string, array, number, record or
// z.unknown() fails here, before anyone can send it a gigabyte.
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { appRouter } from './root.ts'
import { boundsIssues, listProcedures, refinedOpenNodes, type ZodLike } from '../../test-support/zod-schema.ts'
import { recordFigures } from '../../test-support/figures.ts'

const procedures = listProcedures(appRouter)

describe('the bounds check itself', () => {
  // each rule is shown to fire, so a pass below means something
  it('flags what is unbounded and accepts what is bounded', () => {
    const flagged = (s: unknown) => boundsIssues(s as ZodLike).map((i) => i.problem)
    expect(flagged(z.string())).toEqual(['string without a maximum length'])
    expect(flagged(z.email())).toEqual(['string without a maximum length (format email)'])
    expect(flagged(z.array(z.string().max(3)))).toEqual(['array without a maximum size'])
    expect(flagged(z.number().max(3))).toEqual(['number without a minimum'])
    expect(flagged(z.number().int().min(0))).toEqual(['number without a maximum'])
    expect(flagged(z.bigint())).toEqual(['bigint without a range'])
    expect(flagged(z.record(z.string().max(5), z.number().min(0).max(1)))).toEqual([
      'record with open keys and no size refinement',
    ])
    expect(flagged(z.object({ a: z.unknown() }))).toEqual(['z.unknown() not enclosed in a size refinement'])
    expect(flagged(z.object({ a: z.any() }))).toEqual(['z.any() not enclosed in a size refinement'])
    expect(flagged(z.object({ a: z.string().max(2) }).passthrough())).toEqual([
      'object that keeps unknown keys (passthrough/catchall) with no size refinement',
    ])
    type Tree = { children: Tree[] }
    const tree: z.ZodType<Tree> = z.lazy(() => z.object({ children: z.array(tree).max(3) }))
    expect(flagged(tree)).toContain('recursive schema: nesting depth is unbounded')
    expect(
      flagged(
        z.object({
          s: z.string().min(1).max(5).optional(),
          n: z.number().int().min(0).max(9).default(1),
          e: z.enum(['a']),
          b: z.boolean(),
          u: z.uuid(),
          x: z.array(z.string().max(1)).max(2).nullable(),
        }),
      ),
    ).toEqual([])
    expect(flagged(z.record(z.string().max(5), z.unknown()).refine((c) => JSON.stringify(c).length < 100))).toEqual([])
    expect(flagged(z.partialRecord(z.enum(['a', 'b']), z.number().min(0).max(1)))).toEqual([])
  })
})

describe('every procedure input in the router', () => {
  it('is found by enumerating the router', () => {
    expect(procedures.length).toBeGreaterThan(30)
    expect(procedures.filter((p) => p.inputs.length).length).toBeGreaterThan(20)
  })

  it('bounds every string, array, number, record and opaque value', () => {
    const problems = procedures
      .flatMap((p) => p.inputs.flatMap((schema) => boundsIssues(schema, p.path)))
      .map((i) => `${i.path}: ${i.problem}`)
    const fields = procedures.reduce((n, p) => n + p.inputs.reduce((m, s) => m + countLeaves(s), 0), 0)
    recordFigures('input-bounds', {
      procedures: procedures.length,
      withInput: procedures.filter((p) => p.inputs.length).length,
      leafFields: fields,
      unbounded: problems.length,
    })
    expect(problems, 'unbounded inputs (add .max()/.min() or a size refinement)').toEqual([])
  })

  it('refinements that admit open values really bound their size', () => {
    // a refinement is taken on trust by the static walk: feed each one an oversized value
    const nodes = procedures.flatMap((p) => p.inputs.flatMap((s) => refinedOpenNodes(s, p.path)))
    for (const n of nodes) {
      const big =
        n.kind === 'record'
          ? Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 'v'.repeat(20)]))
          : { blob: 'x'.repeat(5_000_000) }
      expect(
        n.schema.safeParse(big).success,
        `${n.path} accepted a ${(JSON.stringify(big).length / 1e6).toFixed(1)} MB value`,
      ).toBe(false)
    }
  })
})

function countLeaves(s: ZodLike, seen = new Set<ZodLike>()): number {
  if (seen.has(s)) return 0
  seen.add(s)
  const d = s._zod.def
  switch (d.type) {
    case 'object':
      return Object.values(d.shape as Record<string, ZodLike>).reduce((n, v) => n + countLeaves(v, seen), 0)
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return countLeaves(d.innerType, seen)
    case 'array':
      return countLeaves(d.element, seen)
    case 'union':
      return (d.options as ZodLike[]).reduce((n, v) => n + countLeaves(v, seen), 0)
    case 'pipe':
      return countLeaves(d.in, seen)
    default:
      return 1
  }
}
