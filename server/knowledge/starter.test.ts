// Starter knowledge: the import (global, tagged by family, embedded), its idempotence (a second
// import creates nothing, an expert's edit survives), and that a run of a family retrieves its
// family's documents first, while a problem without a family still retrieves.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProblemSpec } from '../contracts/problem.ts'
import type { Db } from '../db.ts'
import { updateDocument } from './documents.ts'
import { retrieveForIsland } from './rag.ts'
import {
  GENERAL_TAG,
  importStarterKnowledge,
  PROBLEM_FAMILIES,
  STARTER_DOCS,
  STARTER_TAG,
  starterSourcePath,
} from './starter.ts'
import { dbModes } from './test-db.ts'

const PROBLEMS = fileURLToPath(new URL('../../problems/', import.meta.url))

// queries a stalled island could send: generic words, none naming a family's technique outright
const STALLED = [
  'the best score has not improved for many evaluations; the search is stuck and candidates are small variations of the parent',
  'how to make the program better: faster, fewer mistakes, a better result within the time limit',
]

describe('the built-in problems and the starter documents', () => {
  it('every built-in problem names a known family, and every family has a starter document', () => {
    const families = new Set<string>()
    for (const name of readdirSync(PROBLEMS)) {
      if (name.startsWith('_') || name.includes('.')) continue
      const spec = ProblemSpec.parse(JSON.parse(readFileSync(`${PROBLEMS}${name}/problem.json`, 'utf8')))
      expect(PROBLEM_FAMILIES, `${name}'s family`).toContain(spec.family)
      families.add(spec.family!)
    }
    expect([...families].sort()).toEqual([...PROBLEM_FAMILIES].sort())
    expect(
      STARTER_DOCS.map((d) => d.family)
        .filter(Boolean)
        .sort(),
    ).toEqual([...PROBLEM_FAMILIES].sort())
  })

  it('a family must be usable as a knowledge tag', () => {
    const base = {
      id: 'x',
      name: 'x',
      language: 'python',
      entry: 'a.py',
      evaluator: 'e.py',
      direction: 'max',
      primaryMetric: 's',
    }
    expect(ProblemSpec.parse({ ...base, family: 'my-family' }).family).toBe('my-family')
    expect(ProblemSpec.parse(base).family).toBeUndefined()
    expect(ProblemSpec.safeParse({ ...base, family: 'Two Words' }).success).toBe(false)
  })
})

describe.each(dbModes())('starter knowledge, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    // one problem per family (the family in its stored problem.json), and one with none
    for (const family of PROBLEM_FAMILIES) await addFamilyProblem(db, `p-${family}`, family)
    await addFamilyProblem(db, 'p-none', null)
  }, 120_000)
  afterAll(async () => cleanup?.())

  it('imports every starter document once: global, tagged starter and family, embedded', async () => {
    const first = await importStarterKnowledge(db)
    expect(first.map((r) => r.status)).toEqual(STARTER_DOCS.map(() => 'created'))
    expect(first.every((r) => r.embedStatus === 'ready' && (r.chunks ?? 0) >= 3)).toBe(true)
    const docs = await db.prisma.knowledgeDoc.findMany({
      select: { sourcePath: true, tags: true, problemId: true, title: true },
    })
    expect(docs).toHaveLength(STARTER_DOCS.length)
    for (const d of STARTER_DOCS) {
      const doc = docs.find((x) => x.sourcePath === starterSourcePath(d))!
      expect(doc.problemId).toBeNull()
      expect(doc.tags).toEqual([STARTER_TAG, d.family ?? GENERAL_TAG])
      expect(doc.title.length).toBeGreaterThan(10)
    }
  })

  it('is idempotent: a second import creates nothing; an edited starter document is kept as the expert left it', async () => {
    const again = await importStarterKnowledge(db)
    expect(again.map((r) => r.status)).toEqual(STARTER_DOCS.map(() => 'unchanged'))
    expect(await db.prisma.knowledgeDoc.count()).toBe(STARTER_DOCS.length)
    const tsp = again.find((r) => r.path === 'starter/tsp-local-search.md')!
    const edited = '# Travelling salesman: our notes\n\nOr-opt first, then 2-opt, on 10 neighbours.\n'
    await updateDocument(db, tsp.docId!, { content: edited })
    const third = await importStarterKnowledge(db)
    expect(third.find((r) => r.path === tsp.path)).toMatchObject({ status: 'skipped', docId: tsp.docId })
    expect(third.filter((r) => r.status === 'unchanged')).toHaveLength(STARTER_DOCS.length - 1)
    expect((await db.prisma.knowledgeDoc.findUnique({ where: { id: tsp.docId! } }))!.content.trim()).toBe(edited.trim())
    expect(await db.prisma.knowledgeDoc.count()).toBe(STARTER_DOCS.length)
    // back to the starter text for the retrieval tests
    await db.prisma.knowledgeDoc.delete({ where: { id: tsp.docId! } })
    expect((await importStarterKnowledge(db)).find((r) => r.path === tsp.path)!.status).toBe('created')
  })

  it("a run of a family retrieves its family's documents first", async () => {
    const familyOf = new Map(
      (await db.prisma.knowledgeDoc.findMany({ select: { id: true, tags: true } })).map((d) => [d.id, d.tags[1]]),
    )
    let differs = 0
    for (const family of PROBLEM_FAMILIES) {
      for (const queryText of STALLED) {
        const r = await retrieveForIsland(db, {
          runId: `run-${family}`,
          island: 0,
          problemId: `p-${family}`,
          queryText,
          trigger: 'stagnation',
          k: 5,
        })
        expect(r.chunks.length, `${family}: chunks for "${queryText}"`).toBeGreaterThan(0)
        const families = r.chunks.map((c) => familyOf.get(c.docId))
        expect(families[0], `${family}: the first chunk for "${queryText}"`).toBe(family)
        // the family's chunks come before every other document's
        const lastOwn = families.lastIndexOf(family)
        expect(
          families.slice(0, lastOwn + 1).every((f) => f === family),
          `${family}: ${families.join(', ')}`,
        ).toBe(true)
        // without the family the same query ranks otherwise for some of them, or finds nothing about
        // the problem (a stall's words are about no document): the preference is what put them first
        const plain = await retrieveForIsland(db, {
          runId: `run-${family}`,
          island: 0,
          problemId: `p-${family}`,
          queryText,
          trigger: 'stagnation',
          k: 5,
          family: null,
        })
        if (!plain.chunks.length || familyOf.get(plain.chunks[0]!.docId) !== family) differs++
      }
    }
    expect(differs, 'queries whose first chunk came from the family only because of the preference').toBeGreaterThan(0)
  })

  it('a problem with no family retrieves from every document, as before', async () => {
    const r = await retrieveForIsland(db, {
      runId: 'run-none',
      island: 0,
      problemId: 'p-none',
      queryText: 'double bridge kick for a tour stuck in a 2-opt local optimum',
      trigger: 'stagnation',
      k: 3,
    })
    expect(r.chunks[0]!.sourcePath).toBe('starter/tsp-local-search.md')
    const unknown = await retrieveForIsland(db, {
      runId: 'run-x',
      island: 0,
      problemId: 'no-such-problem',
      queryText: 'cache blocking of the matrix product loops',
      trigger: 'stagnation',
      k: 3,
    })
    expect(unknown.chunks[0]!.sourcePath).toBe('starter/loop-and-cache-optimization.md')
  })
})

async function addFamilyProblem(db: Db, id: string, family: string | null) {
  await db.prisma.problem.create({
    data: {
      id,
      name: id,
      description: `problem ${id}`,
      format: 'native',
      language: 'python',
      direction: 'max',
      primaryMetric: 'score',
      spec: family ? { family } : {},
      seedCode: 'x = 1\n',
      bundleHash: `h-${id}`,
    },
  })
}
