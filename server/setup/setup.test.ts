// The prerequisite check on real interpreters: this machine's /usr/bin/python3 (NumPy, SciPy and
// scikit-learn installed by scripts/test-setup.sh) and the same interpreter started with -S, which
// hides every installed package: a real Python 3 without NumPy, as on a fresh machine.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { openDatabase } from '../db.ts'
import { startApiProcess } from '../../test-support/api-process.ts'
import { callProcedure } from '../../test-support/http-client.ts'
import type { Logger } from '../log.ts'
import { ProblemSpec } from '../contracts/problem.ts'
import { ensurePrerequisites, localReadiness } from './check.ts'
import { probeMachine } from './machine.ts'
import { scratchDirs } from '../../test-support/scratch.ts'

const { tempDir } = scratchDirs('fm-setup-')

const BARE = join(tempDir(), 'python3')
writeFileSync(BARE, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n')
chmodSync(BARE, 0o755)

function recorder() {
  const lines: Array<[string, string]> = []
  const log: Logger = {
    debug: () => {},
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  }
  return { log, lines }
}

describe('probeMachine', () => {
  it('finds the modules and programs evaluations use, with versions', async () => {
    const m = await probeMachine({ importModules: true })
    expect(m.python).toMatchObject({ path: '/usr/bin/python3', version: expect.stringMatching(/^3\.\d+/) })
    expect(m.modules.numpy).toMatch(/^\d+\.\d+/)
    expect(m.modules.scipy).toMatch(/^\d+\.\d+/)
    expect(m.modules.sklearn).toMatch(/^\d+\.\d+/)
    expect(m.commands['g++']).toBe('/usr/bin/g++')
    expect(m.commands.bwrap).toBe('/usr/bin/bwrap')
    expect(m.commands['no-such-program']).toBeUndefined()
    expect(m.os.apt).toBe(true)
  })

  it('finds the same versions without importing, where the package is named apart from its module', async () => {
    const [deep, shallow] = await Promise.all([
      probeMachine({ importModules: true, modules: ['json'] }),
      probeMachine({ modules: ['json'] }),
    ])
    // scikit-learn installs `sklearn`
    for (const m of ['numpy', 'scipy', 'sklearn']) expect(shallow.modules[m], m).toBe(deep.modules[m])
    expect(shallow.modules.json).toBe('') // a module of the standard library: present, no distribution
  })

  it('finds the version of a module whose package has another name that it was not told', async () => {
    const site = tempDir()
    mkdirSync(join(site, 'fm_probe_mod'))
    writeFileSync(join(site, 'fm_probe_mod', '__init__.py'), '')
    mkdirSync(join(site, 'fm_probe_dist-1.2.3.dist-info'))
    writeFileSync(
      join(site, 'fm_probe_dist-1.2.3.dist-info', 'METADATA'),
      'Metadata-Version: 2.1\nName: fm-probe-dist\nVersion: 1.2.3\n',
    )
    writeFileSync(join(site, 'fm_probe_dist-1.2.3.dist-info', 'top_level.txt'), 'fm_probe_mod\n')
    const python = join(site, 'python3')
    writeFileSync(python, `#!/bin/sh\nPYTHONPATH=${site} exec /usr/bin/python3 "$@"\n`)
    chmodSync(python, 0o755)
    const m = await probeMachine({ python, modules: ['fm_probe_mod'] })
    expect(m.modules.fm_probe_mod).toBe('1.2.3')
  })

  it('sees an interpreter without packages, and one that does not exist', async () => {
    const bare = await probeMachine({ python: BARE })
    expect(bare.python.version).toMatch(/^3\./)
    expect(bare.modules).toMatchObject({ numpy: false, scipy: false, sklearn: false })
    const none = await probeMachine({ python: '/nonexistent/python3' })
    expect(none.python).toMatchObject({ version: null, error: expect.stringMatching(/does not exist/) })
  })
})

describe('localReadiness (what run creation checks)', () => {
  it('looks for the programs a problem calls, not only the well-known ones', async () => {
    const spec = (evaluator: string) =>
      ProblemSpec.parse({
        id: 'p',
        name: 'P',
        language: 'python',
        entry: 'seed.py',
        evaluator,
        direction: 'max',
        primaryMetric: 's',
      })
    expect(await localReadiness(spec('awk -f score.awk {candidate}'))).toMatchObject({ ok: true })
    expect(await localReadiness(spec('no-such-program-here score {candidate}'))).toMatchObject({
      ok: false,
      missing: ['no-such-program-here'],
    })
  })
})

describe('ensurePrerequisites (what `fm-agent start` does before serving)', () => {
  it('says so in one line when all is present', async () => {
    const { log, lines } = recorder()
    const r = await ensurePrerequisites({ log, install: false })
    expect(lines).toHaveLength(1)
    expect(lines[0][0]).toBe('info')
    expect(lines[0][1]).toMatch(
      /^prerequisites: all present: Python 3\.\d+\.\d+ \(\/usr\/bin\/python3\) with NumPy [\d.]+, SciPy [\d.]+, scikit-learn [\d.]+; g\+\+, valgrind, bubblewrap; gpu-conv, gpu-mlp, gpu-softmax need a GPU worker/,
    )
    expect(r.problems.find((p) => p.id === 'circle-packing-26')?.readiness.ok).toBe(true)
  })

  it('where it cannot install, names what is missing, the problems it blocks and the fix, and goes on', async () => {
    const { log, lines } = recorder()
    // install asked for, but apt serves only Debian's own interpreter: nothing is run, the fix is pip
    const r = await ensurePrerequisites({ log, install: true, python: BARE })
    const warned = lines.filter(([l]) => l === 'warn').map(([, m]) => m)
    expect(warned[0]).toBe(
      `prerequisites: missing NumPy, SciPy, scikit-learn (Python modules for ${BARE}): the installation did not supply them`,
    )
    expect(warned[1]).toMatch(
      /^prerequisites: 15 of 18 built-in problems cannot run here until then \(their runs are refused\): ahc001, .*circle-packing-26, .*tsp-kroa100$/,
    )
    expect(warned[2]).toBe(`prerequisites: fix with: ${BARE} -m pip install numpy scikit-learn scipy`)
    expect(lines.some(([, m]) => /apt/.test(m))).toBe(false)
    expect(r.problems.find((p) => p.id === 'ml-digits')?.readiness).toMatchObject({
      ok: false,
      missing: ['NumPy', 'scikit-learn'],
    })
  })
})

describe('the CLI', () => {
  it('fm-agent doctor: exit 0 here, 1 with an interpreter that lacks NumPy, and a JSON report', async () => {
    const ok = await cli(['doctor', '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.json).toMatchObject({ ok: true, missing: '', fix: null, isolation: { level: 'full' } })
    // in memory for root (each slot's tmpfs) and for a user (a private folder in /dev/shm) alike here
    expect(ok.json.evaluationFolders.where).toBe(process.getuid?.() === 0 ? 'slot-tmpfs' : 'shm')
    // this checkout's console: built or not (the e2e tests build it), and buildable by whoever owns it
    expect(ok.json.console).toMatchObject({ current: expect.any(Boolean), canBuild: true })
    expect(ok.json.problems.find((p: { id: string }) => p.id === 'gpu-mlp')).toMatchObject({
      gpu: true,
      readiness: { ok: false, missing: ['a GPU worker'] },
    })
    const bad = await cli(['doctor', join(FIXTURES, 'curve-fit')], { FM_PYTHON: BARE })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/^module +MISSING NumPy$/m)
    expect(bad.stdout).toMatch(/^ {2}circle-packing-26 +CANNOT RUN: needs NumPy, SciPy$/m)
    expect(bad.stdout).toMatch(/^ {2}test-curve-fit +runs here {2}\(folder\)$/m)
    expect(bad.stdout).toContain(`fix:     ${BARE} -m pip install numpy scikit-learn scipy`)
    expect(bad.stdout).toMatch(/NOT READY/)
    expect(bad.stdout).toMatch(/^folders +evaluation folders in memory: /m)
    expect(bad.stdout).toMatch(
      /^console +(built for the current sources|not built \(.+\): `fm-agent start` builds it first)/m,
    )
  })

  it('marks the problems that cannot run and refuses their runs, in-process and through a running server', async () => {
    const dataDir = tempDir()
    const env = { FM_PYTHON: BARE }
    const listed = await cli(['problems', '--json', '--data-dir', dataDir], env)
    expect(listed.code, listed.stderr).toBe(0)
    const byId = new Map((listed.json as Array<{ id: string; runnable: unknown }>).map((p) => [p.id, p.runnable]))
    expect(byId.get('circle-packing-26')).toMatchObject({
      ok: false,
      missing: ['NumPy', 'SciPy'],
      fix: `${BARE} -m pip install numpy scipy`,
    })
    expect(byId.get('gpu-softmax')).toMatchObject({ ok: false, missing: ['a GPU worker'] })
    const text = await cli(['problems', '--data-dir', dataDir], env)
    expect(text.stdout).toMatch(/^circle-packing-26 .* no: needs NumPy, SciPy /m)
    expect(text.stdout).toContain(`fix: ${BARE} -m pip install numpy scikit-learn scipy`)

    const refused = await cli(
      ['run', 'circle-packing-26', '--operators', 'local', '--max-evals', '5', '--json', '--data-dir', dataDir],
      env,
    )
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `problem "circle-packing-26" cannot run on this machine: it needs NumPy, SciPy (Python modules for ${BARE}). Fix: ${BARE} -m pip install numpy scipy`,
    )
    // a problem that needs nothing more runs with the same interpreter (an imported folder gets the same check)
    const fits = await cli(
      ['run', join(FIXTURES, 'curve-fit'), '--operators', 'local', '--max-evals', '5', '--json', '--data-dir', dataDir],
      env,
    )
    expect(fits.code, fits.stderr.slice(-2000)).toBe(0)
    expect(fits.json.status).toBe('completed')
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    try {
      expect(await db.prisma.run.count({ where: { problemId: 'circle-packing-26' } })).toBe(0)
    } finally {
      await db.close()
    }

    // the same through a server that holds the data folder: the API answers PRECONDITION_FAILED
    const server = await startApiProcess({ dataDir, env })
    try {
      const viaServer = await cli(
        ['run', 'ml-digits', '--operators', 'local', '--max-evals', '5', '--data-dir', dataDir],
        env,
      )
      expect(viaServer.stderr).toMatch(/holds .*: sending this command to it/)
      expect(viaServer.code).toBe(1)
      expect(viaServer.stderr).toContain('problem "ml-digits" cannot run on this machine: it needs NumPy, scikit-learn')
      const res = await callProcedure(
        server.url,
        'runs.create',
        'mutation',
        { problemId: 'tsp-berlin52', config: { mutator: 'local' } },
        { token: server.adminToken() },
      )
      expect(res.status).toBe(412)
      expect(res.code).toBe('PRECONDITION_FAILED')
      expect(res.message).toMatch(/^problem "tsp-berlin52" cannot run on this machine: it needs NumPy/)
    } finally {
      await server.stop()
    }
  })
})
