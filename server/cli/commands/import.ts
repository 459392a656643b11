import { readFileSync, statSync } from 'node:fs'
import { connectApi } from '../../api/client.ts'
import { BadInputError, ConflictError } from '../../errors.ts'
import { parseLargeJson } from '../../runs/export-file.ts'
import { importRun, type ImportResult } from '../../runs/service.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

export const importCommand: Command = {
  summary: 'import a run exported with fm-agent export (or the console’s Export button)',
  usage:
    'fm-agent import <file> [--json] [--data-dir DIR]\n  --json: the result as JSON ({"runId","candidates","problem":{"id","status"}})',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse('import', argv, { json: { type: 'boolean' } }, 1)
    const file = positionals[0]
    if (!file) throw new UsageError('which file?')
    try {
      if (!statSync(file).isFile()) throw new Error('not a file')
    } catch (e) {
      throw new InputError(
        `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      )
    }
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log })
    let r: ImportResult
    try {
      if (api.remote) {
        // the server holding the folder imports it, as its Import button would
        const { postFileToSocket } = await import('../../api/local-socket.ts')
        const { IMPORT_ROUTE } = await import('../../api/run-import.ts')
        const answer = await postFileToSocket(api.socketPath!, IMPORT_ROUTE, file)
        if (answer.status !== 200) {
          const why = `${file}: ${String(answer.body.error ?? `HTTP ${answer.status}`)}`
          if (answer.status >= 500) throw new Error(why)
          throw new InputError(why)
        }
        r = answer.body as unknown as ImportResult
      } else {
        let data: unknown
        try {
          // member by member: an export may be longer than a string can be (~512 MiB)
          data = parseLargeJson(readFileSync(file))
        } catch (e) {
          throw new InputError(`${file}: ${(e as Error).message}`)
        }
        r = await importRun(api.app!.db, { id: null, label: 'cli', role: 'admin', via: 'system' }, data).catch(
          (e: Error) => {
            // what is wrong with the file or this database; anything else is an internal error (exit 1)
            if (e instanceof BadInputError || e instanceof ConflictError) throw new InputError(e.message)
            throw e
          },
        )
      }
    } finally {
      await api.close()
    }
    if (r.problem.status === 'created') log.info(`problem "${r.problem.id}" created from the export`)
    if (r.problem.status === 'differs')
      log.warn(
        `problem "${r.problem.id}" here has other files than the export's and was left as it is; the imported run keeps the files it ran with`,
      )
    if (r.notResumable) log.warn(r.notResumable)
    out(values.json ? JSON.stringify(r) : `imported run ${r.runId} with ${r.candidates} candidates`)
    return 0
  },
}
