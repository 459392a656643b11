import { connectApi } from '../../api/client.ts'
import type { ProblemSummary } from '../../services/problems.ts'
import { parse } from '../args.ts'
import type { Command } from '../main.ts'

export function formatProblems(rows: ProblemSummary[]): string {
  const header = ['id', 'direction', 'metric', 'reference', 'language', 'source']
  const body = rows.map((p) => [
    p.id,
    p.direction,
    p.primaryMetric,
    p.reference ? String(p.reference.value) : '-',
    p.language + (p.gpu ? ' (gpu)' : ''),
    p.reference?.source ?? '',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  return [line(header), ...body.map(line)].join('\n')
}

export const problems: Command = {
  summary: 'list the built-in and imported problems, with direction and reference value',
  usage: 'fm-agent problems [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values } = parse('problems', argv, { json: { type: 'boolean' } })
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log })
    try {
      const rows = await api.query<ProblemSummary[]>('problems.list')
      out(values.json ? JSON.stringify(rows) : formatProblems(rows))
      return 0
    } finally {
      await api.close()
    }
  },
}
