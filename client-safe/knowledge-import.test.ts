import { describe, expect, it } from 'vitest'
import {
  batchImportFiles,
  type ImportFileText,
  type ImportOutcome,
  importText,
  MAX_DOC_CHARS,
  sendImportBatches,
} from './knowledge-import.ts'

describe('importText', () => {
  it('refuses text over the document limit with its length and the limit', () => {
    expect(importText('x'.repeat(600_000))).toEqual({
      reason: '600,000 characters, over the 524,288-character document limit; split it',
    })
  })
  it('counts and sends the text as stored: no byte-order mark, line endings as \\n', () => {
    // over the limit as raw bytes, exactly at it as stored
    const r = importText(`\uFEFF${'abc\r\n'.repeat(MAX_DOC_CHARS / 4)}`)
    expect('content' in r && r.content.length).toBe(MAX_DOC_CHARS)
    expect(importText('a\rb\r\nc')).toEqual({ content: 'a\nb\nc' })
  })
})

describe('batchImportFiles', () => {
  it('keeps each batch under the byte budget and the file count', () => {
    const files = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.md`, content: 'x'.repeat(400) }))
    expect(batchImportFiles(files, 1000).map((b) => b.length)).toEqual([2, 2, 1])
    expect(batchImportFiles(files, 1_000_000, 3).map((b) => b.length)).toEqual([3, 2])
  })
})

describe('sendImportBatches', () => {
  const ok = (files: ImportFileText[]): ImportOutcome[] => files.map((f) => ({ path: f.path, status: 'created' }))
  const badRequest = Object.assign(new Error('refused'), { code: 'BAD_REQUEST' })
  const opts = {
    describe: (e: unknown) => (e as Error).message,
    isBadRequest: (e: unknown) => (e as { code?: string }).code === 'BAD_REQUEST',
  }

  it('sends a refused batch again file by file, so only the file at fault fails', async () => {
    const sent: string[][] = []
    const out = await sendImportBatches(
      [
        [
          { path: 'a.md', content: 'a' },
          { path: 'bad.md', content: 'b' },
          { path: 'c.md', content: 'c' },
        ],
      ],
      async (files) => {
        sent.push(files.map((f) => f.path))
        if (files.some((f) => f.path === 'bad.md')) throw badRequest
        return ok(files)
      },
      opts,
    )
    expect(sent).toEqual([['a.md', 'bad.md', 'c.md'], ['a.md'], ['bad.md'], ['c.md']])
    expect(out).toEqual([
      { path: 'a.md', status: 'created' },
      { path: 'bad.md', status: 'failed', reason: 'refused' },
      { path: 'c.md', status: 'created' },
    ])
  })

  it('reports every file of a batch that failed otherwise, and still sends the next batches', async () => {
    const progress: string[] = []
    let calls = 0
    const out = await sendImportBatches(
      [
        [
          { path: 'a.md', content: 'a' },
          { path: 'b.md', content: 'b' },
        ],
        [{ path: 'c.md', content: 'c' }],
      ],
      async (files) => {
        if (calls++ === 0) throw new Error('the server did not answer')
        return ok(files)
      },
      { ...opts, onProgress: (p) => progress.push(`${p.batch}/${p.batches}:${p.files}`) },
    )
    expect(calls).toBe(2)
    expect(progress).toEqual(['1/2:2', '2/2:1'])
    expect(out).toEqual([
      { path: 'a.md', status: 'failed', reason: 'the server did not answer' },
      { path: 'b.md', status: 'failed', reason: 'the server did not answer' },
      { path: 'c.md', status: 'created' },
    ])
  })
})
