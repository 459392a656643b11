import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { loadProblemFolder, ProblemLoadError } from '../../problems/load.ts'
import { createRunner } from '../../../workers/runner.ts'
import { detectIsolation } from '../../../workers/sandbox.ts'
import { scoreFromMetrics } from '../../engine/fitness.ts'
import { localReadiness } from '../../setup/check.ts'
import { completeRequires, refusal } from '../../setup/needs.ts'
import { parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

export const problem: Command = {
  summary: 'problem check <folder>: validate a problem folder and evaluate its seed in the sandbox',
  usage: 'fm-agent problem check <folder> [--json]',
  async run({ argv, log, out }) {
    const { values, positionals } = parse('problem', argv, { json: { type: 'boolean' } }, 2)
    if (positionals[0] !== 'check') throw new UsageError(positionals[0] ? `unknown subcommand "problem ${positionals[0]}"` : 'missing subcommand (check)')
    const folder = positionals[1]
    if (!folder) throw new UsageError('which folder?')
    let p
    try {
      p = loadProblemFolder(folder)
    } catch (e) {
      if (e instanceof ProblemLoadError) throw new UsageError(e.message)
      throw e
    }
    const { spec } = p
    log.info(`${spec.id}: ${spec.format} problem in ${spec.language}, ${spec.direction === 'max' ? 'maximize' : 'minimize'} "${spec.primaryMetric}", bundle ${p.bundle.hash.slice(0, 12)} (${p.files.length} files, ${(p.bundle.size / 1024).toFixed(0)} KiB)`)
    for (const w of p.warnings) log.warn(w)
    const ready = await localReadiness({ ...spec, requires: completeRequires(spec, p.files) }, { maxAgeMs: 0 })
    if (!ready.ok) log.warn(refusal(spec.id, ready))
    const cacheDir = mkdtempSync(join(tmpdir(), 'fm-check-'))
    const isolation = detectIsolation()
    const runner = createRunner({ cacheDir, workerId: 'check', isolation, fetchBundle: async () => p.bundle.data, gpu: false, log: (l) => log.info(l) })
    try {
      await runner.start()
      const started = Date.now()
      const r = await runner.run({
        jobId: randomUUID(),
        runId: 'check',
        problem: { id: spec.id, bundleHash: p.bundle.hash },
        language: spec.language,
        code: p.seedCode,
        stage: 0,
        limits: { timeoutS: spec.limits.timeoutS, memoryMb: spec.limits.memoryMb, cpuS: spec.limits.cpuS ?? spec.limits.timeoutS * 2 },
        needs: { gpu: !!spec.limits.gpu, languages: [spec.language] },
        attempt: 0,
      })
      const seconds = (Date.now() - started) / 1000
      const score = scoreFromMetrics(r.metrics as Record<string, number>, spec, r.valid)
      const summary = {
        id: spec.id,
        valid: r.valid && score !== null,
        score,
        direction: spec.direction,
        primaryMetric: spec.primaryMetric,
        seconds,
        metrics: r.metrics,
        features: r.features,
        error: r.error ?? null,
        feedback: (r.artifacts as { feedback?: string }).feedback ?? null,
        isolation: isolation.level,
        reference: spec.reference ?? null,
      }
      if (values.json) out(JSON.stringify(summary))
      else {
        out(
          [
            `${spec.id}: seed ${summary.valid ? 'valid' : 'INVALID'}${score !== null ? `, ${spec.primaryMetric} = ${score}` : ''} in ${seconds.toFixed(2)} s (sandbox: ${isolation.level})`,
            spec.reference ? `reference: ${spec.reference.value} (${spec.reference.source})` : 'reference: none',
            r.error ? `error (${r.error.kind}): ${r.error.message}` : '',
            summary.feedback ? `feedback: ${String(summary.feedback).slice(0, 2000)}` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        )
      }
      return summary.valid ? 0 : 1
    } finally {
      await runner.close()
      rmSync(cacheDir, { recursive: true, force: true })
    }
  },
}
