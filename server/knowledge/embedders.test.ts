import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { describeEmbedder, embedderFor, modelIdOf } from './embedders.ts'
import { createTransformersEmbedder, readModelDims, TransformersMissingError } from './transformers-embedder.ts'

const dir = mkdtempSync(join(tmpdir(), 'fm-onnx-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('embedding model configurations', () => {
  it('gives each model its id, one per vector size', () => {
    expect(modelIdOf({ provider: 'lexical-hash' })).toBe('lexical-hash-512')
    expect(modelIdOf({ provider: 'openai', model: 'text-embedding-3-small' })).toBe('openai:text-embedding-3-small')
    expect(modelIdOf({ provider: 'openai', model: 'text-embedding-3-large', dimensions: 1024 })).toBe(
      'openai:text-embedding-3-large@1024',
    )
    expect(modelIdOf({ provider: 'transformers', modelPath: '/models/all-MiniLM-L6-v2' })).toBe(
      'transformers:all-MiniLM-L6-v2',
    )
    expect(() => modelIdOf({ provider: 'openai', model: "bad'name" })).toThrow(/may hold only/)
    expect(describeEmbedder({ provider: 'lexical-hash' }).semantic).toBe(false)
    expect(describeEmbedder({ provider: 'openai', model: 'm' }).semantic).toBe(true)
  })

  it('the ONNX embedder is optional: without @huggingface/transformers it says how to install it', async () => {
    const model = join(dir, 'mini-model')
    mkdirSync(join(model, 'onnx'), { recursive: true })
    writeFileSync(join(model, 'config.json'), JSON.stringify({ hidden_size: 384 }))
    expect(readModelDims(model)).toBe(384)
    const e = createTransformersEmbedder({ modelPath: model })
    expect(e).toMatchObject({ id: 'transformers:mini-model', dims: 384 })
    const err = await e.embed(['hello']).catch((x) => x)
    expect(err).toBeInstanceOf(TransformersMissingError)
    expect(err.message).toContain(
      'install it with: ONNXRUNTIME_NODE_INSTALL=skip npm install @huggingface/transformers',
    )
    expect(() => createTransformersEmbedder({ modelPath: join(dir, 'missing') })).toThrow(/does not exist/)
    mkdirSync(join(dir, 'not-a-model'))
    expect(() => createTransformersEmbedder({ modelPath: join(dir, 'not-a-model') })).toThrow(/has no config\.json/)
  })

  it('reuses one embedder per configuration', () => {
    expect(embedderFor({ provider: 'lexical-hash' })).toBe(embedderFor({ provider: 'lexical-hash' }))
  })
})
