// In-process fan-out of live events (run progress, metrics, alerts) to subscriptions. Events are
// also persisted (run_events) with increasing ids, so a reconnecting client backfills from its
// last id; this bus only wakes subscribers up.
import { EventEmitter } from 'node:events'

export interface LiveEvent {
  /** run_events.id when persisted; subscribers resume after it */
  id?: string
  runId: string
  type: string
  payload: unknown
}

export class EventBus {
  private emitter = new EventEmitter()
  constructor() {
    // one listener per open subscription; many browsers may watch one run
    this.emitter.setMaxListeners(0)
  }
  publish(e: LiveEvent) {
    this.emitter.emit(`run:${e.runId}`, e)
    this.emitter.emit('any', e)
  }
  subscribe(runId: string | 'any', fn: (e: LiveEvent) => void): () => void {
    const key = runId === 'any' ? 'any' : `run:${runId}`
    this.emitter.on(key, fn)
    return () => this.emitter.off(key, fn)
  }
  listenerCount(runId: string | 'any') {
    return this.emitter.listenerCount(runId === 'any' ? 'any' : `run:${runId}`)
  }
}
