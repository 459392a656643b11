import { connectApi } from '../../api/client.ts'
import type { ProblemSummary } from '../../services/problem-catalog.ts'
import { GPU_FIX, mergedFix } from '../../../client-safe/needs.ts'
import { parse } from '../args.ts'
import type { Command } from '../main.ts'

export function formatProblems(rows: ProblemSummary[]): string {
  const checked = rows.some((p) => p.runnable)
  const header = ['id', 'direction', 'metric', 'reference', 'language', ...(checked ? ['runs here'] : []), 'source']
  const body = rows.map((p) => [
    p.id,
    p.direction,
    p.primaryMetric,
    p.reference ? String(p.reference.value) : '-',
    p.language + (p.gpu ? ' (gpu)' : ''),
    ...(checked ? [!p.runnable ? '?' : p.runnable.ok ? 'yes' : `no: needs ${p.runnable.missing.join(', ')}`] : []),
    p.reference?.source ?? '',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  const checks = rows.flatMap((p) => (p.runnable ? [p.runnable] : []))
  const fix = mergedFix(checks)
  const notes = [...(fix ? [`fix: ${fix}`] : []), ...(checks.some((r) => r.gpu) ? [GPU_FIX] : [])]
  return [line(header), ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n')
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
