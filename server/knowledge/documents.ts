// Knowledge documents: create, edit, delete, tag, scope (global or one problem), import, and embed.
//
// Invariant: all chunks of a document carry vectors of ONE model, or none. A document is written
// (with its chunks, full-text indexed at once) before anything is embedded; embedding then sets
// every chunk's vector in one transaction and marks the document `ready`. When the embedding
// model fails, the document stays saved, searchable by full text, and marked `failed` (with the
// reason) or `pending`, for `embedPending`/`reembedAll` to finish later: never half-indexed.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { basename, isAbsolute } from 'node:path'
import type { Actor } from '../auth/roles.ts'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { audit } from '../services/audit.ts'
import YAML from 'yaml'
import { splitFrontMatter } from '../../client-safe/front-matter.ts'
import { chunkDocument, type Chunk } from './chunker.ts'
import {
  activeEmbedder,
  EMBEDDER_SETTING,
  KnowledgeEmbedderConfig,
  modelIdOf,
  type ActiveEmbedder,
} from './embedders.ts'
import { KnowledgeConflictError, KnowledgeInputError, KnowledgeNotFoundError } from './errors.ts'
import { classifyPath, DOC_FORMATS, languageOfPath, type DocFormat } from './formats.ts'
import type { ImportOutcome } from '../../client-safe/knowledge-import.ts'
import { notebookToMarkdown } from '../../client-safe/notebook.ts'
import { MAX_CHUNKS_PER_DOC, MAX_IMPORT_FILES, MAX_IMPORT_TOTAL_CHARS, MAX_TAGS } from './limits.ts'
import { normalizeContent, normalizeSourcePath, normalizeTags, normalizeTitle } from './validate.ts'
import { ensureModelIndex, vectorLiteral } from './vector-sql.ts'
import { parseExportedDocument } from './export.ts'

export type EmbedStatus = 'pending' | 'ready' | 'failed'

export interface DocInput {
  title?: string | null
  content: string
  format?: DocFormat
  tags?: string[]
  /** null or absent: a global document; else the problem it belongs to */
  problemId?: string | null
  sourcePath?: string | null
}

export interface DocPatch {
  title?: string
  content?: string
  format?: DocFormat
  tags?: string[]
  problemId?: string | null
  /** where its file is now (an import of a moved file; the API does not change it) */
  sourcePath?: string
  /** the revision the editor started from (DocSummary.revision): refused when it changed since */
  baseRevision?: string
}

export interface WriteOptions {
  actor?: Actor
  /** embed right away (default true); false leaves the document pending */
  embed?: boolean
  signal?: AbortSignal
}

export interface DocSummary {
  id: string
  title: string
  sourcePath: string | null
  format: string
  tags: string[]
  problemId: string | null
  embedStatus: EmbedStatus
  embedError: string | null
  chunkCount: number
  chars: number
  createdAt: Date
  updatedAt: Date
  /** what an editor saves against: a fingerprint of the text and settings an expert edits (not the embedding's state) */
  revision: string
}

/** A document's revision: changes with its title, text, format, tags or scope, and only with them. */
export function revisionOf(d: {
  title: string
  content: string
  format: string
  tags: string[]
  problemId: string | null
}) {
  return createHash('sha256')
    .update(JSON.stringify([d.title, d.content, d.format, d.tags, d.problemId]))
    .digest('hex')
    .slice(0, 20)
}

export interface DocDetail extends DocSummary {
  content: string
  embeddingModel: string | null
  chunks: Array<{
    id: string
    ord: number
    heading: string | null
    content: string
    usefulness: number | null
    uses: number
    embeddingModel: string | null
  }>
}

function checkFormat(format: string | undefined, fallback: DocFormat): DocFormat {
  if (format === undefined) return fallback
  if (!(DOC_FORMATS as readonly string[]).includes(format))
    throw new KnowledgeInputError(`format must be one of ${DOC_FORMATS.join(', ')} (got "${format}")`)
  return format as DocFormat
}

export async function checkProblem(
  db: Db,
  problemId: string | null | undefined,
  hint = '; leave the problem empty for a global document',
): Promise<string | null> {
  if (problemId == null || problemId === '') return null
  const p = await db.prisma.problem.findUnique({ where: { id: problemId }, select: { id: true } })
  if (!p) throw new KnowledgeInputError(`no problem "${problemId}" (fm-agent problems lists them)${hint}`)
  return p.id
}

/** The first markdown H1 (or setext title) as a title, as text, else null. */
export function markdownTitle(content: string): string | null {
  const lines = content.split('\n').slice(0, 40)
  let inFence = false
  for (let i = 0; i < lines.length; i++) {
    if (/^ {0,3}(```|~~~)/.test(lines[i])) inFence = !inFence
    if (inFence) continue
    const m = /^ {0,3}#[ \t]+(.+?)[ \t#]*$/.exec(lines[i])
    const heading = m ? m[1] : lines[i].trim() && /^ {0,3}=+\s*$/.test(lines[i + 1] ?? '') ? lines[i] : null
    if (heading === null) continue
    const text = plainText(heading)
    if (text) return text
  }
  return null
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  middot: '·',
  mdash: '—',
  ndash: '–',
}

/**
 * A heading as people read it: a README's badges (linked images), images, HTML tags and link
 * targets dropped, entities decoded, and the separators left at its ends trimmed.
 */
export function plainText(markdown: string): string {
  return markdown
    .replace(/\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)/g, '')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#\d+|[a-z]+);/gi, (all, e: string) =>
      e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? all),
    )
    .replace(/\s+/g, ' ')
    .replace(/^[\s·|:–—-]+|[\s·|:–—-]+$/g, '')
}

function tagOrNone(t: string): string[] {
  try {
    return normalizeTags([t])
  } catch {
    return []
  }
}

/**
 * A markdown document's front matter: its `title`, `tags` (a list, or words split by commas) and
 * `problem` (the id of the problem it belongs to; an import with a problem of its own overrides it).
 */
export function frontMatterMeta(content: string): { title: string | null; tags: string[]; problem: string | null } {
  const { frontMatter } = splitFrontMatter(content)
  let data: unknown = null
  try {
    data = frontMatter === null ? null : YAML.parse(frontMatter)
  } catch {
    // not YAML after all: a document's text, chunked as such
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { title: null, tags: [], problem: null }
  const { title, tags, problem } = data as { title?: unknown; tags?: unknown; problem?: unknown }
  const list = Array.isArray(tags) ? tags : typeof tags === 'string' ? tags.split(',') : []
  return {
    title: typeof title === 'string' && title.trim() ? title.trim() : null,
    tags: list.filter((t): t is string | number => typeof t === 'string' || typeof t === 'number').map(String),
    problem: typeof problem === 'string' && problem.trim() ? problem.trim() : null,
  }
}

function inferTitle(content: string, format: DocFormat, sourcePath: string | null): string {
  const fromMd =
    format === 'markdown' ? (frontMatterMeta(content).title ?? markdownTitle(splitFrontMatter(content).body)) : null
  if (fromMd) return fromMd.slice(0, 200)
  if (sourcePath)
    return format === 'code'
      ? basename(sourcePath)
      : basename(sourcePath).replace(/\.[^.]+$/, '') || basename(sourcePath)
  const first =
    content
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? 'untitled'
  return first.replace(/^#+\s*/, '').slice(0, 80)
}

interface Prepared {
  title: string
  content: string
  format: DocFormat
  tags: string[]
  sourcePath: string | null
  chunks: Chunk[]
}

function prepare(
  input: { title?: string | null; content: string; format: DocFormat; tags?: string[]; sourcePath?: string | null },
  what: string,
): Prepared {
  const sourcePath = normalizeSourcePath(input.sourcePath)
  const content = normalizeContent(input.content, what)
  const title = normalizeTitle(input.title?.trim() ? input.title : inferTitle(content, input.format, sourcePath))
  const given = normalizeTags(input.tags)
  // the file's own tags join those given, as far as they are tags here (a bad one is left out, not the file)
  const tags =
    input.format === 'markdown'
      ? [...new Set([...given, ...frontMatterMeta(content).tags.flatMap((t) => tagOrNone(t))])].slice(
          0,
          Math.max(given.length, MAX_TAGS),
        )
      : given
  const language = input.format === 'code' ? languageOfPath(sourcePath) : undefined
  const chunks = chunkDocument(content, input.format, language ? { language } : {})
  if (chunks.length === 0) throw new KnowledgeInputError(`${what} has no text to index`)
  if (chunks.length > MAX_CHUNKS_PER_DOC)
    throw new KnowledgeInputError(
      `${what} splits into ${chunks.length} chunks, over the ${MAX_CHUNKS_PER_DOC} limit; split it into smaller documents`,
    )
  return { title, content, format: input.format, tags, sourcePath, chunks }
}

const summarySelect = {
  id: true,
  title: true,
  sourcePath: true,
  format: true,
  tags: true,
  problemId: true,
  embedStatus: true,
  embedError: true,
  createdAt: true,
  updatedAt: true,
  content: true,
  _count: { select: { chunks: true } },
} as const

type SummaryRow = {
  id: string
  title: string
  sourcePath: string | null
  format: string
  tags: string[]
  problemId: string | null
  embedStatus: string
  embedError: string | null
  createdAt: Date
  updatedAt: Date
  content: string
  _count: { chunks: number }
}

function toSummary(r: SummaryRow): DocSummary {
  return {
    id: r.id,
    title: r.title,
    sourcePath: r.sourcePath,
    format: r.format,
    tags: r.tags,
    problemId: r.problemId,
    embedStatus: r.embedStatus as EmbedStatus,
    embedError: r.embedError,
    chunkCount: r._count.chunks,
    chars: r.content.length,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    revision: revisionOf(r),
  }
}

const auditView = (d: {
  id: string
  title: string
  tags: string[]
  problemId: string | null
  sourcePath: string | null
  format: string
  content: string
}) => ({
  id: d.id,
  title: d.title,
  tags: d.tags,
  problemId: d.problemId,
  sourcePath: d.sourcePath,
  format: d.format,
  chars: d.content.length,
  contentSha256: createHash('sha256').update(d.content).digest('hex'),
})

export async function createDocument(
  db: Db,
  input: DocInput,
  opts: WriteOptions & { refuseCopy?: boolean } = {},
): Promise<DocSummary> {
  const format = checkFormat(input.format, input.sourcePath ? fileFormat(input.sourcePath) : 'markdown')
  const p = prepare({ ...input, format }, input.sourcePath?.trim() || 'the document')
  const problemId = await checkProblem(db, input.problemId)
  const same = opts.refuseCopy ? await findCopy(db, p.content, problemId) : null
  if (same)
    throw new KnowledgeConflictError(
      `the knowledge base already has this text: "${same.title}"${same.sourcePath ? ` (${same.sourcePath})` : ''}; edit that document instead`,
    )
  const actor = opts.actor ?? SYSTEM_ACTOR
  const id = randomUUID()
  await db.prisma.$transaction(async (tx) => {
    await tx.knowledgeDoc.create({
      data: {
        id,
        title: p.title,
        sourcePath: p.sourcePath,
        format: p.format,
        content: p.content,
        tags: p.tags,
        problemId,
        embedStatus: 'pending',
        createdById: actor.id,
      },
    })
    await tx.knowledgeChunk.createMany({
      data: p.chunks.map((c) => ({ id: randomUUID(), docId: id, ord: c.ord, heading: c.heading, content: c.content })),
    })
    await audit(tx, actor, {
      action: 'knowledge.doc.create',
      targetType: 'knowledge-doc',
      targetId: id,
      after: auditView({ id, ...p, problemId }),
    })
  })
  if (opts.embed !== false) await embedDocument(db, id, opts.signal ? { signal: opts.signal } : {})
  return getSummary(db, id)
}

/**
 * A document with exactly this content that a search in this scope would also return: a copy
 * would only repeat the same chunks in every search. By the content's hash (indexed), then the text.
 */
async function findCopy(
  db: Db,
  content: string,
  problemId: string | null,
): Promise<{ id: string; title: string; sourcePath: string | null; problemId: string | null } | undefined> {
  const [same] = await db.sql<{ id: string; title: string; sourcePath: string | null; problemId: string | null }>(
    `SELECT id, title, source_path AS "sourcePath", problem_id AS "problemId" FROM knowledge_docs
      WHERE md5(content) = md5($1) AND content = $1 AND (problem_id IS NULL OR problem_id = $2)
      ORDER BY created_at LIMIT 1`,
    [content, problemId],
  )
  return same
}

/** Whether a document stored from `old` is the file now at `now`, moved: both absolute, the old one gone. */
function movedFrom(old: string | null, now: string): boolean {
  return !!old && old !== now && isAbsolute(old) && isAbsolute(now) && !existsSync(old)
}

function fileFormat(path: string): DocFormat {
  const k = classifyPath(path)
  return 'format' in k ? k.format : 'text'
}

export async function getSummary(db: Db, id: string): Promise<DocSummary> {
  const r = await db.prisma.knowledgeDoc.findUnique({ where: { id }, select: summarySelect })
  if (!r) throw new KnowledgeNotFoundError(`no knowledge document ${id}`)
  return toSummary(r)
}

export async function getDocument(db: Db, id: string): Promise<DocDetail> {
  const r = await db.prisma.knowledgeDoc.findUnique({
    where: { id },
    select: {
      ...summarySelect,
      chunks: {
        orderBy: { ord: 'asc' },
        select: {
          id: true,
          ord: true,
          heading: true,
          content: true,
          usefulness: true,
          uses: true,
          embeddingModel: true,
        },
      },
    },
  })
  if (!r) throw new KnowledgeNotFoundError(`no knowledge document ${id}`)
  const models = new Set(r.chunks.map((c) => c.embeddingModel))
  return {
    ...toSummary(r),
    content: r.content,
    embeddingModel: models.size === 1 ? [...models][0] : null,
    chunks: r.chunks,
  }
}

export interface ListOptions {
  problemId?: string | null
  tag?: string
  /** substring of the title or source path */
  text?: string
  status?: EmbedStatus
  limit?: number
  offset?: number
}

export async function listDocuments(db: Db, opts: ListOptions = {}): Promise<{ total: number; docs: DocSummary[] }> {
  const where = {
    ...(opts.problemId === null
      ? { problemId: null }
      : opts.problemId
        ? { OR: [{ problemId: opts.problemId }, { problemId: null }] }
        : {}),
    ...(opts.tag ? { tags: { has: opts.tag } } : {}),
    ...(opts.status ? { embedStatus: opts.status } : {}),
    ...(opts.text
      ? {
          AND: [
            {
              OR: [
                { title: { contains: opts.text, mode: 'insensitive' as const } },
                { sourcePath: { contains: opts.text, mode: 'insensitive' as const } },
              ],
            },
          ],
        }
      : {}),
  }
  const [total, rows] = await Promise.all([
    db.prisma.knowledgeDoc.count({ where }),
    db.prisma.knowledgeDoc.findMany({
      where,
      select: summarySelect,
      orderBy: [{ updatedAt: 'desc' }, { id: 'asc' }],
      take: Math.min(500, opts.limit ?? 100),
      skip: opts.offset ?? 0,
    }),
  ])
  return { total, docs: rows.map(toSummary) }
}

/** Every tag in use, with its document count (for the console's filters). */
export async function listTags(db: Db): Promise<Array<{ tag: string; docs: number }>> {
  const rows = await db.prisma.$queryRaw<Array<{ tag: string; n: bigint }>>`
    SELECT t AS tag, count(*) AS n FROM knowledge_docs, unnest(tags) AS t GROUP BY t ORDER BY count(*) DESC, t LIMIT 500`
  return rows.map((r) => ({ tag: r.tag, docs: Number(r.n) }))
}

export async function updateDocument(
  db: Db,
  id: string,
  patch: DocPatch,
  opts: WriteOptions = {},
): Promise<DocSummary> {
  const actor = opts.actor ?? SYSTEM_ACTOR
  const before = await db.prisma.knowledgeDoc.findUnique({ where: { id } })
  if (!before) throw new KnowledgeNotFoundError(`no knowledge document ${id}`)
  const format = checkFormat(patch.format, before.format as DocFormat)
  const p = prepare(
    {
      title: patch.title ?? before.title,
      content: patch.content ?? before.content,
      format,
      tags: patch.tags ?? before.tags,
      sourcePath: patch.sourcePath ?? before.sourcePath,
    },
    before.sourcePath ?? 'the document',
  )
  const problemId = patch.problemId === undefined ? before.problemId : await checkProblem(db, patch.problemId)
  const textChanged = p.content !== before.content || p.format !== before.format
  const reembed = textChanged || p.title !== before.title
  await db.prisma.$transaction(async (tx) => {
    if (patch.baseRevision !== undefined) {
      // two experts saving one document: the second is told, not silently written over the first
      const [now] = await tx.$queryRaw<
        Array<{ title: string; content: string; format: string; tags: string[]; problemId: string | null }>
      >`SELECT title, content, format, tags, problem_id AS "problemId" FROM knowledge_docs WHERE id = ${id} FOR UPDATE`
      if (!now) throw new KnowledgeNotFoundError(`no knowledge document ${id}`)
      if (revisionOf(now) !== patch.baseRevision) {
        const by = await tx.auditEvent.findFirst({
          where: { action: 'knowledge.doc.update', targetId: id },
          orderBy: { id: 'desc' },
          select: { actorLabel: true, createdAt: true },
        })
        throw new KnowledgeConflictError(
          `this document changed since you opened it${by ? ` (saved by ${by.actorLabel} at ${by.createdAt.toISOString()})` : ''}: reload it to see that version; your text was not saved`,
        )
      }
    }
    await tx.knowledgeDoc.update({
      where: { id },
      data: {
        title: p.title,
        content: p.content,
        format: p.format,
        tags: p.tags,
        problemId,
        sourcePath: p.sourcePath,
        ...(reembed ? { embedStatus: 'pending', embedError: null } : {}),
      },
    })
    if (textChanged) {
      // unchanged sections keep their chunk id, so their usefulness and history carry over
      const old = await tx.knowledgeChunk.findMany({
        where: { docId: id },
        select: { id: true, heading: true, content: true },
      })
      const byKey = new Map<string, string[]>()
      for (const c of old) {
        const k = `${c.heading ?? ''}\u0000${c.content}`
        byKey.set(k, [...(byKey.get(k) ?? []), c.id])
      }
      const keep: Array<{ id: string; ord: number }> = []
      const fresh: Chunk[] = []
      for (const c of p.chunks) {
        const ids = byKey.get(`${c.heading ?? ''}\u0000${c.content}`)
        const reuse = ids?.shift()
        if (reuse) keep.push({ id: reuse, ord: c.ord })
        else fresh.push(c)
      }
      const keptIds = new Set(keep.map((k) => k.id))
      await tx.knowledgeChunk.deleteMany({ where: { docId: id, id: { notIn: [...keptIds] } } })
      for (const k of keep) await tx.knowledgeChunk.update({ where: { id: k.id }, data: { ord: k.ord } })
      if (fresh.length)
        await tx.knowledgeChunk.createMany({
          data: fresh.map((c) => ({ id: randomUUID(), docId: id, ord: c.ord, heading: c.heading, content: c.content })),
        })
    }
    if (reembed) {
      // all of the document's chunks get new vectors together (never a mix of old and new)
      await tx.$executeRaw`UPDATE knowledge_chunks SET embedding = NULL, embedding_model = NULL WHERE doc_id = ${id}`
    }
    await audit(tx, actor, {
      action: 'knowledge.doc.update',
      targetType: 'knowledge-doc',
      targetId: id,
      before: auditView(before),
      after: auditView({ id, ...p, problemId }),
    })
  })
  if (reembed && opts.embed !== false) await embedDocument(db, id, opts.signal ? { signal: opts.signal } : {})
  return getSummary(db, id)
}

export async function deleteDocument(
  db: Db,
  id: string,
  opts: { actor?: Actor } = {},
): Promise<{ id: string; title: string }> {
  const actor = opts.actor ?? SYSTEM_ACTOR
  return db.prisma.$transaction(async (tx) => {
    const before = await tx.knowledgeDoc.findUnique({ where: { id } })
    if (!before) throw new KnowledgeNotFoundError(`no knowledge document ${id}`)
    await tx.knowledgeDoc.delete({ where: { id } })
    // a lesson approved into this document goes back to the inbox's history, unlinked
    await tx.lesson.updateMany({ where: { docId: id }, data: { docId: null } })
    await audit(tx, actor, {
      action: 'knowledge.doc.delete',
      targetType: 'knowledge-doc',
      targetId: id,
      before: auditView(before),
    })
    return { id, title: before.title }
  })
}

export interface EmbedResult {
  status: EmbedStatus
  modelId: string
  chunks: number
  error?: string
}

/** The text a chunk is embedded as: its document title and heading give it context. */
export function embeddingText(docTitle: string, heading: string | null, content: string): string {
  return [docTitle, heading, content].filter(Boolean).join('\n')
}

/**
 * Embeds every chunk of a document with the active model (or `active`), all or nothing. A
 * failure marks the document `failed` with the reason; its chunks keep the vectors they had
 * (all of one model) or none.
 */
export async function embedDocument(
  db: Db,
  docId: string,
  opts: { active?: ActiveEmbedder; signal?: AbortSignal } = {},
): Promise<EmbedResult> {
  const active = opts.active ?? (await activeEmbedder(db))
  const doc = await db.prisma.knowledgeDoc.findUnique({
    where: { id: docId },
    select: {
      title: true,
      updatedAt: true,
      chunks: { orderBy: { ord: 'asc' }, select: { id: true, heading: true, content: true } },
    },
  })
  if (!doc) throw new KnowledgeNotFoundError(`no knowledge document ${docId}`)
  const texts = doc.chunks.map((c) => embeddingText(doc.title, c.heading, c.content))
  let vectors: number[][]
  try {
    vectors = await active.embedder.embed(texts, opts.signal ? { signal: opts.signal } : {})
    if (vectors.length !== texts.length)
      throw new Error(`the model returned ${vectors.length} vectors for ${texts.length} chunks`)
    const dims = vectors[0]?.length ?? 0
    if (vectors.some((v) => v.length !== dims || v.length === 0))
      throw new Error('the model returned vectors of different sizes')
  } catch (e) {
    const message = ((e as Error).message || String(e)).slice(0, 1000)
    // the document may have been edited meanwhile: only the version that failed is marked
    await db.prisma
      .$executeRaw`UPDATE knowledge_docs SET embed_status = 'failed', embed_error = ${`${active.id}: ${message}`} WHERE id = ${docId} AND updated_at = ${doc.updatedAt}`
    return { status: 'failed', modelId: active.id, chunks: texts.length, error: message }
  }
  const dims = vectors[0]?.length ?? 0
  const ids = doc.chunks.map((c) => c.id)
  const updatedAt = doc.updatedAt
  let applied: boolean
  try {
    applied = await db.prisma.$transaction(async (tx) => {
      // apply only if the document is still the version we embedded
      const current = await tx.knowledgeDoc.findUnique({
        where: { id: docId },
        select: { updatedAt: true, chunks: { select: { id: true } } },
      })
      if (!current || current.updatedAt.getTime() !== updatedAt.getTime()) return false
      const now = new Set(current.chunks.map((c) => c.id))
      if (now.size !== ids.length || ids.some((i) => !now.has(i))) return false
      // the active model changed while we embedded (another admin, another process): these
      // vectors are no longer the ones searches compare, so the document stays pending
      const setting = await tx.setting.findUnique({ where: { key: EMBEDDER_SETTING } })
      const parsed = setting ? KnowledgeEmbedderConfig.safeParse(setting.value) : null
      const currentModel = parsed?.success ? modelIdOf(parsed.data) : modelIdOf({ provider: 'lexical-hash' })
      if (currentModel !== active.id) return false
      await tx.$executeRawUnsafe(
        `UPDATE knowledge_chunks c SET embedding = v.e::vector, embedding_model = $3
         FROM unnest($1::text[], $2::text[]) AS v(id, e) WHERE c.id = v.id AND c.doc_id = $4`,
        ids,
        vectors.map(vectorLiteral),
        active.id,
        docId,
      )
      await tx.$executeRaw`UPDATE knowledge_docs SET embed_status = 'ready', embed_error = NULL WHERE id = ${docId}`
      return true
    })
  } catch (e) {
    // e.g. the model now returns vectors of another size than its index was built for; the
    // transaction rolled back, so the chunks keep what they had
    const message = `could not store the vectors: ${((e as Error).message || String(e)).trim().split('\n').pop()!.slice(0, 500)}`
    await db.prisma
      .$executeRaw`UPDATE knowledge_docs SET embed_status = 'failed', embed_error = ${`${active.id}: ${message}`} WHERE id = ${docId} AND updated_at = ${updatedAt}`
    return { status: 'failed', modelId: active.id, chunks: ids.length, error: message }
  }
  if (applied && dims) await ensureModelIndex(db, active.id, dims)
  return { status: applied ? 'ready' : 'pending', modelId: active.id, chunks: ids.length }
}

// ---------------------------------------------------------------- import

export interface ImportFile {
  /** where it came from (relative path or a name): shown in results and kept as the source path */
  path: string
  content: string
}

/**
 * What an import does with a file whose path already holds a document with different content:
 * `replace` it (the CLI: its paths are real paths, and importing an edited folder again is meant
 * to update it), `refuse` and report a conflict for the caller to ask about (the console: a
 * browser knows only a file's name, which says nothing about which document it is), or
 * `keep-both`, importing it beside the existing one under a numbered path.
 */
export const IF_DIFFERENT = ['replace', 'refuse', 'keep-both'] as const
export type IfDifferent = (typeof IF_DIFFERENT)[number]

export interface ImportOptions extends WriteOptions {
  problemId?: string | null
  tags?: string[]
  ifDifferent?: IfDifferent
}

/** `notes/README.md` numbered `n`: `notes/README (2).md` (the extension kept: it gives the format). */
export function numberedPath(path: string, n: number): string {
  const slash = path.lastIndexOf('/') + 1
  const name = path.slice(slash)
  const dot = name.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
  return `${path.slice(0, slash)}${stem} (${n})${ext}`
}

/** One file's outcome: the shape both readers report, with the files they skipped themselves. */
export type ImportResult = ImportOutcome

/** A notebook file's markdown: the CLI and the console send it converted, an API client may send its JSON. */
function notebookText(content: string, path: string): string {
  if (!content.trimStart().startsWith('{')) return content
  const r = notebookToMarkdown(content)
  if ('error' in r) throw new KnowledgeInputError(`${path} is ${r.error}`)
  return r.markdown
}

/**
 * Imports files (already read: the CLI and the console read them on the user's side). A file
 * already imported from the same source path into the same scope is updated in place, so
 * importing a folder twice does not duplicate it. One bad file does not stop the others.
 */
export async function importFiles(db: Db, files: ImportFile[], opts: ImportOptions = {}): Promise<ImportResult[]> {
  if (files.length === 0) throw new KnowledgeInputError('nothing to import: no files given')
  if (files.length > MAX_IMPORT_FILES)
    throw new KnowledgeInputError(
      `an import takes at most ${MAX_IMPORT_FILES} files (got ${files.length}); import a smaller folder`,
    )
  const total = files.reduce((s, f) => s + f.content.length, 0)
  if (total > MAX_IMPORT_TOTAL_CHARS)
    throw new KnowledgeInputError(
      `an import takes at most ${MAX_IMPORT_TOTAL_CHARS.toLocaleString('en-US')} characters in all (got ${total.toLocaleString('en-US')})`,
    )
  const problemId = await checkProblem(db, opts.problemId)
  const tags = normalizeTags(opts.tags)
  const ifDifferent = opts.ifDifferent ?? 'replace'
  const out: ImportResult[] = []
  const seen = new Set<string>()
  for (const f of files) {
    const path = normalizeSourcePath(f.path) ?? 'untitled'
    const kind = classifyPath(path)
    if ('unsupported' in kind) {
      out.push({ path, status: 'skipped', reason: kind.unsupported })
      continue
    }
    // the later file would silently overwrite the earlier one, reported as "created" then "updated"
    if (seen.has(path)) {
      out.push({
        path,
        status: 'skipped',
        reason: `${path} appears more than once in this import; the first was taken`,
      })
      continue
    }
    seen.add(path)
    try {
      const raw = kind.notebook ? notebookText(f.content, path) : f.content
      // a file `kb export` wrote: its header gives the title, tags, scope and format and is not part of the text
      const exported = kind.format === 'markdown' && !kind.notebook ? parseExportedDocument(raw) : null
      const text = exported ? exported.content : raw
      const format = exported?.format ?? kind.format
      const fileProblem = exported ? exported.problem : kind.format === 'markdown' ? frontMatterMeta(raw).problem : null
      const scope =
        problemId ??
        (fileProblem
          ? await checkProblem(db, fileProblem, '; the file names it in its front matter: import it with --problem ID')
          : null)
      const fileTags = exported ? normalizeTags([...tags, ...exported.tags]) : tags
      const content = normalizeContent(text, path)
      let existing = await db.prisma.knowledgeDoc.findFirst({
        where: { sourcePath: path, problemId: scope },
        select: { id: true, content: true, tags: true, format: true, title: true },
      })
      let storedAs: string | undefined
      if (existing && ifDifferent !== 'replace' && content !== existing.content) {
        if (ifDifferent === 'refuse') {
          out.push({
            path,
            status: 'conflict',
            docId: existing.id,
            title: existing.title,
            reason: `a document with different content, "${existing.title}", was imported from ${path} before`,
          })
          continue
        }
        for (let n = 2; !storedAs; n++) {
          const candidate = numberedPath(path, n)
          if (seen.has(candidate)) continue
          const taken = await db.prisma.knowledgeDoc.findFirst({
            where: { sourcePath: candidate, problemId: scope },
            select: { id: true },
          })
          if (!taken) storedAs = candidate
        }
        seen.add(storedAs)
        existing = null
      }
      let doc: DocSummary
      let status: ImportResult['status']
      if (existing) {
        const mergedTags = [...new Set([...existing.tags, ...fileTags])]
        if (
          content === existing.content &&
          mergedTags.length === existing.tags.length &&
          existing.format === format &&
          (!exported?.title || normalizeTitle(exported.title) === existing.title)
        ) {
          doc = await getSummary(db, existing.id)
          status = 'unchanged'
          if (doc.embedStatus !== 'ready' && opts.embed !== false) {
            await embedDocument(db, existing.id, opts.signal ? { signal: opts.signal } : {})
            doc = await getSummary(db, existing.id)
          }
        } else {
          // a title the file gave follows the file; one an expert wrote in the console stays
          const fileTitle =
            existing.title === normalizeTitle(inferTitle(existing.content, existing.format as DocFormat, path))
          const title = exported?.title
            ? normalizeTitle(exported.title)
            : fileTitle
              ? normalizeTitle(inferTitle(content, format, path))
              : undefined
          doc = await updateDocument(db, existing.id, { content, tags: mergedTags, format, title }, opts)
          status = 'updated'
        }
      } else {
        // the same file kept for a problem and for all problems: an import that forgot --problem
        // (or added it) would put a second copy in that problem's prompts, or show the problem's
        // notes to every other problem
        const other = storedAs
          ? null
          : await db.prisma.knowledgeDoc.findFirst({
              where: { sourcePath: path, problemId: scope === null ? { not: null } : null },
              select: { id: true, title: true, problemId: true },
            })
        if (other) {
          out.push({
            path,
            status: 'skipped',
            docId: other.id,
            title: other.title,
            reason: `${path} is already "${other.title}", ${other.problemId ? `a document of problem ${other.problemId}` : 'a document of every problem'}: import it ${other.problemId ? `with --problem ${other.problemId}` : 'without --problem'} to update that one, or delete that one first to move it`,
          })
          continue
        }
        const same = await findCopy(db, content, scope)
        // the file moved or was renamed (the command line stores absolute paths, and the old one is
        // gone on this machine): the document follows it rather than keep a path that leads nowhere
        if (same && same.problemId === scope && movedFrom(same.sourcePath, storedAs ?? path)) {
          doc = await updateDocument(db, same.id, { sourcePath: storedAs ?? path }, opts)
          out.push({
            path,
            status: 'updated',
            docId: doc.id,
            title: doc.title,
            embedStatus: doc.embedStatus,
            chunks: doc.chunkCount,
            reason: `moved: imported before from ${same.sourcePath}, which is gone`,
          })
          continue
        }
        if (same) {
          out.push({
            path,
            status: 'skipped',
            docId: same.id,
            title: same.title,
            reason: `same content as "${same.title}"${same.sourcePath ? ` (${same.sourcePath})` : ''}, already in the knowledge base`,
          })
          continue
        }
        doc = await createDocument(
          db,
          {
            content: text,
            format,
            tags: fileTags,
            problemId: scope,
            sourcePath: storedAs ?? path,
            ...(exported?.title ? { title: exported.title } : {}),
          },
          opts,
        )
        status = 'created'
      }
      out.push({
        path,
        status,
        ...(storedAs ? { storedAs } : {}),
        docId: doc.id,
        title: doc.title,
        embedStatus: doc.embedStatus,
        chunks: doc.chunkCount,
        ...(doc.embedError ? { reason: doc.embedError } : {}),
      })
    } catch (e) {
      if (!(e instanceof KnowledgeInputError)) throw e
      out.push({ path, status: 'failed', reason: e.message })
    }
  }
  return out
}
