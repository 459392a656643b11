import { copyDatabase } from '../../db/copy.ts'
import { BadInputError } from '../../errors.ts'
import { openDatabase } from '../../db.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

export const copyTo: Command = {
  summary: "copy a data folder's embedded database into an empty PostgreSQL database (moving to a server)",
  usage:
    'fm-agent copy-to <postgres://…> [--json] [--data-dir DIR]\n  every run, problem, knowledge document, lesson, user and setting; the folder is left as it is\n  --json: {"rows", "tables": [{"table", "rows"}]}',
  async run({ argv, log, dataDir, out }) {
    const { values, positionals } = parse('copy-to', argv, { json: { type: 'boolean' } }, 1)
    const url = positionals[0]
    if (!url) throw new UsageError('to which database? (a postgres:// URL: docs/deployment.md)')
    if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`${url.slice(0, 40)}: not a postgres:// URL`)
    // the data folder's own database (whatever DATABASE_URL says): held by a running server, it refuses
    const from = await openDatabase({ dataDir: dataDir(values), databaseUrl: '' })
    try {
      const to = await openDatabase({ databaseUrl: url, dataDir: dataDir(values) })
      try {
        log.info(`copying ${from.label} into ${to.label}`)
        let lastTable = ''
        let lastAt = 0
        const summary = await copyDatabase(from, to, {
          onProgress: ({ table, rows }) => {
            if (table === lastTable && Date.now() - lastAt < 2000) return
            lastTable = table
            lastAt = Date.now()
            log.info(`${table}: ${rows.toLocaleString('en-US')} rows`)
          },
        }).catch((e: Error) => {
          if (e instanceof BadInputError) throw new InputError(e.message)
          throw e
        })
        out(
          values.json
            ? JSON.stringify(summary)
            : `copied ${summary.rows.toLocaleString('en-US')} rows of ${summary.tables.length} tables; start the server on it with DATABASE_URL set (docs/deployment.md)`,
        )
        return 0
      } finally {
        await to.close()
      }
    } finally {
      await from.close()
    }
  },
}
