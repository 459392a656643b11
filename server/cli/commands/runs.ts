import { connectApi } from '../../api/client.ts'
import type { listRuns } from '../../runs/service.ts'
import { ACTIVE_STATUSES } from '../../../client-safe/run-config.ts'
import { parse } from '../args.ts'
import type { Command } from '../main.ts'
import { fmtScore } from '../headless-run.ts'

type Row = Awaited<ReturnType<typeof listRuns>>[number]

export const runs: Command = {
  summary: 'list runs with status, problem, evaluations and best score',
  usage: 'fm-agent runs [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values } = parse('runs', argv, { json: { type: 'boolean' } })
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log, syncProblems: false })
    try {
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
