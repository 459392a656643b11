// The dispatcher's retry of an infra failure: the retry names the workers that failed the earlier
// attempts, so the queue can keep it from them (server/queue/backoff.test.ts, on real PostgreSQL).
import { describe, expect, it } from 'vitest'
import type { EvalJob, EvalResult, EvaluationBackend } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { Dispatcher, type InFlight } from './dispatcher.ts'
import type { ProblemSnapshot } from './service.ts'

const problem = {
  id: 'p',
  bundleHash: 'a'.repeat(64),
  spec: { language: 'python', limits: { timeoutS: 5, memoryMb: 256 } },
} as unknown as ProblemSnapshot

function setup() {
  const submitted: EvalJob[] = []
  const finals: EvalResult[] = []
  const backend = { submit: async (j: EvalJob) => void submitted.push(j) } as unknown as EvaluationBackend
  const db = { sql: async () => [] } as unknown as Db
  const d = new Dispatcher(
    { db, backend, log: silentLogger },
    'run-1',
    () => problem,
    (_f, r) => void finals.push(r),
    () => true,
  )
  return { d, submitted, finals }
}

const inflight = (): InFlight => ({
  id: 'c1',
  island: 0,
  origin: 'mutation',
  parentIds: [],
  parentScore: null,
  arm: null,
  cost: 0,
  attempt: 0,
  code: 'x = 1\n',
  prepared: { codeHash: 'h', sketch: {} as InFlight['prepared']['sketch'] },
})

const infra = (attempt: number, workerId: string): EvalResult => ({
  jobId: 'c1',
  attempt,
  workerId,
  valid: false,
  metrics: {},
  features: {},
  artifacts: {},
  stage: 0,
  timing: { queuedMs: 0, startedAt: 0, sandboxMs: 0, evaluatorMs: 0 },
  error: { kind: 'infra', message: 'the sandbox could not start' },
})

describe('a retry after infra errors', () => {
  it('names every worker that failed the earlier attempts; the engine itself is not one', async () => {
    const { d, submitted, finals } = setup()
    d.submit(inflight())
    expect(submitted[0]!.avoidWorkers).toBeUndefined()
    await d.onResult(infra(0, 'host-a-1'))
    expect(submitted[1]).toMatchObject({ attempt: 1, avoidWorkers: ['host-a-1'] })
    await d.onResult(infra(1, 'engine'))
    expect(submitted[2]).toMatchObject({ attempt: 2, avoidWorkers: ['host-a-1'] })
    expect(finals).toEqual([])
  })
})
