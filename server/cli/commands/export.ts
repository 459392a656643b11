import { writeFileSync } from 'node:fs'
import { exportText } from '../../runs/export-file.ts'
import { exportRun } from '../../runs/service.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'

export const exportCommand: Command = {
  summary: 'write a run as JSON: every candidate with its code, metrics and artifacts',
  usage: 'fm-agent export <runId> [--out FILE] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse('export', argv, { out: { type: 'string' } }, 1)
    if (!positionals[0]) throw new UsageError('which run? (fm-agent runs lists them)')
    const api = await connectToRuns({ env, log }, dataDir(values))
    try {
      const runId = await resolveRunId(api, positionals[0])
      const data = api.remote ? await api.query('runs.export', { runId }) : await exportRun(api.app!.db, runId)
      const text = exportText(data)
      if (values.out) {
        writeFileSync(values.out as string, text)
        log.info(`wrote ${values.out} (${(text.length / 1024).toFixed(0)} KiB)`)
      } else out(text)
      return 0
    } catch (e) {
      if ((e as Error).message.startsWith('no run')) throw new InputError((e as Error).message)
      throw e
    } finally {
      await api.close()
    }
  },
}
