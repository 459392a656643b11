import { parse, intOption, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { consoleLine, startServer } from '../../server-process.ts'

export const web: Command = {
  summary: 'server mode: serve the console and API only (runs are driven by fm-agent engine)',
  usage: 'fm-agent web [--port P] [--host H]   (needs DATABASE_URL)',
  async run({ argv, env, log, dataDir }) {
    const { values } = parse('web', argv, { port: { type: 'string' }, host: { type: 'string' } })
    if (!env.DATABASE_URL)
      throw new UsageError('fm-agent web is for server mode: set DATABASE_URL (or use fm-agent start)')
    const server = await startServer({
      env,
      dataDir: dataDir(values),
      port: intOption('port', values.port, 0, 65535) ?? env.PORT,
      host: (values.host as string) ?? env.FM_HOST,
      log,
      engine: false,
    })
    log.info(`console: ${consoleLine(server)} (runs are driven by fm-agent engine processes)`)
    await untilSignal(log)
    await server.stop()
    log.info('stopped')
    return 0
  },
}

export function untilSignal(log: { info(m: string): void }): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping…`)
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
