import { describe, expect, it } from 'vitest'
import { frontMatterMeta } from './documents.ts'
import { documentToMarkdown, exportFileName } from '../../client-safe/knowledge-export.ts'
import { exportHeaderLength, parseExportedDocument } from './export.ts'

const doc = (over: Partial<Parameters<typeof documentToMarkdown>[0]> = {}) => ({
  id: '0f3c2a9e-1111-4222-8333-944445555666',
  title: 'Hexagonal lattice',
  tags: ['geometry', 'packing'],
  problemId: null,
  format: 'markdown',
  sourcePath: '/home/ann/notes/lattice.md',
  content: '# Hexagonal lattice\n\nAbout 90.7 %.\n',
  ...over,
})

describe('documentToMarkdown / parseExportedDocument', () => {
  it('gives back the title, tags, scope, format and the content byte for byte', () => {
    for (const content of [
      '---\n\nA document that opens on a rule.\n',
      '---\ntitle: Its own\ntags: [mine]\n---\n# Body\n',
      '```python\ndef f():\n    return "---"\n```\n\n格子 🧩 e\u0301\n---\n',
      'no newline at the end',
    ]) {
      const file = documentToMarkdown(doc({ content, problemId: 'circle-packing-26', format: 'code' }))
      expect(parseExportedDocument(file)).toEqual({
        title: 'Hexagonal lattice',
        tags: ['geometry', 'packing'],
        problem: 'circle-packing-26',
        format: 'code',
        content,
      })
      expect(file.slice(exportHeaderLength(file))).toBe(content)
    }
  })

  it('keeps a title or path that looks like YAML or a closing line on one line, read back as written', () => {
    const title = '--- "quoted": [not, a list] # no comment\n...'
    const file = documentToMarkdown(doc({ title, sourcePath: 'a\n---\nb' }))
    expect(parseExportedDocument(file)?.title).toBe(title)
    expect(parseExportedDocument(file)?.content).toBe(doc().content)
  })

  it('leaves any other front matter, and a global markdown document, as they are', () => {
    const own = '---\ntitle: Mine\nproblem: tsp-100\n---\n# Body\n'
    expect(parseExportedDocument(own)).toBeNull()
    expect(exportHeaderLength(own)).toBe(0)
    expect(frontMatterMeta(own)).toEqual({ title: 'Mine', tags: [], problem: 'tsp-100' })
    const global = parseExportedDocument(documentToMarkdown(doc()))
    expect([global?.problem, global?.format]).toEqual([null, 'markdown'])
  })
})

describe('exportFileName', () => {
  it('is safe, stable and unique', () => {
    const taken = new Set<string>()
    expect(exportFileName(doc(), taken)).toBe('hexagonal-lattice-0f3c2a9e.md')
    // same start of the id and the same title: the whole id
    expect(exportFileName(doc(), taken)).toBe('hexagonal-lattice-0f3c2a9e-1111-4222-8333-944445555666.md')
    expect(exportFileName(doc(), taken)).toBe('hexagonal-lattice-0f3c2a9e-1111-4222-8333-944445555666-2.md')
    for (const title of ['../../etc/passwd', '..', '.hidden', 'CON', 'a/b\\c:d*e?', '格子', 'Café Ångström']) {
      const name = exportFileName(doc({ title }), new Set())
      expect(name, title).toMatch(/^[a-z0-9][a-z0-9-]*\.md$/)
    }
    expect(exportFileName(doc({ title: '格子' }), new Set())).toBe('document-0f3c2a9e.md')
    expect(exportFileName(doc({ title: 'Café Ångström' }), new Set())).toBe('cafe-angstrom-0f3c2a9e.md')
    expect(exportFileName(doc({ title: 'x'.repeat(200) }), new Set()).length).toBeLessThanOrEqual(60 + 12)
  })
})
