import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectImportFiles } from './import-files.ts'
import { KnowledgeInputError } from './errors.ts'

describe('collectImportFiles', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fm-kb-read-'))
    mkdirSync(join(dir, 'kb'))
    writeFileSync(join(dir, 'kb', 'fresh1.md'), '# Fresh one\n\nfirst\n')
    // under the 2 MiB file limit, over the character limit per document
    writeFileSync(join(dir, 'kb', 'huge.md'), `# Huge\n\n${'lorem ipsum dolor sit amet\n'.repeat(21_000)}`)
    writeFileSync(join(dir, 'kb', 'fresh2.md'), '# Fresh two\r\n\r\nsecond\r\n')
    writeFileSync(join(dir, 'kb', 'binary.py'), Buffer.from([0x70, 0, 0x71]))
    writeFileSync(join(dir, 'kb', 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))
    writeFileSync(join(dir, 'kb', 'broken.ipynb'), '{"cells": [')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('skips a file over the character limit with its size and the limit, and reads the rest', () => {
    const c = collectImportFiles('kb', { cwd: dir })
    // stored by their absolute paths: the same name typed from another folder is another file
    expect(c.files.map((f) => f.path)).toEqual([join(dir, 'kb/fresh1.md'), join(dir, 'kb/fresh2.md')])
    expect(c.skipped).toContainEqual({
      path: join(dir, 'kb/huge.md'),
      status: 'skipped',
      reason: '567,008 characters, over the 524,288-character document limit; split it',
    })
  })

  it('sends line endings as the server stores them', () => {
    const c = collectImportFiles('kb', { cwd: dir })
    expect(c.files.find((f) => f.path.endsWith('kb/fresh2.md'))?.content).toBe('# Fresh two\n\nsecond\n')
  })

  it('names a skipped file once: its reason does not repeat the path', () => {
    const c = collectImportFiles('kb', { cwd: dir })
    const reasons = Object.fromEntries(c.skipped.map((s) => [relative(dir, s.path), s.reason]))
    expect(reasons['kb/binary.py']).toBe('looks binary (it contains NUL bytes); only text, markdown and code are taken')
    expect(reasons['kb/latin1.txt']).toMatch(/^not valid UTF-8 text/)
    expect(reasons['kb/broken.ipynb']).toMatch(/^not a Jupyter notebook/)
  })

  it('refuses a single file over the character limit with its name and the limit', () => {
    expect(() => collectImportFiles('kb/huge.md', { cwd: dir })).toThrow(
      new KnowledgeInputError('kb/huge.md: 567,008 characters, over the 524,288-character document limit; split it'),
    )
  })
})

describe('a large folder', () => {
  it('of more files than one request takes is read whole (the CLI sends it in batches)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fm-kb-many-'))
    try {
      for (let i = 0; i < 650; i++) writeFileSync(join(dir, `note-${i}.md`), `# Note ${i}\n\nabout item ${i}\n`)
      const c = collectImportFiles(dir)
      expect(c.files).toHaveLength(650)
      expect(c.skipped).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
