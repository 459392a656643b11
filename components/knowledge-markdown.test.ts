// The knowledge preview renders markdown as React elements: no raw HTML, no script links.
import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { Markdown, parseMarkdownBlocks, safeHref } from './knowledge-markdown.tsx'

const html = (source: string) => renderToStaticMarkup(createElement(Markdown, { source }))

describe('knowledge markdown preview', () => {
  it('renders headings, lists, code and inline markup', () => {
    const out = html(
      '# Title\n\nSome **bold** and *em* and `x < 1`.\n\n- one\n- two\n\n```py\nif a < b:\n    pass\n```\n',
    )
    expect(out).toContain('role="heading" aria-level="1"')
    expect(out).toContain('<strong>bold</strong>')
    expect(out).toContain('<em>em</em>')
    expect(out).toContain('<code>x &lt; 1</code>')
    expect(out).toContain('<ul><li>one</li><li>two</li></ul>')
    expect(out).toContain('<pre data-lang="py"><code>if a &lt; b:\n    pass</code></pre>')
  })

  it('never injects raw HTML or script URLs', () => {
    const out = html(
      '<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) [ok](https://example.org/a) [rel](/knowledge)',
    )
    expect(out).not.toContain('<script')
    expect(out).not.toContain('<img')
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(out).not.toContain('href="javascript')
    expect(out).toContain('[click](javascript:alert(3))')
    expect(out).toContain('href="https://example.org/a"')
    expect(out).toContain('href="/knowledge"')
    expect(safeHref('//evil.example/x')).toBeNull()
    expect(safeHref('data:text/html,x')).toBeNull()
  })

  it('shows front matter as its YAML, apart from the body', () => {
    expect(parseMarkdownBlocks('---\ntitle: T\ntags: [a]\n---\n# Body\n')).toEqual([
      { kind: 'code', lang: 'yaml', text: 'title: T\ntags: [a]' },
      { kind: 'heading', level: 1, text: 'Body' },
    ])
  })

  it('parses setext headings, quotes and rules', () => {
    expect(parseMarkdownBlocks('Title\n=====\n\n> quoted\n> more\n\n---\n').map((b) => b.kind)).toEqual([
      'heading',
      'quote',
      'rule',
    ])
  })
})
