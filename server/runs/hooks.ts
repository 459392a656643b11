// The engine's hooks into the knowledge base (retrieval when an island stalls, usefulness of
// chunks, lessons). Filled by server/knowledge once it is wired in.
import type { Db } from '../db.ts'
import type { Logger } from '../log.ts'
import type { EngineHooks } from './engine.ts'

export function knowledgeHooks(_db: Db, _log: Logger): EngineHooks {
  return {}
}
