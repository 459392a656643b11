// A server drives run after run for days: nothing of a finished run may stay in its memory. Runs on
// the model path (the scripted OpenAI-protocol server), as a console's runs are.
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEngineHarness, type EngineHarness } from '../../test-support/engine-harness.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { createRun } from './service.ts'

const RUNS = 5
const EVALS = 300

describe('a process that drives run after run', () => {
  let h: EngineHarness
  let model: OpenAiTestServer
  beforeAll(async () => {
    h = await startEngineHarness({ name: 'memory' })
    // in this process too: it keeps no more requests than the first run makes, so they do not count
    model = await startOpenAiTestServer({ apiKey: 'sk-test-memory', maxRecorded: 100 })
    process.env.FM_TEST_MEMORY_KEY = 'sk-test-memory'
  })
  afterAll(async () => {
    await h?.stop()
    await model?.close()
  })

  it('keeps nothing of the runs it finished', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const heapAfterGc = () => {
      gc()
      gc()
      return process.memoryUsage().heapUsed
    }
    const heaps: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const run = await createRun(
        h.db,
        { id: null, label: 'memory test', role: 'admin', via: 'system' },
        {
          problemId: 'test-curve-fit',
          config: {
            mutator: 'llm',
            models: [{ provider: 'openai', model: 'scripted', baseURL: model.url, apiKeyEnv: 'FM_TEST_MEMORY_KEY' }],
            budget: { maxEvals: EVALS },
          },
        },
      )
      const r = await h.app.runs!.launch(run.id)
      expect(r.status, r.reason ?? '').toBe('completed')
      heaps.push(heapAfterGc())
    }
    // after the first run (code compiled, caches filled) the heap stays put; a run's state left behind
    // (its population, candidates' code, sketches, signals and listeners) would add megabytes each time
    const grown = heaps[RUNS - 1]! - heaps[0]!
    expect(grown, heaps.map((b) => `${(b / 2 ** 20).toFixed(1)} MB`).join(', ')).toBeLessThan(4 * 2 ** 20)
  }, 600_000)
})
