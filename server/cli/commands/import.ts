import { readFileSync } from 'node:fs'
import { connectApi } from '../../api/client.ts'
import { BadInputError, ConflictError } from '../../errors.ts'
import { importRun } from '../../runs/service.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

export const importCommand: Command = {
  summary: 'import a run exported with fm-agent export',
  usage: 'fm-agent import <file> [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse('import', argv, {}, 1)
    if (!positionals[0]) throw new UsageError('which file?')
    let data: unknown
    try {
      data = JSON.parse(readFileSync(positionals[0], 'utf8'))
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
      throw new InputError(`${positionals[0]}: ${why}`)
    }
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log })
    try {
      if (api.remote) throw new InputError('stop the server first: importing writes the database directly')
      const r = await importRun(api.app!.db, { id: null, label: 'cli', role: 'admin', via: 'system' }, data).catch(
        (e: Error) => {
          // what is wrong with the file or this database; anything else is an internal error (exit 1)
          if (e instanceof BadInputError || e instanceof ConflictError) throw new InputError(e.message)
          throw e
        },
      )
      if (r.problem.status === 'created') log.info(`problem "${r.problem.id}" created from the export`)
      if (r.problem.status === 'differs')
        log.warn(
          `problem "${r.problem.id}" here has other files than the export's and was left as it is; the imported run keeps the files it ran with`,
        )
      out(`imported run ${r.runId} with ${r.candidates} candidates`)
      return 0
    } finally {
      await api.close()
    }
  },
}
