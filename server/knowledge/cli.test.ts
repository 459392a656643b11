// `fm-agent kb` as users and scripts run it: a separate process, in both database modes.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test-support/pg.ts'
import { parseExportedDocument } from './export.ts'

const BIN = fileURLToPath(new URL('../../bin/fm-agent.mjs', import.meta.url))

describe.each([['embedded (PGlite)'], ['server (PostgreSQL)']])('fm-agent kb, %s', (mode) => {
  let dir: string
  let pg: TestDatabase | null = null
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args, '--data-dir', join(dir, 'data')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DATABASE_URL: pg?.url ?? '', FM_LOG: 'warn' },
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fm-kb-cli-'))
    if (mode.startsWith('server')) pg = await createTestDatabase()
    mkdirSync(join(dir, 'notes'))
    writeFileSync(
      join(dir, 'notes', 'lattice.md'),
      '# Hexagonal lattice\n\nCircles packed in a hexagonal lattice cover about 90.7% of the plane.\n',
    )
    writeFileSync(
      join(dir, 'notes', 'swap.py'),
      'def two_opt_swap(tour, i, j):\n    tour[i:j] = tour[i:j][::-1]\n    return tour\n',
    )
    writeFileSync(join(dir, 'notes', 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]))
    writeFileSync(join(dir, 'notes', '__init__.py'), '\n')
  })
  afterAll(async () => {
    await pg?.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('imports a folder and finds a document, with --json as the documented array', () => {
    const imp = run('kb', 'import', 'notes', '--tag', 'geometry')
    expect(imp.code, imp.stderr).toBe(0)
    expect(imp.stdout).toContain('created   notes/lattice.md → "Hexagonal lattice" (1 chunk)')
    expect(imp.stdout).toMatch(/skipped {3}notes\/image\.png: unsupported file type \(\.png\)/)
    expect(imp.stdout).toContain('skipped   notes/__init__.py: empty')
    expect(imp.stdout).toContain('2 created, 0 updated, 0 unchanged, 2 skipped, 0 failed')
    const s = run('kb', 'search', 'hexagonal packing of circles', '--json')
    expect(s.code, s.stderr).toBe(0)
    const hits = JSON.parse(s.stdout) as Array<{ title: string; sourcePath: string; text: string }>
    expect(Array.isArray(hits)).toBe(true)
    // stored by its absolute path, shown from where the user stands
    expect(hits[0]).toMatchObject({
      title: 'Hexagonal lattice',
      sourcePath: join(dir, 'notes/lattice.md'),
      text: 'Circles packed in a hexagonal lattice cover about 90.7% of the plane.',
    })
    const human = run('kb', 'search', 'two opt swap')
    expect(human.stdout.split('\n')[0]).toBe('1. swap.py — notes/swap.py')
    // misspelt: no document shares a word; the vector half's nearest rows, said to be only that, with their similarity
    const none = run('kb', 'search', 'latice hexagonl')
    expect(none.stdout.split('\n')[0]).toMatch(/^No document shares a word with the query/)
    expect(none.stdout).toMatch(/vector #1, similarity -?\d\.\d{3}/)
  }, 240_000)

  it('lists the documents and deletes one by its source path or its id', () => {
    writeFileSync(join(dir, 'old-note.md'), '# Old note\n\nA note to be removed later on.\n')
    expect(run('kb', 'import', 'old-note.md').code).toBe(0)
    const list = run('kb', 'list', '--json')
    expect(list.code, list.stderr).toBe(0)
    const docs = JSON.parse(list.stdout) as Array<{ id: string; title: string; sourcePath: string }>
    expect(docs.map((d) => d.sourcePath)).toContain(join(dir, 'old-note.md'))
    const human = run('kb', 'list', '--tag', 'geometry')
    expect(human.stdout).toMatch(/^\S{36} {2}Hexagonal lattice — notes\/lattice\.md {2}\(1 chunk/m)
    expect(human.stdout).not.toContain('Old note')
    const del = run('kb', 'delete', 'old-note.md')
    expect([del.code, del.stdout.trim()]).toEqual([0, expect.stringMatching(/^deleted Old note \(\S{36}\)$/)])
    expect(run('kb', 'list').stdout).not.toContain('Old note')
    const again = run('kb', 'delete', 'old-note.md')
    expect([again.code, again.stderr.trim()]).toEqual([
      2,
      'fm-agent: no document with the source path old-note.md (kb list shows them)',
    ])
    const lattice = docs.find((d) => d.sourcePath === join(dir, 'notes/lattice.md'))!
    expect(run('kb', 'delete', lattice.id, '--json').code).toBe(0)
    expect(run('kb', 'import', 'notes', '--tag', 'geometry').code).toBe(0)
  }, 240_000)

  it('the same file name imported from two folders is two documents; importing a file again is no error', () => {
    for (const [sub, text] of [
      ['alpha', 'Alpha anneals with reheats.'],
      ['beta', 'Beta breeds with elitism.'],
    ]) {
      mkdirSync(join(dir, sub))
      writeFileSync(join(dir, sub, 'README.md'), `# Project ${sub}\n\n${text}\n`)
      const r = spawnSync(process.execPath, [BIN, 'kb', 'import', 'README.md', '--data-dir', join(dir, 'data')], {
        cwd: join(dir, sub),
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, DATABASE_URL: pg?.url ?? '', FM_LOG: 'warn' },
      })
      expect([r.status, r.stdout]).toEqual([0, expect.stringContaining('created   README.md → "Project')])
    }
    const docs = JSON.parse(run('kb', 'list', '--json').stdout) as Array<{ title: string; sourcePath: string }>
    expect(docs.filter((d) => d.sourcePath.endsWith('/README.md')).map((d) => [d.title, d.sourcePath])).toEqual(
      expect.arrayContaining([
        ['Project alpha', join(dir, 'alpha/README.md')],
        ['Project beta', join(dir, 'beta/README.md')],
      ]),
    )
    // the same file again: unchanged; its copy elsewhere: skipped as already there; neither an error
    expect(run('kb', 'import', 'alpha/README.md').code).toBe(0)
    writeFileSync(join(dir, 'alpha-copy.md'), '# Project alpha\n\nAlpha anneals with reheats.\n')
    const copy = run('kb', 'import', 'alpha-copy.md')
    expect([copy.code, copy.stdout]).toEqual([0, expect.stringContaining('skipped   alpha-copy.md: same content as')])
  }, 240_000)

  it('exits 2 with a clear message for bad input', () => {
    const missing = run('kb', 'import', 'no-such-folder')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('no-such-folder: no such file or folder')
    writeFileSync(join(dir, 'empty.md'), '\n\n')
    const empty = run('kb', 'import', 'empty.md')
    expect(empty.code).toBe(2)
    expect(empty.stdout).toContain('failed    empty.md: empty.md is empty; write something in it first')
    const noText = run('kb', 'search', '')
    expect(noText.code).toBe(2)
    const long = run('kb', 'search', 'word '.repeat(1700))
    expect([long.code, long.stderr.trim()]).toEqual([
      2,
      'fm-agent: the query has 8,500 characters, over the 8,000-character limit: search for its key words',
    ])
    const typo = run('kb', 'search', 'packing', '--problem', 'no-such-problem')
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('no problem "no-such-problem" (fm-agent problems lists them)')
    expect(typo.stderr).not.toContain('Usage:')
    // only a malformed command line is followed by the usage
    const malformed = run('kb', 'frobnicate')
    expect(malformed.stderr).toContain('unknown subcommand "kb frobnicate"')
    expect(malformed.stderr).toContain('Usage:')
  }, 240_000)

  it('a file error is one line without the usage; a folder import names each file once and imports the rest', () => {
    writeFileSync(join(dir, 'pic.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]))
    writeFileSync(join(dir, 'broken.ipynb'), '{"cells": [')
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))
    for (const [file, reason] of [
      ['pic.png', 'pic.png: unsupported file type (.png)'],
      ['broken.ipynb', 'broken.ipynb is not a Jupyter notebook'],
      ['latin1.txt', 'latin1.txt is not valid UTF-8 text'],
    ]) {
      const r = run('kb', 'import', file)
      expect(r.code, file).toBe(2)
      expect(r.stderr).toContain(reason)
      expect(r.stderr).not.toContain('Usage:')
    }
    mkdirSync(join(dir, 'mixed'))
    writeFileSync(join(dir, 'mixed', 'fresh1.md'), '# Fresh one\n\nA first small note about quokkas.\n')
    writeFileSync(join(dir, 'mixed', 'huge.md'), `# Huge\n\n${'lorem ipsum dolor sit amet\n'.repeat(21_000)}`)
    writeFileSync(join(dir, 'mixed', 'fresh2.md'), '# Fresh two\n\nA second small note about wombats.\n')
    writeFileSync(join(dir, 'mixed', 'binary.py'), Buffer.from([0x70, 0, 0x71]))
    const imp = run('kb', 'import', 'mixed')
    expect(imp.code, imp.stderr).toBe(0)
    expect(imp.stderr).not.toContain('Usage:')
    expect(imp.stdout).toContain('created   mixed/fresh1.md')
    expect(imp.stdout).toContain('created   mixed/fresh2.md')
    expect(imp.stdout).toContain(
      'skipped   mixed/huge.md: 567,008 characters, over the 524,288-character document limit; split it',
    )
    expect(imp.stdout).toContain('skipped   mixed/binary.py: looks binary (it contains NUL bytes)')
    expect(imp.stdout).toContain('2 created, 0 updated, 0 unchanged, 2 skipped, 0 failed')
    const big = run('kb', 'import', 'mixed/huge.md')
    expect(big.code).toBe(2)
    expect(big.stderr.trim()).toBe(
      'fm-agent: mixed/huge.md: 567,008 characters, over the 524,288-character document limit; split it',
    )
  }, 240_000)

  it('imports the starter documents with --starter, idempotently', () => {
    const first = run('kb', 'import', '--starter', '--json')
    expect(first.code, first.stderr).toBe(0)
    const created = JSON.parse(first.stdout) as Array<{ path: string; status: string; embedStatus: string }>
    expect(created.length).toBeGreaterThanOrEqual(7)
    expect(
      created.every((r) => r.status === 'created' && r.embedStatus === 'ready' && r.path.startsWith('starter/')),
    ).toBe(true)
    const again = run('kb', 'import', '--starter')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`0 created, 0 updated, ${created.length} unchanged, 0 skipped, 0 failed`)
    expect(again.stdout.split('\n').filter((l) => l.startsWith('unchanged '))).toHaveLength(created.length)
    const s = run('kb', 'search', 'double bridge kick after 2-opt', '--json')
    expect((JSON.parse(s.stdout) as Array<{ sourcePath: string }>)[0]!.sourcePath).toBe('starter/tsp-local-search.md')
    const bad = run('kb', 'import', '--starter', 'notes')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('kb import --starter takes no path')
  }, 240_000)
})

describe('fm-agent kb export, embedded (PGlite)', () => {
  let dir: string
  const run = (data: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args, '--data-dir', join(dir, data)], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, DATABASE_URL: '', FM_LOG: 'warn' },
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  type Listed = { id: string; title: string; tags: string[]; problemId: string | null; format: string }
  const listed = (data: string) =>
    (JSON.parse(run(data, 'kb', 'list', '--json').stdout) as Listed[])
      .map((d) => ({ title: d.title, tags: d.tags, problemId: d.problemId, format: d.format }))
      .sort((a, b) => a.title.localeCompare(b.title))
  const SOURCES: Record<string, string> = {
    'fences.md':
      '# Fences and ünïcödé\n\n```python\ndef f():\n    return "---"\n```\n\n~~~\n---\n~~~\n\n格子の詰め込み 🧩 e\u0301\n',
    'rule.md': '---\n\nA note that opens on a rule, then text.\n',
    'own-front-matter.md': '---\ntitle: Its own title\ntags: [mine]\n---\n# Heading\n\nBody text here.\n',
    'scoped.md': '---\nproblem: circle-packing-26\n---\n# Scoped by its front matter\n\nOnly for one problem.\n',
    'swap.py': 'def two_opt_swap(tour, i, j):\n    tour[i:j] = tour[i:j][::-1]\n    return tour\n',
  }
  const bodies = (folder: string) =>
    new Map(
      readdirSync(join(dir, folder)).map((f) => {
        const text = readFileSync(join(dir, folder, f), 'utf8')
        return [parseExportedDocument(text)!.title, parseExportedDocument(text)!.content] as const
      }),
    )

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fm-kb-export-'))
    mkdirSync(join(dir, 'src'))
    for (const [name, text] of Object.entries(SOURCES)) writeFileSync(join(dir, 'src', name), text)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('exports every document, and kb import of the folder into a fresh data folder gives the same documents', () => {
    const imp = run('a', 'kb', 'import', 'src', '--tag', 'Curated')
    expect([imp.code, imp.stdout]).toEqual([0, expect.stringContaining('5 created')])
    writeFileSync(join(dir, 'lattice.md'), '# Hexagonal lattice\n\nAbout 90.7% of the plane.\n')
    expect(run('a', 'kb', 'import', 'lattice.md', '--problem', 'circle-packing-26').code).toBe(0)
    const before = listed('a')
    expect(before.find((d) => d.title === 'Scoped by its front matter')?.problemId).toBe('circle-packing-26')
    expect(before.find((d) => d.title === 'swap.py')?.format).toBe('code')

    const exp = run('a', 'kb', 'export', 'out', '--json')
    expect(exp.code, exp.stderr).toBe(0)
    const files = JSON.parse(exp.stdout) as Array<{ file: string; title: string; overwritten: boolean }>
    expect(files).toHaveLength(6)
    expect(files.every((f) => f.file.startsWith(join(dir, 'out/')) && !f.overwritten)).toBe(true)
    // the content as stored, after the export's own front matter
    const out = bodies('out')
    expect(out.get('Fences and ünïcödé')).toBe(SOURCES['fences.md'])
    expect(out.get('rule')).toBe(SOURCES['rule.md'])
    expect(out.get('Its own title')).toBe(SOURCES['own-front-matter.md'])
    expect(out.get('swap.py')).toBe(SOURCES['swap.py'])

    const back = run('b', 'kb', 'import', 'out')
    expect([back.code, back.stdout], back.stderr).toEqual([0, expect.stringContaining('6 created, 0 updated')])
    expect(listed('b')).toEqual(before)
    expect(run('b', 'kb', 'export', 'again').code).toBe(0)
    expect(bodies('again')).toEqual(out)
  }, 240_000)

  it('writes into a folder holding files, counts those replaced and names those no longer exported', () => {
    const again = run('a', 'kb', 'export', 'out')
    expect([again.code, again.stdout.trim()]).toEqual([0, 'exported 6 documents to out (6 files replaced)'])
    const rule = (JSON.parse(run('a', 'kb', 'list', '--json').stdout) as Listed[]).find((d) => d.title === 'rule')!
    expect(run('a', 'kb', 'delete', rule.id).code).toBe(0)
    writeFileSync(join(dir, 'out', 'notes-of-mine.md'), '# Not an export\n')
    const after = run('a', 'kb', 'export', 'out', '--tag', 'curated')
    expect(after.code, after.stderr).toBe(0)
    const [summary, stale] = after.stdout.trim().split('\n')
    expect(summary).toBe('exported 4 documents to out (4 files replaced)')
    // the deleted one and the one outside --tag; the user's own file is not an export
    expect(stale).toMatch(
      /^2 files from an earlier export hold documents not exported now .*: hexagonal-lattice-\S+\.md, rule-\S+\.md$/,
    )
    writeFileSync(join(dir, 'a-file'), 'x')
    const bad = run('a', 'kb', 'export', 'a-file')
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'fm-agent: a-file is a file, not a folder: give a folder to export into',
    ])
    expect(run('a', 'kb', 'export').stderr).toContain('kb export needs the folder')
  }, 240_000)
})
