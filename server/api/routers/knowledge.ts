// The knowledge base's API: documents (viewers read and search, experts write), the embedding
// model (admins change it, which re-embeds everything), usefulness and retrieval history, and
// the lessons inbox. Services audit every change with the caller as actor.
import { TRPCError } from '@trpc/server'
import { command } from '../../steering/interventions.ts'
import { runIsActive } from '../../runs/commands.ts'
import { z } from 'zod'
import { chunkHistory, listRetrievals, usefulnessRanking } from '../../knowledge/history.ts'
import {
  checkProblem,
  createDocument,
  deleteDocument,
  getDocument,
  IF_DIFFERENT,
  importFiles,
  listDocuments,
  listTags,
  markdownTitle,
  updateDocument,
} from '../../knowledge/documents.ts'
import {
  describeEmbedder,
  getEmbedderConfig,
  KnowledgeEmbedderConfig,
  modelIdOf,
  setEmbedderConfig,
} from '../../knowledge/embedders.ts'
import { KnowledgeConflictError, KnowledgeInputError, KnowledgeNotFoundError } from '../../knowledge/errors.ts'
import { DOC_FORMATS } from '../../knowledge/formats.ts'
import {
  MAX_CHUNK_CHARS,
  MAX_DOC_CHARS,
  MAX_IMPORT_FILES,
  MAX_LESSON_TEXT_CHARS,
  MAX_LESSON_TITLE_CHARS,
  MAX_QUERY_CHARS,
  MAX_SEARCH_K,
} from '../../knowledge/limits.ts'
import {
  approveLesson,
  chunkLabel,
  discardLesson,
  editLesson,
  listLessons,
  logSearch,
  retrieveForIsland,
} from '../../knowledge/rag.ts'
import { embeddingStatus, startReembed } from '../../knowledge/reembed.ts'
import { searchKnowledge } from '../../knowledge/search.ts'
import { importStarterKnowledge, readStarterDoc, STARTER_DOCS, starterSourcePath } from '../../knowledge/starter.ts'
import { audit } from '../../services/audit.ts'
import { adminProcedure, expertProcedure, middleware, router, viewerProcedure } from '../trpc.ts'

/** The knowledge services' own errors, as tRPC codes (their messages are written for users). */
const mapKnowledgeErrors = middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok) {
    const cause = result.error.cause
    const as = (code: TRPCError['code']) => new TRPCError({ code, message: cause!.message, cause })
    if (cause instanceof KnowledgeInputError) throw as('BAD_REQUEST')
    if (cause instanceof KnowledgeNotFoundError) throw as('NOT_FOUND')
    if (cause instanceof KnowledgeConflictError) throw as('CONFLICT')
  }
  return result
})

const viewer = viewerProcedure.use(mapKnowledgeErrors)
const expert = expertProcedure.use(mapKnowledgeErrors)
const admin = adminProcedure.use(mapKnowledgeErrors)

const Id = z.string().min(1).max(100)
const ProblemRef = z.string().min(1).max(100)
const Tag = z.string().min(1).max(40)
const Tags = z.array(Tag).max(20)
const Format = z.enum(DOC_FORMATS)
// a little over the document cap: the service gives the precise message
const Content = z.string().max(MAX_DOC_CHARS + 1024)

export const KnowledgeListInput = z.object({
  problemId: ProblemRef.nullable().optional(),
  tag: Tag.optional(),
  text: z.string().max(200).optional(),
  status: z.enum(['pending', 'ready', 'failed']).optional(),
  limit: z.number().int().min(1).max(500).optional(),
  offset: z.number().int().min(0).max(1_000_000).optional(),
})
export const KnowledgeIdInput = z.object({ id: Id })
export const KnowledgeSearchInput = z.object({
  text: z.string().min(1).max(MAX_QUERY_CHARS),
  problemId: ProblemRef.nullable().optional(),
  tags: Tags.optional(),
  k: z.number().int().min(1).max(MAX_SEARCH_K).optional(),
})
export const KnowledgeCreateInput = z.object({
  title: z.string().max(1000).optional(),
  content: Content,
  format: Format.optional(),
  tags: Tags.optional(),
  problemId: ProblemRef.nullable().optional(),
  sourcePath: z.string().max(1000).nullable().optional(),
})
export const KnowledgeUpdateInput = z.object({
  id: Id,
  title: z.string().max(1000).optional(),
  content: Content.optional(),
  format: Format.optional(),
  tags: Tags.optional(),
  problemId: ProblemRef.nullable().optional(),
  /** the document's revision when the editor opened it: a save over someone else's is refused */
  baseRevision: z.string().max(64).optional(),
})
const MAX_IMPORT_CONTENT = MAX_DOC_CHARS + 1024
export const KnowledgeImportInput = z
  .object({
    files: z
      // the exact bound is the refinement below, which names the file; this one only caps what
      // a request could hold at all (the body limit keeps real requests far under it)
      .array(z.object({ path: z.string().min(1).max(1000), content: z.string().max(4 * MAX_IMPORT_CONTENT) }))
      .min(1)
      .max(Math.min(100, MAX_IMPORT_FILES)),
    problemId: ProblemRef.nullable().optional(),
    tags: Tags.optional(),
    ifDifferent: z.enum(IF_DIFFERENT).optional(),
  })
  // the same bound as Content, checked here so that a refusal names the file, not its index
  .superRefine((input, ctx) => {
    for (const f of input.files) {
      if (f.content.length > MAX_IMPORT_CONTENT)
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `${f.path}: ${f.content.length.toLocaleString('en-US')} characters, over the ${MAX_DOC_CHARS.toLocaleString('en-US')}-character document limit; split it`,
        })
    }
  })
export const KnowledgeUsefulnessInput = z.object({
  problemId: ProblemRef.optional(),
  order: z.enum(['best', 'worst']).optional(),
  limit: z.number().int().min(1).max(500).optional(),
})
export const KnowledgeChunkInput = z.object({ chunkId: Id, limit: z.number().int().min(1).max(1000).optional() })
export const KnowledgeRetrievalsInput = z.object({
  runId: Id.optional(),
  island: z.number().int().min(-1).max(10_000).optional(),
  limit: z.number().int().min(1).max(500).optional(),
})
export const KnowledgeRetrieveInput = z.object({
  runId: Id,
  island: z.number().int().min(-1).max(10_000),
  queryText: z.string().min(1).max(MAX_QUERY_CHARS),
  k: z.number().int().min(1).max(20).optional(),
  tags: Tags.optional(),
})
export const LessonListInput = z.object({
  status: z.enum(['proposed', 'approved', 'discarded']).optional(),
  problemId: ProblemRef.optional(),
  runId: Id.optional(),
  limit: z.number().int().min(1).max(500).optional(),
})
export const LessonEditInput = z.object({
  lessonId: Id,
  title: z.string().max(MAX_LESSON_TITLE_CHARS).optional(),
  text: z.string().max(MAX_LESSON_TEXT_CHARS).optional(),
})
export const LessonApproveInput = LessonEditInput.extend({ tags: Tags.optional() })
export const LessonIdInput = z.object({ lessonId: Id })
export const SetEmbedderInput = z.object({ config: KnowledgeEmbedderConfig, reembed: z.boolean().optional() })
export const ReembedInput = z.object({ retryFailed: z.boolean().optional() }).optional()

export const knowledgeRouter = router({
  /** the bounds the console states next to its inputs */
  limits: viewer.query(() => ({
    maxDocChars: MAX_DOC_CHARS,
    maxChunkChars: MAX_CHUNK_CHARS,
    maxImportFiles: MAX_IMPORT_FILES,
    maxQueryChars: MAX_QUERY_CHARS,
  })),
  list: viewer.input(KnowledgeListInput).query(({ ctx, input }) => listDocuments(ctx.app.db, input)),
  tags: viewer.query(({ ctx }) => listTags(ctx.app.db)),
  get: viewer.input(KnowledgeIdInput).query(({ ctx, input }) => getDocument(ctx.app.db, input.id)),
  search: viewer.input(KnowledgeSearchInput).query(async ({ ctx, input, signal }) => {
    // a typo in the problem would otherwise search the global documents only, silently
    await checkProblem(ctx.app.db, input.problemId, '')
    const r = await searchKnowledge(ctx.app.db, { ...input, interactive: true, ...(signal ? { signal } : {}) })
    await logSearch(ctx.app.db, {
      query: input.text,
      chunkIds: r.hits.map((h) => h.chunkId),
      scores: r.hits.map((h) => h.score),
      labels: r.hits.map((h) => chunkLabel(h.title, h.heading)),
      actor: ctx.actor,
    })
    return r
  }),
  create: expert
    .input(KnowledgeCreateInput)
    .mutation(({ ctx, input }) => createDocument(ctx.app.db, input, { actor: ctx.actor, refuseCopy: true })),
  update: expert.input(KnowledgeUpdateInput).mutation(({ ctx, input }) => {
    const { id, ...patch } = input
    return updateDocument(ctx.app.db, id, patch, { actor: ctx.actor })
  }),
  delete: expert
    .input(KnowledgeIdInput)
    .mutation(({ ctx, input }) => deleteDocument(ctx.app.db, input.id, { actor: ctx.actor })),
  /** files read on the caller's side (CLI, browser); a file already imported from the same path and scope is updated */
  import: expert.input(KnowledgeImportInput).mutation(async ({ ctx, input }) => {
    const results = await importFiles(ctx.app.db, input.files, {
      actor: ctx.actor,
      problemId: input.problemId ?? null,
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.ifDifferent ? { ifDifferent: input.ifDifferent } : {}),
    })
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'knowledge.import',
      targetType: 'knowledge-doc',
      after: {
        problemId: input.problemId ?? null,
        tags: input.tags ?? [],
        results: results.map((r) => ({ path: r.path, status: r.status, docId: r.docId ?? null })),
      },
    })
    return results
  }),
  /** the starter documents (techniques for the built-in problem families) and whether each is in the base */
  starter: viewer.query(async ({ ctx }) => {
    const paths = STARTER_DOCS.map(starterSourcePath)
    const have = await ctx.app.db.prisma.knowledgeDoc.findMany({
      where: { sourcePath: { in: paths }, problemId: null },
      select: { sourcePath: true },
    })
    const present = new Set(have.map((d) => d.sourcePath))
    return STARTER_DOCS.map((d) => ({
      path: starterSourcePath(d),
      family: d.family,
      title: markdownTitle(readStarterDoc(d)) ?? d.file,
      imported: present.has(starterSourcePath(d)),
    }))
  }),
  /** imports the starter documents; idempotent (one already there is left as it is) */
  importStarter: expert.mutation(async ({ ctx }) => {
    const results = await importStarterKnowledge(ctx.app.db, { actor: ctx.actor })
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'knowledge.import',
      targetType: 'knowledge-doc',
      after: {
        starter: true,
        results: results.map((r) => ({ path: r.path, status: r.status, docId: r.docId ?? null })),
      },
    })
    return results
  }),

  embedder: viewer.query(async ({ ctx }) => {
    const config = await getEmbedderConfig(ctx.app.db)
    return { config, modelId: modelIdOf(config), ...describeEmbedder(config) }
  }),
  /** makes a model active (after a test request); when it changes, every document is re-embedded in the background */
  setEmbedder: admin.input(SetEmbedderInput).mutation(async ({ ctx, input }) => {
    const change = await setEmbedderConfig(ctx.app.db, input.config, ctx.actor)
    const job =
      change.changed && input.reembed !== false ? startReembedLogged(ctx.app, 'model change', undefined, true) : null
    return { ...change, reembedStarted: !!job }
  }),
  reembed: admin.input(ReembedInput).mutation(async ({ ctx, input }) => {
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'knowledge.reembed',
      targetType: 'setting',
      targetId: 'knowledge.embedder',
      after: { retryFailed: input?.retryFailed ?? true },
    })
    return startReembedLogged(ctx.app, 'requested', input?.retryFailed)
  }),
  embeddingStatus: viewer.query(({ ctx }) => embeddingStatus(ctx.app.db)),

  usefulness: viewer.input(KnowledgeUsefulnessInput).query(({ ctx, input }) => usefulnessRanking(ctx.app.db, input)),
  chunkHistory: viewer
    .input(KnowledgeChunkInput)
    .query(({ ctx, input }) => chunkHistory(ctx.app.db, input.chunkId, input)),
  retrievals: viewer.input(KnowledgeRetrievalsInput).query(({ ctx, input }) => listRetrievals(ctx.app.db, input)),
  /**
   * An expert asks for knowledge for one island of a run: the retrieval is logged (trigger
   * 'expert') and sent to the run's engine through the control channel, which puts the chunks into
   * that island's next prompts (or, for a run no engine drives, refuses: nothing would read them).
   */
  retrieve: expert.input(KnowledgeRetrieveInput).mutation(async ({ ctx, input }) => {
    const run = await ctx.app.db.prisma.run.findUnique({
      where: { id: input.runId },
      select: { id: true, status: true, problemId: true },
    })
    if (!run) throw new TRPCError({ code: 'NOT_FOUND', message: `no run ${input.runId}` })
    if (!runIsActive(run.status))
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: `the run is ${run.status}: knowledge goes into the prompts of a running run (resume it first)`,
      })
    const r = await retrieveForIsland(ctx.app.db, {
      ...input,
      problemId: run.problemId,
      trigger: 'expert',
      actor: ctx.actor,
    })
    await audit(ctx.app.db.prisma, ctx.actor, {
      action: 'knowledge.retrieve',
      targetType: 'retrieval',
      targetId: r.retrievalId,
      runId: input.runId,
      after: { island: input.island, chunkIds: r.chunks.map((c) => c.id) },
    })
    const c = await command(ctx.app, ctx.actor, run, 'knowledge.use', {
      retrievalId: r.retrievalId,
      island: input.island,
      chunkIds: r.chunks.map((c) => c.id),
    })
    return { ...r, command: c }
  }),

  lessons: viewer.input(LessonListInput).query(({ ctx, input }) => listLessons(ctx.app.db, input)),
  lessonEdit: expert.input(LessonEditInput).mutation(({ ctx, input }) => editLesson(ctx.app.db, input, ctx.actor)),
  lessonApprove: expert
    .input(LessonApproveInput)
    .mutation(({ ctx, input }) => approveLesson(ctx.app.db, input, ctx.actor)),
  lessonDiscard: expert.input(LessonIdInput).mutation(({ ctx, input }) => discardLesson(ctx.app.db, input, ctx.actor)),
})

function startReembedLogged(
  app: { db: Parameters<typeof startReembed>[0]; log: { info(m: string): void; warn(m: string): void } },
  why: string,
  retryFailed?: boolean,
  replace = false,
) {
  return startReembed(app.db, {
    ...(retryFailed !== undefined ? { retryFailed } : {}),
    replace,
    onDone: (job) => {
      const line = `knowledge: re-embed (${why}) with ${job.modelId}: ${job.done} of ${job.total} documents, ${job.failed} failed${job.error ? `; stopped: ${job.error}` : ''}`
      if (job.failed || job.error) app.log.warn(line)
      else app.log.info(line)
    },
  })
}
