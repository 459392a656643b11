// The request path tells the model when its answer made a program the run already has: untold, the
// next prompt on that parent was the same question, answered alike, until the run failed on a
// streak of duplicates (the parts around the requester are stand-ins recording what it does).
import { describe, expect, it } from 'vitest'
import { RunConfig } from '../../client-safe/run-config.ts'
import type { Db } from '../db.ts'
import type { CostAwareBandit } from '../engine/bandit.ts'
import { Evolution } from '../engine/evolution.ts'
import type { PlannedRequest } from './planner.ts'
import type { Produced } from './producer.ts'
import { Requester, type RequesterDeps } from './requester.ts'
import type { ProblemSnapshot } from './service.ts'
import { RunState } from './state.ts'

function harness() {
  const s = new RunState({} as Db, 'run-1')
  s.config = RunConfig.parse({})
  s.problem = { spec: { language: 'python', direction: 'max' } } as unknown as ProblemSnapshot
  s.evo = new Evolution({ language: 'python', direction: 'max', islands: 1, islandCapacity: 5, archiveSize: 3 })
  s.bandit = { update: () => {} } as unknown as CostAwareBandit
  const submitted: string[] = []
  const rejected: string[] = []
  const deps = {
    runId: 'run-1',
    state: s,
    signal: new AbortController().signal,
    halted: () => false,
    failNow: (reason: string) => {
      throw new Error(reason)
    },
    exhausted: () => {},
    events: { publish: (e: { payload: { reason: string } }) => rejected.push(e.payload.reason) },
    log: { warn: () => {}, info: () => {} },
    budget: { settle: () => {}, release: () => {}, timeUp: () => false, limits: { maxEvals: 100 } },
    planner: { observeCost: () => {} },
    pool: { retired: new Set() },
    store: { insertCandidate: async () => {}, insertRejection: async () => {} },
    dispatcher: { submit: (f: { id: string }) => submitted.push(f.id) },
    cold: { takes: () => false, nearDuplicate: () => false },
  } as unknown as RequesterDeps
  const requester = new Requester(deps)
  const answer = (code: string, feedback?: string): PlannedRequest => ({
    kind: 'evolve',
    island: 0,
    arm: 'openai:m',
    modelId: 'openai:m',
    expectedCostUsd: 0,
    parentId: 'p',
    parentScore: 1,
    guidanceIds: [],
    produce: async (): Promise<Produced> => ({
      code,
      origin: 'mutation',
      operator: 'llm:diff',
      operatorParams: {},
      description: '1 of 1 edit block(s) applied',
      parentIds: ['p'],
      tokensIn: 10,
      tokensOut: 10,
      costUsd: 0,
      arm: 'openai:m',
      ...(feedback ? { feedback } : {}),
    }),
  })
  return { s, requester, submitted, rejected, answer }
}

describe('Requester: an answer that duplicates a candidate', () => {
  it('tells the next prompt on its parent which candidate it copied and how that one did', async () => {
    const { s, requester, submitted, rejected, answer } = harness()
    await requester.request(answer('A = 2.5\nprint(A)\n'))
    expect(submitted).toHaveLength(1)
    const first = submitted[0]!
    s.scores.set(first, 2.5)
    // an earlier answer's note, about another program: not repeated in place of the duplicate's
    s.setNote(0, 'p', 'Your previous edit was not applied: block 1 of 1 did not apply.')
    // the same program up to spacing and comments
    await requester.request(answer('A  =  2.5   # again\nprint(A)\n'))
    expect(rejected).toEqual(['duplicate of an existing candidate (same normalized code)'])
    expect(s.notesFor(0, 'p')).toEqual([
      `Your previous answer produced a program already evaluated (candidate ${first.slice(0, 8)}, score 2.5); propose a different change.`,
    ])
    // invalid; the producer's note on this answer, said of an answer used, is not true of one turned away
    s.scores.set(first, null)
    await requester.request(
      answer('A = 2.5\nprint(A)\n', 'Your previous answer was used, but its LABEL edit was undone.'),
    )
    expect(s.notesFor(0, 'p')).toEqual([
      `Your previous answer produced a program already evaluated (candidate ${first.slice(0, 8)}, invalid); propose a different change.`,
    ])
    // a new program clears the note
    await requester.request(answer('A = 3.5\nprint(A)\n'))
    expect(s.notesFor(0, 'p')).toEqual([])
  })

  it('names a member made before this session (a resumed run), and one still being evaluated', async () => {
    const { s, requester, submitted, answer } = harness()
    const code = 'B = 7\nprint(B)\n'
    s.evo.ingest({ id: 'c0ffee00-aaaa-bbbb-cccc-000000000000', island: 0, code, score: 7 })
    s.scores.set('c0ffee00-aaaa-bbbb-cccc-000000000000', 7)
    s.code.set('c0ffee00-aaaa-bbbb-cccc-000000000000', code)
    s.hashes.add(s.evo.islands[0]!.members().next().value!.codeHash)
    await requester.request(answer(code))
    expect(s.notesFor(0, 'p')).toEqual([
      'Your previous answer produced a program already evaluated (candidate c0ffee00, score 7); propose a different change.',
    ])
    await requester.request(answer('C = 1\nprint(C)\n'))
    await requester.request(answer('C = 1\nprint(C)\n'))
    expect(s.notesFor(0, 'p')).toEqual([
      `Your previous answer produced a program this run already has (candidate ${submitted[0]!.slice(0, 8)}); propose a different change.`,
    ])
  })
})
