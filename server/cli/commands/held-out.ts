import { fullNumber } from '../../../client-safe/format.ts'
import { gapText, heldOutScored, overfitRule } from '../../../client-safe/held-out.ts'
import { evaluateHeldOut, heldOutReport } from '../../runs/held-out.ts'
import { createBackend } from '../../runs/evaluation-backend.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'

type Report = Awaited<ReturnType<typeof heldOutReport>>

function reportText(r: Report): string {
  if (!r.declared) return "this run's problem declares no held-out stage"
  const held = (h: Report['candidates'][number]['heldOut']) =>
    !h
      ? 'not checked'
      : h.status !== 'evaluated'
        ? h.status
        : h.valid
          ? fullNumber(h.score)
          : `invalid (${h.error ?? 'no reason'})`
  const lines = [
    `held-out stage${r.description ? `: ${r.description}` : ''} (${r.primaryMetric}, ${r.direction}; ${overfitRule(r.tolerance, heldOutScored(r.baseline?.heldOut ?? null))})`,
  ]
  const baseline = r.baseline
  const seedNote = '  (seed: the baseline)'
  if (baseline && !r.candidates.some((c) => c.id === baseline.id))
    lines.push(
      `${baseline.id}  search ${fullNumber(baseline.searchScore)}  held-out ${held(baseline.heldOut)}${seedNote}`,
    )
  for (const c of r.candidates) {
    const gap = c.gap === null ? '' : `  ${gapText(c.gap, c.basis)}`
    lines.push(
      `${c.id}  search ${fullNumber(c.searchScore)}  held-out ${held(c.heldOut)}${gap}${c.overfit ? '  OVERFIT' : ''}${c.id === baseline?.id ? seedNote : ''}`,
    )
  }
  return lines.join('\n')
}

export const heldOut: Command = {
  summary: "re-evaluate a run's top candidates on its problem's held-out stage; search score against held-out score",
  usage: 'fm-agent held-out <runId> [--top K] [--report] [--workers N] [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'held-out',
      argv,
      { top: { type: 'string' }, report: { type: 'boolean' }, workers: { type: 'string' }, json: { type: 'boolean' } },
      1,
    )
    if (!positionals[0]) throw new UsageError('which run? (fm-agent runs lists them)')
    const topK = intOption('top', values.top, 1, 50)
    const api = await connectToRuns({ env, log }, dataDir(values))
    try {
      const runId = await resolveRunId(api, positionals[0])
      const report = async (): Promise<Report> =>
        (api.remote
          ? api.query<Report>('runs.heldOut', { runId, ...(topK ? { topK } : {}) })
          : heldOutReport(api.app!.db, runId, topK ? { topK } : {})
        ).catch((e: Error) => {
          throw requestError(e)
        })
      const before = await report()
      if (!before.declared)
        throw new InputError(`run ${runId}: its problem declares no held-out stage ("heldOut" in problem.json)`)
      if (!values.report) {
        if (api.remote) {
          // the server evaluates with its workers; follow its report until nothing is queued
          await api.mutate('runs.checkHeldOut', { runId, topK }).catch((e: Error) => {
            throw requestError(e)
          })
          log.info('held-out stage: evaluating with the server’s workers')
          for (;;) {
            await new Promise((r) => setTimeout(r, 1000))
            const now = await report()
            if (!now.candidates.some((c) => c.heldOut?.status === 'queued')) break
          }
        } else {
          const backend = await createBackend({
            db: api.app!.db,
            log,
            workers: intOption('workers', values.workers, 1, 256),
          })
          try {
            log.info('held-out stage: evaluating in sandboxed workers')
            await evaluateHeldOut({ db: api.app!.db, backend, log }, runId, { topK })
          } finally {
            await backend.close()
          }
        }
      }
      const after = await report()
      out(values.json ? JSON.stringify(after) : reportText(after))
      return 0
    } finally {
      await api.close()
    }
  },
}
