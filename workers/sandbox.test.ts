// Misbehaving candidates (issue 4, "Must show"): each ends as an invalid candidate with a clear
// reason within its timeout; no orphan survives; the listener sees no connection; no secret from the
// parent environment is visible; nothing is written outside the sandbox.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRunner, type RunnerOptions } from './runner.ts'
import { detectIsolation, detectIsolationAsync, outermostPaths, processEnv, sandboxEnv } from './sandbox.ts'
import { bundleStore, makeJob, makeProblem, SUBPROCESS_EVALUATOR, sharedRunner, tempDir } from './test-helpers.ts'

// the worker's own environment holds secrets; the candidate must see none of them
process.env.DATABASE_URL = 'postgres://fm:hunter2-SECRET@127.0.0.1:5432/fm'
process.env.OPENAI_API_KEY = 'sk-test-SECRET'

const isolation = detectIsolation()
const problem = makeProblem(
  { 'evaluator.py': SUBPROCESS_EVALUATOR, 'seed.py': 'print(1)\n' },
  {
    id: 'misbehave',
    name: 'misbehaving candidates',
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'score',
    limits: { timeoutS: 3, memoryMb: 1024, cpuS: 10 },
  },
)
const probeProblem = makeProblem(
  {
    'evaluator.py': `import json, sys
ns = {}
exec(open(sys.argv[-1]).read(), ns)
print(json.dumps({"valid": True, "metrics": {"n": len(ns["findings"])}, "artifacts": {"findings": ns["findings"]}}))
`,
    'seed.py': 'findings = {}\n',
    'private/secret.txt': 'PRIVATE-DATA\n',
  },
  {
    id: 'probe',
    name: 'sandbox probe',
    language: 'python',
    entry: 'seed.py',
    evaluator: 'evaluator.py',
    direction: 'max',
    primaryMetric: 'n',
    limits: { timeoutS: 10, memoryMb: 1024 },
  },
)
const store = bundleStore(problem, probeProblem)
const shared = sharedRunner('sandbox-test', store)
const { cacheDir } = shared

/** A runner of its own (the options given) evaluates a candidate that prints `n`: its score is n. */
async function scoresThrough(opts: Omit<RunnerOptions, 'isolation' | 'fetchBundle'>, n: number) {
  const own = createRunner({ ...opts, isolation, fetchBundle: store.fetch })
  try {
    const r = await own.run(makeJob(problem, `print(${n})\n`))
    expect(r.error).toBeUndefined()
    expect(r.metrics.score).toBe(n)
  } finally {
    await own.close()
  }
}

const psLines = (marker: string) =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker))

describe('isolation detection', () => {
  it('reports each layer and a level', () => {
    expect(['full', 'partial', 'none']).toContain(isolation.level)
    const names = isolation.layers.map((l) => l.name)
    for (const n of [
      'unprivileged-user',
      'namespaces',
      'network',
      'read-only-fs',
      'process-tree-kill',
      'rlimits',
      'child-sandbox',
      'secret-env',
    ])
      expect(names).toContain(n)
    // this project's machines have bubblewrap and user namespaces: anything less is a regression here
    expect(isolation.level).toBe('full')
  })
})

describe('five misbehaving candidates', () => {
  it('an infinite loop: timeout, within its limit', async () => {
    const t = Date.now()
    const r = await shared.runner.run(makeJob(problem, 'while True:\n    pass\n'))
    expect(r.valid).toBe(false)
    expect(r.error?.kind).toBe('timeout')
    expect(r.error?.message).toMatch(/wall-clock limit of 3 s/)
    expect(Date.now() - t).toBeLessThan(3000 + 2500)
  })

  it('20 orphans started with setsid: the evaluation ends at its timeout and none survives', async () => {
    const marker = `${100000 + randomInt(1e6)}.${randomInt(1e6)}`
    const code = `import subprocess
for i in range(20):
    subprocess.Popen(['setsid', 'sleep', '${marker}'])
print('started 20 orphans')
`
    const t = Date.now()
    const r = await shared.runner.run(makeJob(problem, code))
    // the orphans keep the evaluator's pipe open: it waits for them until the wall-clock limit
    expect(r.valid).toBe(false)
    expect(r.error?.kind).toBe('timeout')
    expect(Date.now() - t).toBeLessThan(3000 + 2500)
    expect(psLines(marker)).toEqual([])
  })

  it('a 16 GiB allocation: memory', async () => {
    const t = Date.now()
    const r = await shared.runner.run(makeJob(problem, 'x = bytearray(16 * 1024 ** 3)\nprint(len(x))\n'))
    expect(r.valid).toBe(false)
    expect(r.error?.kind).toBe('memory')
    expect(r.error?.message).toMatch(/MemoryError/)
    expect(Date.now() - t).toBeLessThan(3000)
  })

  describe('a TCP connection to a listener on 127.0.0.1', () => {
    let server: Server
    let connections = 0
    let port = 0
    beforeAll(async () => {
      server = createServer((s) => {
        connections++
        s.destroy()
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      port = (server.address() as { port: number }).port
    })
    afterAll(() => new Promise<void>((r) => server.close(() => r())))

    it('fails to connect; the listener sees nothing', async () => {
      const code = `import socket
s = socket.create_connection(('127.0.0.1', ${port}), timeout=2)
s.sendall(b'stolen')
print(1)
`
      const r = await shared.runner.run(makeJob(problem, code))
      expect(r.valid).toBe(false)
      expect(r.error?.kind).toBe('crash')
      expect(r.error?.message).toMatch(/ConnectionRefusedError|Network is unreachable|OSError/)
      expect(connections).toBe(0)
    })
  })

  it('a dump of os.environ to /tmp: no secret inside, nothing on the host', async () => {
    const marker = `fm-envdump-${process.pid}-${randomInt(1e9)}`
    const code = `import json, os
open('/tmp/${marker}.json', 'w').write(json.dumps(dict(os.environ)))
print(json.dumps(dict(os.environ)))
`
    const r = await shared.runner.run(makeJob(problem, code))
    expect(r.valid).toBe(false)
    expect(r.error?.kind).toBe('bad-output')
    const out = String(r.artifacts.stdout)
    expect(out).toContain('"HOME"') // the dump happened…
    expect(out).not.toContain('SECRET') // …without the parent's secrets
    expect(out).not.toContain('DATABASE_URL')
    expect(out).not.toContain('OPENAI_API_KEY')
    expect(JSON.stringify(r)).not.toContain('sk-test-SECRET')
    expect(existsSync(`/tmp/${marker}.json`)).toBe(false)
    // exactly the step's own environment: the allow-list and the job's variables, none of the
    // launcher's values left over (its HOME is the slot's folder, an evaluation's is its job folder)
    const env = JSON.parse(out.slice(out.indexOf('{"'), out.lastIndexOf('}') + 1)) as Record<string, string>
    expect(Object.keys(env).sort()).toEqual(
      [
        ...Object.keys(sandboxEnv('/')),
        'FM_CANDIDATE_SOURCE',
        'FM_CHILD_SANDBOX',
        'FM_JOB_ID',
        'FM_PROBLEM_DIR',
        'FM_RESULT_FILE',
      ].sort(),
    )
    expect(env.HOME).toBe(dirname(env.FM_PROBLEM_DIR!))
  })
})

describe('the sandbox', () => {
  it('runs as an unprivileged user, read-only outside its folder, secrets hidden', async () => {
    const code = `import os, socket
findings = {}
findings['uid'] = os.getuid()
findings['pid'] = os.getpid()
findings['visible_pids'] = len([p for p in os.listdir('/proc') if p.isdigit()])
def attempt(name, fn):
    try:
        fn()
        findings[name] = 'allowed'
    except Exception as e:
        findings[name] = type(e).__name__
attempt('write_repo', lambda: open('${process.cwd()}/fm-escape-test', 'w').write('x'))
attempt('write_home_of_worker', lambda: open('/root/fm-escape-test', 'w').write('x'))
attempt('read_shadow', lambda: open('/etc/shadow').read())
attempt('read_cache', lambda: os.listdir('${cacheDir}/bundles'))
attempt('write_tmp', lambda: open('/tmp/fm-ok', 'w').write('x'))
attempt('write_cwd', lambda: open('scratch.txt', 'w').write('x'))
attempt('kill_init', lambda: os.kill(1, 9))
attempt('fork_bomb', lambda: [os.fork() or os._exit(0) for _ in range(200)])
findings['ifaces'] = [n for _, n in socket.if_nameindex()]
findings['caps'] = {l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')}
`
    const r = await shared.runner.run(makeJob(probeProblem, code))
    expect(r.error).toBeUndefined()
    const f = r.artifacts.findings as Record<string, unknown>
    if (process.getuid?.() === 0) expect(f.uid).not.toBe(0)
    // a checkout under /tmp sits in the sandbox's private tmpfs: a write there may succeed inside and
    // must still never reach the real folder
    if (!process.cwd().startsWith('/tmp/')) expect(f.write_repo).not.toBe('allowed')
    expect(existsSync(`${process.cwd()}/fm-escape-test`)).toBe(false)
    expect(f.write_home_of_worker).not.toBe('allowed')
    expect(f.read_shadow).not.toBe('allowed')
    expect(f.read_cache).not.toBe('allowed')
    expect(f.write_tmp).toBe('allowed')
    expect(f.write_cwd).toBe('allowed')
    expect(f.fork_bomb).toBe('BlockingIOError') // the process-count limit binds
    expect(f.ifaces).toEqual(['lo'])
    // every set empty, the bounding set included: nothing the evaluation execs can gain one back
    expect(f.caps).toEqual({
      CapInh: '0000000000000000',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '0000000000000000',
      CapAmb: '0000000000000000',
    })
    expect(f.visible_pids).toBeLessThan(10) // its own pid namespace
    expect(existsSync(`${process.cwd()}/fm-escape-test`)).toBe(false)
  })

  it('removes each evaluation folder afterwards', async () => {
    await shared.runner.run(makeJob(problem, 'print(3)\n'))
    const sbx = shared.runner.sandboxRoot
    const slotDirs = readdirSync(sbx).filter((d) => d.startsWith(`${process.pid}-sandbox-test-`))
    expect(slotDirs.length).toBe(2)
    // only the (empty) folder of the steps' output files stays
    for (const d of slotDirs) expect(readdirSync(`${sbx}/${d}`)).toEqual(['.out'])
    for (const d of slotDirs) expect(readdirSync(`${sbx}/${d}/.out`)).toEqual([])
  })

  it('evaluation folders under /tmp survive the per-evaluation /tmp', async () => {
    try {
      await scoresThrough(
        { cacheDir: tempDir('fm-cache-'), sandboxRoot: `/tmp/fm-sbx-test-${process.pid}`, workerId: 'tmp-root' },
        4,
      )
    } finally {
      rmSync(`/tmp/fm-sbx-test-${process.pid}`, { recursive: true, force: true })
    }
  })

  it('a hidden folder inside another hidden one (a cache in a data folder, as a non-root user has it) still runs', async () => {
    // both reachable by the sandbox uid, the cache listed first, the slots inside the cache: bwrap
    // had masked the cache, then buried it under the data folder's mask, then failed to remount it
    const data = tempDir('fm-data-')
    const cache = join(data, 'cache')
    mkdirSync(cache)
    chmodSync(data, 0o755)
    chmodSync(cache, 0o755)
    await scoresThrough({ cacheDir: cache, hide: [data], workerId: 'nested-hide', slots: 1 }, 5)
  })

  it('an evaluation finds nothing the one before it in the same slot left: files in /tmp and /dev/shm, processes', async () => {
    const one = createRunner({
      cacheDir: tempDir('fm-cache-'),
      workerId: 'one-slot',
      slots: 1,
      isolation,
      fetchBundle: store.fetch,
    })
    const marker = `${100000 + randomInt(1e6)}.${randomInt(1e6)}`
    try {
      const first = await one.run(
        makeJob(
          probeProblem,
          `import os, subprocess
for d in ('/tmp', '/dev/shm'):
    open(os.path.join(d, 'left-${marker}'), 'w').write('x')
subprocess.Popen(['setsid', 'sleep', '${marker}'], start_new_session=True)
findings = {'wrote': all(os.path.exists(os.path.join(d, 'left-${marker}')) for d in ('/tmp', '/dev/shm'))}
`,
        ),
      )
      expect(first.artifacts.findings).toEqual({ wrote: true })
      const second = await one.run(
        makeJob(
          probeProblem,
          `import os
procs = []
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            procs.append(open('/proc/%s/cmdline' % p, 'rb').read().decode(errors='replace'))
        except OSError:
            pass
findings = {
    'tmp': os.path.exists('/tmp/left-${marker}'),
    'shm': os.path.exists('/dev/shm/left-${marker}'),
    'sleeper': any('${marker}' in c for c in procs),
}
`,
        ),
      )
      expect(second.artifacts.findings).toEqual({ tmp: false, shm: false, sleeper: false })
      expect(psLines(marker)).toEqual([])
    } finally {
      await one.close()
    }
  })

  it('a valid candidate still works: the score, timing and no error', async () => {
    const r = await shared.runner.run(makeJob(problem, 'print(2.5)\n'))
    expect(r.valid).toBe(true)
    expect(r.metrics.score).toBe(2.5)
    expect(r.timing.evaluatorMs).toBeGreaterThan(0)
    expect(r.workerId).toBe('sandbox-test')
  })

  it('reads the result from $FM_RESULT_FILE when the evaluator writes it (and prints no result line)', async () => {
    const p = makeProblem(
      {
        'evaluator.py': `import json, os\nprint('progress: 100%')\nopen(os.environ['FM_RESULT_FILE'], 'w').write(json.dumps({"valid": True, "metrics": {"s": 7}}))\n`,
        'seed.py': '',
      },
      {
        id: 'rf',
        name: 'rf',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    store.add(p)
    const r = await shared.runner.run(makeJob(p, ''))
    expect(r.valid).toBe(true)
    expect(r.metrics.s).toBe(7)
    expect(r.artifacts.stdout).toBe('progress: 100%\n')
  })

  it("a candidate cannot override the evaluator's printed result through $FM_RESULT_FILE", async () => {
    // the candidate runs in a child process that inherits the evaluator's environment (as fm_evalkit does)
    const p = makeProblem(
      {
        'evaluator.py': `import json, os, subprocess, sys
subprocess.run([sys.executable, sys.argv[-1]], env=dict(os.environ), capture_output=True)
print(json.dumps({"valid": True, "metrics": {"s": 1}}))
`,
        'seed.py': '',
      },
      {
        id: 'forge',
        name: 'forge',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    store.add(p)
    const r = await shared.runner.run(
      makeJob(
        p,
        `import json, os\nopen(os.environ['FM_RESULT_FILE'], 'w').write(json.dumps({"valid": True, "metrics": {"s": 1e9}}))\n`,
      ),
    )
    expect(r.metrics.s).toBe(1)
  })

  it('malformed output and a silent evaluator are bad-output; a crash keeps its traceback', async () => {
    const p = makeProblem(
      {
        'evaluator.py': `import sys\nsrc = open(sys.argv[-1]).read()\nexec(src)\n`,
        'seed.py': '',
      },
      {
        id: 'mal',
        name: 'mal',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
      },
    )
    store.add(p)
    const silent = await shared.runner.run(makeJob(p, 'pass\n'))
    expect(silent.error?.kind).toBe('bad-output')
    const malformed = await shared.runner.run(makeJob(p, 'print("{not json")\nprint("[1, 2]")\n'))
    expect(malformed.error?.kind).toBe('bad-output')
    expect(String(malformed.artifacts.stdout)).toContain('{not json')
    const crash = await shared.runner.run(makeJob(p, 'raise ValueError("boom")\n'))
    expect(crash.error?.kind).toBe('crash')
    expect(String(crash.artifacts.stderr)).toContain('ValueError: boom')
    const nan = await shared.runner.run(makeJob(p, 'print(\'{"valid": true, "metrics": {"s": NaN, "t": 1}}\')\n'))
    expect(nan.error).toBeUndefined()
    expect(nan.metrics).toEqual({ s: null, t: 1 })
    const huge = await shared.runner.run(
      makeJob(
        p,
        'import json\nprint(json.dumps({"valid": True, "metrics": {"s": 1}, "artifacts": {"feedback": "x" * 1000000}}))\n',
      ),
    )
    expect(String(huge.artifacts.feedback).length).toBeLessThanOrEqual(16_000)
  })

  it('a hung evaluator that ignores SIGTERM is still killed at the timeout', async () => {
    const p = makeProblem(
      {
        'evaluator.py': 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(1000)\n',
        'seed.py': '',
      },
      {
        id: 'hang',
        name: 'hang',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
        limits: { timeoutS: 1.5 },
      },
    )
    store.add(p)
    const t = Date.now()
    const r = await shared.runner.run(makeJob(p, ''))
    expect(r.error?.kind).toBe('timeout')
    expect(Date.now() - t).toBeLessThan(4000)
  })

  it('the CPU-time limit ends a busy evaluator as a timeout', async () => {
    const p = makeProblem(
      { 'evaluator.py': 'while True:\n    pass\n', 'seed.py': '' },
      {
        id: 'cpu',
        name: 'cpu',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 's',
        limits: { timeoutS: 20, cpuS: 1 },
      },
    )
    store.add(p)
    const t = Date.now()
    const r = await shared.runner.run(makeJob(p, ''))
    expect(r.error?.kind).toBe('timeout')
    expect(r.error?.message).toMatch(/CPU-time limit of 1 s/)
    expect(Date.now() - t).toBeLessThan(8000)
  })
})

describe('the child sandbox (fm_sandbox.run_candidate)', () => {
  it('a candidate run through it cannot read the private file; the evaluator can', async () => {
    const p = makeProblem(
      {
        'evaluator.py': `import json, os, sys
from fm_sandbox import run_candidate
here = os.path.dirname(os.path.abspath(__file__))
secret_path = os.path.join(here, 'private', 'labels.txt')
evaluator_sees = open(secret_path).read().strip()
r = run_candidate([sys.executable, 'main.py', secret_path], timeout=10, files={'main.py': sys.argv[-1], 'public.txt': os.path.join(here, 'public.txt')})
print(json.dumps({"valid": r.returncode == 0, "metrics": {"rc": r.returncode},
    "artifacts": {"evaluator_sees": evaluator_sees, "candidate_out": r.stdout.decode(), "candidate_err": r.stderr.decode()[-2000:],
                  "timed_out": r.timed_out, "workdir_files": sorted(os.listdir(r.workdir))}}))
`,
        'seed.py': '',
        'public.txt': 'public data\n',
        'private/labels.txt': 'HELD-OUT-LABELS\n',
      },
      {
        id: 'private-data',
        name: 'private data',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'rc',
        private: ['private/labels.txt'],
        limits: { timeoutS: 20 },
      },
    )
    store.add(p)
    const code = `import glob, json, os, sys
found = {}
for path in [sys.argv[1], os.environ.get('FM_PROBLEM_DIR', '') + '/private/labels.txt'] + glob.glob('/**/labels.txt', recursive=False):
    try:
        found[path] = open(path).read()
    except Exception as e:
        found[path] = type(e).__name__
found['public'] = open('public.txt').read()
try:
    open('public.txt', 'w').write('tampered')
    found['public_writable'] = True
except Exception:
    found['public_writable'] = False
found['env_fm'] = sorted(k for k in os.environ if k.startswith('FM_'))
for name in ['/tmp', '/dev/shm']:
    st = os.statvfs(name)
    found['mb ' + name] = st.f_blocks * st.f_frsize // 2**20
# the evaluation's folder is masked: nothing of it shows, and nothing can be written there
job = os.path.dirname(os.path.dirname(os.path.dirname(sys.argv[1])))
try:
    open(os.path.join(job, 'filler'), 'w').write('x')
    found['mask_writable'] = True
except Exception:
    found['mask_writable'] = False
print(json.dumps(found))
`
    const r = await shared.runner.run(makeJob(p, code))
    expect(r.error).toBeUndefined()
    expect(r.artifacts.evaluator_sees).toBe('HELD-OUT-LABELS')
    const out = String(r.artifacts.candidate_out)
    expect(out).not.toContain('HELD-OUT-LABELS')
    expect(out.trim(), String(r.artifacts.candidate_err)).not.toBe('')
    const found = JSON.parse(out)
    expect(found.public).toBe('public data\n')
    expect(found.public_writable).toBe(false)
    expect(found.env_fm).toEqual([])
    // tmpfs pages are charged to no process: unbounded, each could hold half the machine's memory
    expect(found['mb /tmp']).toBeLessThanOrEqual(512)
    expect(found['mb /dev/shm']).toBeLessThanOrEqual(512)
    expect(found.mask_writable).toBe(false)
    expect(r.artifacts.workdir_files).toEqual(['main.py', 'public.txt'])
  })

  it('kills the child at its timeout, grandchildren included', async () => {
    const marker = `${200000 + randomInt(1e6)}.${randomInt(1e6)}`
    const p = makeProblem(
      {
        'evaluator.py': `import json, sys, time
from fm_sandbox import run_candidate
t = time.time()
r = run_candidate(['/bin/sh', '-c', 'setsid sleep ${marker} & sleep ${marker}'], timeout=1, files={})
print(json.dumps({"valid": True, "metrics": {"elapsed": time.time() - t}, "artifacts": {"timed_out": r.timed_out}}))
`,
        'seed.py': '',
      },
      {
        id: 'child-timeout',
        name: 'child timeout',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'elapsed',
        limits: { timeoutS: 20 },
      },
    )
    store.add(p)
    const r = await shared.runner.run(makeJob(p, ''))
    expect(r.error).toBeUndefined()
    expect(r.artifacts.timed_out).toBe(true)
    expect(r.metrics.elapsed).toBeLessThan(3)
    expect(psLines(marker)).toEqual([])
  })

  it('outside a worker it degrades to a plain subprocess, says so, and removes its folders at exit', () => {
    const tmp = tempDir('fm-outside-worker-')
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `import os, sys
sys.path.insert(0, 'workers/python')
from fm_sandbox import fork_candidate, run_candidate
r = run_candidate(['/bin/sh', '-c', 'echo hi; echo kept > out.txt'], timeout=5)
print(r.returncode, r.stdout.decode().strip(), r.timed_out, open(os.path.join(r.workdir, 'out.txt')).read().strip())
c = fork_candidate(lambda sock, workdir: None)
c.wait(5)
print(r.workdir, c.workdir)`,
      ],
      { encoding: 'utf8', env: processEnv({ PATH: '/usr/bin:/bin', TMPDIR: tmp }) },
    )
    const [first, folders] = r.stdout.trim().split('\n')
    // what the candidate wrote is there while the evaluator runs; nothing is left once it exits
    expect(first).toBe('0 hi False kept')
    expect(folders!.split(' ').every((f) => f.startsWith(`${tmp}/`))).toBe(true)
    expect(readdirSync(tmp)).toEqual([])
    expect(r.stderr).toMatch(/WITHOUT a child sandbox/)
  })

  it("bounds the child's /tmp and /dev/shm with a bubblewrap that has no --size too", () => {
    const tmp = tempDir('fm-old-bwrap-')
    const argv = (tmpfsSize: boolean) => {
      const r = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          `import json, sys
sys.path.insert(0, 'workers/python')
from fm_sandbox import _bwrap_argv
print(json.dumps(_bwrap_argv({'bwrap': 'bwrap', 'tmpfsSize': ${tmpfsSize ? 'True' : 'False'}, 'hide': ['${tmp}']}, ['true'], '${tmp}/w', [], True)))`,
        ],
        { encoding: 'utf8' },
      )
      return (JSON.parse(r.stdout) as string[]).join(' ')
    }
    expect(argv(true)).toContain('--size 536870912 --tmpfs /tmp --size 536870912 --tmpfs /dev/shm')
    // folders beside the work folder, bounded as it is
    expect(argv(false)).toContain(`--bind ${tmp}/w.tmp /tmp --bind ${tmp}/w.shm /dev/shm`)
    expect(argv(false)).toMatch(new RegExp(`--bind ${tmp}/w ${tmp}/w .*--remount-ro ${tmp} `))
  })
})

describe('an installation the sandbox uid cannot read', () => {
  it.runIf(process.getuid?.() === 0)('runs the launcher from a world-readable copy of workers/python', () => {
    const priv = tempDir('fm-private-install-') // 0700, root's
    cpSync('workers/sandbox.ts', `${priv}/w/sandbox.ts`)
    cpSync('workers/python', `${priv}/w/python`, { recursive: true })
    writeFileSync(
      `${priv}/w/probe.mts`,
      "import { sandboxPythonDir } from './sandbox.ts'\nconsole.log(sandboxPythonDir())\n",
    )
    const r = spawnSync(process.execPath, ['--import', 'tsx', `${priv}/w/probe.mts`], { encoding: 'utf8' })
    const dir = r.stdout.trim()
    expect(dir, r.stderr).toMatch(/^\/var\/tmp\/fm-agent-python-[0-9a-f]{16}$/)
    // the sandbox uid can read the launcher there
    const read = spawnSync(
      'setpriv',
      [
        `--reuid=${isolation.uid}`,
        `--regid=${isolation.uid}`,
        '--clear-groups',
        '--',
        '/usr/bin/python3',
        '-c',
        `open('${dir}/fm_launcher.py').read(); print('ok')`,
      ],
      { encoding: 'utf8' },
    )
    expect(read.stdout.trim()).toBe('ok')
  })
})

describe('fallback isolation modes', () => {
  it.runIf(process.getuid?.() === 0)(
    'rootns (unshare as root): loop, orphans, network, env still handled',
    async () => {
      const iso = detectIsolation({ prefer: 'rootns' })
      expect(iso.mode).toBe('rootns')
      expect(iso.level).toBe('partial')
      const r2 = createRunner({
        cacheDir: tempDir('fm-cache-'),
        workerId: 'rootns-test',
        isolation: iso,
        fetchBundle: store.fetch,
      })
      try {
        const loop = await r2.run(makeJob(problem, 'while True:\n    pass\n'))
        expect(loop.error?.kind).toBe('timeout')
        const marker = `${300000 + randomInt(1e6)}.${randomInt(1e6)}`
        const orphans = await r2.run(
          makeJob(
            problem,
            `import subprocess\nfor i in range(5):\n    subprocess.Popen(['setsid', 'sleep', '${marker}'])\n`,
          ),
        )
        expect(orphans.error?.kind).toBe('timeout')
        expect(psLines(marker)).toEqual([])
        const env = await r2.run(makeJob(problem, 'import json, os\nprint(json.dumps(dict(os.environ)))\n'))
        expect(JSON.stringify(env)).not.toContain('SECRET')
        const probe = await r2.run(
          makeJob(
            probeProblem,
            `import os, socket\nfindings = {'uid': os.getuid(), 'ifaces': [n for _, n in socket.if_nameindex()]}\n`,
          ),
        )
        const f = probe.artifacts.findings as Record<string, unknown>
        expect(f.uid).not.toBe(0)
        expect(f.ifaces).toEqual(['lo'])
      } finally {
        await r2.close()
      }
    },
  )

  it('none: rlimits, uid drop and the process-tree kill still end a runaway candidate, and the level says so', async () => {
    const iso = detectIsolation({ prefer: 'none' })
    expect(iso.level).toBe('none')
    expect(iso.warnings.join(' ')).toMatch(/NO NAMESPACE ISOLATION/)
    const r3 = createRunner({
      cacheDir: tempDir('fm-cache-'),
      workerId: 'none-test',
      isolation: iso,
      fetchBundle: store.fetch,
    })
    try {
      const marker = `${400000 + randomInt(1e6)}.${randomInt(1e6)}`
      const orphans = await r3.run(
        makeJob(
          problem,
          `import subprocess\nfor i in range(5):\n    subprocess.Popen(['setsid', 'sleep', '${marker}'])\n`,
        ),
      )
      expect(orphans.error?.kind).toBe('timeout')
      expect(psLines(marker)).toEqual([])
      const mem = await r3.run(makeJob(problem, 'x = bytearray(16 * 1024 ** 3)\n'))
      expect(mem.error?.kind).toBe('memory')
    } finally {
      await r3.close()
    }
  })
})

describe('outermostPaths', () => {
  it('keeps the folders no other one contains, once each, in their order', () => {
    expect(outermostPaths(['/d/cache', '/srv', '/d', '/d/', '/dx', '/d/cache/sbx', '/srv'])).toEqual([
      '/srv',
      '/d',
      '/dx',
    ])
  })
})

describe('detecting the isolation', () => {
  it('asynchronously: the same report as the blocking probe, the event loop free meanwhile, one probe for concurrent callers', async () => {
    // uids no other test uses: neither report comes from the process's cache
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const [a, b] = await Promise.all([
      detectIsolationAsync({ prefer: 'auto', uid: 65533 }),
      detectIsolationAsync({ prefer: 'auto', uid: 65533 }),
    ])
    clearInterval(timer)
    expect(ticks).toBeGreaterThan(0)
    expect(a).toBe(b)
    expect(detectIsolation({ prefer: 'auto', uid: 65533 })).toBe(a)
    const blocking = detectIsolation({ prefer: 'auto', uid: 65532 })
    const shape = (r: typeof a) => ({ level: r.level, mode: r.mode, layers: r.layers.map((l) => [l.name, l.active]) })
    expect(shape(a)).toEqual(shape(blocking))
    expect(a.level).toBe(isolation.level)
  })
})
