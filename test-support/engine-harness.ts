// A console's API over a real engine in this process: the embedded database in a temporary folder,
// the curve-fit fixture imported, sandboxed local workers, an engine manager, and callers by role.
// For tests of interventions that must reach a running engine.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCaller } from '../server/api/root.ts'
import { type AppServices, createAppServices } from '../server/app.ts'
import type { Actor, Role } from '../server/auth/roles.ts'
import { type Db, openDatabase } from '../server/db.ts'
import { silentLogger } from '../server/log.ts'
import { createBackend } from '../server/runs/evaluation-backend.ts'
import { knowledgeHooks } from '../server/runs/hooks.ts'
import { EngineManager } from '../server/runs/manager.ts'
import { importProblem } from '../server/services/problem-catalog.ts'
import { FIXTURES } from './cli.ts'

export interface EngineHarness {
  db: Db
  app: AppServices
  /** the API as a user of this role */
  as(role: Role): ReturnType<typeof createCaller>
  stop(): Promise<void>
}

export async function startEngineHarness(opts: {
  name: string
  knowledge?: boolean
  /** the embedded database's upkeep after each run, as the console's process does it */
  upkeep?: boolean
}): Promise<EngineHarness> {
  const dir = mkdtempSync(join(tmpdir(), `fm-${opts.name}-`))
  const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
  const app = createAppServices(db, null, silentLogger)
  await importProblem(db, join(FIXTURES, 'curve-fit'))
  app.backend = await createBackend({ db, log: silentLogger, workers: 2 })
  app.runs = new EngineManager({
    db,
    backend: app.backend,
    events: app.events,
    log: silentLogger,
    ...(opts.knowledge ? { hooks: knowledgeHooks(db, silentLogger) } : {}),
    ...(opts.upkeep ? { upkeep: true } : {}),
  })
  const actor = (role: Role): Actor => ({ id: null, label: `${role}@example.test`, role, via: 'session' })
  return {
    db,
    app,
    as: (role) => createCaller({ app, actor: actor(role), tokenScope: null, headers: new Headers() }),
    async stop() {
      await app.runs?.stopAll()
      await app.backend?.close()
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
