import { describe, expect, it } from 'vitest'
import { splitFrontMatter } from './front-matter.ts'

describe('front matter', () => {
  it('is the key: value block between the opening --- lines, CRLF or not', () => {
    expect(splitFrontMatter('---\ntitle: Packing\ntags: [a, b]\n---\n# Body\n')).toEqual({
      frontMatter: 'title: Packing\ntags: [a, b]',
      body: '# Body\n',
    })
    expect(splitFrontMatter('---\r\ntitle: X\r\n...\r\ntext').frontMatter).toBe('title: X')
  })
  it('is not a document that opens on a rule, or has --- further down', () => {
    const rule = '---\n\nSome text\n\n---\nmore\n'
    expect(splitFrontMatter(rule)).toEqual({ frontMatter: null, body: rule })
    const later = '# Title\n---\ntitle: no\n---\n'
    expect(splitFrontMatter(later).frontMatter).toBeNull()
  })
})
