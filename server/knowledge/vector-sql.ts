// SQL pieces for vectors whose dimension depends on the embedding model. HNSW needs a fixed
// dimension, so the `embedding` column is an untyped `vector` and each model gets one partial
// index over `embedding::vector(d)` (or `halfvec(d)` above 2,000 dimensions) restricted to its
// rows. Model ids and dimensions reach SQL text only after the checks below; every other value
// travels as a bind parameter.
import { createHash } from 'node:crypto'
import type { Db } from '../db.ts'
import { KnowledgeInputError } from './errors.ts'

/** pgvector's HNSW limits: `vector` up to 2,000 dimensions, `halfvec` up to 4,000. */
export const MAX_VECTOR_DIMS = 2000
export const MAX_HALFVEC_DIMS = 4000

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$/

/** Throws unless `id` is a safe model id: letters, digits and . _ : @ / + - only (no quotes, no spaces). */
export function checkModelId(id: string): string {
  if (!MODEL_ID.test(id)) {
    throw new KnowledgeInputError(
      `embedding model id "${id.slice(0, 60)}" may hold only letters, digits and . _ : @ / + - (at most 200 characters)`,
    )
  }
  return id
}

export function checkDims(dims: number): number {
  if (!Number.isInteger(dims) || dims < 1)
    throw new KnowledgeInputError(`an embedding dimension must be a positive integer (got ${dims})`)
  if (dims > MAX_HALFVEC_DIMS) {
    throw new KnowledgeInputError(
      `${dims}-dimensional vectors cannot be indexed (pgvector's HNSW takes at most ${MAX_HALFVEC_DIMS}); ask the model for fewer dimensions`,
    )
  }
  return dims
}

/** The SQL type a model's vectors are cast to: `vector(d)`, or `halfvec(d)` past 2,000 dimensions. */
export function vectorType(dims: number): string {
  checkDims(dims)
  return dims <= MAX_VECTOR_DIMS ? `vector(${dims})` : `halfvec(${dims})`
}

export function opsClass(dims: number): string {
  return dims <= MAX_VECTOR_DIMS ? 'vector_cosine_ops' : 'halfvec_cosine_ops'
}

/** `embedding::vector(d)`: the exact expression the partial index is built on (queries must repeat it). */
export function embeddingExpr(dims: number, alias = 'c'): string {
  return `(${alias}.embedding::${vectorType(dims)})`
}

/** The model id as an SQL string literal; safe because checkModelId admits no quote or backslash. */
export function modelLiteral(id: string): string {
  return `'${checkModelId(id)}'`
}

/**
 * Index name for a model: `knowledge_chunks_embedding_<slug>_idx`. Ids made of lower-case
 * letters, digits and dashes map one-to-one (lexical-hash-512 → the index the first migration
 * created); others get a hash suffix so that two ids never share a name. At most 63 bytes.
 */
export function indexName(id: string): string {
  checkModelId(id)
  const prefix = 'knowledge_chunks_embedding_'
  const suffix = '_idx'
  const room = 63 - prefix.length - suffix.length
  let slug: string
  if (/^[a-z0-9-]+$/.test(id) && id.length <= room) slug = id.replace(/-/g, '_')
  else {
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 8)
    const base = id
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, room - 9)
    slug = `${base}_${hash}`
  }
  return `${prefix}${slug}${suffix}`
}

/** A vector as pgvector's text form; non-finite numbers are refused (they would poison the index). */
export function vectorLiteral(v: readonly number[]): string {
  let s = '['
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (!Number.isFinite(x)) throw new KnowledgeInputError(`the embedding holds a non-finite number at position ${i}`)
    if (i) s += ','
    // float4 precision is all pgvector keeps
    s += Math.fround(x).toPrecision(8)
  }
  return s + ']'
}

const ensured = new WeakMap<Db, Set<string>>()

/**
 * Creates the model's partial HNSW index if it is missing (idempotent, and safe when two
 * processes race: the loser finds the index there). Called after a model's first vectors are
 * written, so a bulk load pays for one index build, not for per-row index inserts.
 */
export async function ensureModelIndex(db: Db, id: string, dims: number): Promise<string> {
  const name = indexName(id)
  const seen = ensured.get(db) ?? new Set<string>()
  ensured.set(db, seen)
  const key = `${name}:${dims}`
  if (seen.has(key)) return name
  const exists = async () =>
    (
      await db.prisma.$queryRaw<
        Array<{ n: bigint }>
      >`SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'knowledge_chunks' AND indexname = ${name}`
    )[0].n > 0n
  if (!(await exists())) {
    try {
      await db.prisma.$transaction(
        async (tx) => {
          // HNSW builds far faster when the graph fits in maintenance memory
          await tx.$executeRawUnsafe(`SET LOCAL maintenance_work_mem = '${db.mode === 'server' ? '512MB' : '256MB'}'`)
          await tx.$executeRawUnsafe(
            `CREATE INDEX IF NOT EXISTS "${name}" ON knowledge_chunks USING hnsw ((embedding::${vectorType(dims)}) ${opsClass(dims)}) WHERE embedding_model = ${modelLiteral(id)}`,
          )
        },
        { timeout: 30 * 60_000, maxWait: 60_000 },
      )
    } catch (e) {
      if (!(await exists())) throw e
    }
  }
  seen.add(key)
  return name
}
