import { connectApi } from '../../api/client.ts'
import type { listRuns } from '../../runs/service.ts'
import { ACTIVE_STATUSES } from '../../../client-safe/run-config.ts'
import { existingDataDir, parse, requestError, UsageError } from '../args.ts'
import { resolveRunId } from '../run-id.ts'
import type { DeletedRun } from '../../services/deletion.ts'
import type { Command } from '../main.ts'
import { fmtScore } from '../headless-run.ts'

type Row = Awaited<ReturnType<typeof listRuns>>[number]

export const runs: Command = {
  summary:
    'list runs with status, problem, evaluations and best score; runs delete <runId>: delete a run no engine drives, with its candidates',
  usage: 'fm-agent runs [--json] [--data-dir DIR]\n       fm-agent runs delete <runId> [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse('runs', argv, { json: { type: 'boolean' } }, 2)
    if (positionals.length && positionals[0] !== 'delete')
      throw new UsageError(`unknown subcommand "runs ${positionals[0]}" (delete)`)
    if (positionals[0] === 'delete' && !positionals[1]) throw new UsageError('which run? (fm-agent runs lists them)')
    const api = await connectApi({
      dataDir: existingDataDir(dataDir(values), env.DATABASE_URL),
      databaseUrl: env.DATABASE_URL,
      log,
      syncProblems: false,
    })
    try {
      if (positionals[1]) {
        const runId = await resolveRunId(api, positionals[1])
        const r = await api.mutate<DeletedRun>('runs.delete', { runId }).catch((e: Error) => {
          throw requestError(e)
        })
        out(values.json ? JSON.stringify(r) : `deleted run ${r.id} (${r.problemId}) and its ${r.candidates} candidates`)
        return 0
      }
      const rows = await api.query<Row[]>('runs.list', {})
      const orphaned = (r: Row) =>
        api.app?.db.mode === 'embedded' && !r.drivenBy && (ACTIVE_STATUSES as string[]).includes(r.status)
      if (values.json) out(JSON.stringify(rows))
      else if (!rows.length) out('no runs yet (fm-agent run <problem> starts one)')
      else {
        const lines = rows.map((r) =>
          [
            r.id,
            r.status.padEnd(10),
            r.problemId.padEnd(22),
            `${r.evaluations}/${r.maxEvals}`.padEnd(11),
            `seed ${fmtScore(r.seedScore)} → best ${fmtScore(r.bestScore)}`,
            new Date(r.createdAt).toISOString().slice(0, 16),
            ...(r.waitingForWorkers
              ? ['waiting for a worker: no worker can take its evaluations (start fm-agent worker)']
              : []),
            ...(r.drivenBy ? [`driven by ${r.drivenBy}`] : []),
            // why a run failed or stopped, as the run's page says it
            ...(['failed', 'stopped'].includes(r.status) && r.statusReason ? [r.statusReason.slice(0, 200)] : []),
            // this process holds the embedded data folder: no other can be driving the run
            ...(orphaned(r) ? [`interrupted: fm-agent resume ${r.id} continues it`] : []),
          ].join('  '),
        )
        out(lines.join('\n'))
      }
      return 0
    } finally {
      await api.close()
    }
  },
}
