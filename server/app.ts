// The services one server process holds, created once at start-up (fm-agent start / web / engine)
// and handed to the API as its context. Nothing here knows HTTP.
import type { Db } from './db.ts'
import type { Auth } from './auth/auth.ts'
import { EventBus } from './events.ts'
import type { Logger } from './log.ts'
import type { EngineManager } from './runs/manager.ts'
import type { EvaluationBackend } from './contracts/evaluation.ts'

export interface AppServices {
  db: Db
  auth: Auth | null
  events: EventBus
  log: Logger
  /** the engine, when this process drives runs (fm-agent start / engine) */
  runs: EngineManager | null
  /** the evaluation backend the engine uses, when this process has one */
  backend: EvaluationBackend | null
  /** the one run this process drives (a headless `fm-agent run`): no other can be resumed through it */
  drivesOnly?: string
}

export function createAppServices(db: Db, auth: Auth | null, log: Logger): AppServices {
  const events = new EventBus()
  // server mode: web, engines and CLI runs are separate processes; their events meet over PostgreSQL
  if (db.mode === 'server')
    void events.bridgeTo(db).catch((e) => log.warn(`live events stay in this process: ${(e as Error).message}`))
  return { db, auth, events, log, runs: null, backend: null }
}
