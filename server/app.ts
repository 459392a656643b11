// The services one server process holds, created once at start-up (fm-agent start / web / engine)
// and handed to the API as its context. Nothing here knows HTTP.
import type { Db } from './db.ts'
import type { Auth } from './auth/auth.ts'
import { EventBus } from './events.ts'
import type { Logger } from './log.ts'

export interface AppServices {
  db: Db
  auth: Auth | null
  events: EventBus
  log: Logger
  /** filled by the engine and workers when this process runs them */
  extensions: Record<string, unknown>
}

export function createAppServices(db: Db, auth: Auth | null, log: Logger): AppServices {
  return { db, auth, events: new EventBus(), log, extensions: {} }
}
