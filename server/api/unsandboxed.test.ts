// Isolation "none" (no namespaces: candidates could read this user's files and reach the network):
// runs refuse to start unless FM_ALLOW_UNSANDBOXED=1, a server-mode worker refuses to start, the
// embedded pool refuses jobs; with the opt-in, the console's banner query names the runs.
// (Its own file: the isolation is forced through the environment of this test process.)
import { afterAll, describe, expect, it } from 'vitest'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { callProcedure } from '../../test-support/http-client.ts'
import { createLocalPool } from '../../workers/pool.ts'
import { startServerWorker } from '../../workers/server-worker.ts'
import { detectIsolation, sandboxAdvice } from '../../workers/sandbox.ts'
import { cli } from '../../test-support/cli.ts'
import { NO_SANDBOX } from '../../client-safe/needs.ts'
import { bundleStore, makeJob, makeProblem, removeTempDirs, tempDir } from '../../workers/test-helpers.ts'
import type { EvalResult } from '../contracts/evaluation.ts'

process.env.FM_ISOLATION = 'none'
delete process.env.FM_ALLOW_UNSANDBOXED
afterAll(removeTempDirs)

describe('at isolation "none"', () => {
  it('is what this test process detects', () => {
    expect(detectIsolation().level).toBe('none')
  })

  it('a run is refused over HTTP (412) until FM_ALLOW_UNSANDBOXED=1, then the banner query names it', async () => {
    let h: ApiHarness | null = await startApiHarness({ engine: true, env: { FM_WORKERS: '1' } })
    try {
      const refused = await callProcedure(
        h.url,
        'runs.create',
        'mutation',
        { problemId: 'tsp-eil51', config: { mutator: 'local', budget: { maxEvals: 2 } } },
        { token: h.users.admin.token },
      )
      expect(refused.status).toBe(412)
      expect(refused.code).toBe('PRECONDITION_FAILED')
      expect(refused.message).toMatch(/without a sandbox.*FM_ALLOW_UNSANDBOXED=1/)
      expect(await h.server.app.db.prisma.run.count()).toBe(0)
      // nothing to warn about: no run
      const quiet = await callProcedure(h.url, 'workers.unsandboxed', 'query', undefined, {
        token: h.users.viewer.token,
      })
      expect(quiet.data).toMatchObject({ runs: [] })
      await h.stop()
      h = null

      process.env.FM_ALLOW_UNSANDBOXED = '1'
      h = await startApiHarness({ engine: true, env: { FM_WORKERS: '1' } })
      const created = await callProcedure(
        h.url,
        'runs.create',
        'mutation',
        { problemId: 'tsp-eil51', name: 'bare', config: { mutator: 'local', budget: { maxEvals: 2 } } },
        { token: h.users.admin.token },
      )
      expect(created.status, created.body).toBe(200)
      const runId = (created.data as { id: string }).id
      const banner = await callProcedure(h.url, 'workers.unsandboxed', 'query', undefined, {
        token: h.users.viewer.token,
      })
      expect(banner.status).toBe(200)
      const data = banner.data as { runs: { id: string }[]; workers: string[] }
      expect(data.runs.map((r) => r.id)).toContain(runId)
      expect(data.workers.length).toBeGreaterThan(0)
      await callProcedure(h.url, 'runs.stop', 'mutation', { runId }, { token: h.users.admin.token })
    } finally {
      delete process.env.FM_ALLOW_UNSANDBOXED
      await h?.stop()
    }
  }, 240_000)

  it('the embedded pool answers jobs with the refusal (whatever path submitted them)', async () => {
    const problem = makeProblem(
      { 'evaluator.py': 'import json\nprint(json.dumps({"valid": True, "metrics": {"s": 1}}))\n', 'seed.py': '' },
      {
        id: 'bare',
        name: 'bare',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    const pool = createLocalPool({
      size: 1,
      cacheDir: tempDir('fm-bare-'),
      getBundle: bundleStore(problem).fetch,
      announce: false,
    })
    try {
      await pool.start()
      const results: EvalResult[] = []
      pool.onResult((r) => void results.push(r))
      await pool.submit(makeJob(problem, ''))
      expect(results).toHaveLength(1)
      expect(results[0]!.valid).toBe(false)
      expect(results[0]!.error?.message).toMatch(/FM_ALLOW_UNSANDBOXED=1/)
    } finally {
      await pool.close()
    }
  })

  it('doctor, the problem list and problem check say that runs are refused here, and why', async () => {
    const dataDir = tempDir()
    const doctor = await cli(['doctor', '--json'])
    expect(doctor.code, doctor.stderr).toBe(1)
    expect(doctor.json.ok).toBe(false)
    expect(doctor.json.sandboxRefusal).toMatch(/without a sandbox.*FM_ALLOW_UNSANDBOXED=1/)
    const eil = (rows: { id: string }[]) => rows.find((p) => p.id === 'tsp-eil51') as Record<string, any>
    expect(eil(doctor.json.problems).readiness).toMatchObject({
      ok: false,
      missing: expect.arrayContaining([NO_SANDBOX]),
    })
    expect((await cli(['doctor'])).stdout).toContain('NOT READY: runs are refused here, for want of a sandbox')
    const listed = await cli(['problems', '--json', '--data-dir', dataDir])
    expect(eil(listed.json).runnable).toMatchObject({ ok: false, missing: expect.arrayContaining([NO_SANDBOX]) })
    // a task folder from elsewhere first runs here: under the same rule as a run
    const check = await cli(['problem', 'check', 'tsp-eil51'])
    expect(check.code).toBe(1)
    expect(check.stderr).toMatch(/this check cannot run the evaluator: candidate code would run without a sandbox/)
    // the opt-in lifts the refusal everywhere
    const allowed = await cli(['doctor', '--json'], { FM_ALLOW_UNSANDBOXED: '1' })
    expect(allowed.json.sandboxRefusal).toBeNull()
    expect(eil(allowed.json.problems).readiness.missing).not.toContain(NO_SANDBOX)
  }, 120_000)

  it('advises from what the machine has, not what it already tried', () => {
    expect(sandboxAdvice(false, false)).toMatch(/^Install bubblewrap .* or run the workers as root/)
    expect(sandboxAdvice(false, true)).not.toMatch(/as root/)
    const blocked = sandboxAdvice(true, true)
    expect(blocked).toMatch(/^bubblewrap is installed but cannot create namespaces here: this is a chroot, a container/)
    expect(blocked).not.toMatch(/Install bubblewrap|as root/)
    expect(sandboxAdvice(true, false)).toMatch(/or run the workers as root/)
  })

  it('a server-mode worker does not start', async () => {
    await expect(
      startServerWorker({
        databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
        isolation: detectIsolation(),
        announce: false,
      }),
    ).rejects.toThrow(/will not start: .*FM_ALLOW_UNSANDBOXED=1/)
  })
})
