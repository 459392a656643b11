// A model's rewrite of a program with an EVOLVE-BLOCK: what becomes of snippets, elided code, a usage
// example fenced beside the program, and edits outside the block, and what the model is told about each
// (answers from the OpenAI-protocol stand-in).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseModelSpec } from '../../client-safe/model-config.ts'
import { type OpenAiTestServer, startOpenAiTestServer } from '../../test-support/openai-server.ts'
import type { ProblemSpec } from '../contracts/problem.ts'
import { Ensemble } from '../llm/ensemble.ts'
import { type LlmProduceInput, produceWithModel } from './producer.ts'
import { FIT_PROGRAM } from '../../test-support/fit-program.ts'

const PARENT = FIT_PROGRAM
const fence = (code: string) => `\`\`\`python\n${code}\`\`\``

describe('produceWithModel: rewrites of a program with an EVOLVE-BLOCK', () => {
  let server: OpenAiTestServer
  let ensemble: Ensemble
  beforeAll(async () => {
    server = await startOpenAiTestServer()
    ensemble = new Ensemble([parseModelSpec('openai:m', { baseURL: server.url })], {
      env: { OPENAI_API_KEY: 'sk-test' },
      retry: { maxAttempts: 1, baseDelayMs: 1 },
    })
  })
  afterAll(() => server?.close())

  const input = (): LlmProduceInput => ({
    mode: 'full',
    modelId: 'openai:m',
    problem: {
      id: 'p',
      name: 'p',
      description: 'Fit predict(x) to a hidden function.',
      spec: { language: 'python', direction: 'min', primaryMetric: 'mse' } as ProblemSpec,
      seedCode: PARENT,
      bundleHash: 'h',
    },
    parent: { id: 'p', code: PARENT, score: 0.5 },
    inspirations: [],
    guidance: [],
    knowledge: [],
    lessons: [],
    notes: [],
    tokenBudget: 8000,
  })
  const produce = async (content: string) => {
    server.enqueue({ content })
    return produceWithModel(ensemble, input())
  }

  it('merges a snippet of one function into the block instead of deleting the rest, and says so', async () => {
    const r = await produce(
      `Only predict needs to change:\n${fence('def predict(x):\n    y = A * x * x + B * x + C * 0.722\n    return y + 0.3 * math.sin(D * x)\n')}\nThe rest stays the same.`,
    )
    if ('rejected' in r) throw new Error(r.reason)
    expect(r.code).toBe(
      PARENT.replace('    y = A * x * x + B * x\n    y = y + C\n', '    y = A * x * x + B * x + C * 0.722\n'),
    )
    expect(r.description).toMatch(
      /^full rewrite; its rewrite held only predict of the EVOLVE-BLOCK \(not A, B, C and D/,
    )
    expect(r.feedback).toMatch(/^Your previous answer was used, but its rewrite held only predict /)
  })

  it('refuses a rewrite that leaves code out, naming the placeholder', async () => {
    const lazy = PARENT.replace(
      /A = 0\.5\n[\s\S]*?(?=# EVOLVE-BLOCK-END)/,
      'A = 0.5142\n# ... rest of the block unchanged ...\n',
    )
    const r = await produce(fence(lazy))
    expect(r).toMatchObject({
      rejected: true,
      reason:
        'answer not applied: the rewrite leaves code out ("# ... rest of the block unchanged ..." at line 8): answer with the whole program',
      feedback:
        'Your previous answer was not used: the rewrite leaves code out ("# ... rest of the block unchanged ..." at line 8): answer with the whole program.',
    })
  })

  it('takes the fenced program, not a longer usage example after it', async () => {
    const program = PARENT.replace('A = 0.5', 'A = 0.7')
    const harness = `import initial\nfor x in [${'0.1, '.repeat(40)}2.0]:\n    print(x, initial.predict(x))\n`
    const r = await produce(
      `The key change:\n${fence('A = 0.7\n')}\nFull program:\n${fence(program)}\nTo test it:\n${fence(harness)}`,
    )
    if ('rejected' in r) throw new Error(r.reason)
    expect(r.code).toBe(program)
    expect(r.description).toBe('full rewrite')
  })

  it('says why a rewrite without its markers was refused, and which outside edit a kept rewrite lost', async () => {
    const noMarkers = PARENT.replace(/# EVOLVE-BLOCK-(START|END)\n/g, '').replace('LABEL = "fit"', 'LABEL = "changed"')
    expect(await produce(fence(noMarkers))).toMatchObject({
      rejected: true,
      reason: 'answer not applied: its rewrite removed the EVOLVE-BLOCK markers and changed line 3 outside them',
      feedback: expect.stringMatching(
        /^Your previous answer was not used: its rewrite removed the EVOLVE-BLOCK markers and changed line 3 outside them\. Keep the EVOLVE-BLOCK markers/,
      ),
    })
    const outside = PARENT.replace('LABEL = "fit"', 'LABEL = "fit2"').replace('A = 0.5', 'A = 0.6')
    const r = await produce(fence(outside))
    if ('rejected' in r) throw new Error(r.reason)
    expect(r.code).toBe(PARENT.replace('A = 0.5', 'A = 0.6'))
    expect(r.description).toBe('full rewrite; its edit outside the EVOLVE-BLOCK regions (line 3 changed) was dropped')
    expect(r.feedback).toBe(
      'Your previous answer was used, but its edit outside the EVOLVE-BLOCK regions (line 3 changed) was dropped.',
    )
  })
})
