// The expert-seeded cold start, end to end through the real CLI, sandboxed workers and the embedded
// database against the scripted OpenAI-protocol model: several seed programs (`--seed-program`,
// knowledge documents tagged `seed`, the problem's own) evaluated once each and rewritten by
// generators with strategies drawn for the problem and from its knowledge base; a problem with no
// seed program at all, whose first programs the model writes from the description; and a fork
// that really starts from the candidate it was forked from.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { agentResponder, promptKind } from '../../test-support/agent-responder.ts'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { startOpenAiTestServer } from '../../test-support/openai-server.ts'
import { createCaller } from '../api/root.ts'
import { createAppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { openDatabase } from '../db.ts'
import { STRATEGIES } from '../engine/strategies.ts'
import { silentLogger } from '../log.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { EngineManager } from './manager.ts'
import { createBackend } from './evaluation-backend.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { untilProgress } from '../../test-support/progress.ts'

const { tempDir } = scratchDirs('fm-cold-')

const CURVE = join(FIXTURES, 'curve-fit')
const KEY = { OPENAI_API_KEY: 'sk-test-COLD' }
const model = (url: string) => ({
  provider: 'openai',
  model: 'agent-model',
  baseURL: url,
  apiKeyEnv: 'OPENAI_API_KEY',
  pricePer1kIn: 0.5,
  pricePer1kOut: 2,
})

// the curve-fit fixture's hidden function: an expert who knows it brings the exact fit
const program = (a: number, b: number, c: number, d: number) => `import math

# EVOLVE-BLOCK-START
A = ${a}
B = ${b}
C = ${c}
D = ${d}


def predict(x):
    return A * x * x + B * x + C + 0.3 * math.sin(D * x)
# EVOLVE-BLOCK-END
`
const EXACT = program(1.3, -0.4, 0.25, 2.1)
const CLOSE = program(1.2, -0.4, 0.25, 2.0)

function write(dir: string, name: string, text: string) {
  const f = join(dir, name)
  writeFileSync(f, text)
  return f
}

describe('expert-seeded cold start against the scripted model', () => {
  it('evaluates every distinct seed program once (flags, knowledge documents tagged seed, the problem’s own) and rewrites them with strategies for the problem', async () => {
    const agent = agentResponder({ literalEdit: { precision: 10 } })
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: agent.respond })
    try {
      const dir = tempDir()
      const dataDir = join(dir, 'data')
      // the knowledge base: a program tagged seed for this problem, and a technique note
      mkdirSync(join(dir, 'kb'))
      write(join(dir, 'kb'), 'close-fit.py', CLOSE)
      const kbSeed = await cli([
        'kb',
        'import',
        join(dir, 'kb', 'close-fit.py'),
        '--tag',
        'seed',
        '--tag',
        'test-curve-fit',
        '--data-dir',
        dataDir,
      ])
      expect(kbSeed.code, kbSeed.stderr).toBe(0)
      write(
        join(dir, 'kb'),
        'fitting.md',
        '# Least squares for coefficients\n\nFit the coefficients of a model to the hidden curve by least squares on sampled points, then refine the frequency by a one-dimensional search.\n',
      )
      const kbNote = await cli(['kb', 'import', join(dir, 'kb', 'fitting.md'), '--data-dir', dataDir])
      expect(kbNote.code, kbNote.stderr).toBe(0)
      const exact = write(dir, 'exact.py', EXACT)
      // the problem's own seed again, under another name: deduplicated
      const again = write(dir, 'again.py', readFileSync(join(CURVE, 'initial.py'), 'utf8'))
      const config = write(
        dir,
        'run.json',
        JSON.stringify({
          mutator: 'llm',
          islands: 2,
          coldStartSize: 8,
          repairAttempts: 0,
          budget: { maxEvals: 30 },
          models: [model(server.url)],
        }),
      )
      const r = await cli(
        [
          'run',
          CURVE,
          '--config',
          config,
          '--seed-program',
          exact,
          '--seed-program',
          again,
          '--json',
          '--data-dir',
          dataDir,
        ],
        KEY,
      )
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      expect(r.json).toMatchObject({
        status: 'completed',
        evaluations: 30,
        coldStart: { seeds: 3, seedless: false, firstValidAfter: null },
      })
      // the exact fit was a seed: the run's best is at least as good; its seed score stays the
      // problem's own entry program's (the baseline every run of the problem is measured from)
      expect(r.json.best.score).toBeLessThan(1e-12)
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const all = await db.prisma.candidate.findMany({ where: { runId: r.json.runId }, orderBy: { seq: 'asc' } })
        const seeds = all.filter((c) => c.origin === 'seed')
        expect(seeds.map((c) => c.code)).toEqual([readFileSync(join(CURVE, 'initial.py'), 'utf8'), EXACT, CLOSE])
        expect(seeds.every((c) => c.status === 'evaluated' && c.valid)).toBe(true)
        expect(seeds[0]!.score).toBeGreaterThan(1e-3)
        expect(r.json.seedScore).toBe(seeds[0]!.score)
        expect((seeds[2]!.operatorParams as { description: string }).description).toBe(
          'seed program: knowledge document "close-fit.py"',
        )
        // the generators rewrote each seed program in turn
        const cold = all.filter((c) => c.origin === 'cold-start')
        expect(cold.length).toBeGreaterThanOrEqual(6)
        const parents = new Set(cold.map((c) => c.parentIds[0]))
        for (const s of seeds) expect(parents.has(s.id)).toBe(true)
        // strategies drawn for a curve fit (numerical optimization first), and one from the knowledge base
        const prompts = cold.map((c) => c.prompt ?? '')
        const used = STRATEGIES.filter((s) => prompts.some((p) => p.includes(s.text)))
        expect(used.length).toBeGreaterThanOrEqual(4)
        expect(used.map((s) => s.id)).toContain('numeric-opt')
        expect(
          prompts.some(
            (p) =>
              p.includes('Build on this idea from the knowledge base') && p.includes('least squares on sampled points'),
          ),
        ).toBe(true)
        const retrieval = await db.prisma.retrieval.findFirst({ where: { runId: r.json.runId, trigger: 'cold-start' } })
        expect(retrieval).not.toBeNull()
        // the budget counts every seed
        const indexes = all
          .filter((c) => c.status === 'evaluated')
          .map((c) => c.evalIndex!)
          .sort((a, b) => a - b)
        expect(indexes).toEqual(Array.from({ length: 30 }, (_, i) => i))
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })

  it('refuses an unreadable or empty --seed-program with exit code 2', async () => {
    const dir = tempDir()
    const missing = await cli([
      'run',
      CURVE,
      '--operators',
      'local',
      '--seed-program',
      join(dir, 'nope.py'),
      '--data-dir',
      join(dir, 'data'),
    ])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('nope.py: no such file')
    const empty = await cli([
      'run',
      CURVE,
      '--operators',
      'local',
      '--seed-program',
      write(dir, 'empty.py', '\n'),
      '--data-dir',
      join(dir, 'data'),
    ])
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('the file is empty')
  })
})

describe('a problem with no seed program', () => {
  /** the curve-fit fixture without its entry program: a description, the signature and the evaluator */
  function seedless() {
    const dir = join(tempDir(), 'no-seed')
    cpSync(CURVE, dir, { recursive: true })
    rmSync(join(dir, 'initial.py'))
    const spec = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8'))
    writeFileSync(
      join(dir, 'problem.json'),
      JSON.stringify({ ...spec, id: 'test-no-seed', signature: 'def predict(x: float) -> float' }),
    )
    return dir
  }

  it('problem check accepts it: the evaluator runs on an empty program and judges it invalid', async () => {
    const r = await cli(['problem', 'check', seedless(), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id: 'test-no-seed',
      seedless: true,
      signature: 'def predict(x: float) -> float',
      valid: false,
    })
    expect(r.json.feedback).toMatch(/predict/)
  })

  it('writes the first programs from the description until one is valid, says how many it took, then evolves', async () => {
    // the scripted model's first programs fail (one crashes, one lacks the function), then one is valid
    const scratch = (prompt: string, i: number) => {
      expect(prompt).toContain('def predict(x: float) -> float')
      expect(prompt).toContain('Choose the coefficients of predict(x)')
      if (i === 0) return 'raise RuntimeError("not yet")\n'
      if (i === 1) return 'def forecast(x):\n    return 0.0\n'
      return program(1, 0, 0, 1)
    }
    const agent = agentResponder({ scratch })
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: agent.respond })
    try {
      const dir = tempDir()
      // one request at a time, so that the count is the model's, not the pipeline's
      const config = write(
        dir,
        'run.json',
        JSON.stringify({
          mutator: 'llm',
          islands: 1,
          coldStartSize: 1,
          repairAttempts: 0,
          generation: { maxInFlight: 1 },
          budget: { maxEvals: 12 },
          models: [model(server.url)],
        }),
      )
      const r = await cli(['run', seedless(), '--config', config, '--json', '--data-dir', join(dir, 'data')], KEY)
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      expect(r.json).toMatchObject({
        status: 'completed',
        evaluations: 12,
        seedScore: null,
        coldStart: { seeds: 0, seedless: true, firstValidAfter: 3 },
      })
      expect(r.json.best.score).toBeGreaterThanOrEqual(0)
      expect(r.stderr).toContain('the first valid program came after 3 written from the description')
      expect(agent.stats.scratch).toBe(3)
      // then the search went on from the valid one
      const kinds = server
        .chatRequests()
        .map((q) => promptKind((q.body as { messages: Array<{ role: string; content: string }> }).messages))
      expect(kinds.slice(0, 3)).toEqual(['scratch', 'scratch', 'scratch'])
      expect(kinds.slice(3).every((k) => k === 'mutation')).toBe(true)
      const db = await openDatabase({ dataDir: join(dir, 'data'), databaseUrl: '' })
      try {
        const first = await db.prisma.candidate.findMany({
          where: { runId: r.json.runId, origin: 'cold-start' },
          orderBy: { seq: 'asc' },
          take: 3,
        })
        expect(first.map((c) => [c.operator, c.parentIds.length, c.valid])).toEqual([
          ['llm:scratch', 0, false],
          ['llm:scratch', 0, false],
          ['llm:scratch', 0, true],
        ])
        // every change of status is in the run's numbered log (the activity feed), the cold start's end too
        const statuses = await db.prisma.runEvent.findMany({
          where: { runId: r.json.runId, type: 'status' },
          orderBy: { id: 'asc' },
        })
        expect(statuses.map((e) => (e.payload as { status: string }).status)).toEqual([
          'cold-start',
          'evolving',
          'completed',
        ])
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })

  it('a model that never writes a program: the cold start gives up within its bound and says why', async () => {
    const server = await startOpenAiTestServer({
      apiKey: KEY.OPENAI_API_KEY,
      responder: () => ({ content: 'I would rather not write code today.' }),
    })
    try {
      const dir = tempDir()
      const config = write(
        dir,
        'run.json',
        JSON.stringify({ mutator: 'llm', islands: 1, budget: { maxEvals: 10 }, models: [model(server.url)] }),
      )
      const r = await cli(['run', seedless(), '--config', config, '--json', '--data-dir', join(dir, 'data')], KEY)
      expect(r.code, r.stderr.slice(-3000)).toBe(1)
      expect(r.json).toMatchObject({ status: 'failed', evaluations: 0 })
      expect(r.stderr).toMatch(/cold start: no answer gave a program to evaluate \(\d+ of \d+ answers: /)
      // the run's reason says the same: nothing was evaluated, not that what was is invalid
      expect(r.json.statusReason).toMatch(
        /^no valid candidate after the cold start: none of the \d+ answers to the description held a program that could be evaluated \(most often: /,
      )
      // rejected answers cost calls, not budget: at most five per wanted cold-start candidate (8 here)
      expect(server.chatRequests().length).toBeLessThanOrEqual(40)
    } finally {
      await server.close()
    }
  })

  it('is refused for a run without a model, with the reason', async () => {
    const dir = tempDir()
    const r = await cli(['run', seedless(), '--operators', 'local', '--data-dir', join(dir, 'data')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('has no seed program')
  })
})

describe('a fork starts from the forked candidate', () => {
  it('evaluates the source candidate’s program as a seed of the new run, linked back to it', async () => {
    const dir = tempDir()
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    const app = createAppServices(db, null, silentLogger)
    await importProblem(db, CURVE)
    const backend = await createBackend({ db, log: silentLogger, workers: 2 })
    app.backend = backend
    app.runs = new EngineManager({ db, backend, events: app.events, log: silentLogger })
    const as = (role: Role) =>
      createCaller({
        app,
        actor: { id: null, label: `${role}@example.test`, role, via: 'session' } as Actor,
        tokenScope: null,
        headers: new Headers(),
      })
    const finished = (runId: string) =>
      untilProgress(
        app.events,
        async () => {
          const run = await db.prisma.run.findUniqueOrThrow({
            where: { id: runId },
            select: { status: true, statusReason: true },
          })
          return ['completed', 'failed', 'stopped'].includes(run.status) && run
        },
        `run ${runId} to finish`,
      )
    try {
      const source = await as('admin').runs.create({
        problemId: 'test-curve-fit',
        config: { islands: 2, budget: { maxEvals: 24 }, seed: 2 },
      })
      expect(await finished(source.id)).toMatchObject({ status: 'completed' })
      // a candidate that is not the problem's seed (so that the fork's seed can only come from it)
      const pick = await db.prisma.candidate.findFirstOrThrow({
        where: { runId: source.id, valid: true, origin: { not: 'seed' } },
        orderBy: { seq: 'desc' },
      })
      const fork = await as('admin').runs.fork({
        runId: source.id,
        candidateId: pick.id,
        name: 'fork',
        config: { islands: 1, budget: { maxEvals: 10 }, seed: 3 },
      })
      expect(await finished(fork.id)).toMatchObject({ status: 'completed' })
      const seeds = await db.prisma.candidate.findMany({
        where: { runId: fork.id, origin: 'seed' },
        select: { id: true, code: true, status: true },
        orderBy: { seq: 'asc' },
      })
      const copied = seeds.find((s) => s.code === pick.code)
      expect(copied, 'a seed candidate holding the forked candidate’s code').toBeTruthy()
      expect(copied!.status).toBe('evaluated')
      expect((await as('viewer').candidates.get({ runId: fork.id, id: copied!.id })).family.from).toMatchObject({
        runId: source.id,
        candidateId: pick.id,
      })
    } finally {
      await app.runs.stopAll()
      await backend.close()
      await db.close()
    }
  })
})
