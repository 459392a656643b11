// A run exported from one database and imported into another that never saw it, as a new user
// moves a run between data folders: the export carries its problem (the row and its files), the
// doubles come back as the same doubles, a problem already there is never overwritten, and a file
// that is not a whole export is refused with what is wrong with it.
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import { scratchDirs } from '../../test-support/scratch.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { createCaller } from '../api/root.ts'
import { MAX_IMPORT_BYTES, serveRunImport } from '../api/run-import.ts'
import { startApiHarness } from '../../test-support/api-server.ts'
import { createAppServices } from '../app.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { silentLogger } from '../log.ts'
import type { Db } from '../db.ts'
import { BadInputError } from '../errors.ts'
import { MAX_BUNDLE_BYTES, unpackBundle } from '../problems/bundle.ts'
import { importProblem } from '../services/problem-catalog.ts'
import { exportedBundle } from './export-file.ts'
import { createRun, exportChunks, exportRun, importRun, resumeRunConfig } from './service.ts'

const { tempDir } = scratchDirs('fm-export-')
const CURVE = join(FIXTURES, 'curve-fit')
const admin: Actor = { id: null, label: 'test', role: 'admin', via: 'system' }
/** as `fm-agent export` writes it */
const asFile = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)))
// doubles whose shortest form has 17 digits: Prisma's own writes store the neighbouring double
const AWKWARD = [3.7174721189591082, 0.30000000000000004, 1.0000000000000002, 123.45678901234568]

describe.each(dbModes())('export and import across databases, %s', (mode, open) => {
  const opened: Array<{ db: Db; cleanup: () => Promise<void> }> = []
  const fresh = async () => {
    const o = await open()
    opened.push(o)
    return o.db
  }
  let source: Db
  let runId = ''
  let file: any
  beforeAll(async () => {
    source = await fresh()
    const p = await importProblem(source, CURVE)
    ;({ runId } = await seedSyntheticRun(source, { candidates: 240, islands: 2, direction: 'min', problemId: p.id }))
    // the run as `fm-agent run` leaves it: the problem it ran (its files by hash), doubles the engine wrote exactly
    const row = await source.prisma.problem.findUniqueOrThrow({ where: { id: p.id } })
    const snapshot = {
      id: row.id,
      name: row.name,
      description: row.description,
      spec: row.spec,
      seedCode: row.seedCode,
      bundleHash: row.bundleHash,
    }
    const awkward = JSON.stringify(AWKWARD)
    await source.sql(
      `UPDATE runs SET problem_snapshot = $2::jsonb,
         engine_state = jsonb_build_object('bandit', jsonb_build_object('values', $3::jsonb)), spend_usd = ($3::jsonb->>1)::float8
       WHERE id = $1`,
      [runId, JSON.stringify(snapshot), awkward],
    )
    await source.sql(
      `UPDATE candidates SET
         timing = jsonb_build_object('sandboxMs', $2::jsonb->0, 'evaluatorMs', $2::jsonb->3),
         operator_params = jsonb_build_object('changes', jsonb_build_array(jsonb_build_object('sigma', $2::jsonb->0))),
         cost_usd = ($2::jsonb->>1)::float8
       WHERE run_id = $1 AND seq % 5 = 0`,
      [runId, awkward],
    )
    await source.sql(
      `UPDATE run_metrics SET evals_per_sec = ($2::jsonb->>0)::float8, failure_rate = ($2::jsonb->>2)::float8 WHERE run_id = $1`,
      [runId, awkward],
    )
    await source.sql(`UPDATE islands SET state = jsonb_build_object('temperature', $2::jsonb->0) WHERE run_id = $1`, [
      runId,
      awkward,
    ])
    file = asFile(await exportRun(source, runId))
  }, 120_000)
  afterAll(async () => {
    for (const o of opened) await o.cleanup()
  })

  it('carries the problem: its row and the files the run ran with', async () => {
    expect(file.problem).toMatchObject({
      id: 'test-curve-fit',
      direction: 'min',
      bundleHash: file.run.problemSnapshot.bundleHash,
    })
    expect(file.bundles.map((b: { hash: string }) => b.hash)).toEqual([file.problem.bundleHash])
    const files = unpackBundle(Buffer.from(file.bundles[0].data, 'base64'), file.problem.bundleHash).files
    expect(files.map((f) => f.path)).toEqual(['evaluator.py', 'initial.py', 'problem.json'])
    // the awkward doubles are in the file as the source database holds them
    expect(file.metrics[0].evalsPerSec).toBe(AWKWARD[0])
    expect(file.candidates[0].timing.sandboxMs).toBe(AWKWARD[0])
  })

  it('is written a page of candidates at a time, and the pieces joined are the whole export', async () => {
    const pieces: string[] = []
    // other work gets turns of the event loop between pages (a server's other requests)
    let ticks = 0
    let ticking = true
    const tick = () => {
      ticks++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const seen: number[] = []
    for await (const piece of exportChunks(source, runId)) {
      pieces.push(piece)
      seen.push(ticks)
    }
    ticking = false
    expect(new Set(seen).size).toBeGreaterThanOrEqual(3)
    const whole = JSON.parse(pieces.join(''))
    expect({ ...whole, exportedAt: null }).toEqual({ ...file, exportedAt: null })
    // 240 candidates: the head, two pages, the rest; no piece holds them all
    const holding = pieces.filter((p) => p.includes('"codeHash"'))
    expect(holding.length).toBe(2)
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(pieces.join('').length * 0.9)
  })

  it("over the API gives the problem's files to an admin only", async () => {
    const as = (role: Role) =>
      createCaller({
        app: createAppServices(source, null, silentLogger),
        actor: { id: null, label: `${role}@example.test`, role, via: 'session' },
        tokenScope: null,
        headers: new Headers(),
      })
    const viewer = await as('viewer').runs.export({ runId })
    expect(viewer.candidates).toHaveLength(240)
    expect(viewer).not.toHaveProperty('problem')
    expect(viewer).not.toHaveProperty('bundles')
    const byAdmin = await as('admin').runs.export({ runId })
    expect(byAdmin).toHaveProperty('bundles', file.bundles)
    // every program and prompt of the run left: who took them is on the audit log
    const audited = await source.prisma.auditEvent.findMany({ where: { runId, action: 'run.export' } })
    expect(audited.map((a) => [a.actorLabel, (a.after as { withProblem: boolean }).withProblem])).toEqual([
      ['viewer@example.test', false],
      ['admin@example.test', true],
    ])
  })

  it('as one value only up to a bound: a larger run is pointed to the streamed download', async () => {
    const size = JSON.stringify(await exportRun(source, runId)).length
    await expect(exportRun(source, runId, { maxBytes: Math.floor(size / 2) })).rejects.toThrow(
      new RegExp(`over \\d+ MB, more than one API answer holds: download it from /api/runs/${runId}/export`),
    )
    await expect(exportRun(source, runId, { maxBytes: Math.floor(size / 2) })).rejects.toBeInstanceOf(BadInputError)
    expect((await exportRun(source, runId, { maxBytes: size * 2 })).candidates).toHaveLength(240)
  })

  it('imports into a fresh database: the problem created, every row and every double the same', async () => {
    const target = await fresh()
    expect(await target.prisma.problem.count({ where: { id: 'test-curve-fit' } })).toBe(0)
    const r = await importRun(target, admin, file)
    expect(r).toEqual({ runId, candidates: 240, problem: { id: 'test-curve-fit', status: 'created' } })

    const problem = await target.prisma.problem.findUniqueOrThrow({ where: { id: 'test-curve-fit' } })
    const { createdAt: _c, updatedAt: _u, sourcePath, builtin, ...rest } = problem
    expect(rest).toEqual(file.problem)
    expect([sourcePath, builtin]).toEqual([null, false])
    const bundle = await target.prisma.problemBundle.findUniqueOrThrow({ where: { hash: problem.bundleHash } })
    expect(unpackBundle(Buffer.from(bundle.data), problem.bundleHash).files).toHaveLength(3)

    const again = asFile(await exportRun(target, runId))
    expect(again.candidates).toEqual(file.candidates)
    expect(again.metrics).toEqual(file.metrics)
    expect(again.migrations).toEqual(file.migrations)
    expect(again.metrics.map((m: { evalsPerSec: number }) => m.evalsPerSec)).toContain(AWKWARD[0])
    expect(again.candidates[5].operatorParams.changes[0].sigma).toBe(AWKWARD[0])
    expect(again.candidates[5].timing.evaluatorMs).toBe(AWKWARD[3])
    expect(again.candidates[5].costUsd).toBe(AWKWARD[1])
    const strip = ({ id: _i, updatedAt: _u2, ...i }: Record<string, unknown>) => i
    expect(again.islands.map(strip)).toEqual(file.islands.map(strip))
    expect(again.islands[0].state.temperature).toBe(AWKWARD[0])
    const { updatedAt: _a, ...runAgain } = again.run
    const { updatedAt: _b, ...runFile } = file.run
    // a run without a status reason says where it came from
    expect(runAgain).toEqual({ ...runFile, statusReason: 'imported' })
    expect(again.run.engineState.bandit.values).toEqual(AWKWARD)
    expect(again.run.spendUsd).toBe(AWKWARD[1])
    expect({ problem: again.problem, bundles: again.bundles }).toEqual({ problem: file.problem, bundles: file.bundles })

    // a new run on the created problem starts here (server mode: workers elsewhere evaluate it)
    if (mode.startsWith('server')) {
      const run = await createRun(target, admin, { problemId: 'test-curve-fit', config: { budget: { maxEvals: 5 } } })
      expect(run.id).not.toBe(runId)
    }

    // imported again where the problem now is: the same files, so the same problem
    await target.prisma.run.delete({ where: { id: runId } })
    const twice = await importRun(target, admin, file)
    expect(twice.problem).toEqual({ id: 'test-curve-fit', status: 'same' })
    expect(await target.prisma.problem.count()).toBe(1)
  })

  it('leaves a problem here with other files as it is; the run keeps the files it ran with', async () => {
    const target = await fresh()
    const folder = join(tempDir(), 'curve-fit')
    cpSync(CURVE, folder, { recursive: true })
    writeFileSync(
      join(folder, 'evaluator.py'),
      `${readFileSync(join(folder, 'evaluator.py'), 'utf8')}\n# edited here\n`,
    )
    const mine = await importProblem(target, folder)
    expect(mine.bundleHash).not.toBe(file.problem.bundleHash)

    const r = await importRun(target, admin, file)
    expect(r.problem).toEqual({ id: 'test-curve-fit', status: 'differs' })
    const problem = await target.prisma.problem.findUniqueOrThrow({ where: { id: 'test-curve-fit' } })
    expect(problem.bundleHash).toBe(mine.bundleHash)
    expect(problem.sourcePath).toBe(folder)
    const run = await target.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    expect((run.problemSnapshot as { bundleHash: string }).bundleHash).toBe(file.problem.bundleHash)
    const hashes = (await target.prisma.problemBundle.findMany({ select: { hash: true } })).map((b) => b.hash).sort()
    expect(hashes).toEqual([mine.bundleHash, file.problem.bundleHash].sort())
  })

  it('reads an export made before exports carried their problem where the problem is, and says so where it is not', async () => {
    const { problem: _p, bundles: _b, ...older } = file
    const without = await fresh()
    await expect(importRun(without, admin, older)).rejects.toThrow(
      /problem "test-curve-fit" is not in this database and the file does not carry it/,
    )
    expect(await without.prisma.run.count()).toBe(0)
    await importProblem(without, CURVE)
    const same = await importRun(without, admin, older)
    expect([same.problem.status, same.notResumable]).toEqual(['same', undefined])

    // the problem here has other files: the run can be looked at, not resumed, and says so at once
    const other = await fresh()
    const folder = join(tempDir(), 'curve-fit')
    cpSync(CURVE, folder, { recursive: true })
    writeFileSync(join(folder, 'evaluator.py'), `${readFileSync(join(folder, 'evaluator.py'), 'utf8')}\n# edited\n`)
    await importProblem(other, folder)
    const r = await importRun(other, admin, older)
    expect(r.notResumable).toMatch(/are not in this database: its export was made before exports carried them/)
    const before = await other.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    await expect(resumeRunConfig(other, admin, runId, before.evaluations + 10)).rejects.toThrow(/not resumed/)
    expect(await other.prisma.run.findUniqueOrThrow({ where: { id: runId } })).toEqual(before)
  })

  it('refuses a file that is not a whole export with what is wrong, and writes nothing', async () => {
    const target = await fresh()
    const refused = async (data: unknown) => {
      const e = await importRun(target, admin, data).then(
        () => null,
        (x: Error) => x,
      )
      expect(e).toBeInstanceOf(BadInputError)
      return e!.message
    }
    const bare = await refused({ format: 'fm-agent-run/1' })
    expect(bare).toMatch(/^an FM Agent run export, but incomplete or damaged: "run" is missing \(expected object\)/)
    expect(bare).not.toMatch(/expected "format"/)
    expect(await refused({ ...file, candidates: undefined })).toMatch(/"candidates" is missing \(expected array\)/)
    expect(
      await refused({ ...file, candidates: [{ ...file.candidates[0], code: undefined }, ...file.candidates.slice(1)] }),
    ).toMatch(/"candidates\[0\]\.code" is missing/)
    expect(await refused({ ...file, run: { ...file.run, problemId: 7 } })).toMatch(
      /"run\.problemId": .*expected string/,
    )
    expect(await refused({ format: 'fm-agent-run/2' })).toMatch(
      /"format" is "fm-agent-run\/2", expected "fm-agent-run\/1"/,
    )
    expect(await refused([1, 2])).toMatch(/not an FM Agent run export \(expected "format": "fm-agent-run\/1"\)/)
    // files altered on the way: checked against their hash before anything is stored
    const other = file.bundles[0].data.replace(/.{8}$/, 'AAAAAAAA')
    expect(await refused({ ...file, bundles: [{ ...file.bundles[0], data: other }] })).toMatch(
      /the export's problem files \(bundle [0-9a-f]{12}\) cannot be read/,
    )
    expect(await refused({ ...file, problem: { ...file.problem, id: 'another' } })).toMatch(/the file was altered/)
    expect(await target.prisma.run.count()).toBe(0)
    expect(await target.prisma.problem.count({ where: { id: 'test-curve-fit' } })).toBe(0)
    expect(await target.prisma.problemBundle.count()).toBe(0)
  })
})

describe('the bound on what an export carries', () => {
  it('is the bound on a problem folder, named in the refusal', () => {
    const row = { hash: 'a'.repeat(64), data: new Uint8Array(10), fileCount: 1 }
    expect(exportedBundle({ ...row, size: MAX_BUNDLE_BYTES }).data).toBe(Buffer.alloc(10).toString('base64'))
    expect(() => exportedBundle({ ...row, size: MAX_BUNDLE_BYTES + 1 })).toThrow(
      /\(bundle aaaaaaaaaaaa\) are 200\.0 MiB, over the 200 MiB a problem folder may hold/,
    )
  })
})

describe('fm-agent export, then fm-agent import into a fresh data folder', () => {
  it('imports, resumes there with the problem it brought, and refuses an incomplete file with exit code 2', async () => {
    const from = tempDir()
    const to = tempDir()
    const made = await cli(['run', CURVE, '--max-evals', '12', '--islands', '1', '--json', '--data-dir', from])
    expect(made.code, made.stderr).toBe(0)
    const runId = made.json.runId as string
    const out = join(tempDir(), 'run.json')
    const exported = await cli(['export', runId, '--out', out, '--data-dir', from])
    expect(exported.code, exported.stderr).toBe(0)

    const imported = await cli(['import', out, '--json', '--data-dir', to])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.json).toEqual({
      runId,
      candidates: expect.any(Number),
      problem: { id: 'test-curve-fit', status: 'created' },
    })
    expect(imported.stderr).toContain('problem "test-curve-fit" created from the export')
    const back = await cli(['export', runId, '--data-dir', to])
    expect(back.code, back.stderr).toBe(0)
    const [a, b] = [JSON.parse(readFileSync(out, 'utf8')), JSON.parse(back.stdout)]
    // the engine's own doubles (timings, rates, bandit values), not only made-up ones
    expect(b.candidates).toEqual(a.candidates)
    expect(b.metrics).toEqual(a.metrics)
    expect(b.run.engineState).toEqual(a.run.engineState)
    // its history travels: the console's Activity of the copy is the original's
    expect(a.events.map((e: { type: string }) => e.type)).toContain('status')
    expect(b.events).toEqual(a.events)
    // a copy of the file under another run id: its candidates are here already, said before anything is written
    const copy = join(tempDir(), 'copy.json')
    writeFileSync(copy, readFileSync(out, 'utf8').replaceAll(runId, '00000000-0000-4000-8000-000000000000'))
    const twice = await cli(['import', copy, '--data-dir', to])
    expect([twice.code, twice.stderr.trim()]).toEqual([
      2,
      `fm-agent: candidate ${a.candidates[0].id} of this export is already here, in run ${runId}: the file is a copy of an export imported before (a run's candidates keep their ids)`,
    ])
    expect(b.candidates.some((c: { timing: { sandboxMs?: number } | null }) => c.timing?.sandboxMs)).toBe(true)

    // the exported best, re-evaluated on its own, gives back the score the run stored
    const best = a.candidates.find((c: { id: string }) => c.id === a.run.bestCandidateId) as { code: string }
    const bestFile = join(tempDir(), 'best.py')
    writeFileSync(bestFile, best.code)
    const checked = await cli(['problem', 'check', CURVE, '--program', bestFile, '--json'])
    expect(checked.code, checked.stderr).toBe(0)
    expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, score: a.run.bestScore, program: bestFile })
    expect(checked.stderr).toContain(`evaluating ${bestFile} instead of the seed`)
    const none = join(tempDir(), 'none.py')
    const missing = await cli(['problem', 'check', CURVE, '--program', none])
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `fm-agent: --program ${none}: no such file`])

    const problems = await cli(['problems', '--json', '--data-dir', to])
    expect(problems.code, problems.stderr).toBe(0)
    expect(JSON.parse(problems.stdout).map((p: { id: string }) => p.id)).toContain('test-curve-fit')
    const resumed = await cli(['resume', runId, '--max-evals', '16', '--json', '--data-dir', to])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.json).toMatchObject({ runId, status: 'completed', evaluations: 16 })

    // an export of a running run: its row read before its last candidates (counters behind them)
    const behind = JSON.parse(readFileSync(out, 'utf8'))
    const evaluated = behind.candidates.filter((c: { evalIndex: number | null }) => c.evalIndex !== null).length
    behind.run.nextSeq = 2
    behind.run.evaluations = 3
    const racing = join(tempDir(), 'racing.json')
    writeFileSync(racing, JSON.stringify(behind))
    const third = tempDir()
    expect((await cli(['import', racing, '--data-dir', third])).code).toBe(0)
    const caughtUp = await cli(['resume', runId, '--max-evals', String(evaluated + 3), '--json', '--data-dir', third])
    expect(caughtUp.code, caughtUp.stderr).toBe(0)
    expect(caughtUp.json).toMatchObject({ status: 'completed', evaluations: evaluated + 3 })

    const bare = join(tempDir(), 'bare.json')
    writeFileSync(bare, '{"format":"fm-agent-run/1"}')
    const refused = await cli(['import', bare, '--data-dir', tempDir()])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('incomplete or damaged: "run" is missing')
    expect(refused.stderr).not.toContain('expected "format"')
  }, 240_000)
})

describe('importing into a data folder a server holds', () => {
  it('goes through the server: fm-agent import by its socket, the console by POST /api/runs/import (admins)', async () => {
    const from = tempDir()
    const files: Array<{ runId: string; path: string }> = []
    for (const seed of ['1', '2']) {
      const made = await cli([
        'run',
        CURVE,
        '--max-evals',
        '6',
        '--islands',
        '1',
        '--seed',
        seed,
        '--json',
        '--data-dir',
        from,
      ])
      expect(made.code, made.stderr).toBe(0)
      const path = join(tempDir(), `run-${seed}.json`)
      const exported = await cli(['export', made.json.runId, '--out', path, '--data-dir', from])
      expect(exported.code, exported.stderr).toBe(0)
      files.push({ runId: made.json.runId, path })
    }
    const h = await startApiHarness()
    try {
      // the CLI: the folder is held, so the server imports it
      const viaCli = await cli(['import', files[0]!.path, '--data-dir', h.dataDir])
      expect(viaCli.code, viaCli.stderr).toBe(0)
      expect(viaCli.stderr).toMatch(/holds .* sending this command to it through \S+api\.sock/)
      expect(viaCli.stdout).toContain(`imported run ${files[0]!.runId} with`)
      expect(viaCli.stderr).toContain('problem "test-curve-fit" created from the export')
      // and back out through the same socket, streamed by the server: to a file and to stdout
      const original = JSON.parse(readFileSync(files[0]!.path, 'utf8'))
      const outFile = join(tempDir(), 'back.json')
      for (const args of [['--out', outFile], []]) {
        const back = await cli(['export', files[0]!.runId.slice(0, 8), ...args, '--data-dir', h.dataDir])
        expect(back.code, back.stderr).toBe(0)
        expect(back.stderr).toMatch(/sending this command to it through \S+api\.sock/)
        const text = args.length ? readFileSync(outFile, 'utf8') : back.stdout
        const copy = JSON.parse(text)
        expect([copy.run.id, copy.candidates, copy.problem.id]).toEqual([
          original.run.id,
          original.candidates,
          'test-curve-fit',
        ])
      }
      const unknown = await cli(['export', '00000000-0000-4000-8000-000000000000', '--data-dir', h.dataDir])
      expect([unknown.code, unknown.stderr.trim().split('\n').at(-1)]).toEqual([
        2,
        'fm-agent: no run "00000000-0000-4000-8000-000000000000"',
      ])
      const again = await cli(['import', files[0]!.path, '--data-dir', h.dataDir])
      expect([again.code, again.stderr.trim().split('\n').at(-1)]).toEqual([
        2,
        `fm-agent: ${files[0]!.path}: run ${files[0]!.runId} already exists here`,
      ])

      const post = (role: 'viewer' | 'expert' | 'admin', body: string) =>
        h.token(role).then((t) =>
          fetch(`${h.url}/api/runs/import`, {
            method: 'POST',
            headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
            body,
          }),
        )
      const text = readFileSync(files[1]!.path, 'utf8')
      for (const role of ['viewer', 'expert'] as const) expect((await post(role, text)).status, role).toBe(403)
      const notJson = await post('admin', '{"format": ')
      expect(notJson.status).toBe(400)
      expect((await notJson.json()).error).toMatch(/^not an export: the file is not JSON/)
      const ok = await post('admin', text)
      expect(ok.status).toBe(200)
      expect(await ok.json()).toMatchObject({
        runId: files[1]!.runId,
        problem: { id: 'test-curve-fit', status: 'same' },
      })
      const runs = await h.server.app.db.prisma.run.findMany({ select: { id: true } })
      expect(runs.map((r) => r.id).sort()).toEqual(files.map((f) => f.runId).sort())
      expect((await post('admin', text)).status).toBe(409)
      const audited = await h.server.app.db.prisma.auditEvent.findMany({ where: { action: 'run.import' } })
      // the first admin, by the socket (the machine's owner); the admin's token, by HTTP
      expect(audited.map((a) => a.actorLabel)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^admin@hardening\.test \(cli:.*\(local socket\)\)$/),
          'admin@hardening.test (token cli)',
        ]),
      )
      expect(audited).toHaveLength(2)

      // a body over the bound is refused by its declared length, before it is read
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${h.url}/api/runs/import`, {
          method: 'POST',
          headers: { 'content-length': MAX_IMPORT_BYTES + 1, 'content-type': 'application/json' },
        })
        void h.token('admin').then((t) => {
          req.setHeader('authorization', `Bearer ${t}`)
          req.write('{')
        })
        req.on('response', (res) => {
          let body = ''
          res.on('data', (c) => (body += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
      })
      expect(refused.status).toBe(413)
      expect(JSON.parse(refused.body).error).toContain('larger than the 256 MiB an import may be')
    } finally {
      await h.stop()
    }
  }, 240_000)

  it('stops reading a body without a length once it passes the bound', async () => {
    const db = await (await import('../db.ts')).openDatabase({ dataDir: tempDir() })
    const app = createAppServices(db, null, silentLogger)
    const server = createServer((req, res) => void serveRunImport(app, req, res, admin, 1000))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/runs/import`
      // a stream: sent chunked, no length to judge it by
      const body = new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode(' '.repeat(400)))
          c.close()
        },
      })
      const res = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit)
      expect(res.status).toBe(413)
      expect((await fetch(url, { method: 'POST', body: ' '.repeat(900) })).status).toBe(400)
      expect((await fetch(url)).status).toBe(405)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      await db.close()
    }
  })
})
