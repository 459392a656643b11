// A local ONNX embedding model run by transformers.js, fully offline, from a model folder on disk
// (config.json, tokenizer files and onnx/model.onnx, as exported for transformers.js).
// @huggingface/transformers is an OPTIONAL dependency (~470 MB with onnxruntime-node): it is
// loaded on first use, and its absence is reported with the command that installs it.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { Embedder } from '../llm/embedder.ts'
import { KnowledgeInputError } from './errors.ts'
import { checkDims, checkModelId } from './vector-sql.ts'

export const TRANSFORMERS_PACKAGE = '@huggingface/transformers'
export const TRANSFORMERS_INSTALL_HINT = `ONNXRUNTIME_NODE_INSTALL=skip npm install ${TRANSFORMERS_PACKAGE}`

export interface TransformersEmbedderConfig {
  /** folder holding the model (config.json, tokenizer.json, onnx/model*.onnx) */
  modelPath: string
  /** model id stored beside the vectors (default `transformers:<folder name>`) */
  id?: string
  pooling?: 'mean' | 'cls'
  normalize?: boolean
  /** use onnx/model_quantized.onnx */
  quantized?: boolean
  batchSize?: number
}

/** The message shown when the optional package is missing. */
export class TransformersMissingError extends KnowledgeInputError {
  constructor(cause?: unknown) {
    super(
      `the local ONNX embedder needs the optional package ${TRANSFORMERS_PACKAGE}, which is not installed; ` +
        `install it with: ${TRANSFORMERS_INSTALL_HINT}` +
        (cause instanceof Error && !/Cannot find (package|module)/.test(cause.message)
          ? ` (loading it failed: ${cause.message})`
          : ''),
    )
  }
}

type FeatureExtractor = (
  texts: string[],
  opts: { pooling: string; normalize: boolean },
) => Promise<{ tolist(): number[][]; dims?: number[] }>

interface TransformersModule {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string }
  pipeline(task: 'feature-extraction', model: string, opts: Record<string, unknown>): Promise<FeatureExtractor>
}

/** Loads the optional package; a variable specifier keeps bundlers and tsc from resolving it at build time. */
async function loadTransformers(): Promise<TransformersModule> {
  const specifier = TRANSFORMERS_PACKAGE
  try {
    return (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as TransformersModule
  } catch (e) {
    throw new TransformersMissingError(e)
  }
}

export function transformersModelId(config: TransformersEmbedderConfig): string {
  return checkModelId(config.id ?? `transformers:${basename(resolve(config.modelPath))}`)
}

/** The model's output size from its config.json (hidden_size / d_model / dim), if stated. */
export function readModelDims(modelPath: string): number {
  const file = join(modelPath, 'config.json')
  try {
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    const d = cfg.hidden_size ?? cfg.d_model ?? cfg.dim ?? cfg.embedding_size
    return typeof d === 'number' ? checkDims(d) : 0
  } catch {
    return 0
  }
}

export function checkModelFolder(modelPath: string): string {
  const dir = resolve(modelPath)
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new KnowledgeInputError(`the ONNX model folder ${dir} does not exist`)
  if (!existsSync(join(dir, 'config.json')))
    throw new KnowledgeInputError(`${dir} has no config.json: is it a model folder exported for transformers.js?`)
  if (!existsSync(join(dir, 'onnx'))) throw new KnowledgeInputError(`${dir} has no onnx/ folder holding model.onnx`)
  return dir
}

export function createTransformersEmbedder(config: TransformersEmbedderConfig): Embedder {
  const dir = checkModelFolder(config.modelPath)
  const id = transformersModelId(config)
  let dims = readModelDims(dir)
  let extractor: Promise<FeatureExtractor> | null = null
  const batchSize = Math.max(1, Math.min(256, config.batchSize ?? 32))
  const load = () => {
    extractor ??= (async () => {
      const t = await loadTransformers()
      // offline only: never reach for a hub
      t.env.allowRemoteModels = false
      t.env.allowLocalModels = true
      t.env.localModelPath = dirname(dir) + '/'
      return t.pipeline('feature-extraction', basename(dir), {
        local_files_only: true,
        dtype: config.quantized ? 'q8' : 'fp32',
      })
    })().catch((e) => {
      extractor = null
      throw e
    })
    return extractor
  }
  return {
    id,
    get dims() {
      return dims
    },
    async embed(texts, options) {
      const run = await load()
      const out: number[][] = []
      for (let i = 0; i < texts.length; i += batchSize) {
        options?.signal?.throwIfAborted()
        const batch = texts.slice(i, i + batchSize).map((t) => t || ' ')
        const tensor = await run(batch, { pooling: config.pooling ?? 'mean', normalize: config.normalize ?? true })
        const rows = tensor.tolist()
        for (const r of rows) {
          if (!dims) dims = checkDims(r.length)
          if (r.length !== dims)
            throw new KnowledgeInputError(`the ONNX model returned ${r.length}-dimensional vectors, expected ${dims}`)
          out.push(r)
        }
      }
      return out
    },
  }
}
