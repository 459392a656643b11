import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseExportedDocument } from '../server/knowledge/export.ts'
import {
  archiveName,
  documentIdPages,
  documentToMarkdown,
  exportFileName,
  tarEnd,
  tarEntry,
} from './knowledge-export.ts'

const docs = [
  {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    title: 'Sine fits',
    tags: ['fit'],
    problemId: null,
    format: 'markdown',
    sourcePath: null,
    content: '# Sine\n\nnotes é ü ✓\n',
  },
  // a title long enough that the name takes the whole id and a counter: past the 99 bytes a ustar header holds
  {
    id: 'a1b2c3d4-0000-4000-8000-000000000002',
    title: 'x'.repeat(80),
    tags: [],
    problemId: 'p',
    format: 'code',
    sourcePath: 'a.py',
    content: 'print(1)\n'.repeat(200),
  },
  {
    id: 'a1b2c3d4-0000-4000-8000-000000000002',
    title: 'x'.repeat(80),
    tags: [],
    problemId: null,
    format: 'text',
    sourcePath: null,
    content: '',
  },
]

describe("the console's Download all", () => {
  it('is a tar archive of the files kb export writes, with their names, that tar extracts and kb import reads', () => {
    const taken = new Set<string>()
    const parts: Uint8Array[] = []
    const expected = new Map<string, string>()
    for (const d of docs) {
      const name = exportFileName(d, taken)
      const text = documentToMarkdown(d)
      expected.set(name, text)
      parts.push(...tarEntry(name, text, 1_700_000_000))
    }
    parts.push(tarEnd())
    expect([...expected.keys()].some((n) => n.length > 99)).toBe(true)
    for (const p of parts) expect(p.length % 512).toBe(0)
    const dir = mkdtempSync(join(tmpdir(), 'fm-kb-tar-'))
    try {
      const file = join(dir, 'kb.tar')
      writeFileSync(file, Buffer.concat(parts))
      const out = join(dir, 'out')
      execFileSync('mkdir', [out])
      execFileSync('tar', ['-xf', file, '-C', out])
      expect(readdirSync(out).sort()).toEqual([...expected.keys()].sort())
      for (const [name, text] of expected) {
        expect(readFileSync(join(out, name), 'utf8')).toBe(text)
        expect(parseExportedDocument(text)).not.toBeNull()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names the archive by the day', () => {
    expect(archiveName(new Date('2025-03-04T23:00:00Z'))).toBe('fm-agent-knowledge-2025-03-04.tar')
  })
})

describe('the pages of the knowledge list, as kb export and Download all read them', () => {
  it('gives each document once though an edit moved it up the list, and stops at the total or an empty page', async () => {
    // newest first, two a page: "c" is edited after the first page was read and comes round again
    const pages = [['a', 'c'], ['c', 'b'], ['d']]
    const reads: number[] = []
    const list = async (offset: number) => {
      reads.push(offset)
      return { total: 5, docs: (pages[reads.length - 1] ?? []).map((id) => ({ id })) }
    }
    const got: string[][] = []
    for await (const p of documentIdPages(list)) got.push(p.ids)
    expect(got).toEqual([['a', 'c'], ['b'], ['d']])
    expect(reads).toEqual([0, 2, 4])
    // a list that shrank meanwhile: its empty page ends the reading short of the old total
    const shrunk = async () => ({ total: 3, docs: [] })
    const none: string[][] = []
    for await (const p of documentIdPages(shrunk)) none.push(p.ids)
    expect(none).toEqual([[]])
  })
})
