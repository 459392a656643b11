import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, collect, FIXTURES, startCli } from '../../test-support/cli.ts'
import { literalEditResponder } from '../../test-support/literal-edit-responder.ts'
import { startOpenAiTestServer, type ScriptedResponse } from '../../test-support/openai-server.ts'
import { openDatabase } from '../db.ts'
import { scratchDirs } from '../../test-support/scratch.ts'

const { tempDir, configFile } = scratchDirs('fm-pipeline-')

const CURVE = join(FIXTURES, 'curve-fit')
const KEY = { OPENAI_API_KEY: 'sk-test-PIPELINE' }

/** A responder that edits one literal, and counts the requests it holds at once. */
function countingResponder(opts: { holdMs?: number } = {}) {
  const edit = literalEditResponder({ precision: 10 })
  const state = { inFlight: 0, maxInFlight: 0, answered: 0 }
  const respond = async (info: { messages: Array<{ role: string; content: string }> }): Promise<ScriptedResponse> => {
    state.inFlight++
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
    try {
      if (opts.holdMs) await new Promise((r) => setTimeout(r, opts.holdMs))
      state.answered++
      return edit(info)
    } finally {
      state.inFlight--
    }
  }
  return { state, respond }
}

describe('model requests in flight, independent of the workers', () => {
  it('keeps many requests in flight with one worker, and evaluates exactly the budget', async () => {
    const { state, respond } = countingResponder({ holdMs: 300 })
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: respond })
    try {
      const r = await cli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          '70',
          '--workers',
          '1',
          '--json',
          '--data-dir',
          tempDir(),
        ],
        {
          OPENAI_BASE_URL: server.url,
          ...KEY,
        },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 70 })
      // one worker, yet the model saw many requests at once (the old engine: one per worker)
      expect(state.maxInFlight).toBeGreaterThanOrEqual(8)
      expect(r.json.pipeline.requests).toBeGreaterThan(1)
      // the progress line says where the run waits
      expect(r.stderr).toMatch(
        /model \d+(\.\d)? in flight \(limit \d+\) · \d+(\.\d)? waiting · workers \d+(\.\d)?\/1 busy/,
      )
    } finally {
      await server.close()
    }
  })
})

describe('a provider that pushes back', () => {
  it('a 429 storm halves the requests in flight and the run still completes its budget', async () => {
    const { respond } = countingResponder()
    let n = 0
    const server = await startOpenAiTestServer({
      apiKey: KEY.OPENAI_API_KEY,
      responder: (info) => (n++ >= 6 && n < 40 ? { type: 'error', status: 429, retryAfterMs: 20 } : respond(info)),
    })
    try {
      const dataDir = tempDir()
      const r = await cli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          '50',
          '--concurrency',
          '8',
          '--json',
          '--data-dir',
          dataDir,
        ],
        { OPENAI_BASE_URL: server.url, ...KEY },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 50 })
      expect(server.chatRequests().filter((q) => q.response?.status === 429).length).toBeGreaterThan(10)
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const rows = await db.prisma.runMetric.findMany({
          where: { runId: r.json.runId, island: -1 },
          select: { pipeline: true },
          orderBy: { id: 'asc' },
        })
        const limits = rows
          .map((m) => (m.pipeline as { limit: number } | null)?.limit)
          .filter((l): l is number => typeof l === 'number')
        expect(limits.length).toBeGreaterThan(0)
        // from its limit of 8, halved by the 429s (once per window) and grown back one per window since
        expect(Math.min(...limits)).toBeLessThan(4)
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })

  it('a model that never answers: each request times out, and the run fails with the reason', async () => {
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: () => ({ type: 'hang' }) })
    try {
      const config = configFile({
        mutator: 'llm',
        models: [
          {
            provider: 'openai',
            model: 'silent-model',
            baseURL: server.url,
            apiKeyEnv: 'OPENAI_API_KEY',
            timeoutS: 0.5,
          },
        ],
      })
      const r = await cli(
        ['run', CURVE, '--config', config, '--max-evals', '40', '--json', '--data-dir', tempDir()],
        KEY,
      )
      expect(r.code).toBe(1)
      expect(r.json.status).toBe('failed')
      expect(r.json.statusReason).toMatch(/did not answer 8 requests in a row/)
      expect(r.json.statusReason).toMatch(/timeout/)
      // only the seed was evaluated: nothing came back to evaluate
      expect(r.json.evaluations).toBe(1)
    } finally {
      await server.close()
    }
  })
})

describe('kill -9 with many model requests in flight', () => {
  it('resumes with nothing evaluated twice, nothing lost, the budget exact and the spend of every answer recorded', async () => {
    const { respond } = countingResponder()
    let hold = true
    let answered = 0
    let held = 0
    const release: Array<() => void> = []
    const server = await startOpenAiTestServer({
      apiKey: KEY.OPENAI_API_KEY,
      responder: async (info) => {
        // the first answers let the run grow its requests in flight; then every request is held
        if (hold && answered >= 40) {
          held++
          await new Promise<void>((r) => release.push(r))
        }
        answered++
        return respond(info)
      },
    })
    try {
      const dataDir = tempDir()
      const config = configFile({
        mutator: 'llm',
        budget: { maxEvals: 120 },
        models: [
          {
            provider: 'openai',
            model: 'priced-model',
            baseURL: server.url,
            apiKeyEnv: 'OPENAI_API_KEY',
            pricePer1kIn: 0.5,
            pricePer1kOut: 2,
          },
        ],
      })
      const child = startCli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], KEY)
      const done = collect(child)
      let runId = ''
      child.stderr!.on('data', (d) => (runId ||= /run ([0-9a-f-]{36}) on/.exec(String(d))?.[1] ?? ''))
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (held >= 16) {
            clearInterval(t)
            child.kill('SIGKILL')
            resolve()
          }
        }, 20)
        child.once(
          'exit',
          () => (clearInterval(t), reject(new Error('the run ended before 16 requests were in flight'))),
        )
      })
      await done
      hold = false
      for (const r of release.splice(0)) r()
      expect(runId).not.toBe('')
      const r = await cli(['resume', runId, '--json', '--data-dir', dataDir], { OPENAI_BASE_URL: server.url, ...KEY })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 120 })
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const all = await db.prisma.candidate.findMany({
          where: { runId },
          select: { status: true, evalIndex: true, costUsd: true },
        })
        const indexes = all
          .filter((c) => c.status === 'evaluated')
          .map((c) => c.evalIndex!)
          .sort((a, b) => a - b)
        expect(indexes).toEqual(Array.from({ length: 120 }, (_, i) => i))
        const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { spendUsd: true } })
        const paid = all.reduce((s, c) => s + c.costUsd, 0)
        expect(paid).toBeGreaterThan(0)
        expect(run.spendUsd).toBeCloseTo(paid, 9)
      } finally {
        await db.close()
      }
    } finally {
      hold = false
      for (const r of release.splice(0)) r()
      await server.close()
    }
  })
})
