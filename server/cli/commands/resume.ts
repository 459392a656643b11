import { drivenBy } from '../../runs/lease.ts'
import { resumeRunConfig } from '../../runs/service.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { keepWasmOnBaselineCompiler } from '../../db/wasm-tiering.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'
import {
  driveLocally,
  exitCodeFor,
  followRemotely,
  heldOutFor,
  probeMachineEarly,
  startLocalBackend,
  stopLocalBackend,
  summaryJson,
  summaryText,
} from '../headless-run.ts'

export const resume: Command = {
  summary: 'resume a run (after a stop, a pause or a crash); --max-evals sets its new total, --max-spend its new cap',
  usage: 'fm-agent resume <runId> [--max-evals N] [--max-spend USD] [--workers N] [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'resume',
      argv,
      {
        'max-evals': { type: 'string' },
        'max-spend': { type: 'string' },
        workers: { type: 'string' },
        json: { type: 'boolean' },
      },
      1,
    )
    if (!positionals[0]) throw new UsageError('which run? (fm-agent runs lists them)')
    const maxEvalsIn = intOption('max-evals', values['max-evals'], 1, 10_000_000)
    const maxSpendIn = values['max-spend'] === undefined ? undefined : Number(values['max-spend'])
    if (maxSpendIn !== undefined && !(maxSpendIn > 0 && maxSpendIn <= 1_000_000))
      throw new InputError('--max-spend: a number of US dollars, above 0 and at most 1000000')
    const workers = intOption('workers', values.workers, 1, 256)
    probeMachineEarly(env)
    keepWasmOnBaselineCompiler()
    let api = await connectToRuns({ env, log }, dataDir(values))
    // the headless run this command reached through its socket ends its process with the run
    const reopen = async () => {
      await api.close().catch(() => undefined)
      api = await connectToRuns({ env, log }, dataDir(values))
      return api
    }
    let backend: ReturnType<typeof startLocalBackend> | null = null
    try {
      // a run id that names nothing is refused before any worker starts
      const runId = await resolveRunId(api, positionals[0])
      if (!api.remote && !(await api.app!.db.prisma.run.findUnique({ where: { id: runId }, select: { id: true } })))
        throw new InputError(`no run "${positionals[0]}" (fm-agent runs lists them)`)
      // the workers start while the run's state is read back
      if (!api.remote) backend = startLocalBackend(api, log, workers)
      let maxEvals: number
      if (api.remote) {
        const r = await api
          .mutate<{ maxEvals: number }>('runs.resume', { runId, maxEvals: maxEvalsIn, maxSpendUsd: maxSpendIn })
          .catch((e: Error) => {
            throw requestError(e)
          })
        maxEvals = r.maxEvals
      } else {
        // another engine process drives it (server mode): refused before its budget is touched
        const lease = await api.app!.db.prisma.run.findUnique({
          where: { id: runId },
          select: { status: true, leaseOwner: true, leaseUntil: true },
        })
        const by = lease && drivenBy(api.app!.db, lease)
        if (by)
          throw new Error(
            `run ${runId} is ${lease!.status}, driven by another engine process (${by}): nothing to resume; fm-agent runs stop|pause ${runId} ends it there`,
          )
        maxEvals = (
          await resumeRunConfig(
            api.app!.db,
            { id: null, label: 'cli', role: 'admin', via: 'system' },
            runId,
            maxEvalsIn,
            maxSpendIn,
          ).catch((e: Error) => {
            throw requestError(e)
          })
        ).maxEvals
      }
      const summary = api.remote
        ? // a run a console drives, that experts may be steering: a closed terminal or a timeout
          // (SIGTERM, SIGHUP) leaves it going; only Ctrl-C stops it
          await followRemotely(api, runId, maxEvals, log, { detachOn: ['SIGTERM', 'SIGHUP'], reopen })
        : await driveLocally(api, runId, maxEvals, log, backend!)
      out(values.json ? summaryJson(summary, await heldOutFor(api, runId)) : summaryText(summary))
      return exitCodeFor(summary.status, summary.signal)
    } finally {
      await stopLocalBackend(backend)
      await api.close()
    }
  },
}
