// The forgery suite (issue 14): candidates that try to forge their score or read what they must not,
// through the real worker path (bundle, sandbox, evaluator, child sandbox). Each must score invalid or
// as what it truly does, with the attempt visible in its artifacts.
import { randomBytes } from 'node:crypto'
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EvalResult } from '../server/contracts/evaluation.ts'
import {
  BUILTIN_PROBLEMS_DIR,
  listBuiltinProblemFolders,
  loadProblemFolder,
  type LoadedProblem,
} from '../server/problems/load.ts'
import { createLocalPool } from './pool.ts'
import { detectIsolation } from './sandbox.ts'
import { recordFigures } from '../test-support/figures.ts'
import { makeJob, makeProblem, sharedRunner, tempDir } from './test-helpers.ts'

const SECRET = `FORGERY-SECRET-${randomBytes(6).toString('hex')}`
// a data folder where an installation keeps it (inside the checkout), with a token-like file
const DATA_DIR = resolve(`.fm-agent/forgery-data-${process.pid}`)
mkdirSync(DATA_DIR, { recursive: true })
writeFileSync(join(DATA_DIR, 'local-admin-token'), `${SECRET}-DATA\n`)
process.env.FM_DATA_DIR = DATA_DIR

/** The pid of the process (seen from here, outside every sandbox) that has this name, if one runs. */
function processNamed(name: string): number | undefined {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name) return Number(pid)
    } catch {} // gone meanwhile
  }
  return undefined
}

/** Resolves with `probe`'s first defined value, polling: a wait on progress, not on time. */
async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 20))
  }
}

const EVALKIT = readFileSync(join(BUILTIN_PROBLEMS_DIR, '_common', 'fm_evalkit.py'), 'utf8')
const isolation = detectIsolation()
const shared = sharedRunner('forgery-test')
const store = shared.store
let api: Server
let apiPort = 0
let apiConnections = 0

beforeAll(async () => {
  api = createServer((s) => {
    apiConnections++
    s.destroy()
  })
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r))
  apiPort = (api.address() as { port: number }).port
})
afterAll(async () => {
  if (tally.problems.length >= 18 && tally.harnessCases >= 8) {
    recordFigures('forgery', {
      ...tally,
      problems: tally.problems.length,
      problemIds: tally.problems,
      isolation: isolation.level,
    })
  }
  await new Promise<void>((r) => api.close(() => r()))
  rmSync(DATA_DIR, { recursive: true, force: true })
})

/** Python that tries every read it must not manage and prints what happened (the attempt, for the artifacts). */
function pythonSnoop(): string {
  return `
def _fm_snoop():
    import glob, json, os, socket, sys
    found = {}
    def attempt(name, fn):
        try:
            v = fn()
            found[name] = 'READ ' + str(v)[:200]
        except Exception as e:
            found[name] = type(e).__name__
    here = os.path.abspath(os.getcwd())
    roots = [here] + [os.path.dirname(here.rstrip('/'))]
    p = here
    for _ in range(8):
        p = os.path.dirname(p)
        roots.append(p)
    for r in roots:
        for q in glob.glob(os.path.join(r, '**', 'private', '*'), recursive=False) + glob.glob(os.path.join(r, 'problem', 'private', '*')):
            attempt('private:' + q, lambda q=q: open(q).read())
    for var in ('FM_PROBLEM_DIR', 'FM_RESULT_FILE', 'FM_DATA_DIR'):
        found['env:' + var] = os.environ.get(var, 'unset')
    attempt('data-folder', lambda: open(${JSON.stringify(join(DATA_DIR, 'local-admin-token'))}).read())
    attempt('data-folder-list', lambda: os.listdir(${JSON.stringify(DATA_DIR)}) or (_ for _ in ()).throw(FileNotFoundError('empty')))
    for q in glob.glob(${JSON.stringify(join(BUILTIN_PROBLEMS_DIR, '*', 'private', '*'))}):
        attempt('builtin-private:' + q, lambda q=q: open(q).read())
    for r in roots:
        for q in glob.glob(os.path.join(r, '*', 'job-*', 'candidate.*')):
            attempt('other-candidate:' + q, lambda q=q: open(q).read())
    attempt('loopback-api', lambda: socket.create_connection(('127.0.0.1', ${apiPort}), timeout=2).sendall(b'GET /api/trpc/users.list'))
    attempt('parent-memory', lambda: open('/proc/%d/mem' % os.getppid(), 'rb').read(1))
    print('ATTEMPT snoop ' + json.dumps(found, sort_keys=True), file=sys.stderr, flush=True)
`
}

/** The candidate's attempts must not have leaked anything: no secret anywhere in the result. */
function expectNothingLeaked(r: EvalResult) {
  const all = JSON.stringify(r)
  expect(all).not.toContain(SECRET)
  expect(apiConnections).toBe(0)
}

const attemptVisible = (r: EvalResult, word: string) => expect(JSON.stringify(r.artifacts)).toContain(`ATTEMPT ${word}`)

// for docs/guarantees.md (recorded when the whole suite ran)
const tally = {
  problems: [] as string[],
  evaluations: 0,
  forgeries: 0,
  harnessCases: 0,
  channelCases: 0,
  openEvolveCases: 0,
  acceptedAsDocumented: 0,
}
const count = <T extends EvalResult | EvalResult[]>(
  r: T,
  kind: 'harnessCases' | 'channelCases' | 'openEvolveCases' | null,
  forgeries = 1,
): T => {
  tally.evaluations += Array.isArray(r) ? r.length : 1
  tally.forgeries += forgeries
  if (kind) tally[kind]++
  return r
}

// ------------------------------------------------------------------------------------ KernelBench harness
describe('the KernelBench harness on the CPU path', () => {
  const REFERENCE = `import torch
import torch.nn as nn
import torch.nn.functional as F

class Model(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return F.gelu(self.fc(x))

def get_inputs():
    return [torch.randn(64, 128)]

def get_init_inputs():
    return [128, 256]
`
  const EVALUATOR = `import os
from fm_evalkit import main
from fm_kernelbench import evaluate_kernel
HERE = os.path.dirname(os.path.abspath(__file__))
main(lambda c: evaluate_kernel(os.path.join(HERE, 'reference.py'), c, device='cpu', correctness_trials=2, warmup=2, timed_runs=7))
`
  let problem: ReturnType<typeof makeProblem>
  const HONEST = `import torch, torch.nn as nn, torch.nn.functional as F
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return F.gelu(self.fc(x))
`
  const run = async (code: string, forgery = 1) =>
    count(await shared.runner.run(makeJob(problem, code)), 'harnessCases', forgery)

  beforeAll(() => {
    problem = makeProblem(
      {
        'reference.py': REFERENCE,
        'evaluator.py': EVALUATOR,
        'initial.py': HONEST,
        'private/secret.txt': `${SECRET}-PRIVATE\n`,
        'fm_evalkit.py': EVALKIT,
      },
      {
        id: 'kb-forgery',
        name: 'kb',
        language: 'python',
        entry: 'initial.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'speedup',
        limits: { timeoutS: 90, memoryMb: 8192, cpuS: 90 },
      },
    )
    store.add(problem)
  })

  it('an honest candidate is valid, timed by the harness, in a child sandbox', async () => {
    const r = await run(HONEST, 0)
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 3000)).toBeUndefined()
    expect(r.valid, JSON.stringify(r.artifacts).slice(0, 3000)).toBe(true)
    expect(r.metrics.speedup).toBeGreaterThan(0.2)
    expect(r.metrics.speedup).toBeLessThan(5)
    expect(String(r.artifacts.sandbox)).toMatch(/child sandbox/)
    expect(String(r.artifacts.sandbox)).not.toMatch(/WITHOUT/)
  }, 120_000)

  it('prints a fake result line and exits at import: invalid, the line only in its log', async () => {
    const r = await run(`import json, os, sys
print('ATTEMPT fake-line')
print(json.dumps({"valid": True, "metrics": {"speedup": 1e6}}), flush=True)
sys.stdout.flush()
os._exit(0)
`)
    expect(r.valid).toBe(false)
    expect(r.metrics.speedup ?? null).toBeNull()
    expect(String(r.artifacts.feedback)).toMatch(/candidate process did not answer/)
    attemptVisible(r, 'fake-line')
  }, 120_000)

  it('calls fm_evalkit.emit with a forged score and exits: invalid', async () => {
    const r = await run(`import os, sys
print('ATTEMPT emit')
try:
    sys.modules['fm_evalkit'].emit({'valid': True, 'metrics': {'speedup': 1e6}})
except Exception as e:
    print('emit failed:', type(e).__name__, e)
os._exit(0)
`)
    expect(r.valid).toBe(false)
    expect(r.metrics.speedup ?? null).toBeNull()
    attemptVisible(r, 'emit')
  }, 120_000)

  it('writes the result file and every .fm file it can find, then behaves: scored as what it is', async () => {
    const r = await run(`import glob, json, os
fake = json.dumps({"valid": True, "metrics": {"speedup": 1e6}})
tried = []
here, paths = os.getcwd(), [os.environ.get('FM_RESULT_FILE')]
for _ in range(8):
    paths += glob.glob(os.path.join(here, '.fm', '*')) + glob.glob(os.path.join(here, '*', '.fm', '*'))
    here = os.path.dirname(here)
for p in paths[:60]:
    if not p:
        continue
    try:
        open(p, 'a').write('\\n' + fake + '\\n')
        tried.append('WROTE ' + p)
    except Exception as e:
        tried.append(type(e).__name__ + ' ' + p)
print('ATTEMPT result-file', tried)
${HONEST}`)
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 3000)).toBeUndefined()
    expect(r.valid).toBe(true)
    expect(r.metrics.speedup).toBeLessThan(5)
    attemptVisible(r, 'result-file')
  }, 120_000)

  it('patches the comparison (torch.allclose, the harness) and returns zeros: invalid', async () => {
    const r = await run(`import sys, torch, torch.nn as nn
torch.allclose = lambda *a, **k: True
torch.isfinite = lambda t: torch.ones_like(t, dtype=torch.bool)
kb = sys.modules.get('fm_kernelbench')
if kb is not None:
    kb._compare = lambda *a, **k: (True, 0.0, 0.0, '')
print('ATTEMPT patch-compare', kb is not None)
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.n = n_hidden
    def forward(self, x):
        return torch.zeros(x.shape[0], self.n)
`)
    expect(r.valid).toBe(false)
    expect(String(r.artifacts.feedback)).toMatch(/incorrect on random input 1/)
    attemptVisible(r, 'patch-compare')
  }, 120_000)

  it('patches the timers and is slow: valid, with its true (low) speedup', async () => {
    const r = await run(`import time, torch, torch.nn as nn, torch.nn.functional as F
time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
torch.cuda.Event.elapsed_time = lambda self, end: 1e-9
print('ATTEMPT patch-timer')
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        t = time.time()
        while time.time() - t < 0.02:
            pass
        return F.gelu(self.fc(x))
`)
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 3000)).toBeUndefined()
    expect(r.valid, JSON.stringify(r.artifacts).slice(0, 3000)).toBe(true)
    expect(r.metrics.new_ms).toBeGreaterThan(15)
    expect(r.metrics.speedup).toBeLessThan(1)
    attemptVisible(r, 'patch-timer')
  }, 120_000)

  it('caches its output and skips the work on later calls: invalid', async () => {
    const r = await run(`import torch, torch.nn as nn, torch.nn.functional as F
print('ATTEMPT cache')
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
        self.memo = None
    def forward(self, x):
        if self.memo is None:
            self.memo = F.gelu(self.fc(x))
        return self.memo
`)
    expect(r.valid).toBe(false)
    expect(String(r.artifacts.feedback)).toMatch(/incorrect on random input 2/)
    attemptVisible(r, 'cache')
  }, 120_000)

  it('moves its work out of the timed call (into handing back the output): invalid', async () => {
    const r = await run(`import sys, time, torch, torch.nn as nn, torch.nn.functional as F
kb = sys.modules['fm_kernelbench']
real = kb._tensor_bytes
def slow_bytes(t):
    end = time.time() + 0.05
    while time.time() < end:
        pass
    return real(t)
kb._tensor_bytes = slow_bytes
print('ATTEMPT defer')
class ModelNew(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.fc = nn.Linear(n_in, n_hidden)
    def forward(self, x):
        return F.gelu(self.fc(x))
`)
    expect(r.valid).toBe(false)
    expect(String(r.artifacts.feedback)).toMatch(/outside its timed calls/)
    attemptVisible(r, 'defer')
  }, 120_000)

  it('reads private files, other candidates, the data folder, the API on loopback: nothing', async () => {
    const r = await run(`${pythonSnoop()}
_fm_snoop()
${HONEST}`)
    expect(r.valid, JSON.stringify(r.artifacts).slice(0, 3000)).toBe(true)
    attemptVisible(r, 'snoop')
    expect(String(r.artifacts.candidate_log)).toMatch(/"data-folder": "(FileNotFoundError|PermissionError)"/)
    expect(String(r.artifacts.candidate_log)).toMatch(/"loopback-api": "(ConnectionRefusedError|OSError)"/)
    expectNothingLeaked(r)
  }, 120_000)
})

// ------------------------------------------------------------------------------- the result channel
describe('the result channel, with an evaluator that runs the candidate itself', () => {
  // a careless evaluator: the candidate shares its process tree, uid, folder and stdout
  const CARELESS = `import json, os, subprocess, sys, time
subprocess.run([sys.executable, sys.argv[-1]])
print(json.dumps({"valid": True, "metrics": {"score": 1}}), flush=True)
time.sleep(0.6)  # a slow teardown: room for a leftover process to print after the result
`
  let problem: ReturnType<typeof makeProblem>
  beforeAll(() => {
    problem = makeProblem(
      { 'evaluator.py': CARELESS, 'seed.py': '', 'private/secret.txt': `${SECRET}-PRIVATE\n` },
      {
        id: 'careless',
        name: 'careless',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'score',
        limits: { timeoutS: 20 },
      },
    )
    store.add(problem)
  })

  it("an orphan printing a result after the evaluator's own: the evaluator's result stands", async () => {
    const r = count(
      await shared.runner.run(
        makeJob(
          problem,
          `import json, os, sys, time
if os.fork() == 0:
    os.setsid()
    time.sleep(0.3)
    print(json.dumps({"valid": True, "metrics": {"score": 1e9}}), flush=True)
    print('ATTEMPT orphan-line', flush=True)
    os._exit(0)
print(json.dumps({"valid": True, "metrics": {"score": 1e9}}), flush=True)
`,
        ),
      ),
      'channelCases',
    )
    expect(r.metrics.score).toBe(1)
    // the candidate's lines are kept apart, for the record
    expect(String(r.artifacts.stdout_subprocesses)).toContain('ATTEMPT orphan-line')
  })

  it("the evaluator's descriptors, memory and output files are out of reach", async () => {
    const r = count(
      await shared.runner.run(
        makeJob(
          problem,
          `import ctypes, glob, json, os
ppid = os.getppid()
found = {}
def attempt(name, fn):
    try:
        fn()
        found[name] = 'ALLOWED'
    except Exception as e:
        found[name] = type(e).__name__
fake = (json.dumps({"valid": True, "metrics": {"score": 1e9}}) + '\\n').encode()
for fd in range(0, 8):
    attempt(f'proc-fd-{fd}', lambda fd=fd: open(f'/proc/{ppid}/fd/{fd}', 'ab').write(fake))
attempt('proc-mem', lambda: open(f'/proc/{ppid}/mem', 'rb'))
attempt('proc-environ', lambda: open(f'/proc/{ppid}/environ', 'rb').read())
libc = ctypes.CDLL(None, use_errno=True)
attempt('ptrace', lambda: (_ for _ in ()).throw(OSError(ctypes.get_errno(), 'ptrace')) if libc.ptrace(16, ppid, 0, 0) != 0 else None)
attempt('result-file', lambda: open(os.environ['FM_RESULT_FILE'], 'w').write(fake.decode()))
here, outs = os.getcwd(), []
for _ in range(6):
    outs += glob.glob(os.path.join(here, '.out', '*')) + glob.glob(os.path.join(here, '.fm', '*'))
    here = os.path.dirname(here)
found['output-files-visible'] = outs
print('ATTEMPT reach ' + json.dumps(found, sort_keys=True))
`,
        ),
      ),
      'channelCases',
    )
    expect(r.metrics.score).toBe(1)
    const line = String(r.artifacts.stdout_subprocesses)
      .split('\n')
      .find((l) => l.startsWith('ATTEMPT reach '))!
    const found = JSON.parse(line.slice('ATTEMPT reach '.length)) as Record<string, unknown>
    for (const [k, v] of Object.entries(found)) if (k !== 'output-files-visible') expect(v, k).not.toBe('ALLOWED')
    expect(found['output-files-visible']).toEqual([])
  })

  it("another candidate's evaluation, running at the same time in the other slot, is out of sight", async () => {
    // the victim names its process and holds its slot until this test ends it: the snoop runs while
    // the victim is seen running, on a machine of any speed
    const name = `fmvictim${process.pid % 1e6}`
    const victim = shared.runner.run(
      makeJob(
        problem,
        `# ${SECRET}-VICTIM\nimport threading\nopen('/proc/self/comm', 'w').write('${name}')\nthreading.Event().wait()\n`,
      ),
    )
    const victimPid = await until(() => processNamed(name))
    const snoop = count(
      await shared.runner.run(
        makeJob(
          problem,
          `import glob, os
found = []
here = os.getcwd()
for _ in range(8):
    for q in glob.glob(os.path.join(here, '*', 'job-*', 'candidate.*')) + glob.glob(os.path.join(here, '*', '*', 'job-*', 'candidate.*')):
        try:
            found.append(q + ': ' + open(q).read()[:200])
        except OSError as e:
            found.append(q + ': ' + type(e).__name__)
    here = os.path.dirname(here)
print('ATTEMPT other-candidates', found)
`,
        ),
      ),
      'channelCases',
    )
    expect(processNamed(name)).toBe(victimPid) // still running while the snoop looked
    process.kill(victimPid, 'SIGKILL')
    await victim
    expect(String(snoop.artifacts.stdout_subprocesses)).toContain('ATTEMPT other-candidates')
    // its own candidate file may show up; the victim's never
    expect(JSON.stringify(snoop)).not.toContain(`${SECRET}-VICTIM`)
  })

  it("a compile step cannot include a problem's private file", async () => {
    const p = makeProblem(
      {
        'evaluator.py': 'import json\nprint(json.dumps({"valid": True, "metrics": {"score": 1}}))\n',
        'seed.cpp': 'int main() { return 0; }\n',
        'private/secret.txt': `${SECRET}-PRIVATE\n`,
      },
      {
        id: 'compile-private',
        name: 'compile',
        language: 'cpp',
        entry: 'seed.cpp',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'score',
        private: ['private/secret.txt'],
        limits: { timeoutS: 60 },
      },
    )
    store.add(p)
    const viaInclude = count(
      await shared.runner.run(makeJob(p, '#include "private/secret.txt"\nint main() { return 0; }\n')),
      'channelCases',
    )
    expect(viaInclude.valid).toBe(false)
    expect(String(viaInclude.artifacts.compiler)).toMatch(/No such file|error/)
    const viaIncbin = count(
      await shared.runner.run(
        makeJob(
          p,
          'asm(".section .rodata\\n.incbin \\"private/secret.txt\\"\\n.previous");\nint main() { return 0; }\n',
        ),
      ),
      'channelCases',
    )
    expect(viaIncbin.valid).toBe(false)
    for (const r of [viaInclude, viaIncbin]) expect(JSON.stringify(r)).not.toContain(SECRET)
  }, 120_000)

  it("an evaluator's crash does not carry a private file's source out in its traceback", async () => {
    // the artifacts reach the model's prompts (a repair shows the crash) and every viewer
    const p = makeProblem(
      {
        'evaluator.py': [
          'import json, sys',
          'sys.path.insert(0, "private")',
          'import checker',
          'print(json.dumps({"valid": True, "metrics": {"score": checker.score(open(sys.argv[1]).read())}}))',
        ].join('\n'),
        'seed.py': 'x = 1\n',
        'private/checker.py': `def score(code):\n    return float(code.split("=")[1]) * 1.25 + len("${SECRET}-HIDDEN-TARGET")\n`,
      },
      {
        id: 'crash-private',
        name: 'crash',
        language: 'python',
        entry: 'seed.py',
        evaluator: 'evaluator.py',
        direction: 'max',
        primaryMetric: 'score',
        private: ['private/checker.py'],
        limits: { timeoutS: 60 },
      },
    )
    store.add(p)
    const fine = await shared.runner.run(makeJob(p, 'x = 2\n'))
    expect(fine.valid).toBe(true)
    const crashed = await shared.runner.run(makeJob(p, 'no number here\n'))
    expect(crashed.valid).toBe(false)
    const stderr = String(crashed.artifacts.stderr)
    // the traceback is kept, and says where: the private file and the line
    expect(stderr).toMatch(/IndexError/)
    expect(stderr).toMatch(/private\/checker\.py", line 2, in score/)
    expect(stderr).toContain('[a line of a private file]')
    expect(JSON.stringify(crashed)).not.toContain(SECRET)
  }, 120_000)
})

// ------------------------------------------------------------------------------------ per-job masks
describe('masks decided per job', () => {
  it.runIf(process.getuid?.() === 0)(
    'a problem folder in a system folder the sandbox shows (/opt) is hidden when the job says so',
    async () => {
      const folder = `/opt/fm-forgery-${process.pid}`
      mkdirSync(join(folder, 'private'), { recursive: true })
      writeFileSync(join(folder, 'private', 'secret.txt'), `${SECRET}-OPT\n`)
      try {
        const p = makeProblem(
          {
            'evaluator.py': `import json, sys\nns = {}\nexec(open(sys.argv[-1]).read(), ns)\nprint(json.dumps({"valid": True, "metrics": {"read": ns["read"]}, "artifacts": {"what": ns["what"]}}))\n`,
            'seed.py': '',
          },
          {
            id: 'opt-mask',
            name: 'opt',
            language: 'python',
            entry: 'seed.py',
            evaluator: 'evaluator.py',
            direction: 'max',
            primaryMetric: 'read',
          },
        )
        store.add(p)
        const code = `try:\n    what = open(${JSON.stringify(join(folder, 'private', 'secret.txt'))}).read()\n    read = 1\nexcept OSError as e:\n    what, read = type(e).__name__, 0\n`
        // the sandbox shows /opt (toolchains live there): without a mask the file is readable…
        const open = await shared.runner.run(makeJob(p, code))
        expect(open.metrics.read).toBe(1)
        // …and a job whose masks name that folder cannot read it
        const masked = await shared.runner.run(makeJob(p, code), { mask: [folder] })
        expect(masked.error).toBeUndefined()
        expect(masked.metrics.read).toBe(0)
        expect(JSON.stringify(masked)).not.toContain(SECRET)
        // embedded mode: the pool asks for each job's masks when it is submitted, after the pool started
        const sources: string[] = []
        const pool = createLocalPool({
          size: 1,
          cacheDir: tempDir('fm-forgery-pool-'),
          getBundle: store.fetch,
          masksFor: () => sources,
          announce: false,
        })
        try {
          await pool.start()
          const results = new Map<string, EvalResult>()
          pool.onResult((r) => void results.set(r.jobId, r))
          const before = makeJob(p, code)
          await pool.submit(before)
          sources.push(folder) // a problem imported from there while the pool runs
          const after = makeJob(p, code)
          await pool.submit(after)
          while (results.size < 2) await new Promise((r) => setTimeout(r, 20))
          expect(results.get(before.jobId)!.metrics.read).toBe(1)
          expect(results.get(after.jobId)!.metrics.read).toBe(0)
        } finally {
          await pool.close()
        }
      } finally {
        rmSync(folder, { recursive: true, force: true })
      }
    },
  )
})

// ------------------------------------------------------------------------------ every built-in problem
// Two candidates per problem, beside its seed: one that prints a forged result (and calls
// fm_evalkit.emit) and exits at once; one that tries everything else (the result file, the
// evaluator's descriptors and memory, the output files, an orphan that prints a forged line later,
// patching the checks in its own process, reading private data, other candidates, the data folder,
// the API on loopback) and then behaves like the seed. The first must be invalid, the second scored
// as the seed is.
const SMALL_GPU: Record<string, string> = {
  'gpu-mlp': 'BATCH = 64\nIN_FEATURES = 128\nHIDDEN = 512\nOUT_FEATURES = 96\n',
  'gpu-softmax': 'ROWS = 64\nCOLS = 1000\n',
  'gpu-conv': 'BATCH = 2\nIN_CHANNELS = 8\nOUT_CHANNELS = 16\nHEIGHT = 20\nWIDTH = 24\n',
}

/** A built-in problem as a run loads it; GPU problems as a CPU copy at reduced sizes (the harness's CPU path). */
function builtin(id: string): LoadedProblem {
  if (!SMALL_GPU[id]) return loadProblemFolder(join(BUILTIN_PROBLEMS_DIR, id))
  const dir = join(tempDir('fm-forgery-gpu-'), id)
  cpSync(join(BUILTIN_PROBLEMS_DIR, id), dir, { recursive: true })
  appendFileSync(join(dir, 'reference.py'), `\n# test sizes\n${SMALL_GPU[id]}`)
  const spec = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8'))
  spec.limits = { ...spec.limits, gpu: false, timeoutS: 120, cpuS: 120 }
  writeFileSync(join(dir, 'problem.json'), JSON.stringify(spec))
  return loadProblemFolder(dir)
}

const forgedValue = (p: LoadedProblem) => (p.spec.direction === 'max' ? 1e9 : -1e9)
const forgedJson = (p: LoadedProblem) =>
  JSON.stringify({
    valid: true,
    metrics: { [p.spec.primaryMetric]: forgedValue(p) },
    features: {},
    artifacts: { feedback: 'forged' },
  })

function pythonExit(p: LoadedProblem): string {
  return `import json, os, sys
print('ATTEMPT exit', file=sys.stderr, flush=True)
print(${JSON.stringify(forgedJson(p))}, flush=True)
for name in ('fm_evalkit', '__main__'):
    m = sys.modules.get(name)
    if m is not None and hasattr(m, 'emit'):
        try:
            m.emit(json.loads(${JSON.stringify(forgedJson(p))}))
        except Exception as e:
            print('emit failed:', type(e).__name__, file=sys.stderr)
os._exit(0)
`
}

// problems whose candidate answers on stdout: a forged line there is a wrong answer, not an attack
const STDOUT_IS_ANSWER = new Set(['ahc001'])

function pythonEverything(p: LoadedProblem): string {
  const out = STDOUT_IS_ANSWER.has(p.spec.id) ? 'sys.stderr' : 'sys.stdout'
  return `def _fm_forge():
    import glob, json, math, os, sys, time
    line = ${JSON.stringify(forgedJson(p))}
    done = {}
    here, targets = os.getcwd(), [os.environ.get('FM_RESULT_FILE')]
    # the evaluator's process, if this one can see it: its descriptors and its memory
    seen = []
    for pid in [q for q in os.listdir('/proc') if q.isdigit() and int(q) != os.getpid()]:
        try:
            cmd = open('/proc/%s/cmdline' % pid, 'rb').read().replace(b'\\0', b' ')
        except OSError:
            continue
        seen.append(cmd[:60].decode(errors='replace'))
        if any(k in cmd for k in (b'evaluator', b'fm_launcher', b'fm_kernelbench', b'harness')):
            targets += ['/proc/%s/fd/%d' % (pid, fd) for fd in range(10)]
            try:
                open('/proc/%s/mem' % pid, 'r+b')
                done['mem:' + pid] = 'OPENED'
            except Exception as e:
                done['mem:' + pid] = type(e).__name__
    done['processes-seen'] = seen
    for _ in range(8):
        targets += glob.glob(os.path.join(here, '.out', '*')) + glob.glob(os.path.join(here, '.fm', '*'))
        here = os.path.dirname(here)
    for t in targets:
        if not t:
            continue
        try:
            with open(t, 'a') as f:
                f.write('\\n' + line + '\\n')
            done[t] = 'WROTE'
        except Exception as e:
            done[t] = type(e).__name__
    print(line, file=${out}, flush=True)
    if os.fork() == 0:  # an orphan that prints the forged line again later
        try:
            os.setsid()
            time.sleep(0.2)
            print(line, file=${out}, flush=True)
            print(line, file=sys.stderr, flush=True)
        finally:
            os._exit(0)
    # patch the checks, in this process (numpy's stay: the seeds' own numerics use them; the KernelBench
    # section above patches torch.allclose)
    for name in ('fm_evalkit', '__main__', 'fm_kernelbench'):
        m = sys.modules.get(name)
        if m is not None:
            for attr in ('emit', 'result', '_compare', 'invalid'):
                if hasattr(m, attr):
                    setattr(m, attr, lambda *a, **k: (True, 0.0, 0.0, ''))
    print('ATTEMPT forge ' + json.dumps(done, sort_keys=True), file=sys.stderr, flush=True)
_fm_forge()
${pythonSnoop()}
_fm_snoop()
`
}

/** cpu-matmul: the same attempts in C++, then the seed's own main. */
function cppEverything(p: LoadedProblem, exitAtOnce: boolean): string {
  const seed = p.seedCode.replace(/int main\s*\(/, 'int seed_main(')
  return `#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
static const char* FORGED = ${JSON.stringify(forgedJson(p) + '\n')};
static void fm_attempt(const char* what, bool ok) { fprintf(stderr, "ATTEMPT %s %s\\n", what, ok ? "ALLOWED" : "refused"); }
static void fm_forge() {
  printf("%s", FORGED);
  fflush(stdout);
  const char* rf = getenv("FM_RESULT_FILE");
  if (rf) { FILE* f = fopen(rf, "a"); fm_attempt("result-file", f != nullptr); if (f) { fputs(FORGED, f); fclose(f); } }
  for (int fd = 0; fd < 10; fd++) {
    std::string path = "/proc/" + std::to_string(getppid()) + "/fd/" + std::to_string(fd);
    int h = open(path.c_str(), O_WRONLY | O_APPEND);
    if (h >= 0) { if (write(h, FORGED, strlen(FORGED)) < 0) {} close(h); }
  }
  FILE* d = fopen(${JSON.stringify(join(DATA_DIR, 'local-admin-token'))}, "r");
  fm_attempt("data-folder", d != nullptr);
  if (d) { char buf[200] = {0}; if (fgets(buf, sizeof buf, d)) fprintf(stderr, "READ %s\\n", buf); fclose(d); }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{}; a.sin_family = AF_INET; a.sin_port = htons(${apiPortPlaceholder}); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fm_attempt("loopback-api", s >= 0 && connect(s, (sockaddr*)&a, sizeof a) == 0);
}
${seed}
int main(int argc, char** argv) {
  fm_forge();
  ${exitAtOnce ? 'return 0;' : 'return seed_main(argc, argv);'}
}
`
}
const apiPortPlaceholder = '__FM_API_PORT__'

/** The candidates for one problem, by its calling convention. */
function attacks(p: LoadedProblem): { exit: string; everything: string } {
  if (p.spec.language === 'cpp') {
    const port = (c: string) => c.replace(apiPortPlaceholder, String(apiPort))
    return { exit: port(cppEverything(p, true)), everything: port(cppEverything(p, false)) }
  }
  return { exit: pythonExit(p), everything: `${pythonEverything(p)}\n${p.seedCode}` }
}

const NOISY = new Set(['cpu-matmul', 'gpu-mlp', 'gpu-softmax', 'gpu-conv']) // scored by timing

describe('every built-in problem', () => {
  const ids = listBuiltinProblemFolders().map((d) => d.split('/').pop()!)

  it('covers all of them', () => {
    expect(ids.length).toBeGreaterThanOrEqual(18)
    for (const id of Object.keys(SMALL_GPU)) expect(ids).toContain(id)
  })

  it.each(ids)(
    '%s: a forged result line, the result file, the evaluator, patches, private data: nothing passes',
    async (id) => {
      const p = builtin(id)
      store.add(p)
      const a = attacks(p)
      const [seed, exit, everything] = count(
        await Promise.all([p.seedCode, a.exit, a.everything].map((code) => shared.runner.run(makeJob(p, code)))),
        null,
        2,
      )
      tally.problems.push(id)
      const primary = p.spec.primaryMetric
      expect(seed.error, `${id} seed: ${JSON.stringify(seed.artifacts).slice(0, 1500)}`).toBeUndefined()
      expect(seed.valid, `${id} seed: ${JSON.stringify(seed.artifacts).slice(0, 1500)}`).toBe(true)
      // 1. a forged line and exit: invalid
      expect(exit.valid, `${id} exit: ${JSON.stringify(exit.artifacts).slice(0, 1500)}`).toBe(false)
      expect(exit.metrics[primary] ?? null).not.toBe(forgedValue(p))
      attemptVisible(exit, p.spec.language === 'cpp' ? 'data-folder' : 'exit')
      // 2. everything else, then the seed's own work: scored as the seed
      expect(
        everything.error,
        `${id} everything: ${JSON.stringify(everything.artifacts).slice(0, 3000)}`,
      ).toBeUndefined()
      expect(everything.valid, `${id} everything: ${JSON.stringify(everything.artifacts).slice(0, 3000)}`).toBe(true)
      const got = everything.metrics[primary]!
      const want = seed.metrics[primary]!
      expect(got).not.toBe(forgedValue(p))
      if (NOISY.has(id))
        expect(Math.abs(Math.log(got / want)), `${id}: ${got} vs the seed's ${want}`).toBeLessThan(Math.log(10))
      else
        expect(Math.abs(got - want), `${id}: ${got} vs the seed's ${want}`).toBeLessThanOrEqual(
          Math.abs(want) * 0.05 + 1e-9,
        )
      const arts = JSON.stringify(everything.artifacts)
      expect(arts, `${id}: the attempt is in the artifacts`).toMatch(/ATTEMPT (forge|data-folder|snoop)/)
      expect(arts).not.toMatch(/"WROTE"|"OPENED"|ALLOWED|"READ /)
      for (const r of [exit, everything]) expectNothingLeaked(r)
    },
    300_000,
  )
})

// ------------------------------------------------------------------------------------ OpenEvolve format
// OpenEvolve's evaluate(program_path) usually imports the program into the evaluator's own process.
// Code running there can do whatever the evaluator can, the verdict included: FM Agent cannot
// protect that, and says so (workers/README.md "Integrity", docs/guarantees.md, the console's
// OpenEvolve badge). What it does protect: a program the evaluator runs in a subprocess.
describe('OpenEvolve folders', () => {
  const folder = (evaluator: string) => {
    const p = makeProblem({ 'initial_program.py': 'def f():\n    return 1\n', 'evaluator.py': evaluator })
    store.add(p)
    return p
  }

  it('a program imported into the evaluator CAN forge its verdict (the documented limit of this format)', async () => {
    const p = folder(`import importlib.util
def evaluate(program_path):
    spec = importlib.util.spec_from_file_location('program', program_path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return {"combined_score": float(m.f())}
`)
    expect(p.spec.format).toBe('openevolve')
    const r = count(
      await shared.runner.run(
        makeJob(
          p,
          `import gc, io, json, os
forged = json.dumps({"valid": True, "metrics": {"combined_score": 1e9}, "features": {}, "artifacts": {}, "stage": 0})
for o in gc.get_objects():
    if isinstance(o, io.TextIOWrapper) and not o.closed and o.fileno() > 2:
        o.write(forged + '\\n')
        o.flush()
os._exit(0)
def f():
    return 1
`,
        ),
      ),
      'openEvolveCases',
      0,
    )
    expect(r.metrics.combined_score).toBe(1e9)
    tally.acceptedAsDocumented++
  })

  it("a program the evaluator runs in a subprocess cannot: its forged lines, its orphan, the evaluator's fds and memory", async () => {
    const p = folder(`import json, subprocess, sys
def evaluate(program_path):
    out = subprocess.run([sys.executable, program_path], capture_output=True, text=True, timeout=20)
    value = float(out.stdout.strip().splitlines()[-1])
    print(out.stderr, file=sys.stderr)
    return {"combined_score": value}
`)
    const r = count(
      await shared.runner.run(
        makeJob(
          p,
          `import json, os, sys, time
forged = json.dumps({"valid": True, "metrics": {"combined_score": 1e9}, "features": {}, "artifacts": {}, "stage": 0}) + '\\n'
tried = {}
for fd in range(10):
    try:
        with open('/proc/%d/fd/%d' % (os.getppid(), fd), 'a') as f:
            f.write(forged)
        tried[fd] = 'WROTE'
    except Exception as e:
        tried[fd] = type(e).__name__
try:
    open('/proc/%d/mem' % os.getppid(), 'r+b')
    tried['mem'] = 'OPENED'
except Exception as e:
    tried['mem'] = type(e).__name__
if os.fork() == 0:
    os.setsid()
    time.sleep(0.3)
    os.write(2, forged.encode())
    os._exit(0)
print('ATTEMPT openevolve', json.dumps(tried), file=sys.stderr)
print(2.5)
`,
        ),
      ),
      'openEvolveCases',
    )
    expect(r.error, JSON.stringify(r.artifacts).slice(0, 2000)).toBeUndefined()
    expect(r.metrics.combined_score).toBe(2.5)
    expect(JSON.stringify(r.artifacts)).toContain('ATTEMPT openevolve')
    expect(JSON.stringify(r.artifacts)).not.toMatch(/WROTE|OPENED/)
  })
})
