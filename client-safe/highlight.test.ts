import { describe, expect, it } from 'vitest'
import { HIGHLIGHT_END, HIGHLIGHT_START, highlightRuns } from './highlight.ts'

describe('highlightRuns', () => {
  it('splits on the markers, without the emphasis markers a cut left behind', () => {
    const h = `Remez exchange** finds the ${HIGHLIGHT_START}**equioscillating**${HIGHLIGHT_END} nodes of __best__ fits`
    expect(highlightRuns(h)).toEqual([
      { text: 'Remez exchange finds the ', mark: false },
      { text: 'equioscillating', mark: true },
      { text: ' nodes of best fits', mark: false },
    ])
    // a product a*b and a single underscore are text, not emphasis
    expect(highlightRuns('a*b + snake_case')).toEqual([{ text: 'a*b + snake_case', mark: false }])
  })
})
