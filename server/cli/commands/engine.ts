import { createAppServices } from '../../app.ts'
import { openDatabase } from '../../db.ts'
import { knowledgeHooks } from '../../runs/hooks.ts'
import { EngineManager } from '../../runs/manager.ts'
import { Notifier } from '../../notify/notifier.ts'
import { createBackend } from '../../runs/evaluation-backend.ts'
import { syncBuiltinProblems } from '../../services/problem-catalog.ts'
import { parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { untilSignal } from './web.ts'

export const engine: Command = {
  summary: 'server mode: drive runs (cold start and evolution); evaluations go to fm-agent worker processes',
  usage: 'fm-agent engine   (needs DATABASE_URL)',
  async run({ argv, env, log, dataDir }) {
    const { values } = parse('engine', argv, {})
    if (!env.DATABASE_URL)
      throw new UsageError('fm-agent engine is for server mode: set DATABASE_URL (or use fm-agent start)')
    const db = await openDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir: dataDir(values),
      wait: (why) => log.warn(`waiting for PostgreSQL (${why}); retrying until it answers`),
    })
    const app = createAppServices(db, null, log)
    await syncBuiltinProblems(db, (m) => log.warn(m))
    const backend = await createBackend({ db, log })
    const manager = new EngineManager({ db, backend, events: app.events, log, hooks: knowledgeHooks(db, log) })
    await manager.resumeActive()
    manager.watchForRuns()
    // the engine sees runs end and stall: it sends their notifications (links need FM_PUBLIC_URL)
    const notifier = new Notifier({ db, events: app.events, log, consoleUrl: env.FM_PUBLIC_URL ?? null })
    await notifier.start()
    log.info(`engine ${manager.owner} on ${db.label}: waiting for runs`)
    await untilSignal(log)
    await manager.stopAll()
    await notifier.stop()
    await backend.close()
    await db.close()
    log.info('stopped')
    return 0
  },
}
