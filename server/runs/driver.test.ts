// Runs driven end to end, through the real CLI, real sandboxed workers and the embedded database.
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, collect, FIXTURES, startCli } from '../../test-support/cli.ts'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { heldCount, heldName, holdLines, observed } from '../../test-support/held.ts'
import { type ScriptedResponse, startOpenAiTestServer } from '../../test-support/openai-server.ts'
import { openDatabase } from '../db.ts'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import { setEmbedderConfig } from '../knowledge/embedders.ts'
import { literalEditResponder } from '../../test-support/literal-edit-responder.ts'
import { CAPPED_ANSWER_TOKENS } from './planner.ts'
import { runProgress } from './service.ts'
import { scratchDirs } from '../../test-support/scratch.ts'

const { tempDir } = scratchDirs('fm-engine-')

const CURVE = join(FIXTURES, 'curve-fit')

async function ledger(dataDir: string, runId: string) {
  const db = await openDatabase({ dataDir, databaseUrl: '' })
  try {
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    const evaluated = await db.prisma.candidate.findMany({
      where: { runId, status: 'evaluated' },
      select: { id: true, evalIndex: true },
    })
    return {
      run,
      ids: new Set(evaluated.map((e) => e.id)),
      evalIndexes: evaluated.map((e) => e.evalIndex!).sort((a, b) => a - b),
    }
  } finally {
    await db.close()
  }
}

describe('headless runs with the offline operators', () => {
  it('improves on the seed of a problem it was never tuned for, with islands that differ', async () => {
    const dataDir = tempDir()
    const r = await cli(
      ['run', CURVE, '--max-evals', '50', '--islands', '2', '--seed', '3', '--json', '--data-dir', dataDir],
      // a progress line after every result (progress lines follow the clock otherwise)
      { FM_LOG: 'debug' },
    )
    expect(r.code, r.stderr).toBe(0)
    const s = r.json
    expect(s).toMatchObject({ status: 'completed', evaluations: 50, islands: 2, direction: 'min' })
    // no model is asked: the progress line counts the operators' proposals in flight
    expect(r.stderr).toMatch(/ · proposals \d+(\.\d)? in flight \(limit \d+\) · /)
    expect(r.stderr).not.toMatch(/ · model \d+(\.\d)? in flight/)
    expect(s.best.score).toBeLessThan(s.seedScore) // min problem: lower is better
    expect(Object.keys(s.diversity)).toEqual(expect.arrayContaining(['code', 'coverage']))
    // progress went to stderr, the summary alone to stdout
    expect(r.stderr).toMatch(/evaluations/)
    expect(r.stdout.trim().split('\n')).toHaveLength(1)
    const { run, ids, evalIndexes } = await ledger(dataDir, s.runId)
    expect(ids.size).toBe(50)
    expect(evalIndexes).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(run.seedScore).toBe(s.seedScore)
    // the two islands hold different populations
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    const byIsland = await db.prisma.candidate.groupBy({
      by: ['island'],
      where: { runId: s.runId, status: 'evaluated' },
      _count: true,
    })
    // the progress line's one-row read agrees with the summary
    const progress = await runProgress(db, s.runId)
    // an island's best counts the programs that migrated into it (min problem: none is lower)
    const islands = await db.prisma.island.findMany({ where: { runId: s.runId } })
    const moves = await db.prisma.migration.findMany({ where: { runId: s.runId } })
    const migrants = await db.prisma.candidate.findMany({
      where: { id: { in: moves.map((m) => m.candidateId) }, score: { not: null } },
      select: { id: true, score: true },
    })
    await db.close()
    expect(migrants.length).toBeGreaterThan(0)
    for (const m of moves) {
      const score = migrants.find((c) => c.id === m.candidateId)?.score
      if (score != null) expect(islands.find((i) => i.index === m.toIsland)!.bestScore).toBeLessThanOrEqual(score)
    }
    expect(byIsland.filter((g) => g.island >= 0 && g._count > 3).length).toBe(2)
    expect(progress).toEqual({
      runId: s.runId,
      status: 'completed',
      evaluations: 50,
      best: s.best,
      seedScore: s.seedScore,
    })
  })

  it('rejects bad usage with exit code 2 and one clear line', async () => {
    const dataDir = tempDir()
    const unknown = await cli(['run', 'no-such-problem', '--max-evals', '5', '--data-dir', dataDir])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/no problem "no-such-problem"/)
    const flag = await cli(['run', CURVE, '--bogus', '--data-dir', dataDir])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/unknown option '--bogus'/)
    const evals = await cli(['run', CURVE, '--max-evals', 'many', '--data-dir', dataDir])
    expect(evals.code).toBe(2)
    expect(evals.stderr).toMatch(/--max-evals must be an integer/)
  })
})

describe('when evaluation itself is broken', () => {
  it('a run whose workers cannot start fails with the reason instead of waiting forever', async () => {
    const dataDir = tempDir()
    // an interpreter that does not exist: no sandbox launcher can start, so no worker can
    // (FM_IGNORE_PREREQS and FM_ALLOW_UNSANDBOXED: past the checks that would refuse the run before any worker starts)
    const r = await cli(['run', CURVE, '--max-evals', '40', '--json', '--data-dir', dataDir], {
      FM_PYTHON: '/nonexistent/python3',
      FM_IGNORE_PREREQS: '1',
      FM_ALLOW_UNSANDBOXED: '1',
    })
    expect(r.code, r.stderr.slice(-2000)).toBe(1)
    expect(r.json?.status, r.stderr.slice(-2000)).toBe('failed')
    expect(r.stderr).toMatch(/no evaluation worker could start/)
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: r.json.runId } })
      expect(run.statusReason).toMatch(
        /infrastructure reasons.*no evaluation worker could start|seed program is invalid.*no evaluation worker could start/,
      )
      expect(run.evaluations).toBeLessThan(40)
    } finally {
      await db.close()
    }
  })
})

describe("a seed without a score: the run's reason says why", () => {
  const seedProblem = (evaluator: string) => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'problem.json'),
      JSON.stringify({
        id: 'no-score',
        name: 'no score',
        description: 'a seed the evaluator cannot score',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'min',
        primaryMetric: 'loss',
      }),
    )
    writeFileSync(join(dir, 'seed.py'), 'x = 1\n')
    writeFileSync(join(dir, 'evaluator.py'), `import json\n${evaluator}\n`)
    return dir
  }

  it('a metric that is not a number is named', async () => {
    const dataDir = tempDir()
    const r = await cli([
      'run',
      seedProblem('print(json.dumps({"valid": True, "metrics": {"loss": "0.5"}}))'),
      '--max-evals',
      '5',
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr.slice(-2000)).toBe(1)
    const reason =
      'no valid candidate after the cold start: the seed program is invalid (the evaluator\'s "loss" is a string ("0.5"), not a number: metrics must be numbers (true and false count as 1 and 0), anything else moves to the artifacts (here "metric:loss"))'
    expect(r.json.statusReason).toBe(reason)
    // resumed, it fails the same way, and says why a fixed folder does not help it
    const again = await cli(['resume', r.json.runId, '--max-evals', '6', '--json', '--data-dir', dataDir])
    expect(again.code, again.stderr.slice(-2000)).toBe(1)
    expect(again.json.statusReason).toBe(
      `${reason}; a run keeps the problem files it started with, so resuming it evaluates them again: after fixing the problem, start a new run`,
    )
  })

  it('a traceback keeps its last lines, whole', async () => {
    // the evaluator's error is a long traceback (an import failure deep in importlib)
    const traceback = [
      'Traceback (most recent call last):',
      ...Array.from({ length: 6 }, (_, i) => `  File "<frozen importlib._bootstrap>", line ${1000 + i}, in _load`),
      "ModuleNotFoundError: No module named 'scipy'",
    ].join('\n')
    const r = await cli([
      'run',
      seedProblem(`print(json.dumps({"valid": False, "error": ${JSON.stringify(traceback)}}))`),
      '--max-evals',
      '5',
      '--json',
      '--data-dir',
      tempDir(),
    ])
    expect(r.code, r.stderr.slice(-2000)).toBe(1)
    const reason = String(r.json.statusReason)
    expect(reason).toMatch(/^no valid candidate after the cold start: the seed program is invalid \(…\n {2}File /)
    expect(reason.endsWith("\nModuleNotFoundError: No module named 'scipy')")).toBe(true)
    // every line kept is a whole line of the traceback
    const kept = reason.slice(reason.indexOf('(…\n') + 3, -1).split('\n')
    for (const line of kept) expect(traceback.split('\n')).toContain(line)
  })
})

describe('a stop while the seed is evaluated', () => {
  it('leaves the seed queued, and the resume evaluates it again', async () => {
    const dir = tempDir()
    cpSync(CURVE, dir, { recursive: true })
    // the seed's evaluation holds its sandbox until the run stops: the stop lands while it runs
    const held = heldName()
    writeFileSync(join(dir, 'evaluator.py'), `${holdLines(held).join('\n')}\n`)
    const dataDir = tempDir()
    const first = new WatchedCli(['run', dir, '--max-evals', '3', '--json', '--data-dir', dataDir])
    await observed(() => heldCount(held) > 0)
    first.child.kill('SIGINT')
    const stopped = await first.done()
    expect(stopped.code, stopped.stderr).toBe(130)
    expect(stopped.json).toMatchObject({ status: 'stopped', evaluations: 0, seedScore: null })
    const runId = stopped.json.runId as string
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      // not rejected as "never finished": the resumed cold start skips what is stored, the seed too
      const seeds = await db.prisma.candidate.findMany({ where: { runId, origin: 'seed' } })
      expect(seeds).toHaveLength(1)
      expect(['queued', 'running']).toContain(seeds[0]!.status)
      expect(seeds[0]!.rejectReason).toBeNull()
    } finally {
      await db.close()
    }
    // the resume submits the seed again and evaluates it (held again: stopped once seen running)
    await observed(() => heldCount(held) === 0)
    const again = new WatchedCli(['resume', runId, '--json', '--data-dir', dataDir])
    await observed(() => heldCount(held) > 0 && /re-submitted 1 evaluation\(s\) that were in flight/.test(again.stderr))
    again.child.kill('SIGINT')
    expect((await again.done()).code).toBe(130)
  })
})

describe('kill -9 and resume', () => {
  it('continues with no evaluated candidate lost and none counted twice', async () => {
    const dataDir = tempDir()
    // FM_LOG=debug: a progress line after every result, so the kill strikes at 25 whatever the machine's speed
    const child = startCli(['run', CURVE, '--max-evals', '70', '--islands', '2', '--json', '--data-dir', dataDir], {
      FM_LOG: 'debug',
    })
    const done = collect(child)
    let runId = ''
    await new Promise<void>((resolve, reject) => {
      let err = ''
      child.stderr!.on('data', (d) => {
        err += d
        runId ||= /run ([0-9a-f-]{36}) on/.exec(err)?.[1] ?? ''
        const m = [...err.matchAll(/evolving: (\d+)\/70/g)].pop()
        if (m && Number(m[1]) >= 25) {
          child.kill('SIGKILL')
          resolve()
        }
      })
      child.on('exit', () => reject(new Error(`the run ended before it could be killed:\n${err}`)))
    })
    await done
    expect(runId).not.toBe('')
    const before = await ledger(dataDir, runId)
    expect(before.ids.size).toBeGreaterThanOrEqual(25)
    expect(before.run.evaluations).toBe(before.ids.size)

    const r = await cli(['resume', runId, '--json', '--data-dir', dataDir])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ runId, status: 'completed', evaluations: 70 })
    const after = await ledger(dataDir, runId)
    for (const id of before.ids) expect(after.ids.has(id)).toBe(true)
    expect(after.ids.size).toBe(70)
    expect(after.evalIndexes).toEqual(Array.from({ length: 70 }, (_, i) => i))

    // --max-evals is the new total
    const more = await cli(['resume', runId, '--max-evals', '80', '--json', '--data-dir', dataDir])
    expect(more.code, more.stderr).toBe(0)
    expect(more.json.evaluations).toBe(80)
    // a completed run taken up again says so, and from where
    expect(more.stderr).toContain('run resumed at 70 evaluations (evolving)')
    // a run at its budget has nothing to resume without a larger total, and says how to give one
    const atBudget = await cli(['resume', runId, '--json', '--data-dir', dataDir])
    expect(atBudget.code).toBe(2)
    expect(atBudget.stderr).toContain(
      'the run already has its 80 evaluations (its budget); give a larger total to go on',
    )
  })
})

describe('the LangChain path against a scripted OpenAI-protocol server', () => {
  it('applies well-formed edits, records malformed ones with a reason, and survives 429s', async () => {
    const server = await startOpenAiTestServer({ apiKey: 'sk-test-ENGINE' })
    try {
      server.enqueue(
        { type: 'error', status: 429, retryAfter: 1 },
        { content: 'I would rather not change anything today.' },
        { type: 'error', status: 429, retryAfterMs: 50 },
        { content: '<<<<<<< SEARCH\nthis text is not in the program\n=======\nx = 1\n>>>>>>> REPLACE' },
      )
      const dataDir = tempDir()
      const r = await cli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          '30',
          '--islands',
          '2',
          '--json',
          '--data-dir',
          dataDir,
        ],
        {
          OPENAI_BASE_URL: server.url,
          OPENAI_API_KEY: 'sk-test-ENGINE',
        },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 30 })
      expect(r.json.best.score).toBeLessThanOrEqual(r.json.seedScore)
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const all = await db.prisma.candidate.findMany({
          where: { runId: r.json.runId, origin: { in: ['mutation', 'crossover', 'cold-start'] } },
          select: { status: true, rejectReason: true, response: true, model: true, prompt: true },
        })
        const answered = all.filter((c) => c.response)
        const wellFormed = answered.filter(
          (c) =>
            (c.response!.includes('>>>>>>> REPLACE') && !c.response!.includes('this text is not in the program')) ||
            c.response!.includes('```'),
        )
        // made while another slot took the last evaluation of the budget: kept unevaluated, not a parsing failure
        const applied = wellFormed.filter(
          (c) =>
            c.status !== 'rejected' || /duplicate|not evaluated: the run reached its budget/.test(c.rejectReason ?? ''),
        )
        expect(wellFormed.length).toBeGreaterThan(20)
        expect(applied.length / wellFormed.length).toBeGreaterThanOrEqual(0.99)
        const malformed = all.filter(
          (c) => c.response?.includes('this text is not in the program') || c.response?.startsWith('I would rather'),
        )
        expect(malformed).toHaveLength(2)
        for (const m of malformed) {
          expect(m.status).toBe('rejected')
          expect(m.rejectReason).toMatch(/answer not applied/)
        }
        expect(all.every((c) => !c.model || c.model === 'openai:scripted-model')).toBe(true)
        // the key reached the server as a credential, and nothing else
        expect(server.chatRequests().every((q) => q.auth.ok)).toBe(true)
        expect(JSON.stringify(all)).not.toContain('sk-test-ENGINE')
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })
})

/** A problem whose program the offline operators cannot vary: no literal, one statement. */
function unvaryingProblem(): string {
  const dir = tempDir()
  writeFileSync(
    join(dir, 'problem.json'),
    JSON.stringify({
      id: 'test-fixed-word',
      name: 'Fixed word',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'max',
      primaryMetric: 'score',
      limits: { timeoutS: 10, memoryMb: 256 },
    }),
  )
  writeFileSync(join(dir, 'initial.py'), 'def word():\n    return "abc"\n')
  writeFileSync(
    join(dir, 'evaluator.py'),
    'import json, runpy, sys\n' +
      'w = runpy.run_path(sys.argv[-1])["word"]()\n' +
      'print(json.dumps({"valid": True, "metrics": {"score": len(w)}, "features": {}, "artifacts": {}}))\n',
  )
  return dir
}

describe('a search with nothing new to try', () => {
  it('the offline operators end it as completed, saying why, well before the budget', async () => {
    const dataDir = tempDir()
    const r = await cli([
      'run',
      unvaryingProblem(),
      '--operators',
      'local',
      '--max-evals',
      '50',
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.status).toBe('completed')
    expect(r.json.statusReason).toMatch(/offline operators found nothing new: 300 proposals in a row/)
    expect(r.json.evaluations).toBeLessThan(50)
    // the cold start says why its candidates came to one: the rest were turned away, and for what
    expect(r.stderr).toMatch(
      /cold start done: 1 evaluated \((\d+) more rejected before evaluation; \1 of \d+ answers: no offline operator applies to this program\)/,
    )
    // the seed, copied to every island by the cold start, is each island's best
    expect(r.json.perIsland.map((i: { best: number | null }) => i.best)).toEqual([3, 3, 3, 3])
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      const rejected = await db.prisma.candidate.count({ where: { runId: r.json.runId, status: 'rejected' } })
      expect(rejected).toBeGreaterThanOrEqual(300)
      // nothing was left queued or running by the early end
      expect(
        await db.prisma.candidate.count({ where: { runId: r.json.runId, status: { in: ['queued', 'running'] } } }),
      ).toBe(0)
    } finally {
      await db.close()
    }
  })

  it('a model whose every edit is unusable fails it, since that is a fault to fix', async () => {
    const server = await startOpenAiTestServer({
      apiKey: 'sk-test-unusable',
      responder: () => ({
        content: '<<<<<<< SEARCH\nthis line is in no program\n=======\nx = 1\n>>>>>>> REPLACE\n',
      }),
    })
    try {
      const r = await cli(
        ['run', CURVE, '--model', 'openai:unusable', '--max-evals', '50', '--json', '--data-dir', tempDir()],
        { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test-unusable' },
      )
      expect(r.code).toBe(1)
      expect(r.json.status).toBe('failed')
      // after the run's budget of paid answers (300 had been allowed whatever the budget), saying why
      expect(r.json.statusReason).toMatch(
        /^the model's last 50 answers were all rejected before evaluation, each one paid for \(50 × answer not applied: 0 of 1 edit block\(s\) applied; block 1: not-found\); see the rejected candidates$/,
      )
      // those 50, the cold start's among them (they had been counted apart: 40 more), and the ones
      // in flight when it failed; 300 had been allowed whatever the budget
      expect(server.chatRequests().length).toBeLessThanOrEqual(50 + 16)
    } finally {
      await server.close()
    }
  })
})

describe('a model that refuses every request', () => {
  it('fails the run early with a reason that names the fix, instead of retrying forever', async () => {
    const server = await startOpenAiTestServer({ apiKey: 'sk-test-RIGHT' })
    try {
      const r = await cli(
        ['run', CURVE, '--model', 'openai:scripted-model', '--max-evals', '30', '--json', '--data-dir', tempDir()],
        {
          OPENAI_BASE_URL: server.url,
          OPENAI_API_KEY: 'sk-test-WRONG',
        },
      )
      expect(r.code).toBe(1)
      expect(r.json.status).toBe('failed')
      expect(r.json.statusReason).toMatch(/refused 3 requests in a row \(model error from openai:\S+ \(auth\)/)
      expect(r.json.statusReason).toMatch(/API key/)
      expect(r.json.statusReason).not.toContain('sk-test-WRONG')
      // said while it happens, not only in the end
      expect(r.stderr).toMatch(/^fm-agent warn: run [0-9a-f]{8}: model error from openai:scripted-model \(auth\)/m)
      expect(r.stderr).not.toContain('sk-test-WRONG')
      // the cold start's 8 requests (30 evaluations, 4 islands) go out together and each of the first
      // two refusals may be replaced before the third arrives: at most 8 + 2, never the budget's 30
      expect(server.chatRequests().length).toBeLessThanOrEqual(10)
    } finally {
      await server.close()
    }
  })
})

describe('crossover prompts', () => {
  it('show the second parent once, as Parent 2, not again among the inspirations', async () => {
    const server = await startOpenAiTestServer()
    try {
      const config = join(tempDir(), 'run.json')
      writeFileSync(config, JSON.stringify({ llmOperators: { crossover: 1 }, islands: 1, budget: { maxEvals: 24 } }))
      const r = await cli(
        ['run', CURVE, '--model', 'openai:scripted-model', '--config', config, '--json', '--data-dir', tempDir()],
        { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' },
      )
      expect(r.code, r.stderr).toBe(0)
      const users = server
        .chatRequests()
        .map((q) => (q.body as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!.content)
        .filter((u) => u.includes('## Parent 2'))
      expect(users.length).toBeGreaterThan(0)
      for (const u of users) {
        const second = /## Parent 2[^\n]*\n+(```\w*\n[\s\S]*?\n```)/.exec(u)![1]!
        expect(u.split(second).length - 1).toBe(1)
      }
    } finally {
      await server.close()
    }
  })
})

/** A run of an ensemble of two members at their own stand-ins, through the CLI. */
async function runEnsemble(models: object[], maxEvals: number, env: Record<string, string>) {
  const config = join(tempDir(), 'run.json')
  writeFileSync(config, JSON.stringify({ mutator: 'llm', models, budget: { maxEvals } }))
  return cli(['run', CURVE, '--config', config, '--json', '--data-dir', tempDir()], env)
}

describe('an ensemble with one failing member', () => {
  it('takes the member that refuses every request out of the run, named, and goes on with the others', async () => {
    const good = await startOpenAiTestServer()
    const locked = await startOpenAiTestServer({ apiKey: 'sk-test-RIGHT' })
    try {
      const r = await runEnsemble(
        [
          { provider: 'openai', model: 'good-model', baseURL: good.url },
          { provider: 'openai', model: 'wrong-key-model', baseURL: locked.url },
        ],
        30,
        { OPENAI_API_KEY: 'sk-test-WRONG' },
      )
      expect(r.code, `${r.stderr}${JSON.stringify(r.json)}`).toBe(0)
      expect(r.json.evaluations).toBe(30)
      expect(r.stderr).toMatch(
        /openai:wrong-key-model refused 3 requests in a row \(model error from openai:wrong-key-model \(auth\).*it is taken out of this run, openai:good-model goes on/,
      )
      expect(r.stderr).not.toContain('sk-test-WRONG')
      // taken out after its third refusal, plus those already in flight then: never the run's 30
      expect(locked.chatRequests().length).toBeLessThan(16)
    } finally {
      await Promise.all([good.close(), locked.close()])
    }
  })

  it('leaves out the member that stops answering while the others answer, named, and tries it again later', async () => {
    const good = await startOpenAiTestServer()
    const down = await startOpenAiTestServer({
      responder: () => ({ type: 'error', status: 500, message: 'upstream exploded', retryAfterMs: 1 }),
    })
    try {
      const r = await runEnsemble(
        [
          { provider: 'openai', model: 'good-model', baseURL: good.url },
          // the bandit's prior favours the one that is down
          { provider: 'openai', model: 'down-model', baseURL: down.url, weight: 3 },
        ],
        60,
        { OPENAI_API_KEY: 'sk-test' },
      )
      expect(r.code, `${r.stderr}${JSON.stringify(r.json)}`).toBe(0)
      expect(r.json.evaluations).toBe(60)
      expect(r.stderr).toMatch(
        /openai:down-model did not answer 8 requests in a row \(model error from openai:down-model \(server\): .*upstream exploded.*\); it is left out for 60 s while openai:good-model goes on, then tried again/,
      )
      // left out after its eighth failed call, plus those in flight then (each tried 4 times)
      expect(down.chatRequests().length).toBeLessThanOrEqual(4 * (8 + 16))
      // the summary names it with its calls, all failed
      const mine = (r.json.models as Array<{ model: string; calls: number; failed: number }>).find(
        (m) => m.model === 'openai:down-model',
      )
      expect(mine!.calls).toBeGreaterThanOrEqual(8)
      expect(mine!.failed).toBe(mine!.calls)
    } finally {
      await Promise.all([good.close(), down.close()])
    }
  })
})

describe('a provider outage', () => {
  it('a model that answered before is waited for through an outage, said, and the run goes on', async () => {
    // answers, then 120 HTTP 500s in a row (every attempt of many calls), then answers again
    const edit = literalEditResponder()
    let chats = 0
    const server = await startOpenAiTestServer({
      responder: (req) => {
        chats++
        return chats > 20 && chats <= 140
          ? { type: 'error', status: 500, message: 'upstream exploded', retryAfterMs: 1 }
          : { content: edit(req).content }
      },
    })
    try {
      const r = await cli(
        ['run', CURVE, '--model', 'openai:flaky', '--max-evals', '40', '--json', '--data-dir', tempDir()],
        { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 40 })
      expect(chats).toBeGreaterThan(140)
      // it had failed after 8 calls in a row, within one retry schedule of the outage's start
      expect(r.stderr).toMatch(
        /the model has not answered 8 requests in a row \(model error from openai:flaky \(server\): .*upstream exploded.*\); waiting for it, up to 10 min from its last answer/,
      )
      expect(r.stderr).toMatch(/the model answers again, after \d+ s/)
    } finally {
      await server.close()
    }
  })
})

describe('a provider whose every answer fails the same way', () => {
  // each case ends early with a reason that says what is wrong, not after 300 rejections that
  // blamed "duplicates or unusable edits"
  const cases: Array<[string, () => ScriptedResponse, RegExp, number]> = [
    [
      "a prompt longer than the model's context (OpenAI's error body)",
      () => ({
        type: 'error',
        status: 400,
        code: 'context_length_exceeded',
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
      }),
      /refused 3 requests in a row \(model error from openai:\S+ \(bad-request\): the prompt is longer than the model's context window \(lower promptTokenBudget\)/,
      10,
    ],
    [
      'an HTML page with status 200 (a base URL missing /v1)',
      () => ({ type: 'malformed', status: 200, contentType: 'text/html', body: '<html><body>Welcome</body></html>' }),
      /refused 3 requests in a row \(model error from openai:\S+ \(bad-request\): 400 the model API answered with a web page \(HTML\), not JSON, at http:\S+: check the base URL/,
      10,
    ],
  ]
  for (const [what, answer, reason, most] of cases)
    it(`fails early on ${what}`, async () => {
      const server = await startOpenAiTestServer({ responder: answer })
      try {
        const r = await cli(
          ['run', CURVE, '--model', 'openai:scripted-model', '--max-evals', '30', '--json', '--data-dir', tempDir()],
          { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' },
        )
        expect(r.code, r.stderr).toBe(1)
        expect(r.json.statusReason).toMatch(reason)
        // the cold start's requests go out together; a few more replace the first failures
        expect(server.chatRequests().length).toBeLessThanOrEqual(most)
      } finally {
        await server.close()
      }
    })
})

describe('a large program', () => {
  it('is searched by focused edits (none a near-duplicate by its size alone), and the prompt size is told once', async () => {
    // the curve fit with an 80 KB table in its evolved block: one changed literal is 0.9998 alike
    const dir = join(tempDir(), 'big-fit')
    cpSync(CURVE, dir, { recursive: true })
    const table = Array.from({ length: 8000 }, (_, i) => `    ${(i * 0.001).toFixed(3)},`).join('\n')
    const seed = readFileSync(join(dir, 'initial.py'), 'utf8').replace(
      '# EVOLVE-BLOCK-START\n',
      `# EVOLVE-BLOCK-START\nTABLE = [\n${table}\n]\n`,
    )
    writeFileSync(join(dir, 'initial.py'), seed)
    writeFileSync(
      join(dir, 'problem.json'),
      JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8')), id: 'test-big-fit' }),
    )
    const server = await startOpenAiTestServer()
    try {
      const r = await cli(
        ['run', dir, '--model', 'openai:scripted-model', '--max-evals', '16', '--json', '--data-dir', tempDir()],
        { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test' },
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.evaluations).toBe(16)
      expect(r.stderr.match(/prompts are about [\d,]+ tokens, over promptTokenBudget \(8,000\)/g)).toHaveLength(1)
      // about one call per evaluation, not the dozens of near-duplicates per evaluation it had been
      expect(server.chatRequests().length).toBeLessThan(3 * 16)
    } finally {
      await server.close()
    }
  })
})

describe('budgets', () => {
  it('a time budget counts the time the run ran, not the time it sat stopped before a resume', async () => {
    const dataDir = tempDir()
    const config = join(tempDir(), 'run.json')
    writeFileSync(config, JSON.stringify({ budget: { maxWallS: 3600 } }))
    const r = await cli([
      'run',
      CURVE,
      '--max-evals',
      '8',
      '--islands',
      '1',
      '--config',
      config,
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr).toBe(0)
    const runId = r.json.runId as string
    const first = (await ledger(dataDir, runId)).run
    expect(first.activeS).toBeGreaterThan(0)
    expect(first.activeS).toBeLessThan(3600)
    expect(first.activeAt).not.toBeNull()
    // as if it had been stopped two hours ago and only resumed now
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    await db.sql(`UPDATE runs SET started_at = now() - interval '2 hours' WHERE id = $1`, [runId])
    await db.close()
    const resumed = await cli(['resume', runId, '--max-evals', '12', '--json', '--data-dir', dataDir])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.json).toMatchObject({ status: 'completed', evaluations: 12 })
    const second = (await ledger(dataDir, runId)).run
    expect(second.statusReason).toBe('evaluation budget reached (12)')
    expect(second.activeS).toBeGreaterThan(first.activeS)
    expect(second.activeS).toBeLessThan(3600)
    // a run that has used its hour ends at once, saying so
    const db2 = await openDatabase({ dataDir, databaseUrl: '' })
    await db2.sql('UPDATE runs SET active_s = 3600 WHERE id = $1', [runId])
    await db2.close()
    const spent = await cli(['resume', runId, '--max-evals', '16', '--json', '--data-dir', dataDir])
    expect(spent.code, spent.stderr).toBe(0)
    expect(spent.json).toMatchObject({ status: 'completed', evaluations: 12 })
    expect((await ledger(dataDir, runId)).run.statusReason).toBe('time budget reached (3600 s)')
  })

  it('says once per model that its answers come without token counts: the spend rests on estimates', async () => {
    const edit = literalEditResponder()
    const server = await startOpenAiTestServer({ responder: (req) => ({ content: edit(req).content, usage: null }) })
    try {
      const config = join(tempDir(), 'run.json')
      writeFileSync(
        config,
        JSON.stringify({
          mutator: 'llm',
          models: [
            {
              provider: 'openai',
              model: 'no-usage',
              baseURL: server.url,
              apiKeyEnv: 'FM_TEST_NO_USAGE_KEY',
              pricePer1kIn: 0.002,
              pricePer1kOut: 0.004,
            },
          ],
          budget: { maxEvals: 20, maxSpendUsd: 5 },
        }),
      )
      const dataDir = tempDir()
      const r = await cli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], {
        FM_TEST_NO_USAGE_KEY: 'sk-test-no-usage',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(
        r.stderr.match(
          /openai:no-usage sends no token counts with its answers \(or only some\): they are estimated at 4 characters per token, so the run's spend and its spend cap rest on estimates/g,
        ),
      ).toHaveLength(1)
      // and the run keeps saying so wherever its spend is read, not only in this process's log
      expect(r.json.spendEstimated).toBe(true)
      expect((await ledger(dataDir, r.json.runId)).run.spendEstimated).toBe(true)
      const listed = await cli(['runs', '--json', '--data-dir', dataDir])
      expect(listed.json).toEqual([expect.objectContaining({ id: r.json.runId, spendEstimated: true })])
      expect(listed.json[0].spendUsd).toBeGreaterThan(0)
      const text = await cli(['runs', '--data-dir', dataDir])
      expect(text.stdout).toContain(`  spend ≈ $${listed.json[0].spendUsd.toFixed(4)}  `)
    } finally {
      await server.close()
    }
  })

  it('holds its spend cap when the answers turn long mid-run: each request reserves its most', async () => {
    // a model whose answers turn 50x longer (usage says 20,000 completion tokens) after 20 cheap ones
    const edit = literalEditResponder()
    let answered = 0
    const server = await startOpenAiTestServer({
      responder: (req) => {
        const content = edit(req).content
        return ++answered <= 20 ? { content } : { content, usage: { prompt_tokens: 900, completion_tokens: 20_000 } }
      },
    })
    try {
      const dataDir = tempDir()
      const config = join(tempDir(), 'run.json')
      const price = { pricePer1kIn: 0.002, pricePer1kOut: 0.004 }
      writeFileSync(
        config,
        JSON.stringify({
          mutator: 'llm',
          models: [
            { provider: 'openai', model: 'priced', baseURL: server.url, apiKeyEnv: 'FM_TEST_PRICED_KEY', ...price },
          ],
          budget: { maxEvals: 400, maxSpendUsd: 0.5 },
          islands: 2,
        }),
      )
      const r = await cli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], {
        FM_TEST_PRICED_KEY: 'sk-test-priced',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.statusReason).toMatch(/spend budget reached/)
      expect(answered).toBeGreaterThan(20)
      // one long answer costs $0.0818; with 16 in flight reserving what earlier answers cost, the
      // run had passed the cap by several of them
      const long = (900 * 0.002 + 20_000 * 0.004) / 1000
      expect(r.json.spendUsd - 0.5).toBeLessThanOrEqual(long + 1e-9)
      // the output limit the reservation counts on is the one the model is sent
      for (const q of server.chatRequests()) {
        const body = q.body as { max_tokens?: number; max_completion_tokens?: number }
        expect(body.max_tokens ?? body.max_completion_tokens).toBe(CAPPED_ANSWER_TOKENS)
      }
    } finally {
      await server.close()
    }
  })

  it('stops cleanly at its spend budget, with token usage and cost recorded per call', async () => {
    const server = await startOpenAiTestServer()
    try {
      const dataDir = tempDir()
      const config = join(tempDir(), 'run.json')
      writeFileSync(
        config,
        JSON.stringify({
          mutator: 'llm',
          models: [
            {
              provider: 'openai',
              model: 'priced',
              baseURL: server.url,
              apiKeyEnv: 'FM_TEST_PRICED_KEY',
              pricePer1kIn: 0.002,
              pricePer1kOut: 0.004,
            },
          ],
          budget: { maxEvals: 200, maxSpendUsd: 0.02 },
          islands: 2,
        }),
      )
      const r = await cli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], {
        FM_TEST_PRICED_KEY: 'sk-test-priced',
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.status).toBe('completed')
      expect(r.json.statusReason).toMatch(/spend budget reached/)
      // 16 requests in flight each listen to the run's signal: no leak warning for that
      expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/)
      expect(r.json.evaluations).toBeLessThan(200)
      expect(r.json.spendUsd).toBeGreaterThanOrEqual(0.02)
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      const calls = await db.prisma.candidate.findMany({
        where: { runId: r.json.runId, model: { not: null } },
        select: { tokensIn: true, tokensOut: true, costUsd: true },
      })
      await db.close()
      expect(calls.length).toBeGreaterThan(0)
      // every answer gave its token counts: the spend is the bill, not an estimate
      const listed = await cli(['runs', '--json', '--data-dir', dataDir])
      expect(listed.json).toEqual([expect.objectContaining({ id: r.json.runId, spendEstimated: false })])
      for (const c of calls) {
        expect(c.tokensIn).toBeGreaterThan(0)
        expect(c.costUsd).toBeCloseTo((c.tokensIn * 0.002 + c.tokensOut * 0.004) / 1000, 9)
      }
      // the cap is passed by at most the one call that crossed it
      expect(r.json.spendUsd - 0.02).toBeLessThanOrEqual(Math.max(...calls.map((c) => c.costUsd)) + 1e-12)
      // the run's spend is the sum of its calls
      expect(r.json.spendUsd).toBeCloseTo(
        calls.reduce((a, c) => a + c.costUsd, 0),
        9,
      )
      // a run that stopped at its cap goes on with a larger one, and not without
      const env = { FM_TEST_PRICED_KEY: 'sk-test-priced' }
      const same = await cli(['resume', r.json.runId, '--json', '--data-dir', dataDir], env)
      expect(same.code).toBe(2)
      expect(same.stderr).toMatch(
        /the run has spent \$0\.\d+ of its \$0\.02 cap; give a larger one to go on \(--max-spend USD\)/,
      )
      const more = await cli(['resume', r.json.runId, '--max-spend', '0.04', '--json', '--data-dir', dataDir], env)
      expect(more.code, more.stderr).toBe(0)
      expect(more.json.statusReason).toMatch(/spend budget reached \(\$0\.04\)/)
      expect(more.json.evaluations).toBeGreaterThan(r.json.evaluations)
      expect(more.json.spendUsd).toBeGreaterThanOrEqual(0.04)
    } finally {
      await server.close()
    }
  })
})

describe('knowledge in the loop', () => {
  it('an offline run retrieves nothing when an island stalls: no prompt would read it', async () => {
    const dataDir = tempDir()
    const docs = tempDir()
    writeFileSync(join(docs, 'curve-advice.md'), '# Fitting curves\n\nMove the quadratic coefficient A toward 1.3.\n')
    expect((await cli(['kb', 'import', docs, '--data-dir', dataDir])).code).toBe(0)
    const config = join(docs, 'run.json')
    writeFileSync(config, JSON.stringify({ stagnationWindow: 3, islands: 2 }))
    const r = await cli([
      'run',
      CURVE,
      '--operators',
      'local',
      '--max-evals',
      '60',
      '--config',
      config,
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/stalled/)
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      expect(await db.prisma.retrieval.count({ where: { runId: r.json.runId } })).toBe(0)
    } finally {
      await db.close()
    }
  })

  it('a stalled island retrieves chunks, they appear in the recorded prompt, and their use is logged', async () => {
    const dataDir = tempDir()
    const docs = tempDir()
    writeFileSync(
      join(docs, 'curve-advice.md'),
      '# Fitting curves\n\nWhen the fit stalls, move the quadratic coefficient A toward 1.3 and the offset C toward 0.25 (marker zanzibar-7).\n',
    )
    const imported = await cli(['kb', 'import', docs, '--data-dir', dataDir])
    expect(imported.code, imported.stderr).toBe(0)
    const config = join(docs, 'run.json')
    writeFileSync(config, JSON.stringify({ stagnationWindow: 3, islands: 2 }))
    const server = await startOpenAiTestServer()
    try {
      const r = await cli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          '40',
          '--config',
          config,
          '--json',
          '--data-dir',
          dataDir,
        ],
        {
          OPENAI_BASE_URL: server.url,
          OPENAI_API_KEY: 'sk-test-kb',
        },
      )
      expect(r.code, r.stderr).toBe(0)
      // the progress says which island got which passages, not only that it stalled
      expect(r.stderr).toMatch(
        /island \d: 1 passage\(s\) of the knowledge base for its next prompts \(Fitting curves\)/,
      )
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const retrievals = await db.prisma.retrieval.findMany({ where: { runId: r.json.runId, trigger: 'stagnation' } })
        expect(retrievals.length).toBeGreaterThan(0)
        const informed = await db.prisma.candidate.findMany({
          where: { runId: r.json.runId, prompt: { contains: 'zanzibar-7' } },
          select: { id: true },
        })
        expect(informed.length).toBeGreaterThan(0)
        const uses = await db.prisma.retrievalUse.findMany({ where: { runId: r.json.runId } })
        expect(new Set(uses.map((u) => u.candidateId))).toEqual(new Set(informed.map((c) => c.id)))
        // the server received the chunk in the prompts it was sent
        expect(server.chatRequests().some((q) => JSON.stringify(q.body).includes('zanzibar-7'))).toBe(true)
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })

  it('an embedding model that stops answering holds no run: full text at once, said once, the passages reach prompts', async () => {
    const k = await heldEmbeddings('okapi-3')
    try {
      // from here on every embeddings request hangs: the chat model's retry policy waited 300 s for each
      const embeddings = () => k.server.requests.filter((q) => q.endpoint === 'embeddings').length
      const asked = embeddings()
      k.hold('held')
      writeFileSync(k.config, JSON.stringify({ stagnationWindow: 3, islands: 2 }))
      const r = await cli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          '40',
          '--config',
          k.config,
          '--json',
          '--data-dir',
          k.dataDir,
        ],
        k.env,
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr.match(/uses full text only, the embedding model is unavailable/g)).toHaveLength(1)
      // the cold start's bounded wait (two attempts), then no request until the pause is over
      expect(embeddings() - asked).toBeLessThanOrEqual(2)
      expect(k.server.chatRequests().some((q) => JSON.stringify(q.body).includes('okapi-3'))).toBe(true)
    } finally {
      await k.server.close()
    }
  })

  /**
   * A data folder whose knowledge base is embedded by the stand-in: from the run's cold start on,
   * its first query embeds at once and every later one is held (answered never: the client's own
   * bound or its cancellation ends it).
   */
  async function heldEmbeddings(marker: string) {
    const dataDir = tempDir()
    const docs = tempDir()
    writeFileSync(
      join(docs, 'curve-advice.md'),
      `# Fitting curves\n\nWhen the fit stalls, move the quadratic coefficient A toward 1.3 and the offset C toward 0.25 (marker ${marker}).\n`,
    )
    const server = await startOpenAiTestServer()
    const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-test-kb' }
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      await setEmbedderConfig(
        db,
        { provider: 'openai', model: 'text-embedding-3-small', baseURL: server.url, apiKeyEnv: 'OPENAI_API_KEY' },
        SYSTEM_ACTOR,
      )
    } finally {
      await db.close()
    }
    expect((await cli(['kb', 'import', docs, '--data-dir', dataDir], env)).code).toBe(0)
    const hold = (first: 'answered' | 'held') =>
      server.enqueue(
        ...(first === 'answered' ? [{ endpoint: 'embeddings' as const, type: 'embedding' as const, vectors: [] }] : []),
        ...Array.from({ length: 20 }, () => ({ endpoint: 'embeddings' as const, type: 'hang' as const })),
      )
    /** embeddings requests held so far (each attempt of the client is one) */
    const held = () => server.requests.filter((q) => q.endpoint === 'embeddings' && q.response?.kind === 'hang').length
    const config = join(docs, 'run.json')
    /** `fm-agent run` of the curve problem on the stand-in; `stalls`: one island, stalled after 3 evaluations */
    const run = (maxEvals: number, stalls = false) => {
      if (stalls) writeFileSync(config, JSON.stringify({ stagnationWindow: 3, islands: 1 }))
      return new WatchedCli(
        [
          'run',
          CURVE,
          '--model',
          'openai:scripted-model',
          '--max-evals',
          String(maxEvals),
          ...(stalls ? ['--config', config] : []),
          '--json',
          '--data-dir',
          dataDir,
        ],
        env,
      )
    }
    return { dataDir, server, env, hold, held, config, run }
  }

  /** What the run wrote of retrievals, and when it ended. */
  async function retrievalsOf(dataDir: string, runId: string) {
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
      const rows = await db.prisma.retrieval.findMany({ where: { runId } })
      return { run, rows }
    } finally {
      await db.close()
    }
  }

  // what a cancelled retrieval must not say: it failed, or the database it wrote to was closed
  const RETRIEVAL_TROUBLE =
    /retrieval failed|no knowledge passages|is closed|AbortError|operation was aborted|unhandled/i

  /** cancelled with the run: no embedding asked after its end, no retrieval row written after it, nothing said */
  async function expectNothingAfter(
    k: Awaited<ReturnType<typeof heldEmbeddings>>,
    end: Awaited<ReturnType<WatchedCli['done']>>,
    heldAtEnd: number,
  ) {
    expect(k.held()).toBe(heldAtEnd)
    const { run, rows } = await retrievalsOf(k.dataDir, end.json.runId)
    for (const r of rows) expect(r.createdAt.getTime()).toBeLessThanOrEqual(run.finishedAt!.getTime())
    expect(end.stderr).not.toMatch(RETRIEVAL_TROUBLE)
  }

  it("a stop cancels a stalled island's retrieval the embedding model holds: the run ends at once, nothing written after it, nothing said", async () => {
    const k = await heldEmbeddings('quokka-5')
    try {
      k.hold('answered')
      const run = k.run(100_000, true)
      // the island stalled and its retrieval waits for the query's vector
      expect(await run.until(() => k.held() > 0), run.stderr).toBe(true)
      run.child.kill('SIGINT')
      expect(await run.until(() => /run stopped:/.test(run.stderr)), run.stderr).toBe(true)
      const heldAtEnd = k.held()
      const end = await run.done()
      expect(end.code, end.stderr).toBe(130)
      expect(end.json).toMatchObject({ status: 'stopped' })
      // its bounded wait did not go on to ask the model again after the end
      await expectNothingAfter(k, end, heldAtEnd)
    } finally {
      await k.server.close()
    }
  })

  it("a run that reaches its budget while a stalled island's retrieval is held ends without it: no row after the end, nothing said", async () => {
    const k = await heldEmbeddings('numbat-2')
    try {
      k.hold('answered')
      const run = k.run(30, true)
      expect(await run.until(() => /run completed:/.test(run.stderr)), run.stderr).toBe(true)
      const heldAtEnd = k.held()
      const end = await run.done()
      expect(end.code, end.stderr).toBe(0)
      expect(end.json).toMatchObject({ status: 'completed' })
      // an island stalled and its retrieval was held by the model when the budget was reached
      expect(heldAtEnd, end.stderr).toBeGreaterThan(0)
      // its bounded wait did not go on to ask the model again after the end
      await expectNothingAfter(k, end, heldAtEnd)
    } finally {
      await k.server.close()
    }
  })

  it("an expert's retrieval the embedding model holds is cancelled by the run's stop: refused, nothing written", async () => {
    const k = await heldEmbeddings('wombat-9')
    try {
      // offline operators: no stalled island retrieves (no prompt would read it), an expert still may
      const run = new WatchedCli(
        [
          'run',
          CURVE,
          '--operators',
          'local',
          '--islands',
          '1',
          '--max-evals',
          '100000',
          '--json',
          '--data-dir',
          k.dataDir,
        ],
        k.env,
      )
      expect(await run.until(() => run.lastProgress()?.status === 'evolving'), run.stderr).toBe(true)
      k.hold('held')
      const asked = collect(startCli(['runs', 'retrieve', run.runId!, '--island', '0', '--data-dir', k.dataDir]))
      expect(await run.until(() => k.held() > 0), run.stderr).toBe(true)
      run.child.kill('SIGINT')
      const end = await run.done()
      expect(end.code, end.stderr).toBe(130)
      await asked
      const { rows } = await retrievalsOf(k.dataDir, end.json.runId)
      expect(rows.filter((r) => r.trigger === 'expert')).toEqual([])
      // refused, saying why and what to do: the expert asks again on a running run
      const db = await openDatabase({ dataDir: k.dataDir, databaseUrl: '' })
      try {
        const command = await db.prisma.runCommand.findFirstOrThrow({
          where: { runId: end.json.runId, kind: 'run.retrieve' },
        })
        expect(command.status).toBe('refused')
        expect((command.result as { reason?: string }).reason).toMatch(/before the knowledge retrieval finished/)
      } finally {
        await db.close()
      }
      // no passage reached a prompt after the stop, and no failure was said
      expect(end.stderr).not.toMatch(/passage\(s\) of the knowledge base|full text only/)
      expect(end.stderr).not.toMatch(RETRIEVAL_TROUBLE)
    } finally {
      await k.server.close()
    }
  })

  it('a stop during the cold start cancels its retrieval the embedding model holds: nothing written, nothing said', async () => {
    const k = await heldEmbeddings('bilby-4')
    try {
      // the cold start's own query is the first embedding asked for
      k.hold('held')
      const run = k.run(100_000)
      expect(await run.until(() => k.held() > 0), run.stderr).toBe(true)
      run.child.kill('SIGINT')
      expect(await run.until(() => /run stopped:/.test(run.stderr)), run.stderr).toBe(true)
      const heldAtEnd = k.held()
      const end = await run.done()
      expect(end.code, end.stderr).toBe(130)
      expect(end.json).toMatchObject({ status: 'stopped' })
      // its bounded wait did not go on to ask the model again, nor fall back to full text
      await expectNothingAfter(k, end, heldAtEnd)
      const { rows } = await retrievalsOf(k.dataDir, end.json.runId)
      expect(rows.filter((r) => r.trigger === 'cold-start')).toEqual([])
    } finally {
      await k.server.close()
    }
  })
})
