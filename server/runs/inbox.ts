// The run driver's end of the control channel (commands.ts): the pending commands of the run it drives,
// applied in the order they were given, each acknowledged once with its outcome (stored, put in the
// run's event log for every console, audited). Woken by NOTIFY; a slow poll covers a missed one.
// A command applied but not yet acknowledged when its process dies is applied again by the
// driver that takes the run over, so every application is idempotent (see RunKnobs.apply in knobs.ts).
import type { Db } from '../db.ts'
import type { EventBus } from '../events.ts'
import type { Logger } from '../log.ts'
import { audit } from '../services/audit.ts'
import { acknowledgeCommand, COMMAND_CHANNEL, type CommandKind } from './commands.ts'

const POLL_MS = 1000

export interface PendingCommand {
  id: bigint
  kind: CommandKind
  payload: Record<string, unknown>
  actorId: string | null
  actorLabel: string
}

export type Applied = { status: 'applied' | 'refused'; result: Record<string, unknown> }

export class CommandInbox {
  private unlisten: (() => Promise<void>) | null = null
  private timer: NodeJS.Timeout | null = null
  private draining: Promise<void> | null = null
  private again = false
  private stopped = false

  constructor(
    private readonly deps: { db: Db; events: EventBus; log: Logger },
    private readonly runId: string,
    /** who applies (host:pid of the engine), recorded with each acknowledgement */
    private readonly owner: string,
    private readonly apply: (c: PendingCommand) => Promise<Applied>,
  ) {}

  async start() {
    this.unlisten = await this.deps.db
      .listen(
        COMMAND_CHANNEL,
        (runId) => runId === this.runId && this.wake(),
        () => this.wake(),
      )
      .catch((e) => {
        this.deps.log.warn(`control channel: LISTEN failed (${(e as Error).message}); polling every ${POLL_MS} ms`)
        return null
      })
    this.timer = setInterval(() => this.wake(), POLL_MS)
    this.timer.unref()
    await this.drain()
  }

  async stop() {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.unlisten?.()
    await this.draining
  }

  wake() {
    if (this.stopped) return
    if (this.draining) {
      this.again = true
      return
    }
    void this.drain()
  }

  /** Applies what is pending, in order; resolves when nothing is left. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      do {
        this.again = false
        // polled every second while the run lives: plain SQL, not a query the ORM compiles each time
        const rows = await this.deps.db.sql<{
          id: string
          kind: string
          payload: Record<string, unknown> | null
          actor_id: string | null
          actor_label: string
        }>(
          `SELECT id::text AS id, kind, payload, actor_id, actor_label FROM run_commands
            WHERE run_id = $1 AND status = 'pending' ORDER BY id LIMIT 100`,
          [this.runId],
        )
        for (const row of rows) {
          if (this.stopped) return
          await this.handle({
            id: BigInt(row.id),
            kind: row.kind as CommandKind,
            payload: row.payload ?? {},
            actorId: row.actor_id,
            actorLabel: row.actor_label,
          })
        }
        if (rows.length === 100) this.again = true
      } while (this.again && !this.stopped)
    })()
      .catch((e) => this.deps.log.warn(`control channel: ${(e as Error).message}`))
      .finally(() => (this.draining = null))
    return this.draining
  }

  private async handle(c: PendingCommand) {
    let outcome: Applied
    try {
      outcome = await this.apply(c)
    } catch (e) {
      outcome = { status: 'refused', result: { reason: (e as Error).message } }
    }
    const db = this.deps.db
    // acknowledged meanwhile: another engine took the run over
    if (!(await acknowledgeCommand(db, this.deps.events, this.runId, c, outcome, this.owner))) return
    await audit(
      db.prisma,
      { id: null, label: `engine ${this.owner}`, role: 'admin', via: 'system' },
      {
        action: `${c.kind}.${outcome.status}`,
        targetType: 'command',
        targetId: String(c.id),
        runId: this.runId,
        after: { ...outcome.result, requestedBy: c.actorLabel },
      },
    )
  }
}
