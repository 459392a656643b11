import { describe, expect, it } from 'vitest'
import { chunkTitle, sectionOf } from './knowledge-title.ts'

describe('a passage title', () => {
  it('says the document title once when the section path starts with it', () => {
    expect(chunkTitle('Tabu search', 'Tabu search › Pitfalls')).toBe('Tabu search › Pitfalls')
    expect(chunkTitle('Tabu search', 'Tabu search')).toBe('Tabu search')
    expect(sectionOf('Tabu search', 'Tabu search › Pitfalls › Tenure')).toBe('Pitfalls › Tenure')
  })
  it('keeps a section that does not start with the title, and a title alone', () => {
    expect(chunkTitle('notes.md', 'Pitfalls')).toBe('notes.md › Pitfalls')
    expect(chunkTitle('notes.md', 'Pitfalls', ' — ')).toBe('notes.md — Pitfalls')
    expect(chunkTitle('notes.md', null)).toBe('notes.md')
    // a section merely named like the start of the title is not cut
    expect(sectionOf('Tabu', 'Tabu search › Pitfalls')).toBe('Tabu search › Pitfalls')
  })
})
