// The offline producer honours the run's operator weights: an arm whose operator does not apply
// gives way only to arms the run allows, and the child is credited to the arm that made it. The
// model's producer refuses a program no worker would take, and an edit whose blocks do not all
// apply, and tells the model why (answers from the OpenAI-protocol stand-in).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseModelSpec } from '../../client-safe/model-config.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { MAX_CODE_BYTES } from '../contracts/evaluation.ts'
import type { ProblemSpec } from '../contracts/problem.ts'
import { StepAdapter } from '../engine/operators-local.ts'
import { Rng } from '../engine/rng.ts'
import { Ensemble } from '../llm/ensemble.ts'
import {
  coldStartArms,
  LOCAL_ARMS,
  type LlmProduceInput,
  MAX_STORED_ANSWER_CHARS,
  produceLocal,
  produceWithModel,
  storedAnswer,
} from './producer.ts'
import { RunConfig } from '../../client-safe/run-config.ts'

// literals to cross and perturb, but no function blocks to swap between parents
const PARENT = { id: 'p', code: 'A = 1.5\nB = 2.25\nprint(A * B)\n' }
const MATE = { id: 'm', code: 'A = 3.5\nB = 0.25\nprint(A * B)\n' }
const crossoverOnly = LOCAL_ARMS.map((a) => ({ id: a.id, weight: a.operator.startsWith('crossover') ? 1 : 0 }))

describe('produceLocal', () => {
  it('gives way from an arm that does not apply to another the run allows, and credits that one', () => {
    const operators = new Set<string>()
    for (let seed = 0; seed < 40; seed++) {
      const r = produceLocal(
        'crossover-blocks',
        PARENT,
        MATE,
        'python',
        new Rng(seed),
        new StepAdapter(),
        crossoverOnly,
      )
      if ('rejected' in r) continue
      operators.add(r.operator)
      // the arm the bandit learns from is the one that made the child
      expect(`local:${r.arm}`).toBe(r.operator)
      expect(r.operatorParams).toMatchObject({ arm: r.arm })
      if (r.arm !== 'crossover-blocks') expect(r.operatorParams).toMatchObject({ insteadOf: 'crossover-blocks' })
    }
    // weight 0 takes perturb and swap out of the fallback too
    expect([...operators]).toEqual(['local:crossover-literals'])
  })

  it('without a mate, a run of crossovers only has nothing that applies: rejected, not perturbed', () => {
    const r = produceLocal('crossover-literals', PARENT, null, 'python', new Rng(1), new StepAdapter(), crossoverOnly)
    expect(r).toMatchObject({ rejected: true, reason: 'no offline operator applies to this program' })
  })

  it('the cold start takes in turn every variant the run allows: an operator weighted 0 is out', () => {
    expect(coldStartArms(RunConfig.parse({}))).toEqual(LOCAL_ARMS.map((a) => a.id))
    const noSwap = coldStartArms(RunConfig.parse({ localOperators: { swap: 0 } }))
    expect(noSwap.length).toBeGreaterThan(0)
    expect(noSwap).toEqual(LOCAL_ARMS.filter((a) => a.operator !== 'swap').map((a) => a.id))
  })

  it('with every arm allowed (the cold start), a perturbation variant is credited by its own id', () => {
    const r = produceLocal('crossover-blocks', PARENT, null, 'python', new Rng(2), new StepAdapter())
    expect('rejected' in r).toBe(false)
    if ('rejected' in r) return
    const spec = LOCAL_ARMS.find((a) => a.id === r.arm)!
    expect(`local:${spec.operator}`).toBe(r.operator)
  })
})

describe('produceWithModel', () => {
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

  const input = (mode: 'diff' | 'full'): LlmProduceInput => ({
    mode,
    modelId: 'openai:m',
    problem: {
      id: 'p',
      name: 'p',
      description: 'Maximize A * B.',
      spec: { language: 'python', direction: 'max', primaryMetric: 'score' } as ProblemSpec,
      seedCode: PARENT.code,
      bundleHash: 'h',
    },
    parent: { ...PARENT, score: 3.375 },
    inspirations: [],
    guidance: [],
    knowledge: [],
    lessons: [],
    notes: [],
    tokenBudget: 8000,
  })

  it('refuses a program over the bound a worker takes, and says so to the model', async () => {
    const huge = `A = 1.5\nB = 2.25\n${'# padding line of the program\n'.repeat(Math.ceil(MAX_CODE_BYTES / 30) + 10)}print(A * B)\n`
    server.enqueue({ content: `\`\`\`python\n${huge}\`\`\`` })
    const r = await produceWithModel(ensemble, input('full'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toMatch(
      /^answer not evaluated: the program has [\d,]+ characters, over the 262,144 a candidate may have$/,
    )
    expect(r.feedback).toMatch(/at most 262,144\. Keep it shorter\.$/)
    expect(r.tokensOut).toBeGreaterThan(0)
  })

  it("a call the run itself cancelled is recorded as not answered, not as the provider's error", async () => {
    const r = await produceWithModel(ensemble, { ...input('diff'), signal: AbortSignal.abort() })
    expect(r).toMatchObject({
      rejected: true,
      errorKind: 'aborted',
      reason: 'not answered: the run ended before openai:m answered',
    })
  })

  it('refuses an answer cut off at the output limit, whatever it holds, and says why', async () => {
    server.enqueue({ content: '```python\nA = 2.5\nB = 2.25\nprint(A *', finishReason: 'length' })
    const r = await produceWithModel(ensemble, input('full'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toMatch(
      /^answer truncated: the model stopped at its output limit \(finish reason length\); raise the model's maxTokens/,
    )
    expect(r.feedback).toMatch(/cut off at the output limit/)
  })

  it('refuses a program in another language, naming it, and tells the model which language to use', async () => {
    server.enqueue({ content: '```javascript\nconst A = 2.5\nconst B = 2.25\nconsole.log(A * B)\n```' })
    const r = await produceWithModel(ensemble, input('full'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toBe(
      "answer not applied: its program is in JavaScript (a `javascript` block), and this problem's programs are in Python",
    )
    expect(r.feedback).toMatch(/was a JavaScript program; this problem's programs are Python\. Answer in Python\.$/)
  })

  // An edit partly applied used to be evaluated: its blocks often depend on each other (a call in
  // one, the definition in the block that failed), so the program was one the model never wrote.
  it('refuses an edit whose blocks do not all apply, and tells the model which block did not and why', async () => {
    server.enqueue({
      content: [
        '<<<<<<< SEARCH\nA = 1.5\n=======\nA = 2.5\n>>>>>>> REPLACE',
        '<<<<<<< SEARCH\nC = 9\n=======\nC = 10\n>>>>>>> REPLACE',
      ].join('\n'),
    })
    const r = await produceWithModel(ensemble, input('diff'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    const why =
      'block 2 of 2 did not apply: not-found (no line of the search text occurs in the code (first search line: `C = 9`))'
    expect(r.reason).toBe(`answer not applied: ${why}`)
    expect(r.feedback).toBe(
      `Your previous edit was not applied: ${why}. Copy SEARCH text exactly from the current program. An edit is applied only when all its blocks apply: send them all again.`,
    )
  })

  it('refuses an edit with a block outside the EVOLVE-BLOCK whole, and says where edits may go', async () => {
    const code = 'LABEL = "fit"\n# EVOLVE-BLOCK-START\nA = 1.5\nB = 2.25\n# EVOLVE-BLOCK-END\nprint(A * B)\n'
    server.enqueue({
      content: [
        '<<<<<<< SEARCH\nA = 1.5\n=======\nA = 2.5\n>>>>>>> REPLACE',
        '<<<<<<< SEARCH\nLABEL = "fit"\n=======\nLABEL = "better"\n>>>>>>> REPLACE',
      ].join('\n'),
    })
    const r = await produceWithModel(ensemble, { ...input('diff'), parent: { id: 'p', code, score: 3.375 } })
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toMatch(
      /^answer not applied: block 2 of 2 did not apply: outside-evolve-block \(the search text matches at line 1/,
    )
    expect(r.feedback).toMatch(
      /\. Only edit code between the EVOLVE-BLOCK markers\. An edit is applied only when all its blocks apply/,
    )
  })

  it("tells the model the parser's reasons when its blocks were malformed, not that it sent none", async () => {
    const answers = [
      // no divider
      ['<<<<<<< SEARCH\nA = 1.5\n>>>>>>> REPLACE', 'block at line 1 has no "=======" divider: discarded'],
      // no REPLACE marker, although the model finished
      [
        '<<<<<<< SEARCH\nA = 1.5\n=======\nA = 2.5\n',
        'block at line 1 has no REPLACE marker (answer truncated?): discarded',
      ],
      // an RST underline in a docstring: several dividers
      [
        '<<<<<<< SEARCH\nA = 1.5\n=======\n"""Constants\n=======\n"""\nA = 2.5\n>>>>>>> REPLACE',
        'block at line 1 has 2 "=======" dividers: discarded',
      ],
    ]
    for (const [content, why] of answers) {
      server.enqueue({ content: content! })
      const r = await produceWithModel(ensemble, input('diff'))
      expect(r).toMatchObject({ rejected: true, reason: `answer not applied: ${why}` })
      if (!('rejected' in r)) return
      expect(r.feedback).toBe(
        `Your previous answer's SEARCH/REPLACE blocks could not be read: ${why}. Write each block as <<<<<<< SEARCH, the exact lines to change, =======, their new text, >>>>>>> REPLACE, each marker on a line of its own.`,
      )
    }
    // nothing at all: the general note stays
    server.enqueue({ content: 'I would rather not change anything.' })
    const none = await produceWithModel(ensemble, input('diff'))
    expect(none).toMatchObject({
      rejected: true,
      reason: 'answer not applied: no edit found in the answer',
      feedback: 'Your previous answer had neither SEARCH/REPLACE blocks nor a fenced program.',
    })
  })

  it('refuses an edit one of whose blocks was malformed, though the others apply', async () => {
    server.enqueue({
      content: [
        '<<<<<<< SEARCH\nA = 1.5\n=======\nA = 2.5\n>>>>>>> REPLACE',
        '<<<<<<< SEARCH\nB = 2.25\n>>>>>>> REPLACE',
      ].join('\n'),
    })
    const r = await produceWithModel(ensemble, input('diff'))
    expect(r).toMatchObject({
      rejected: true,
      reason:
        'answer not applied: block at line 6 has no "=======" divider: discarded; its other 1 block(s) were not applied either',
    })
    if (!('rejected' in r)) return
    expect(r.feedback).toMatch(
      /^Your previous edit was not applied: block at line 6 has no "=======" divider: discarded; /,
    )
  })

  it('names a unified diff as not accepted, to the model too, in a diff or a rewrite prompt', async () => {
    const diff = '```diff\n--- a/program.py\n+++ b/program.py\n@@ -1,2 +1,2 @@\n-A = 1.5\n+A = 2.5\n B = 2.25\n```'
    for (const mode of ['diff', 'full'] as const) {
      server.enqueue({ content: `Here is the change:\n${diff}` })
      const r = await produceWithModel(ensemble, input(mode))
      expect(r).toMatchObject({
        rejected: true,
        reason: 'answer not applied: it is a unified diff, which is not accepted: answer with SEARCH/REPLACE blocks',
      })
      if (!('rejected' in r)) return
      expect(r.feedback).toMatch(
        /^Your previous answer was a unified diff, which is not accepted: answer with SEARCH\/REPLACE blocks \(<<<<<<< SEARCH, /,
      )
    }
  })

  it('an edit whose REPLACE equals its SEARCH is refused as changing nothing, not as a SEARCH that did not match', async () => {
    server.enqueue({ content: '<<<<<<< SEARCH\nA = 1.5\n=======\nA = 1.5\n>>>>>>> REPLACE' })
    const r = await produceWithModel(ensemble, input('diff'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toBe(
      'answer not applied: the edit changes nothing (its REPLACE text is the same as its SEARCH text)',
    )
    expect(r.feedback).toMatch(/^Your previous edit changed nothing: .*Make the REPLACE text differ/)
    expect(r.feedback).not.toMatch(/Copy SEARCH/)
  })

  it('a full rewrite identical to its parent is refused as changing nothing, and the model is told so', async () => {
    server.enqueue({ content: `\`\`\`python\n${PARENT.code}\`\`\`` })
    const r = await produceWithModel(ensemble, input('full'))
    expect(r).toMatchObject({ rejected: true })
    if (!('rejected' in r)) return
    expect(r.reason).toBe(
      'answer not applied: the edit changes nothing (its rewritten program is the same as the current one)',
    )
    expect(r.feedback).toMatch(/^Your previous answer changed nothing/)
  })

  it('stores at most 20,000 characters of an answer, with its length, accepted or refused', async () => {
    const prose = `${'An explanation that goes on. '.repeat(2_000)}\n`
    server.enqueue(
      { content: `${prose}<<<<<<< SEARCH\nA = 1.5\n=======\nA = 2.5\n>>>>>>> REPLACE` },
      { content: `${prose}no edit at all` },
    )
    const accepted = await produceWithModel(ensemble, input('diff'))
    const refused = await produceWithModel(ensemble, input('diff'))
    expect('rejected' in accepted).toBe(false)
    expect(refused).toMatchObject({ rejected: true })
    for (const r of [accepted, refused]) {
      expect(r.response!.length).toBeLessThan(MAX_STORED_ANSWER_CHARS + 200)
      expect(r.response).toMatch(/answer cut here for storage: [\d,]+ characters in all/)
    }
    if (!('rejected' in accepted)) expect(accepted.code).toContain('A = 2.5')
    // a short answer is stored whole
    expect(storedAnswer('short')).toBe('short')
  })
})
