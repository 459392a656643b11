import { DataDirLockedError, liveHolder } from '../../db/data-dir.ts'
import { consoleLine, startServer } from '../../server-process.ts'
import { ensurePrerequisites } from '../../setup/check.ts'
import { intOption, parse } from '../args.ts'
import type { Command } from '../main.ts'

export const start: Command = {
  summary: 'serve the console, the engine and local workers (embedded database unless DATABASE_URL)',
  usage:
    'fm-agent start [--port P] [--host H] [--data-dir DIR] [--dev] [--no-install]\n' +
    '  embedded mode first checks what evaluations need here (Python with NumPy, SciPy, scikit-learn; bubblewrap; g++; valgrind)\n' +
    '  and installs what is missing with apt-get where it can (root or passwordless sudo); --no-install only reports it',
  async run({ argv, env, log, dataDir }) {
    const { values } = parse('start', argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      dev: { type: 'boolean' },
      'no-install': { type: 'boolean' },
    })
    const port = intOption('port', values.port, 0, 65535) ?? env.PORT
    const host = (values.host as string | undefined) ?? env.FM_HOST
    const dir = dataDir(values)
    if (!env.DATABASE_URL) {
      const holder = liveHolder(dir)
      if (holder) throw new DataDirLockedError(dir, holder)
      // evaluations run on this machine (in server mode, on the workers' machines: `fm-agent doctor` there)
      await ensurePrerequisites({ log, install: !values['no-install'] })
    }
    const server = await startServer({ env, dataDir: dir, port, host, dev: !!values.dev, log })
    log.info(`console: ${consoleLine(server)}  (stop with Ctrl-C)`)
    if (env.DATABASE_URL)
      log.info(
        'server mode: evaluations run on worker processes, none in this one: start `fm-agent worker` with a worker role (docs/deployment.md)',
      )
    await new Promise<void>((resolve) => {
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) return
        stopping = true
        log.info(`${signal}: stopping…`)
        server.stop().finally(() => {
          log.info('stopped')
          resolve()
        })
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
    return 0
  },
}
