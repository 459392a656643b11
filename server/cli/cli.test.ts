import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, collect, FIXTURES, FM_AGENT, startCli } from '../../test-support/cli.ts'
import { openDatabase } from '../db.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { listRuns } from '../runs/service.ts'
import { ensureSyntheticProblem, seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { createLogger } from '../log.ts'
import { readEnv } from '../env.ts'
import { startServer } from '../server-process.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { WatchedCli } from '../../test-support/cli-process.ts'
import { acquireLock } from '../db/data-dir.ts'

const { tempDir } = scratchDirs('fm-cli-')

/**
 * A problem whose seed is its evaluator's body: `check(seed)` runs `fm-agent problem check` on it and
 * gives its stdout (exit code 1 expected: the seed is invalid, unless `args` asks for JSON).
 */
function resultShapes() {
  const dir = tempDir()
  writeFileSync(
    join(dir, 'problem.json'),
    JSON.stringify({
      id: 'result-shapes',
      name: 'result shapes',
      description: 'the seed is the evaluator',
      language: 'python',
      entry: 'seed.py',
      evaluator: 'evaluator.py',
      direction: 'min',
      primaryMetric: 'loss',
    }),
  )
  writeFileSync(join(dir, 'evaluator.py'), 'import sys\nexec(open(sys.argv[-1]).read())\n')
  return async (seed: string, args: string[] = []) => {
    writeFileSync(join(dir, 'seed.py'), `import json\n${seed}\n`)
    const r = await cli(['problem', 'check', dir, ...args])
    if (args.includes('--json')) expect(r.code, r.stderr).toBe(0)
    else {
      expect(r.code, r.stderr).toBe(1)
      expect(r.stdout).toContain('seed INVALID')
    }
    return r.stdout
  }
}

describe('fm-agent CLI', () => {
  it('deletes a run by the start of its id, then its problem; refuses what is still in use, as bad input', async () => {
    const dir = tempDir()
    const problem = join(tempDir(), 'to-delete')
    cpSync(join(FIXTURES, 'curve-fit'), problem, { recursive: true })
    const spec = JSON.parse(readFileSync(join(problem, 'problem.json'), 'utf8'))
    writeFileSync(join(problem, 'problem.json'), JSON.stringify({ ...spec, id: 'cli-delete-me' }))
    const run = await cli([
      'run',
      problem,
      '--operators',
      'local',
      '--max-evals',
      '4',
      '--name',
      'cli delete me',
      '--json',
      '--data-dir',
      dir,
    ])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain(
      'offline operators read no prompt: the knowledge base (passages, lessons) reaches model runs only',
    )
    // named as the console names it, and listed with its name
    const listed = await cli(['runs', '--data-dir', dir])
    expect(listed.stdout).toContain(`${run.json.runId}  "cli delete me"  completed`)
    // one candidate from the command line: the run's best, and each part alone for a pipe
    const runId8 = (run.json.runId as string).slice(0, 8)
    const best = await cli(['candidate', runId8, 'best', '--json', '--data-dir', dir])
    expect(best.code, best.stderr).toBe(0)
    expect(best.json).toMatchObject({ runId: run.json.runId, isRunBest: true, status: 'evaluated', valid: true })
    const code = await cli(['candidate', runId8, best.json.id.slice(0, 8), '--code', '--data-dir', dir])
    expect(code.stdout).toBe(`${best.json.code.replace(/\n$/, '')}\n`)
    const shown = await cli(['candidate', runId8, best.json.id, '--data-dir', dir])
    expect(shown.stdout).toContain(`candidate ${best.json.id}  #${best.json.seq}  island ${best.json.island}`)
    expect(shown.stdout).toContain('the run’s best')
    // a reader that stops at once (`| head -c 0`): the command ends as usual, no EPIPE
    const early = startCli(['export', runId8, '--data-dir', dir])
    early.stdout!.destroy()
    const cut = await collect(early)
    expect([cut.code, cut.stderr]).toEqual([0, ''])
    const exported = await cli(['export', runId8, '--data-dir', dir])
    const child = (exported.json.candidates as Array<{ id: string; parentIds: string[]; code: string }>).find(
      (c) => c.parentIds.length,
    )!
    const parent = (exported.json.candidates as Array<{ id: string; code: string }>).find(
      (c) => c.id === child.parentIds[0],
    )!
    const diff = await cli(['candidate', runId8, child.id, '--diff', '--data-dir', dir])
    expect(diff.stdout.split('\n').slice(0, 2)).toEqual([`--- parent ${parent.id}`, `+++ candidate ${child.id}`])
    // an offline operator's candidate has no prompt: said on stderr, stdout stays empty
    const prompt = await cli(['candidate', runId8, child.id, '--prompt', '--data-dir', dir])
    expect([prompt.code, prompt.stdout]).toEqual([0, ''])
    expect(prompt.stderr).toContain('has no prompt stored')
    for (const [args, message] of [
      [['ffff'], `run ${run.json.runId} has no candidate "ffff"`],
      [['best', '--code', '--json'], 'choose one of --code, --prompt, --response, --diff and --json'],
      [[], 'which candidate? give its id, the start of it, or best'],
    ] as const) {
      const r = await cli(['candidate', runId8, ...args, '--data-dir', dir])
      expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, `fm-agent: ${message}`])
    }
    const inUse = await cli(['problem', 'delete', 'cli-delete-me', '--data-dir', dir])
    expect([inUse.code, inUse.stderr.trim()]).toEqual([
      2,
      'fm-agent: 1 run of "cli-delete-me" must be deleted first (fm-agent runs delete <runId>, or the run\'s page)',
    ])
    const runId = run.json.runId as string
    const del = await cli(['runs', 'delete', runId.slice(0, 8), '--json', '--data-dir', dir])
    expect(del.code, del.stderr).toBe(0)
    expect(del.json).toEqual({ id: runId, problemId: 'cli-delete-me', candidates: 4 })
    expect((await cli(['runs', '--json', '--data-dir', dir])).json).toEqual([])
    const again = await cli(['runs', 'delete', runId, '--data-dir', dir])
    expect([again.code, again.stderr]).toEqual([2, `fm-agent: no run "${runId}"\n`])
    // nor resumed: refused before any worker starts (no sandbox line)
    const resumed = await cli(['resume', runId, '--data-dir', dir])
    expect([resumed.code, resumed.stderr]).toEqual([2, `fm-agent: no run "${runId}" (fm-agent runs lists them)\n`])
    const gone = await cli(['problem', 'delete', 'cli-delete-me', '--data-dir', dir])
    expect([gone.code, gone.stdout.trim()]).toEqual([0, 'deleted problem cli-delete-me'])
  })

  it('a --config file is checked as problem.json is: every invalid value, and unknown keys with what they meant', async () => {
    const dir = tempDir()
    const file = join(dir, 'run.json')
    writeFileSync(file, JSON.stringify({ islands: 'two', budget: { maxEvals: 'ten' }, exploraton: 0.3 }))
    const r = await cli([
      'run',
      join(FIXTURES, 'curve-fit'),
      '--operators',
      'local',
      '--config',
      file,
      '--data-dir',
      dir,
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`--config ${file}: 2 issues:`)
    expect(r.stderr).toMatch(/^ {2}islands: .*expected number, received string$/m)
    expect(r.stderr).toMatch(/^ {2}budget\.maxEvals: .*expected number, received string$/m)
    expect(r.stderr).toContain('"exploraton" is not a known key and is ignored; did you mean "exploration"?')
    expect(r.stderr).not.toContain('Usage:')
  })

  it('lists the built-in problems with direction and reference', async () => {
    const r = await cli(['problems', '--json', '--data-dir', tempDir()])
    expect(r.code, r.stderr).toBe(0)
    const rows = r.json as Array<{ id: string; direction: string; reference: { value: number; source: string } | null }>
    const byId = new Map(rows.map((p) => [p.id, p]))
    for (const id of [
      'circle-packing-26',
      'circle-packing-32',
      'tsp-berlin52',
      'tsp-kroa100',
      'bin-packing-or3',
      'ahc001',
      'cpu-matmul',
    ]) {
      expect(byId.has(id), id).toBe(true)
    }
    expect(byId.get('circle-packing-26')).toMatchObject({ direction: 'max', reference: { value: 2.635863 } })
    expect(byId.get('tsp-berlin52')).toMatchObject({ direction: 'min', reference: { value: 7542 } })
    expect(rows.every((p) => p.reference === null || p.reference.source.length > 0)).toBe(true)
  })

  it('creates users with a one-time password and refuses bad input with exit code 2', async () => {
    const dir = tempDir()
    const ok = await cli([
      'user',
      'create',
      '--email',
      'ada@example.com',
      '--role',
      'expert',
      '--json',
      '--data-dir',
      dir,
    ])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.json.user).toMatchObject({ email: 'ada@example.com', role: 'expert' })
    expect(ok.json.oneTimePassword).toMatch(/^[A-Za-z0-9]{16}$/)
    const dup = await cli(['user', 'create', '--email', 'ada@example.com', '--role', 'viewer', '--data-dir', dir])
    expect(dup.code).toBe(2)
    expect(dup.stderr).toMatch(/already exists/)
    const role = await cli(['user', 'create', '--email', 'b@example.com', '--role', 'owner', '--data-dir', dir])
    expect(role.code).toBe(2)
    expect(role.stderr).toMatch(/--role must be one of viewer, expert, admin/)
    // a schema refusal of the API called in-process reads as one line, as over HTTP
    const email = await cli(['user', 'create', '--email', 'notanemail', '--role', 'admin', '--data-dir', dir])
    expect([email.code, email.stderr.trim()]).toEqual([2, 'fm-agent: email: Invalid email address'])
    // the way back in: roles and access set from the command line, the last active admin kept
    const set = await cli(['user', 'set', '--email', 'ADA@example.com', '--role', 'admin', '--json', '--data-dir', dir])
    expect(set.code, set.stderr).toBe(0)
    expect(set.json).toMatchObject({ email: 'ada@example.com', role: 'admin', disabled: false })
    // ada is the only admin: a second one first
    expect(
      (await cli(['user', 'create', '--email', 'root@example.com', '--role', 'admin', '--data-dir', dir])).code,
    ).toBe(0)
    const off = await cli(['user', 'set', '--email', 'ada@example.com', '--disable', '--data-dir', dir])
    expect([off.code, off.stdout.trim(), off.stderr]).toEqual([0, 'ada@example.com: admin, disabled', ''])
    const list = await cli(['user', 'list', '--data-dir', dir])
    expect(list.stdout).toMatch(/^ada@example\.com {2}admin {2}disabled$/m)
    const last = (await cli(['user', 'list', '--json', '--data-dir', dir])).json as Array<{
      email: string
      role: string
      disabled: boolean
    }>
    const lastAdmin = last.find((u) => u.role === 'admin' && !u.disabled)!
    const refused = await cli(['user', 'set', '--email', lastAdmin.email, '--role', 'viewer', '--data-dir', dir])
    expect([refused.code, refused.stderr]).toEqual([
      2,
      'fm-agent: the last active admin cannot be demoted or disabled\n',
    ])
    const nobody = await cli(['user', 'set', '--email', 'nobody@example.com', '--enable', '--data-dir', dir])
    expect([nobody.code, nobody.stderr]).toEqual([
      2,
      'fm-agent: no user with the email nobody@example.com (fm-agent user list shows them)\n',
    ])
    const nothing = await cli(['user', 'set', '--email', 'ada@example.com', '--data-dir', dir])
    expect(nothing.code).toBe(2)
    expect(nothing.stderr).toMatch(/say what to change/)
  })

  it('lists the newest runs, says how many it leaves out, and pages through every run', async () => {
    const dir = tempDir()
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    const ids: string[] = []
    try {
      await ensureSyntheticProblem(db, 'many-runs')
      for (let i = 0; i < 5; i++)
        ids.push((await seedSyntheticRun(db, { candidates: 3, problemId: 'many-runs' })).runId)
      // two runs made in the same millisecond stay apart across pages
      await db.sql('UPDATE runs SET created_at = (SELECT min(created_at) FROM runs) WHERE id = ANY($1::text[])', [
        ids.slice(0, 2),
      ])
      const order = (await listRuns(db, { limit: 10 })).map((r) => r.id)
      const paged: string[] = []
      for (let page = await listRuns(db, { limit: 2 }); page.length; ) {
        paged.push(...page.map((r) => r.id))
        const last = page.at(-1)!
        page = await listRuns(db, { limit: 2, after: { createdAt: last.createdAt.toISOString(), id: last.id } })
      }
      expect(paged).toEqual(order)
      expect(new Set(order)).toEqual(new Set(ids))
    } finally {
      await db.close()
    }
    const some = await cli(['runs', '--limit', '2', '--data-dir', dir])
    expect(some.code, some.stderr).toBe(0)
    expect(some.stdout.trim().split('\n')).toHaveLength(2)
    expect(some.stderr).toContain('the 2 newest of 5 runs; --limit N or --all lists more')
    const every = await cli(['runs', '--all', '--json', '--data-dir', dir])
    expect(every.json).toHaveLength(5)
    expect(every.stderr).not.toContain('newest of')
    const both = await cli(['runs', '--all', '--limit', '3', '--data-dir', dir])
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('--limit or --all, not both')])
  })

  it('shows why an invalid or rejected candidate failed, how it was made, and no diff where no program was made', async () => {
    const dir = tempDir()
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    let runId: string
    let seedId: string
    let invalidId: string
    const rejectedId = '0f0f0f0f-0000-4000-8000-00000000abcd'
    try {
      ;({ runId } = await seedSyntheticRun(db, { candidates: 3, problemId: 'failed-ones' }))
      const ids = (await db.prisma.candidate.findMany({ where: { runId }, orderBy: { seq: 'asc' } })).map((c) => c.id)
      seedId = ids[0]!
      invalidId = ids[1]!
      // as the engine stores them: the evaluator's reason in its artifacts, the edit's outcome in the operator's params
      await db.prisma.candidate.update({
        where: { id: invalidId },
        data: {
          valid: false,
          score: null,
          operator: 'diff',
          artifacts: { feedback: "NameError: name 'offset' is not defined\n  at line 14" },
          operatorParams: { description: '1 of 2 edit block(s) applied; block 2: not-found' },
        },
      })
      await db.prisma.candidate.create({
        data: {
          id: rejectedId,
          runId,
          seq: 3,
          island: 0,
          parentIds: [seedId],
          origin: 'mutation',
          operator: 'diff',
          code: '',
          codeHash: '',
          status: 'rejected',
          rejectReason: 'answer not applied: no edit found in the answer',
          guidanceIds: [],
        },
      })
    } finally {
      await db.close()
    }
    const shown = await cli(['candidate', runId.slice(0, 8), invalidId, '--data-dir', dir])
    expect(shown.code, shown.stderr).toBe(0)
    const lines = shown.stdout.split('\n')
    expect(lines).toContain("score     invalid: NameError: name 'offset' is not defined …")
    expect(lines).toContain('made      mutation · operator diff · 1 of 2 edit block(s) applied; block 2: not-found')
    expect(shown.stdout).toContain("feedback  NameError: name 'offset' is not defined\n            at line 14\n")
    expect(shown.stdout).not.toContain('no reason given')

    const rejected = await cli(['candidate', runId.slice(0, 8), rejectedId, '--data-dir', dir])
    expect(rejected.code, rejected.stderr).toBe(0)
    expect(rejected.stdout).toContain(
      'score     rejected before evaluation: answer not applied: no edit found in the answer\n',
    )
    expect(rejected.stdout.trimEnd().endsWith('No program was made: it was rejected before evaluation.')).toBe(true)
    // no diff that deletes the parent, no empty code for a pipe: nothing on stdout, why on stderr
    for (const part of ['--diff', '--code']) {
      const r = await cli(['candidate', runId.slice(0, 8), rejectedId, part, '--data-dir', dir])
      expect([r.code, r.stdout]).toEqual([0, ''])
      expect(r.stderr).toContain(`candidate ${rejectedId}: No program was made: it was rejected before evaluation.`)
    }
  })

  it('checks a problem folder by evaluating its seed in the sandbox, OpenEvolve folders included', async () => {
    const native = await cli(['problem', 'check', join(FIXTURES, 'curve-fit'), '--json'])
    expect(native.code, native.stderr).toBe(0)
    expect(native.json).toMatchObject({ id: 'test-curve-fit', valid: true, direction: 'min', primaryMetric: 'mse' })
    expect(native.json.score).toBeCloseTo(0.62648, 4)
    expect(native.json.warnings).toEqual([])
    // a diversity axis the evaluator never reports is said before a run, not left empty through it
    const axes = tempDir()
    cpSync(join(FIXTURES, 'curve-fit'), axes, { recursive: true })
    const fixture = JSON.parse(readFileSync(join(axes, 'problem.json'), 'utf8'))
    writeFileSync(join(axes, 'problem.json'), JSON.stringify({ ...fixture, features: ['curvature', 'smoothness'] }))
    const unreported = await cli(['problem', 'check', axes, '--json'])
    expect(unreported.json.warnings).toEqual([
      'feature "smoothness": the seed\'s result has none (features reported: curvature, offset): a diversity axis the evaluator never reports stays empty',
    ])
    expect(unreported.stderr).toContain('feature "smoothness": the seed')
    // the text names the reference once, on its own line
    const text = await cli(['problem', 'check', join(FIXTURES, 'curve-fit')])
    expect(text.stdout.match(/exact fit \(test fixture\)/g)).toEqual(['exact fit (test fixture)'])
    expect(text.stdout).toContain('reference: 0 (exact fit (test fixture))')
    const oe = await cli(['problem', 'check', join(FIXTURES, 'openevolve-sum'), '--json'])
    expect(oe.code, oe.stderr).toBe(0)
    expect(oe.json).toMatchObject({
      id: 'openevolve-sum',
      valid: true,
      direction: 'max',
      primaryMetric: 'combined_score',
    })
    expect(oe.json.score).toBeCloseTo(1 / (1 + 0.49 + 0.01 + 0.36), 6)
    // config.yaml fields without an equivalent are named, not silently dropped
    expect(oe.stderr).toMatch(/"log_level" is ignored: FM Agent has its own logging/)
    // a built-in problem by its id, as a run takes it (re-evaluating a run's exported best needs no path)
    const builtin = await cli(['problem', 'check', 'tsp-berlin52', '--json'])
    expect(builtin.code, builtin.stderr).toBe(0)
    expect(builtin.json).toMatchObject({ id: 'tsp-berlin52', valid: true, direction: 'min' })
    const notAProblem = await cli(['problem', 'check', tmpdir()])
    expect(notAProblem.code).toBe(2)
    expect(notAProblem.stderr).toMatch(/not a problem folder/)
    // a seed judged valid without the score's metric is invalid, and the check says why (a typo, here)
    const typo = tempDir()
    cpSync(join(FIXTURES, 'curve-fit'), typo, { recursive: true })
    const evaluator = join(typo, 'evaluator.py')
    writeFileSync(evaluator, readFileSync(evaluator, 'utf8').replace('{"mse": mse}', '{"mse_": mse}'))
    const invalid = await cli(['problem', 'check', typo])
    expect(invalid.code).toBe(1)
    expect(invalid.stdout).toContain('seed INVALID')
    expect(invalid.stdout).toContain('feedback: the evaluator reported no "mse" metric (it reported mse_)')
  })

  it('problem check names unknown keys of problem.json with what they likely meant, and every issue of an invalid one', async () => {
    const dir = tempDir()
    cpSync(join(FIXTURES, 'curve-fit'), dir, { recursive: true })
    const specFile = join(dir, 'problem.json')
    const spec = JSON.parse(readFileSync(specFile, 'utf8'))
    writeFileSync(
      specFile,
      JSON.stringify({ ...spec, limit: { timeoutS: 1 }, refrence: {}, heldout: {}, limits: { memoryMb: 256 } }),
    )
    const typos = await cli(['problem', 'check', dir])
    expect(typos.code, typos.stderr).toBe(0)
    // the id as problem.json has it, in the heading of the result
    expect(typos.stdout.startsWith('test-curve-fit (FM Agent (problem.json)): seed valid')).toBe(true)
    // a memory limit below the floor a Python evaluator needs is raised, and the check says so
    expect(typos.stdout).toContain(
      'memory: limits.memoryMb 256 is below the 512 MB floor (a Python evaluator reserves more address space than it uses): evaluations run under an address-space limit of 512 MB',
    )
    expect(typos.stderr).toContain(
      'warn: problem.json: "limit" is not a known key and is ignored; did you mean "limits"?',
    )
    expect(typos.stderr).toContain('"refrence" is not a known key and is ignored; did you mean "reference"?')
    expect(typos.stdout).toContain(
      'ignored in problem.json (not known keys): "limit" (did you mean "limits"?), "refrence" (did you mean "reference"?), "heldout" (did you mean "heldOut"?)',
    )
    writeFileSync(
      specFile,
      JSON.stringify({ ...spec, direction: 'up', limits: { timeoutS: '10' }, features: 'curvature' }),
    )
    const invalid = await cli(['problem', 'check', dir])
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain(`${dir}/problem.json: 3 issues:`)
    expect(invalid.stderr).toMatch(/^ {2}direction: .*"max"\|"min"/m)
    expect(invalid.stderr).toMatch(/^ {2}limits\.timeoutS: .*expected number, received string/m)
    expect(invalid.stderr).toMatch(/^ {2}features: .*expected array, received string/m)
  })

  it('problem check evaluates a valid seed on the held-out stage too, and fails when that stage fails', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'problem.json'),
      JSON.stringify({
        id: 'held-out-check',
        name: 'held-out check',
        description: 'the held-out stage reads its instances from the environment',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'min',
        primaryMetric: 'loss',
        heldOut: { description: 'two other instances', env: { HELD_SCALE: '3' } },
      }),
    )
    writeFileSync(join(dir, 'seed.py'), 'X = 2\n')
    const evaluator = (heldOutBody: string) =>
      writeFileSync(
        join(dir, 'evaluator.py'),
        `import json, os, sys\nx = int(open(sys.argv[-1]).read().split('=')[1])\nif os.environ.get('FM_HELD_OUT') == '1':\n${heldOutBody}\nelse:\n    print(json.dumps({"metrics": {"loss": x}}))\n`,
      )
    evaluator('    print(json.dumps({"metrics": {"loss": x * int(os.environ["HELD_SCALE"])}}))')
    const ok = await cli(['problem', 'check', dir])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('held-out stage (two other instances): seed valid, loss = 6')
    expect((await cli(['problem', 'check', dir, '--json'])).json).toMatchObject({
      score: 2,
      heldOut: { valid: true, score: 6 },
    })
    // a mistake only the held-out stage makes would otherwise surface at the end of a whole run
    evaluator('    print(json.dumps({"metrics": {"loss": x * int(os.environ["HELD_SCALES"])}}))')
    const broken = await cli(['problem', 'check', dir])
    expect(broken.code).toBe(1)
    expect(broken.stdout).toContain('seed valid, loss = 2')
    expect(broken.stdout).toMatch(/held-out stage \(two other instances\): seed INVALID; error \(crash: .*HELD_SCALES/)
  })

  it("problem check shows an invalid seed's other artifacts, the evaluator's stderr among them", async () => {
    const check = resultShapes()
    const text = await check(
      'import sys\nsys.stderr.write("Traceback: the real cause\\n")\nprint(json.dumps({"valid": False, "artifacts": {"feedback": "failed", "log": "step 3 diverged"}}))',
    )
    expect(text).toContain('feedback: failed')
    expect(text).toContain('log: step 3 diverged')
    expect(text).toContain('stderr: Traceback: the real cause')
    const json = JSON.parse(
      (
        await check('print(json.dumps({"valid": True, "metrics": {"loss": 1}, "artifacts": {"log": "ok"}}))', [
          '--json',
        ])
      )
        .trim()
        .split('\n')
        .pop()!,
    )
    expect(json.artifacts).toEqual({ log: 'ok' })
  })

  it('a primary metric after 250 others scores; a missing one is counted among all the evaluator reported', async () => {
    const check = resultShapes()
    expect(
      await check('print(json.dumps({"valid": True, "metrics": {f"instance_{i:03d}": float(i) for i in range(251)}}))'),
    ).toMatch(
      /feedback: the evaluator reported no "loss" metric \(it reported instance_000, .* \(251 in all; a result keeps at most 200\)\)/,
    )
    // the tester's case
    const wide = await check(
      'm = {f"instance_{i:03d}": float(i) for i in range(250)}\nm["loss"] = 0.5\nprint(json.dumps({"valid": True, "metrics": m}))',
      ['--json'],
    )
    expect(JSON.parse(wide.trim().split('\n').pop()!)).toMatchObject({ valid: true, score: 0.5 })
  })

  it("says what is wrong with an evaluator's result: a string or NaN metric, no reason, a malformed result", async () => {
    const check = resultShapes()
    expect(await check('print(json.dumps({"valid": True, "metrics": {"loss": "0.5"}}))')).toContain(
      'feedback: the evaluator\'s "loss" is a string ("0.5"), not a number: metrics must be numbers (true and false count as 1 and 0), anything else moves to the artifacts (here "metric:loss")',
    )
    expect(await check('print(json.dumps({"valid": True, "metrics": {"loss": float("nan")}}))')).toContain(
      'feedback: the evaluator\'s "loss" is NaN, not a finite number',
    )
    expect(await check('print(json.dumps({"valid": False}))')).toContain(
      'feedback: the evaluator reported "valid": false without a reason (add "feedback" to its "artifacts", or an "error" string, to say why)',
    )
    expect(await check('print(json.dumps({"valid": "yes", "metrics": [1, 2]}))')).toContain(
      'error (bad-output): the evaluator\'s result is malformed: "valid" is a string ("yes"): it must be true or false; "metrics" is an array ([1,2]): it must be an object of numbers',
    )
  })

  it('runs an OpenEvolve folder unchanged, with its config.yaml mapped', async () => {
    const dir = tempDir()
    const r = await cli(['run', join(FIXTURES, 'openevolve-sum'), '--operators', 'local', '--json', '--data-dir', dir])
    expect(r.code, r.stderr).toBe(0)
    // max_iterations 40 and num_islands 2 came from config.yaml
    expect(r.json).toMatchObject({ status: 'completed', evaluations: 40, islands: 2, direction: 'max' })
    expect(r.json.best.score).toBeGreaterThan(r.json.seedScore)
    // a run of a folder stores that problem alone; the next command that lists problems adds the built-in ones
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    const stored = await db.prisma.problem.findMany({ select: { id: true, builtin: true } }).finally(() => db.close())
    expect(stored).toEqual([{ id: expect.any(String), builtin: false }])
    const listed = await cli(['problems', '--json', '--data-dir', dir])
    expect(listed.code, listed.stderr).toBe(0)
    expect((listed.json as Array<{ id: string }>).map((p) => p.id)).toEqual(
      expect.arrayContaining(['circle-packing-26', stored[0]!.id]),
    )
  })

  it('a run of a folder whose id another folder already has is refused with exit code 2, naming both', async () => {
    const dir = tempDir()
    const original = join(tempDir(), 'curve-fit')
    cpSync(join(FIXTURES, 'curve-fit'), original, { recursive: true })
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    await importProblem(db, original).finally(() => db.close())
    const copy = join(tempDir(), 'curve-fit-copy')
    cpSync(original, copy, { recursive: true })
    writeFileSync(join(copy, 'initial.py'), 'broken(\n')
    const r = await cli(['run', copy, '--operators', 'local', '--max-evals', '2', '--data-dir', dir])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      `problem id "test-curve-fit" is already the problem of ${original}; ${copy} has the same id`,
    )
    expect(r.stderr).toContain(`change "id" in ${join(copy, 'problem.json')}`)
  })

  it('problem import stores a folder without a run; its id then starts one; a copy with that id is refused', async () => {
    const dir = tempDir()
    const folder = join(tempDir(), 'curve-fit')
    cpSync(join(FIXTURES, 'curve-fit'), folder, { recursive: true })
    const r = await cli(['problem', 'import', folder, '--json', '--data-dir', dir])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toEqual({ id: 'test-curve-fit', warnings: [] })
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    const rows = await db.prisma.run.count().finally(() => db.close())
    expect(rows).toBe(0)
    const copy = join(tempDir(), 'curve-fit-copy')
    cpSync(folder, copy, { recursive: true })
    const refused = await cli(['problem', 'import', copy, '--data-dir', dir])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`problem id "test-curve-fit" is already the problem of ${folder}`)
    const missing = await cli(['problem', 'import', join(dir, 'nowhere'), '--data-dir', dir])
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('no such problem folder')])
    // bad input, not a malformed command line: no usage text after it
    expect(refused.stderr + missing.stderr).not.toContain('Usage:')
    expect((await cli(['problem', 'import'])).stderr).toContain('Usage:')
    const run = await cli([
      'run',
      'test-curve-fit',
      '--operators',
      'local',
      '--max-evals',
      '3',
      '--json',
      '--data-dir',
      dir,
    ])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json).toMatchObject({ status: 'completed', evaluations: 3 })
  })

  it('a run whose model has no key here is refused before it starts, naming the variable', async () => {
    const r = await cli(['run', 'circle-packing-26', '--model', 'openai:gpt-4.1-mini', '--data-dir', tempDir()], {
      OPENAI_API_KEY: '',
      OPENAI_BASE_URL: '',
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no API key for openai:gpt-4.1-mini: set OPENAI_API_KEY')
    expect(r.stderr).not.toContain('evaluating the seed')
  })

  it('a --config that names models runs them, as --model does (it had run the offline operators)', async () => {
    const dir = tempDir()
    const file = join(dir, 'models.json')
    writeFileSync(file, JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4.1-mini' }] }))
    const r = await cli(['run', 'circle-packing-26', '--config', file, '--data-dir', dir], {
      OPENAI_API_KEY: '',
      OPENAI_BASE_URL: '',
    })
    // the model path: its key is checked (the offline operators need none)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no API key for openai:gpt-4.1-mini: set OPENAI_API_KEY')
  })

  it('a command that reads runs names a data folder that does not exist, and makes none', async () => {
    const typo = join(tempDir(), 'no-such-folder')
    for (const args of [
      ['runs'],
      ['export', 'ffff0000'],
      ['held-out', 'ffff0000', '--report'],
      ['resume', 'ffff0000'],
    ]) {
      const r = await cli([...args, '--data-dir', typo])
      expect([r.code, r.stderr.trim()], args[0]).toEqual([
        2,
        `fm-agent: no data folder at ${typo}: nothing has run there (check --data-dir or FM_DATA_DIR; fm-agent start, run and import make one)`,
      ])
    }
    expect(existsSync(typo)).toBe(false)
  })

  it('a command waits for a process starting on the data folder to serve its API, and goes on when it can', async () => {
    const dir = tempDir()
    expect((await cli(['problems', '--data-dir', dir])).code).toBe(0)
    // held as a run or server holds it in its first seconds: the lock taken, no API served yet
    const lock = acquireLock(dir)
    const p = new WatchedCli(['runs', '--json', '--data-dir', dir])
    try {
      expect(await p.until(() => p.stderr.includes(': waiting for it to serve its API'))).toBe(true)
    } finally {
      lock.release()
    }
    const r = await p.done()
    expect([r.code, r.json], r.stderr).toEqual([0, []])
  })

  it('a problem id that names nothing is refused before any worker starts', async () => {
    const dir = tempDir()
    const r = await cli(['run', 'no-such-problem', '--operators', 'local', '--data-dir', dir])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no problem "no-such-problem" (fm-agent problems lists them')
    // the pool says its isolation when it starts
    expect(r.stderr).not.toContain('sandbox isolation')
    // nothing ran here: no database is made for a typo (runs would then say nothing of a wrong folder)
    expect(existsSync(join(dir, 'pgdata'))).toBe(false)
  })

  it('a run that cannot be created exits with its reason, its workers (started meanwhile) stopped', async () => {
    const dir = tempDir()
    const folder = join(dir, 'broken-problem')
    mkdirSync(folder)
    writeFileSync(join(folder, 'problem.json'), '{ "id": ')
    const r = await cli(['run', folder, '--operators', 'local', '--data-dir', dir])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('problem.json')
    expect(r.stderr).toContain('sandbox isolation')
    // the worker processes and their sandboxes name the data folder (their slots live in it)
    const left = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)
        } catch {
          return false
        }
      })
    expect(left).toEqual([])
  })

  it('refuses a spend cap it could not count: a model without a price', async () => {
    const dir = tempDir()
    const capped = join(dir, 'capped.json')
    writeFileSync(capped, JSON.stringify({ budget: { maxSpendUsd: 0.5 } }))
    const r = await cli(
      ['run', 'circle-packing-26', '--model', 'openai:gpt-4.1-mini', '--config', capped, '--data-dir', dir],
      { OPENAI_API_KEY: 'sk-test' },
    )
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/maxSpendUsd is set, but openai:gpt-4\.1-mini has no price/)
    expect(r.stderr).toMatch(/pricePer1kIn and pricePer1kOut/)
  })

  it('a --model the --config file names keeps its prices: the spend cap is counted', async () => {
    const dir = tempDir()
    const capped = join(dir, 'capped.json')
    writeFileSync(
      capped,
      JSON.stringify({
        budget: { maxSpendUsd: 0.5 },
        models: [
          { provider: 'openai', model: 'gpt-4.1', pricePer1kIn: 0.002, pricePer1kOut: 0.008 },
          { provider: 'openai', model: 'gpt-4.1-mini', pricePer1kIn: 0.0004, pricePer1kOut: 0.0016 },
        ],
      }),
    )
    // the key is refused where the model is first asked: the run was created with the cap counted
    const r = await cli(
      ['run', 'circle-packing-26', '--model', 'openai:gpt-4.1-mini', '--config', capped, '--data-dir', dir],
      { OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
    )
    expect(r.stderr).not.toMatch(/has no price/)
    expect(r.stderr).toContain('no API key for openai:gpt-4.1-mini: set OPENAI_API_KEY')
  })

  it('answers unknown commands and flags with exit code 2', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2)
    const flag = await cli(['problems', '--jsno'])
    expect(flag.code).toBe(2)
    expect(flag.stderr.trim().split('\n')[0]).toMatch(/unknown option '--jsno'/)
    // a negative number is the option's value, refused by its own range
    const negative = await cli(['run', 'circle-packing-26', '--max-evals', '-5', '--data-dir', tempDir()])
    expect(negative.code).toBe(2)
    expect(negative.stderr).toContain('--max-evals must be an integer from 1 to 10000000 (got "-5")')
    // a path that is not there is named as such, before the sandbox is probed
    const missing = await cli(['run', './no/such-problem', '--operators', 'local', '--data-dir', tempDir()])
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim().split('\n')[0]).toBe(
      'fm-agent: ./no/such-problem: no such problem folder or KernelBench task file',
    )
  })

  it('names a bad DATABASE_URL and its fix in one line, exit code 1', async () => {
    const r = await cli(['problems'], { DATABASE_URL: 'postgres://fm:fm@127.0.0.1:1/nothing' })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/127\.0\.0\.1:1.*connection refused/)
    const bad = await cli(['problems'], { PORT: 'ninety' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/environment variable PORT/)
  })

  it('sends commands to the running server that holds the data folder, and says so', async () => {
    const dir = tempDir()
    const server = await startServer({
      env: readEnv({ FM_ADMIN_PASSWORD: 'admin-password-1' } as unknown as NodeJS.ProcessEnv),
      dataDir: dir,
      port: 0,
      host: '127.0.0.1',
      pages: false,
      log: createLogger('test', 'warn'),
    })
    try {
      const r = await cli(['problems', '--json', '--data-dir', dir])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(
        /a server \(pid \d+, http:\/\/127\.0\.0\.1:\d+\) holds .* sending this command to it through \S+api\.sock/,
      )
      expect((r.json as unknown[]).length).toBeGreaterThan(10)
      // a second server on the same folder is refused, naming the holder
      const second = await cli(['start', '--port', '0', '--data-dir', dir])
      expect(second.code).toBe(1)
      expect(second.stderr).toMatch(/in use by process \d+/)
    } finally {
      await server.stop()
    }
  })
})

describe('fm-agent as an installed command', () => {
  it('runs through its first line, with the memory settings that line gives it', () => {
    const seen = 'console.error("settings", JSON.stringify([process.execArgv, process.env.MALLOC_ARENA_MAX]))'
    const r = spawnSync(FM_AGENT, ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(seen)}` },
    })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain('settings [["--max-semi-space-size=4"],"2"]')
    expect(r.stdout).toContain('fm-agent: evolutionary program search')
  })
})
