// A markdown document's title as people read it: a README's first heading is often badges and HTML.
import { describe, expect, it } from 'vitest'
import { markdownTitle } from './documents.ts'
import { promptTitle } from './rag.ts'

describe('markdownTitle', () => {
  it('drops badges, images, HTML and link targets, and decodes entities', () => {
    expect(markdownTitle('# ansi-styles [![Build Status](https://ci/x.svg)](https://ci)\n')).toBe('ansi-styles')
    expect(markdownTitle('# @monaco-editor/loader &middot; [![downloads](https://a)](https://b)\n')).toBe(
      '@monaco-editor/loader',
    )
    expect(markdownTitle('# [Lodash](https://lodash.com) &amp; friends\n')).toBe('Lodash & friends')
    expect(markdownTitle('Setext title\n===\n')).toBe('Setext title')
  })

  it('takes the next heading where the first is only a picture', () => {
    expect(markdownTitle("# <a href='https://redux.js.org'><img src='https://x/logo.png'></a>\n\n# Redux\n")).toBe(
      'Redux',
    )
    expect(markdownTitle('# ![logo](logo.png)\n\ntext only\n')).toBeNull()
  })
})

describe('promptTitle', () => {
  it("says the document's name once where the section path starts with it", () => {
    expect(promptTitle('Fitting curves', 'Fitting curves › Quadratics')).toBe('Fitting curves — Quadratics')
    expect(promptTitle('Fitting curves', 'Quadratics')).toBe('Fitting curves — Quadratics')
    expect(promptTitle('Fitting curves', null)).toBe('Fitting curves')
  })
})
