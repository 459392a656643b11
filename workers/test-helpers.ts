// Helpers for the workers' tests (and anyone testing against the runner): problem folders written
// on the fly, their bundles, jobs.
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { EvalJob, EvalResult, Language } from '../server/contracts/evaluation.ts'
import { type LoadedProblem, loadProblemFolder } from '../server/problems/load.ts'
import { afterAll, beforeAll } from 'vitest'
import { createLocalPool, type LocalPool, type LocalPoolOptions } from './pool.ts'
import { cleanStaleSlots, createRunner, type Runner } from './runner.ts'
import { detectIsolation } from './sandbox.ts'

const made: string[] = []
/** Removes the folders tempDir made (call it in afterAll; test workers may be killed before 'exit'). */
export function removeTempDirs() {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
}
process.once('exit', removeTempDirs)

export function tempDir(prefix = 'fm-workers-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.push(d)
  return d
}

/** Writes a problem folder (problem.json from `spec` when given) and loads it. */
export function makeProblem(files: Record<string, string>, spec?: Record<string, unknown>): LoadedProblem {
  const dir = tempDir('fm-problem-')
  for (const [path, content] of Object.entries(files)) {
    const p = join(dir, path)
    mkdirSync(dirname(p), { recursive: true })
    writeFileSync(p, content)
    if (content.startsWith('#!')) chmodSync(p, 0o755)
  }
  if (spec) writeFileSync(join(dir, 'problem.json'), JSON.stringify(spec, null, 2))
  return loadProblemFolder(dir)
}

let seq = 0
export function makeJob(problem: LoadedProblem, code: string, over: Partial<EvalJob> = {}): EvalJob {
  return {
    jobId: over.jobId ?? `job-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`,
    runId: 'run-test',
    problem: { id: problem.spec.id, bundleHash: problem.bundle.hash },
    language: (over.language ?? problem.spec.language) as Language,
    code,
    stage: 0,
    limits: {
      timeoutS: problem.spec.limits.timeoutS,
      memoryMb: problem.spec.limits.memoryMb,
      cpuS: problem.spec.limits.cpuS ?? problem.spec.limits.timeoutS,
    },
    needs: { gpu: false, languages: [] },
    attempt: 0,
    ...over,
  }
}

/** A bundle store for `fetchBundle` / `getBundle`. */
export function bundleStore(...problems: LoadedProblem[]) {
  const map = new Map(problems.map((p) => [p.bundle.hash, p.bundle.data]))
  return {
    add: (p: LoadedProblem) => map.set(p.bundle.hash, p.bundle.data),
    fetch: async (hash: string) => {
      const d = map.get(hash)
      if (!d) throw new Error(`no bundle ${hash}`)
      return d
    },
  }
}

/**
 * The runner a test file's tests share (two slots, this machine's isolation, the bundles in
 * `store`): started before them, closed after them, with the temporary folders.
 */
export function sharedRunner(workerId: string, store = bundleStore()) {
  const cacheDir = tempDir('fm-cache-')
  let runner: Runner | undefined
  beforeAll(async () => {
    runner = createRunner({
      cacheDir,
      workerId,
      slots: 2,
      isolation: detectIsolation(),
      fetchBundle: store.fetch,
    })
    await runner.start()
  })
  afterAll(async () => {
    await runner?.close()
    removeTempDirs()
  })
  return {
    store,
    cacheDir,
    get runner(): Runner {
      if (!runner) throw new Error('the shared runner starts before the tests (beforeAll)')
      return runner
    },
  }
}

/** A Python evaluator that runs the candidate as a child process (as many real evaluators do) and
 * expects its last stdout line to be a number; a failing child fails the evaluator the same way. */
export const SUBPROCESS_EVALUATOR = `import json, os, subprocess, sys
p = subprocess.run([sys.executable, sys.argv[-1]], capture_output=True)
sys.stderr.write(p.stderr.decode(errors='replace'))
if p.returncode < 0:
    os.kill(os.getpid(), -p.returncode)  # die the way the candidate died
if p.returncode != 0:
    sys.exit(p.returncode)
out = p.stdout.decode(errors='replace')
try:
    score = float(out.strip().splitlines()[-1])
except Exception:
    print('the candidate printed no score; its output was:', out[-6000:])
    sys.exit(0)
print(json.dumps({"valid": True, "metrics": {"score": score}}))
`

/**
 * An embedded pool for a test file, started before its tests and closed after them, with every
 * result it emits kept: `waitFor` resolves with the first that matches, as soon as it comes.
 */
export function poolHarness(options: () => Omit<LocalPoolOptions, 'announce' | 'log'>) {
  const h = {
    pool: undefined as unknown as LocalPool,
    results: [] as EvalResult[],
    waiters: [] as Array<{ pred: (r: EvalResult) => boolean; resolve: (r: EvalResult) => void }>,
    waitFor(pred: (r: EvalResult) => boolean): Promise<EvalResult> {
      const hit = h.results.find(pred)
      return hit ? Promise.resolve(hit) : new Promise((resolve) => h.waiters.push({ pred, resolve }))
    },
  }
  beforeAll(async () => {
    h.pool = createLocalPool({ ...options(), announce: false, log: () => {} })
    h.pool.onResult((r) => {
      h.results.push(r)
      for (const w of [...h.waiters]) if (w.pred(r)) h.waiters.splice(h.waiters.indexOf(w), 1), w.resolve(r)
    })
    await h.pool.start()
  }, 60_000)
  afterAll(async () => {
    await h.pool?.close()
    removeTempDirs()
    cleanStaleSlots() // the slots of the children a test killed
  })
  return h
}
