// LLM-supervised feedback end to end: a headless run through the real CLI, sandboxed workers and
// the embedded database, whose mutations and judge reviews both come from the scripted
// OpenAI-protocol server at a price. Judge calls follow the policy, count exactly in the spend,
// their rating is a secondary metric and a MAP-Elites feature (never the score), and the critique
// reaches the prompts of the judged candidate's children.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { isJudgeRequest, judgeAnswer } from '../../test-support/judge-responder.ts'
import { startOpenAiTestServer } from '../../test-support/openai-server.ts'
import { openDatabase } from '../db.ts'
import { JUDGE_METRIC } from '../engine/judge.ts'
import { costUsd } from '../../client-safe/model-config.ts'
import { scratchDirs } from '../../test-support/scratch.ts'

const { tempDir } = scratchDirs('fm-judge-')

const KEY = 'sk-test-JUDGE'
const PRICES = { pricePer1kIn: 0.4, pricePer1kOut: 1.6 }
const JUDGE_PRICES = { pricePer1kIn: 0.1, pricePer1kOut: 0.3 }

/** A model of the stand-in at `url`, its key in FM_JUDGE_TEST_KEY. */
const model = (name: string, url: string, prices = {}) => ({
  provider: 'openai',
  model: name,
  baseURL: url,
  apiKeyEnv: 'FM_JUDGE_TEST_KEY',
  ...prices,
})

/** `fm-agent run` of the curve-fit problem with this run config, in a new data folder. */
async function runWith(config: object, ...args: string[]) {
  const dataDir = tempDir()
  const file = join(dataDir, 'run.json')
  writeFileSync(file, JSON.stringify(config))
  const r = await cli(
    ['run', join(FIXTURES, 'curve-fit'), '--config', file, ...args, '--json', '--data-dir', dataDir],
    {
      FM_JUDGE_TEST_KEY: KEY,
    },
  )
  return { r, dataDir }
}

describe('a judge model', () => {
  it('reviews every 2nd valid candidate, within the budget, and its critique reaches the children', async () => {
    const server = await startOpenAiTestServer({ apiKey: KEY, literalEdit: { precision: 10 } })
    try {
      const { r, dataDir } = await runWith(
        {
          mutator: 'llm',
          models: [model('coder', server.url, PRICES)],
          judge: { model: model('reviewer', server.url, JUDGE_PRICES), every: 2, maxSpendShare: 1, feature: true },
          islands: 2,
          coldStartSize: 4,
        },
        '--max-evals',
        '40',
        '--seed',
        '2',
      )
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 40 })
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const run = await db.prisma.run.findUniqueOrThrow({ where: { id: r.json.runId } })
        const all = await db.prisma.candidate.findMany({ where: { runId: run.id }, orderBy: { seq: 'asc' } })
        const evaluated = all.filter((c) => c.status === 'evaluated').sort((a, b) => a.evalIndex! - b.evalIndex!)
        const valid = evaluated.filter((c) => c.valid)
        type Review = {
          rating?: number
          critique?: string
          model: string
          costUsd: number
          tokensIn: number
          tokensOut: number
        }
        const judged = all.filter((c) => c.judge !== null)
        // every 2nd valid candidate, in the order results were stored; invalid ones never
        expect(judged.map((c) => c.id).sort()).toEqual(
          valid
            .filter((_, i) => i % 2 === 0)
            .map((c) => c.id)
            .sort(),
        )
        for (const c of judged) {
          const j = c.judge as Review
          expect(j.model).toBe('openai:reviewer')
          expect(j.rating).toBeGreaterThan(0)
          expect(j.rating).toBeLessThan(1)
          // a secondary metric and a feature, never the score
          expect((c.metrics as Record<string, number>)[JUDGE_METRIC]).toBe(j.rating)
          expect((c.features as Record<string, number>)[JUDGE_METRIC]).toBe(j.rating)
          expect(c.score).toBe((c.metrics as Record<string, number>).mse)
          expect(j.costUsd).toBeCloseTo(costUsd(JUDGE_PRICES, j.tokensIn, j.tokensOut), 9)
        }
        // the spend is exact: every model call and every judge call, as the server counted their tokens
        const judgeRequests = server
          .chatRequests()
          .filter((q) => isJudgeRequest((q.body as { messages: Array<{ role: string; content: string }> }).messages))
        expect(judgeRequests).toHaveLength(judged.length)
        const serverSpend = server.chatRequests().reduce((sum, q) => {
          const usage = q.response!.usage!
          const prices = isJudgeRequest((q.body as { messages: Array<{ role: string; content: string }> }).messages)
            ? JUDGE_PRICES
            : PRICES
          return sum + costUsd(prices, usage.prompt_tokens, usage.completion_tokens)
        }, 0)
        const stored =
          all.reduce((s, c) => s + c.costUsd, 0) + judged.reduce((s, c) => s + (c.judge as Review).costUsd, 0)
        expect(run.spendUsd).toBeCloseTo(stored, 9)
        expect(run.spendUsd).toBeCloseTo(serverSpend, 9)
        // every call, the judge's included, came with its token counts
        expect(run.spendEstimated).toBe(false)
        expect(judged.reduce((s, c) => s + (c.judge as Review).costUsd, 0)).toBeGreaterThan(0)
        // the critique of a judged parent is in its children's prompts
        const byId = new Map(all.map((c) => [c.id, c]))
        const children = all.filter(
          (c) => c.origin === 'mutation' && c.prompt && (byId.get(c.parentIds[0]!)?.judge as Review | null)?.critique,
        )
        expect(children.length).toBeGreaterThan(3)
        for (const c of children) expect(c.prompt).toContain((byId.get(c.parentIds[0]!)!.judge as Review).critique!)
        expect(children[0]!.prompt).toMatch(/A reviewer's critique of the current program \(rating 0\.\d+ of 1\)/)
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  }, 300_000)

  it('a judge that fails every review is said, then switched off, and the run goes on', async () => {
    const coder = await startOpenAiTestServer({ literalEdit: { precision: 10 } })
    const broken = await startOpenAiTestServer({
      responder: () => ({ type: 'error', status: 500, message: 'judge exploded', retryAfterMs: 1 }),
    })
    try {
      const { r } = await runWith(
        {
          mutator: 'llm',
          models: [model('coder', coder.url)],
          judge: { model: model('reviewer', broken.url), every: 1 },
        },
        '--max-evals',
        '40',
      )
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 40 })
      expect(r.stderr).toMatch(/the judge openai:reviewer gave no review \(model error \(server\): .*judge exploded/)
      expect(r.stderr).toMatch(
        /the judge openai:reviewer failed 5 reviews in a row .*; it is off for the rest of this session and the run goes on without reviews/,
      )
      // its five failures and the reviews already asked for then (2 attempts each), not one per candidate
      const calls = broken.chatRequests().length
      expect(calls).toBeLessThan(2 * 40)
    } finally {
      await Promise.all([coder.close(), broken.close()])
    }
  })

  it("a judge whose answers carry no token counts marks the run's spend as an estimate", async () => {
    const coder = await startOpenAiTestServer({ literalEdit: { precision: 10 } })
    const reviewer = await startOpenAiTestServer({
      responder: (req) => ({ content: judgeAnswer(req.messages) ?? '', usage: null }),
    })
    try {
      const { r, dataDir } = await runWith(
        {
          mutator: 'llm',
          models: [model('coder', coder.url, PRICES)],
          judge: { model: model('reviewer', reviewer.url, JUDGE_PRICES), every: 1, maxSpendShare: 1 },
          coldStartSize: 4,
        },
        '--max-evals',
        '8',
      )
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(reviewer.chatRequests().length).toBeGreaterThan(0)
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const run = await db.prisma.run.findUniqueOrThrow({ where: { id: r.json.runId } })
        expect(run.spendEstimated).toBe(true)
        const reviews = (
          await db.prisma.candidate.findMany({ where: { runId: run.id }, select: { judge: true } })
        ).filter((c) => c.judge !== null)
        expect(reviews.length).toBeGreaterThan(0)
        for (const c of reviews) expect(c.judge).toMatchObject({ usageEstimated: true })
      } finally {
        await db.close()
      }
    } finally {
      await Promise.all([coder.close(), reviewer.close()])
    }
  })
})
