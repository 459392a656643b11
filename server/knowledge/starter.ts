// Starter knowledge: short documents written for this project on techniques for the built-in
// problem families, offered at first start (the console's Knowledge page when the base is empty,
// `fm-agent kb import --starter`). Each document is global and tagged `starter` plus its family
// (the `family` of problem.json), so retrieval for a run prefers its family's documents (rag.ts).
import { readFileSync } from 'node:fs'
import type { Db } from '../db.ts'
import { createDocument, embedDocument, getSummary, type ImportResult, type WriteOptions } from './documents.ts'

export const STARTER_TAG = 'starter'
/** the tag of documents for every family */
export const GENERAL_TAG = 'general'

/** The built-in families (problem.json `family`); a user's problem may name its own. */
export const PROBLEM_FAMILIES = [
  'packing-geometry',
  'extremal-functions',
  'tsp',
  'online-bin-packing',
  'kernels',
  'tabular-ml',
] as const

export interface StarterDoc {
  /** file in server/knowledge/starter/, also the document's source path `starter/<file>` */
  file: string
  family: (typeof PROBLEM_FAMILIES)[number] | null
}

export const STARTER_DOCS: readonly StarterDoc[] = [
  { file: 'packing-and-geometric-optimization.md', family: 'packing-geometry' },
  { file: 'extremal-step-functions.md', family: 'extremal-functions' },
  { file: 'tsp-local-search.md', family: 'tsp' },
  { file: 'online-bin-packing-heuristics.md', family: 'online-bin-packing' },
  { file: 'loop-and-cache-optimization.md', family: 'kernels' },
  { file: 'tabular-ml-model-tuning.md', family: 'tabular-ml' },
  { file: 'escaping-local-optima.md', family: null },
]

export const starterSourcePath = (d: StarterDoc) => `starter/${d.file}`
export const starterTags = (d: StarterDoc) => [STARTER_TAG, d.family ?? GENERAL_TAG]

export function readStarterDoc(d: StarterDoc): string {
  return readFileSync(new URL(`./starter/${d.file}`, import.meta.url), 'utf8')
}

/**
 * Imports the starter documents (global scope). Idempotent: a document already imported from the
 * same source path is left as it is, so a second import creates nothing and an expert's edits to a
 * starter document survive (status `unchanged` when it still holds the starter text, `skipped`
 * when it was edited).
 */
export async function importStarterKnowledge(db: Db, opts: WriteOptions = {}): Promise<ImportResult[]> {
  const out: ImportResult[] = []
  for (const d of STARTER_DOCS) {
    const path = starterSourcePath(d)
    const content = readStarterDoc(d)
    const existing = await db.prisma.knowledgeDoc.findFirst({
      where: { sourcePath: path, problemId: null },
      select: { id: true, content: true },
    })
    if (existing) {
      let doc = await getSummary(db, existing.id)
      if (doc.embedStatus !== 'ready' && opts.embed !== false) {
        await embedDocument(db, existing.id, opts.signal ? { signal: opts.signal } : {})
        doc = await getSummary(db, existing.id)
      }
      const same = existing.content.trim() === content.trim()
      out.push({
        path,
        status: same ? 'unchanged' : 'skipped',
        docId: doc.id,
        title: doc.title,
        embedStatus: doc.embedStatus,
        chunks: doc.chunkCount,
        ...(same
          ? {}
          : { reason: 'edited since it was imported: kept as it is (delete it to import the starter text again)' }),
      })
      continue
    }
    const doc = await createDocument(
      db,
      { content, format: 'markdown', tags: starterTags(d), problemId: null, sourcePath: path },
      opts,
    )
    out.push({
      path,
      status: 'created',
      docId: doc.id,
      title: doc.title,
      embedStatus: doc.embedStatus,
      chunks: doc.chunkCount,
      ...(doc.embedError ? { reason: doc.embedError } : {}),
    })
  }
  return out
}

/** A problem's family from its stored problem.json (null when it names none or is unknown). */
export async function problemFamily(db: Db, problemId: string): Promise<string | null> {
  const p = await db.prisma.problem.findUnique({ where: { id: problemId }, select: { spec: true } })
  const f = (p?.spec as { family?: unknown } | null | undefined)?.family
  return typeof f === 'string' && f ? f : null
}
