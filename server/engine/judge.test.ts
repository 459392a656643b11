import { describe, expect, it } from 'vitest'
import { buildJudgePrompt, DEFAULT_RUBRIC, JudgePolicy, parseJudgeAnswer } from './judge.ts'

describe('judge prompt', () => {
  const subject = {
    problem: {
      name: 'Curve fit',
      description: 'Fit a curve.',
      language: 'python',
      direction: 'min' as const,
      primaryMetric: 'mse',
    },
    code: 'A = 1.0\n',
    score: 0.25,
    metrics: { mse: 0.25, curvature: 1, nested: { x: 1 } },
    feedback: 'residuals are large near x = 1',
  }
  it('carries the rubric, the code, the metrics and the feedback', () => {
    const p = buildJudgePrompt(subject)
    expect(p.system).toMatch(/"rating"/)
    expect(p.user).toContain(DEFAULT_RUBRIC.split('\n')[0])
    expect(p.user).toContain('A = 1.0')
    expect(p.user).toContain('- mse: 0.25')
    expect(p.user).not.toContain('nested')
    expect(p.user).toContain('residuals are large')
    expect(p.user).toContain('minimizes "mse"')
    expect(buildJudgePrompt({ ...subject, rubric: 'Only elegance counts.' }).user).toContain('Only elegance counts.')
  })
})

describe('judge answers', () => {
  it('reads JSON, bare or wrapped, and rescales 0–10 ratings', () => {
    expect(parseJudgeAnswer('{"rating": 0.7, "critique": "Vectorize the loop."}')).toEqual({
      ok: true,
      rating: 0.7,
      critique: 'Vectorize the loop.',
    })
    expect(
      parseJudgeAnswer('<think>hmm {"rating": 0}</think>Here: ```json\n{"rating": 8, "critique": "Good."}\n```'),
    ).toEqual({ ok: true, rating: 0.8, critique: 'Good.' })
    expect(parseJudgeAnswer('Rating: 3/5. The step size is too large.')).toEqual({
      ok: true,
      rating: 0.6,
      critique: 'The step size is too large.',
    })
  })
  it('refuses an answer without a usable rating or critique', () => {
    expect(parseJudgeAnswer('looks fine to me')).toMatchObject({ ok: false })
    expect(parseJudgeAnswer('{"rating": -2, "critique": "x"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/outside/),
    })
    expect(parseJudgeAnswer('{"rating": 0.5}')).toMatchObject({ ok: false, reason: expect.stringMatching(/critique/) })
  })
})

describe('judge policy', () => {
  const free = { totalUsd: 0, judgeUsd: 0, expectedUsd: 0 }
  it('judges valid candidates only, every k-th', () => {
    const p = new JudgePolicy({ every: 3, maxSpendShare: 1 }, 'max')
    expect(p.decide(null, free).judge).toBe(false)
    const picks = [1, 2, 3, 4, 5, 6, 7].map((s) => p.decide(s, free).judge)
    expect(picks).toEqual([true, false, false, true, false, false, true])
  })
  it('judges only the top k so far, in the problem direction', () => {
    const p = new JudgePolicy({ every: 1, topK: 2, maxSpendShare: 1 }, 'min')
    expect([5, 4, 6, 3, 4.5, 1].map((s) => p.decide(s, free).judge)).toEqual([true, true, false, true, false, true])
  })
  it('keeps the judge within its share of the spend', () => {
    const p = new JudgePolicy({ every: 1, maxSpendShare: 0.2 }, 'max')
    expect(p.decide(1, { totalUsd: 1, judgeUsd: 0, expectedUsd: 0.1 })).toMatchObject({ judge: true })
    expect(p.decide(1, { totalUsd: 1, judgeUsd: 0.15, expectedUsd: 0.1 })).toMatchObject({
      judge: false,
      reason: 'judge spend share reached',
    })
    expect(p.decide(1, { totalUsd: 10, judgeUsd: 0.15, expectedUsd: 0.1 })).toMatchObject({ judge: true })
  })
})
