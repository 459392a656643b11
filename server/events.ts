// Fan-out of live events (run progress, metrics, alerts, acknowledgements) to subscriptions. Events
// are also persisted (run_events, candidates, run_metrics) with increasing ids, so a reconnecting
// client backfills from its last id; this bus only wakes subscribers up. In server mode the bus is
// bridged over PostgreSQL (NOTIFY fm_events): an engine's events wake the subscribers of every web
// process, so a run driven elsewhere streams like a local one.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'

export interface LiveEvent {
  /** run_events.id when persisted; subscribers resume after it */
  id?: string
  runId: string
  type: string
  payload: unknown
  /** set on events that came from another process (their payload is only what fits a notification) */
  remote?: boolean
}

/** what a bridge needs of the database (server/db.ts Db) */
export interface NotifyChannel {
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>
  notify(channel: string, payload: string): Promise<void>
}

const CHANNEL = 'fm_events'
/** a busy run's events of one kind are coalesced into one notification per window */
const COALESCE_MS = 50
/** payloads larger than this travel as "something changed": readers fetch the rows */
const MAX_PAYLOAD = 1500

export class EventBus {
  private emitter = new EventEmitter()
  private readonly origin = randomBytes(6).toString('hex')
  private bridge: NotifyChannel | null = null
  private unlisten: (() => Promise<void>) | null = null
  private readonly pending = new Map<string, LiveEvent>()
  private flushTimer: NodeJS.Timeout | null = null
  /**
   * per run, the highest evaluation index a candidate event carried: the engine applies results in
   * that order, so a watcher that subscribed after a candidate's event still learns it was applied
   */
  private readonly lastEval = new Map<string, number>()

  constructor() {
    // one listener per open subscription; many browsers may watch one run
    this.emitter.setMaxListeners(0)
  }

  /** Carries this bus's events to other processes' buses and theirs here (server mode). */
  async bridgeTo(channel: NotifyChannel) {
    this.bridge = channel
    this.unlisten = await channel.listen(
      CHANNEL,
      (raw) => {
        let m: { o: string; r: string; t: string; i?: string; p?: unknown }
        try {
          m = JSON.parse(raw)
        } catch {
          return
        }
        if (m.o === this.origin) return
        this.emit({ runId: m.r, type: m.t, id: m.i, payload: m.p ?? {}, remote: true })
      },
      // notifications sent while the connection was down are lost: every subscriber re-reads
      () => this.emitter.emit('resync'),
    )
  }

  publish(e: LiveEvent) {
    this.emit(e)
    if (!this.bridge) return
    // one notification per run and kind per window; events with an id or a small payload go as they are
    const key = e.id || e.type === 'command' ? `${e.runId}:${e.type}:${e.id ?? Math.random()}` : `${e.runId}:${e.type}`
    this.pending.set(key, e)
    this.flushTimer ??= setTimeout(() => this.flush(), COALESCE_MS)
  }

  private flush() {
    this.flushTimer = null
    const batch = [...this.pending.values()]
    this.pending.clear()
    for (const e of batch) {
      const p = JSON.stringify(e.payload ?? {})
      const msg = JSON.stringify({
        o: this.origin,
        r: e.runId,
        t: e.type,
        ...(e.id ? { i: e.id } : {}),
        ...(p.length <= MAX_PAYLOAD ? { p: e.payload } : {}),
      })
      void this.bridge?.notify(CHANNEL, msg).catch(() => undefined)
    }
  }

  private emit(e: LiveEvent) {
    if (e.type === 'candidate') {
      const i = (e.payload as { evalIndex?: unknown } | null)?.evalIndex
      if (typeof i === 'number' && i > (this.lastEval.get(e.runId) ?? -1)) this.lastEval.set(e.runId, i)
    }
    this.emitter.emit(`run:${e.runId}`, e)
    this.emitter.emit('any', e)
  }

  subscribe(runId: string | 'any', fn: (e: LiveEvent) => void): () => void {
    const key = runId === 'any' ? 'any' : `run:${runId}`
    this.emitter.on(key, fn)
    return () => this.emitter.off(key, fn)
  }

  /** the highest evaluation index of the run's candidate events this bus carried (null: none) */
  lastEvalIndex(runId: string): number | null {
    return this.lastEval.get(runId) ?? null
  }

  /** called when events from other processes may have been missed (the bridge reconnected) */
  onResync(fn: () => void): () => void {
    this.emitter.on('resync', fn)
    return () => this.emitter.off('resync', fn)
  }

  listenerCount(runId: string | 'any') {
    return this.emitter.listenerCount(runId === 'any' ? 'any' : `run:${runId}`)
  }

  async close() {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flush()
    await this.unlisten?.()
    this.bridge = null
  }
}
