import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { Ensemble, type EnsembleEvent } from './ensemble.ts'
import { parseModelSpec } from '../../client-safe/model-config.ts'

let server: OpenAiTestServer
beforeAll(async () => {
  server = await startOpenAiTestServer()
})
afterAll(async () => {
  await server.close()
})

describe('Ensemble', () => {
  it('exposes members, weights and per-model stats, and records calls', async () => {
    const e = new Ensemble(
      [
        parseModelSpec('openai:small-model', { baseURL: server.url, weight: 3, pricePer1kIn: 1, pricePer1kOut: 2 }),
        parseModelSpec('openai:big-model', { baseURL: server.url, weight: 1 }),
        parseModelSpec('openai:small-model', { baseURL: server.url, temperature: 1.2 }),
      ],
      { env: {}, retry: { maxAttempts: 2, baseDelayMs: 1 } },
    )
    expect(e.ids).toEqual(['openai:small-model', 'openai:big-model', 'openai:small-model#2'])
    expect(e.weights()).toEqual([3, 1, 1])
    expect(e.normalizedWeights()).toEqual([0.6, 0.2, 0.2])
    const events: EnsembleEvent[] = []
    const off = e.subscribe((ev) => events.push(ev))

    server.enqueue({ content: 'a', usage: { prompt_tokens: 1000, completion_tokens: 1000 } })
    const r = await e.complete('openai:small-model', { user: 'x' })
    expect(r).toMatchObject({ memberId: 'openai:small-model', costUsd: 3 })

    server.enqueue({ type: 'error', status: 400, message: 'bad model' })
    const failed = await e.tryComplete('openai:big-model', { user: 'y' })
    expect(failed.ok).toBe(false)

    server.enqueue({ type: 'error', status: 500 }, { content: 'b' })
    await e.complete('openai:small-model#2', { user: 'z' })
    e.recordReward('openai:small-model', 0.5)

    const small = e.get('openai:small-model').stats
    expect(small).toMatchObject({
      calls: 1,
      ok: 1,
      failed: 0,
      tokensIn: 1000,
      tokensOut: 1000,
      costUsd: 3,
      rewards: 1,
      rewardSum: 0.5,
    })
    expect(e.get('openai:big-model').stats).toMatchObject({
      calls: 1,
      ok: 0,
      failed: 1,
      errorsByKind: { 'bad-request': 1 },
    })
    expect(e.get('openai:big-model').stats.lastError?.kind).toBe('bad-request')
    expect(e.get('openai:small-model#2').stats).toMatchObject({ calls: 1, ok: 1, retries: 1 })
    expect(e.totals()).toMatchObject({ calls: 3, ok: 2, failed: 1, costUsd: 3 })
    expect(events.map((ev) => ev.type)).toEqual(['call', 'call', 'call', 'reward'])
    off()
    e.setWeight('openai:big-model', 5)
    expect(e.weights()).toEqual([3, 5, 1])
    expect(() => e.get('nope')).toThrow(/no model/)
    expect(JSON.parse(JSON.stringify(e.snapshot()))[0]).toMatchObject({ id: 'openai:small-model', weight: 3 })
  })

  it('needs at least one model', () => {
    expect(() => new Ensemble([])).toThrow()
  })
})
