// The floor a run's rate is read against: the same sandboxed evaluation pushed straight through
// the embedded worker pool, no engine and no model, with every worker kept busy (two jobs each
// queued). bench/pipeline.ts and bench/engine-overhead.ts measure it in their own process.
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { EvalJob } from '../server/contracts/evaluation.ts'
import { openDatabase } from '../server/db.ts'
import { createLogger } from '../server/log.ts'
import { createBackend } from '../server/runs/evaluation-backend.ts'
import { importProblem } from '../server/services/problem-catalog.ts'

/** Evaluations per second of `code` on the problem folder `problem`, `n` of them on `workers` workers. */
export async function poolFloor(o: {
  problem: string
  code: string
  n: number
  workers: number
  /** where the throwaway data folder is made */
  dataParent: string
}): Promise<number> {
  const dir = mkdtempSync(join(o.dataParent, 'pool-'))
  const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  try {
    const { bundleHash, id } = await importProblem(db, o.problem)
    const backend = await createBackend({ db, log: createLogger('bench', 'warn'), workers: o.workers })
    let done = 0
    let next = 0
    let resolveAll!: () => void
    const all = new Promise<void>((r) => (resolveAll = r))
    const submit = () => {
      const job: EvalJob = {
        jobId: `j${next++}`,
        runId: 'bench',
        problem: { id, bundleHash },
        language: 'python',
        code: o.code,
        stage: 0,
        limits: { timeoutS: 10, memoryMb: 256, cpuS: 10 },
        needs: { gpu: false, languages: ['python'] },
        attempt: 0,
      }
      void backend.submit(job)
    }
    backend.onResult(() => {
      if (++done === o.n) resolveAll()
      else if (next < o.n) submit()
    })
    const t0 = performance.now()
    for (let i = 0; i < o.workers * 2 && next < o.n; i++) submit()
    await all
    const rate = o.n / ((performance.now() - t0) / 1000)
    await backend.close()
    return rate
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
