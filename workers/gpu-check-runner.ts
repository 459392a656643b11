// Part of workers/gpu-check.sh: one GPU problem's seed through the whole worker path (bundle, sandbox,
// the problem's evaluator, fm_kernelbench) on this machine's GPU. Prints one JSON line.
import { createRunner } from './runner.ts'
import { detectIsolation } from './sandbox.ts'
import { bundleStore, makeJob, tempDir } from './test-helpers.ts'
import { loadProblemFolder } from '../server/problems/load.ts'

const folder = process.argv[2] ?? 'problems/gpu-softmax'
const problem = loadProblemFolder(folder)
const isolation = detectIsolation()
const runner = createRunner({
  cacheDir: tempDir('fm-gpu-check-'),
  workerId: 'gpu-check',
  isolation,
  gpu: true,
  fetchBundle: bundleStore(problem).fetch,
})
const t = Date.now()
const job = makeJob(problem, problem.seedCode, {
  needs: { gpu: true, languages: [] },
  limits: { timeoutS: 150, memoryMb: 65536, cpuS: 150 },
})
const r = await runner.run(job)
await runner.close()
console.log(
  JSON.stringify({
    problem: problem.spec.id,
    isolation: `${isolation.level} (${isolation.mode})`,
    valid: r.valid,
    error: r.error,
    metrics: r.metrics,
    feedback: r.artifacts.feedback,
    stderr: typeof r.artifacts.stderr === 'string' ? r.artifacts.stderr.slice(-1500) : undefined,
    wallMs: Date.now() - t,
  }),
)
