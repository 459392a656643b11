// The guidance panel's states that do not need the API: a list still loading is not an empty one,
// and earlier hints the list leaves out are said to exist.
import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { NoActiveHint, OlderHintsNote } from './guidance-panel.tsx'

describe('guidance panel', () => {
  it('says the hints are loading, not that none is active, until the list has come', () => {
    const loading = renderToStaticMarkup(createElement(NoActiveHint, { loaded: false, loading: true }))
    expect(loading).toContain('Loading the hints')
    expect(loading).not.toContain('No hint is active')
    // a failed load shows its error (ErrorBox), not an empty list
    expect(renderToStaticMarkup(createElement(NoActiveHint, { loaded: false, loading: false }))).toBe('')
    expect(renderToStaticMarkup(createElement(NoActiveHint, { loaded: true, loading: false }))).toContain(
      'No hint is active',
    )
  })

  it('says how many earlier hints are not shown', () => {
    expect(renderToStaticMarkup(createElement(OlderHintsNote, { older: 27 }))).toContain(
      'and 27 older (withdrawn/expired) not shown',
    )
    expect(renderToStaticMarkup(createElement(OlderHintsNote, { older: 0 }))).toBe('')
  })
})
