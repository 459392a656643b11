// Which embedding model the knowledge base uses. The active model is a setting
// (`knowledge.embedder`); every vector is stored with the id of the model that made it, and a
// search only compares vectors of the active model.
//
// Providers:
//  - `lexical-hash` (default, offline): lexical-hash-512, a hashing vectorizer (see lexical-hash.ts:
//    it matches words, not meaning);
//  - `openai`: any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp,
//    text-embeddings-inference);
//  - `transformers`: a local ONNX model folder through transformers.js (optional package).
import { z } from 'zod'
import type { Actor } from '../auth/roles.ts'
import type { Db, Prisma } from '../db.ts'
import { createEmbedder, EmbedderConfig, type Embedder } from '../llm/embedder.ts'
import { audit } from '../services/audit.ts'
import { KnowledgeInputError } from './errors.ts'
import { createLexicalHashEmbedder, LEXICAL_HASH_DIMS, LEXICAL_HASH_ID } from './lexical-hash.ts'
import { createTransformersEmbedder, transformersModelId } from './transformers-embedder.ts'
import { checkDims, checkModelId } from './vector-sql.ts'

export const EMBEDDER_SETTING = 'knowledge.embedder'

const LexicalHashConfig = z.object({ provider: z.literal('lexical-hash') }).strict()

const OpenAiConfig = EmbedderConfig.extend({
  /** how hard to retry a failing endpoint before the document is marked for re-embedding */
  retry: z
    .object({
      maxAttempts: z.number().int().min(1).max(10).optional(),
      baseDelayMs: z.number().int().min(0).max(60_000).optional(),
      totalTimeoutMs: z.number().int().positive().max(3600_000).optional(),
    })
    .strict()
    .optional(),
}).strict()

const TransformersConfig = z
  .object({
    provider: z.literal('transformers'),
    modelPath: z.string().min(1).max(1000),
    id: z.string().min(1).max(200).optional(),
    pooling: z.enum(['mean', 'cls']).optional(),
    normalize: z.boolean().optional(),
    quantized: z.boolean().optional(),
    batchSize: z.number().int().min(1).max(256).optional(),
  })
  .strict()

export const KnowledgeEmbedderConfig = z.discriminatedUnion('provider', [
  LexicalHashConfig,
  OpenAiConfig,
  TransformersConfig,
])
export type KnowledgeEmbedderConfig = z.infer<typeof KnowledgeEmbedderConfig>

export const DEFAULT_EMBEDDER_CONFIG: KnowledgeEmbedderConfig = { provider: 'lexical-hash' }

/** The model id a config produces (known without calling the model). */
export function modelIdOf(config: KnowledgeEmbedderConfig): string {
  switch (config.provider) {
    case 'lexical-hash':
      return LEXICAL_HASH_ID
    case 'openai':
      return checkModelId(`openai:${config.model}${config.dimensions ? `@${config.dimensions}` : ''}`)
    case 'transformers':
      return transformersModelId(config)
  }
}

/** What the console shows about a provider: whether it understands meaning or only words. */
export function describeEmbedder(config: KnowledgeEmbedderConfig): { label: string; semantic: boolean } {
  switch (config.provider) {
    case 'lexical-hash':
      return { label: 'offline lexical hashing (matches words and identifiers, not meaning)', semantic: false }
    case 'openai':
      return { label: `embeddings endpoint ${config.baseURL ?? '(OpenAI default)'} · ${config.model}`, semantic: true }
    case 'transformers':
      return { label: `local ONNX model ${config.modelPath}`, semantic: true }
  }
}

export interface ActiveEmbedder {
  config: KnowledgeEmbedderConfig
  embedder: Embedder
  id: string
}

const cache = new Map<string, Embedder>()

/** Builds (or reuses) the embedder for a config. */
export function embedderFor(config: KnowledgeEmbedderConfig): Embedder {
  const key = JSON.stringify(config)
  let e = cache.get(key)
  if (!e) {
    switch (config.provider) {
      case 'lexical-hash':
        e = createLexicalHashEmbedder()
        break
      case 'openai': {
        const { retry, ...rest } = config
        e = createEmbedder(rest, retry ? { retry } : {})
        break
      }
      case 'transformers':
        e = createTransformersEmbedder(config)
        break
    }
    if (cache.size > 20) cache.clear()
    cache.set(key, e)
  }
  return e
}

/**
 * How long a process trusts the setting it read: searches skip a query, and a model changed by
 * another process (server mode) is seen within this time. A change made here is seen at once.
 */
const SETTING_TTL_MS = 3000
const settingCache = new WeakMap<Db, { at: number; config: KnowledgeEmbedderConfig }>()

export async function getEmbedderConfig(db: Db, opts: { fresh?: boolean } = {}): Promise<KnowledgeEmbedderConfig> {
  const cached = settingCache.get(db)
  if (!opts.fresh && cached && Date.now() - cached.at < SETTING_TTL_MS) return cached.config
  const row = await db.prisma.setting.findUnique({ where: { key: EMBEDDER_SETTING } })
  const parsed = row ? KnowledgeEmbedderConfig.safeParse(row.value) : null
  // a setting written by another version that no longer parses: fall back to the offline default
  const config = parsed?.success ? parsed.data : DEFAULT_EMBEDDER_CONFIG
  settingCache.set(db, { at: Date.now(), config })
  return config
}

export async function activeEmbedder(db: Db): Promise<ActiveEmbedder> {
  const config = await getEmbedderConfig(db)
  return { config, embedder: embedderFor(config), id: modelIdOf(config) }
}

export interface EmbedderChange {
  modelId: string
  previousModelId: string
  dims: number
  /** the model changed: every document was marked for re-embedding */
  changed: boolean
}

/**
 * Makes `config` the active model after checking that it answers (one probe embedding, which
 * also learns its dimension). When the model id changes, every document is marked pending in the
 * same transaction; call `reembedAll` (or the console's re-embed) to rebuild the vectors.
 */
export async function setEmbedderConfig(
  db: Db,
  input: unknown,
  actor: Actor,
  opts: { signal?: AbortSignal } = {},
): Promise<EmbedderChange> {
  const parsed = KnowledgeEmbedderConfig.safeParse(input)
  if (!parsed.success) {
    const i = parsed.error.issues[0]
    throw new KnowledgeInputError(`embedder configuration: ${i.path.join('.') || 'value'}: ${i.message}`)
  }
  const config = parsed.data
  const modelId = modelIdOf(config)
  const embedder = embedderFor(config)
  let dims: number
  try {
    const [probe] = await embedder.embed(['dimension probe'], opts.signal ? { signal: opts.signal } : {})
    dims = checkDims(probe?.length ?? 0)
  } catch (e) {
    if (e instanceof KnowledgeInputError) throw e
    throw new KnowledgeInputError(
      `the embedding model ${modelId} did not answer a test request: ${(e as Error).message}`,
    )
  }
  const before = await getEmbedderConfig(db, { fresh: true })
  const previousModelId = modelIdOf(before)
  const changed = previousModelId !== modelId
  const value = JSON.parse(JSON.stringify(config)) as Prisma.InputJsonValue
  await db.prisma.$transaction(async (tx) => {
    await tx.setting.upsert({
      where: { key: EMBEDDER_SETTING },
      create: { key: EMBEDDER_SETTING, value },
      update: { value },
    })
    // raw SQL: a model change is not an edit of the documents (updated_at stays)
    if (changed) await tx.$executeRaw`UPDATE knowledge_docs SET embed_status = 'pending', embed_error = NULL`
    await audit(tx, actor, {
      action: 'knowledge.embedder.set',
      targetType: 'setting',
      targetId: EMBEDDER_SETTING,
      before,
      after: { ...config, modelId, dims },
    })
  })
  settingCache.set(db, { at: Date.now(), config })
  return { modelId, previousModelId, dims, changed }
}

export { LEXICAL_HASH_DIMS, LEXICAL_HASH_ID }
