// The words of a proposed lesson (pure): what changed and by how much, said the same way in its
// title and its text.
import { describe, expect, it } from 'vitest'
import { composeLesson, lessonFromDocument } from './lessons.ts'

const base = {
  runId: 'r',
  candidateId: 'c',
  problemId: 'p',
  parentCode: 'k = 2\n',
  childCode: 'k = 1\n',
}

describe('a lesson says its gain', () => {
  it('as one share in its title and its text, small ones with two significant digits', () => {
    const small = composeLesson({ ...base, parentScore: 2.5, childScore: 2.5005, direction: 'max' })
    expect(small.title).toBe('Set k 2 → 1 (+0.020%)')
    expect(small.text).toContain('score 2.5 → 2.5005 (+5.000e-4, +0.020%; higher is better)')
    // a replaced line as diffs show it: the old one first
    expect(small.text).toContain('```diff\n- k = 2\n+ k = 1\n```')
  })

  it('as the gain alone when the parent scored within 1e-9 of zero (a share of a degenerate score is noise)', () => {
    const degenerate = composeLesson({ ...base, parentScore: 9.702e-14, childScore: 1.572e-13, direction: 'max' })
    expect(degenerate.title).toMatch(/^Set k 2 → 1 \(\+6\.0\d*e-14\)$/)
    expect(degenerate.text).not.toContain('%')
  })
})

describe('an approved lesson as its document reads', () => {
  it('takes the title, and the body without the heading and the provenance line approval wrote', () => {
    const doc = {
      title: 'Lower k',
      content: '# Lower k\r\n\r\nk = 1 packs tighter.\r\n\r\n_Lesson from run r, candidate c._\r\n',
    }
    expect(lessonFromDocument(doc)).toEqual({ title: 'Lower k', text: 'k = 1 packs tighter.' })
    expect(lessonFromDocument({ title: 'T', content: 'x'.repeat(5000) }).text).toHaveLength(4000)
  })
})
