// The notifier: it follows the run event log (every run, whichever process drives it), and for a
// run that completes, fails or stalls it sends a JSON message to the run's webhook and to the
// webhooks of the users watching it. It runs where runs are driven (fm-agent start, fm-agent
// engine). Each delivery is a row first (unique per event and webhook, so two processes never
// send one message twice), then bounded attempts, then its outcome, recorded and audited.
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import type { EventBus } from '../events.ts'
import type { Logger } from '../log.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import { audit } from '../services/audit.ts'
import {
  classifyEvent,
  foldStalls,
  STALL_COOLDOWN_MS,
  urlOrigin,
  webhookMessage,
  type Classified,
  type EventRow,
  type NotifyEvent,
  type RunFacts,
  type WebhookMessage,
} from '../../client-safe/notify-messages.ts'
import { deliverWebhook, type DeliveryOptions } from './webhook.ts'
import { ALLOW_ENV, policyFromEnv } from './webhook-address.ts'

export interface NotifierOptions {
  db: Db
  events: EventBus
  log: Logger
  /** the console's public address, for links in messages (null: no link) */
  consoleUrl: string | null
  delivery?: Omit<DeliveryOptions, 'onAttempt' | 'signal'>
  /** how often the event log is read when nothing wakes the notifier (default 2 s) */
  pollMs?: number
  cooldownMs?: number
  /** deliveries in flight at once (default 8) */
  concurrency?: number
}

const n = (v: bigint | number) => Number(v)

export async function runFacts(db: Db, runId: string): Promise<RunFacts | null> {
  const r = await db.prisma.run.findUnique({
    where: { id: runId },
    select: {
      id: true,
      name: true,
      problemId: true,
      status: true,
      evaluations: true,
      bestScore: true,
      bestCandidateId: true,
      problemSnapshot: true,
    },
  })
  if (!r) return null
  return {
    id: r.id,
    name: r.name,
    problemId: r.problemId,
    status: r.status,
    evaluations: r.evaluations,
    bestScore: r.bestScore,
    bestCandidateId: r.bestCandidateId,
    direction: (r.problemSnapshot as unknown as ProblemSnapshot).spec.direction,
  }
}

/**
 * Sends one message to one webhook and records the outcome (the delivery row, and the audit log).
 * Shared by the notifier and the "send a test" button.
 */
export async function sendDelivery(
  db: Db,
  d: { id: string; webhookId: string; runId: string | null; type: string; url: string; secret: string },
  message: WebhookMessage,
  opts: DeliveryOptions = {},
) {
  const outcome = await deliverWebhook(d.url, message, {
    ...opts,
    secret: d.secret,
    beforeRetry: async () => {
      const hook = await db.prisma.webhook.findUnique({ where: { id: d.webhookId } })
      if (!hook) return { cancel: 'the webhook was removed' }
      if (hook.userId) {
        const user = await db.prisma.user.findUnique({ where: { id: hook.userId }, select: { disabled: true } })
        if (!user || user.disabled) return { cancel: 'its user is disabled' }
      }
      return { url: hook.url, secret: hook.secret }
    },
    onAttempt: async (a) => {
      await db.prisma.notificationDelivery.update({
        where: { id: d.id },
        data: { attempts: a.attempt, httpStatus: a.httpStatus, error: a.error },
      })
    },
  })
  await db.prisma.notificationDelivery.update({
    where: { id: d.id },
    data: {
      status: outcome.ok ? 'delivered' : 'failed',
      attempts: outcome.attempts,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      finishedAt: new Date(),
    },
  })
  await audit(db.prisma, SYSTEM_ACTOR, {
    action: outcome.ok ? 'notification.delivered' : 'notification.failed',
    targetType: 'webhook',
    targetId: d.webhookId,
    runId: d.runId,
    after: {
      delivery: d.id,
      type: d.type,
      to: urlOrigin(d.url),
      attempts: outcome.attempts,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
    },
  })
  return outcome
}

export class Notifier {
  private cursor = 0
  /** the last event whose messages have been handed to delivery */
  private dispatched = 0
  private readonly lastStall = new Map<string, number>()
  private readonly ac = new AbortController()
  private readonly inflight = new Set<Promise<unknown>>()
  private wake: (() => void) | null = null
  private pending = false
  private loop: Promise<void> | null = null
  private unsubscribe: (() => void) | null = null

  constructor(private readonly o: NotifierOptions) {}

  /** From now on: events already in the log were either notified by a previous process or are old news. */
  async start(): Promise<void> {
    // the operator should see, once, that webhooks may reach internal addresses (or why not)
    const policy = this.o.delivery?.policy ?? policyFromEnv()
    if (policy.problem) this.o.log.warn(`webhooks: ${policy.problem}`)
    else if (policy.internal || policy.ranges.length)
      this.o.log.info(
        `webhooks may reach ${policy.internal ? 'internal addresses (loopback, private, link-local)' : 'the address ranges listed'} (${ALLOW_ENV})`,
      )
    const [row] = await this.o.db.prisma.$queryRaw<
      Array<{ m: bigint | number | null }>
    >`SELECT max(id) AS m FROM run_events`
    this.cursor = row?.m === null || row?.m === undefined ? 0 : n(row.m)
    this.dispatched = this.cursor
    this.unsubscribe = this.o.events.subscribe('any', (e) => {
      if (e.type === 'status' || e.type === 'stagnation') {
        this.pending = true
        this.wake?.()
      }
    })
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.ac.abort()
    this.wake?.()
    this.unsubscribe?.()
    await this.loop
    await Promise.allSettled([...this.inflight])
  }

  private async run() {
    while (!this.ac.signal.aborted) {
      try {
        await this.tick()
      } catch (e) {
        this.o.log.warn(`notifications: ${(e as Error).message}`)
      }
      if (this.pending || this.ac.signal.aborted) {
        this.pending = false
        continue
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.o.pollMs ?? 2000)
        function done() {
          clearTimeout(t)
          resolve()
        }
        this.wake = done
      })
      this.wake = null
    }
  }

  /** Reads the event log after the cursor and dispatches what is worth a message. */
  async tick(): Promise<void> {
    const rows = await this.o.db.prisma.$queryRaw<
      Array<{ id: bigint | number; run_id: string; type: string; payload: Record<string, unknown>; created_at: Date }>
    >`
      SELECT id, run_id, type, payload, created_at FROM run_events
      WHERE id > ${this.cursor} AND type IN ('status', 'stagnation') ORDER BY id LIMIT 500`
    if (!rows.length) return
    this.cursor = n(rows[rows.length - 1]!.id)
    const events: EventRow[] = rows.map((r) => ({
      id: n(r.id),
      runId: r.run_id,
      type: r.type,
      payload: r.payload ?? {},
      t: r.created_at.getTime(),
    }))
    const worth = foldStalls(
      events.map(classifyEvent).filter((c): c is Classified => c !== null),
      this.lastStall,
      this.o.cooldownMs ?? STALL_COOLDOWN_MS,
    )
    for (const c of worth) await this.dispatch(c)
    this.dispatched = this.cursor
  }

  /** How far it has got: events up to `through` are dispatched; `delivering` messages still under way (retries included). */
  progress(): { through: number; delivering: number } {
    return { through: this.dispatched, delivering: this.inflight.size }
  }

  private async dispatch(c: Classified) {
    const db = this.o.db
    const run = await runFacts(db, c.runId)
    if (!run) return
    // a disabled user is told nothing more (their watches and webhook stay, for when they are enabled again)
    const watchers = await db.prisma.$queryRaw<Array<{ user_id: string }>>`
      SELECT w.user_id FROM run_watchers w JOIN users u ON u.id = w.user_id
      WHERE w.run_id = ${c.runId} AND NOT u.disabled`
    const hooks = await db.prisma.webhook.findMany({
      where: { OR: [{ runId: c.runId }, { userId: { in: watchers.map((w) => w.user_id) } }] },
    })
    for (const h of hooks) {
      if (!h.events.includes(c.event as NotifyEvent)) continue
      let id: string
      try {
        id = (
          await db.prisma.notificationDelivery.create({
            data: { webhookId: h.id, runId: c.runId, eventId: BigInt(c.eventId), type: c.event },
            select: { id: true },
          })
        ).id
      } catch {
        continue // another process took this one (unique per event and webhook)
      }
      const p = sendDelivery(
        db,
        { id, webhookId: h.id, runId: c.runId, type: c.event, url: h.url, secret: h.secret },
        webhookMessage(id, c, run, this.o.consoleUrl),
        { ...this.o.delivery, signal: this.ac.signal },
      )
        .catch((e) => this.o.log.warn(`notification to ${urlOrigin(h.url)}: ${(e as Error).message}`))
        .finally(() => this.inflight.delete(p))
      this.inflight.add(p)
      // bounded: a slow receiver holds at most this many deliveries; the rest wait their turn
      if (this.inflight.size >= (this.o.concurrency ?? 8)) await Promise.race(this.inflight)
    }
  }
}
