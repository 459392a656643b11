// Notification settings and history for the console: which runs a user watches, the user's and a
// run's webhook, recent deliveries with their outcome, a test message, and the feed from which
// the browser raises its own notifications. Every change is audited.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { BadInputError, ForbiddenError, NotFoundError } from '../errors.ts'
import { audit } from '../services/audit.ts'
import {
  classifyEvent,
  NOTIFY_EVENTS,
  notificationText,
  notificationTitle,
  testMessage,
  urlOrigin,
  type Classified,
  type NotifyEvent,
} from '../../client-safe/notify-messages.ts'
import { runFacts, sendDelivery } from './notifier.ts'
import { type DeliveryOptions, type Resolver, webhookTargetProblem } from './webhook.ts'
import { type AllowPolicy, policyFromEnv } from './webhook-address.ts'

const n = (v: bigint | number) => Number(v)

function userOf(actor: Actor): string {
  if (!actor.id) throw new BadInputError('notifications belong to a signed-in user')
  return actor.id
}

async function requireRun(db: Db, runId: string) {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { id: true } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
}

export async function watchRun(db: Db, actor: Actor, runId: string, watching: boolean) {
  const userId = userOf(actor)
  await requireRun(db, runId)
  if (watching)
    await db.prisma.runWatcher.upsert({
      where: { runId_userId: { runId, userId } },
      create: { runId, userId },
      update: {},
    })
  else await db.prisma.runWatcher.deleteMany({ where: { runId, userId } })
  await audit(db.prisma, actor, {
    action: watching ? 'run.watch' : 'run.unwatch',
    targetType: 'run',
    targetId: runId,
    runId,
    after: { watching },
  })
  return { watching }
}

export type WebhookTarget = { kind: 'user' } | { kind: 'run'; runId: string }

/**
 * Sets (url) or removes (null) the user's own webhook or a run's. An address the server may not
 * send to (internal, or not resolvable) is refused here, with the reason; sending checks again.
 */
export async function setWebhook(
  db: Db,
  actor: Actor,
  target: WebhookTarget,
  url: string | null,
  events: NotifyEvent[] = [...NOTIFY_EVENTS],
  check: { policy?: AllowPolicy; resolve?: Resolver; showUrl?: boolean | 'own' } = {},
) {
  const key = target.kind === 'user' ? { userId: userOf(actor) } : { runId: target.runId }
  if (target.kind === 'run') await requireRun(db, target.runId)
  if (url !== null) {
    const problem = await webhookTargetProblem(url, check.policy ?? policyFromEnv(), check.resolve)
    if (problem) throw new BadInputError(`this webhook address is refused: ${problem}`)
  }
  const before = await db.prisma.webhook.findFirst({ where: key })
  // whoever replaces a run's webhook sees its secret from then on: one who could not see it gets a
  // new one, or the old receiver's secret would be theirs to sign messages with
  const renew =
    !!before &&
    url !== null &&
    target.kind === 'run' &&
    !(await seesRunWebhook(db, actor, target.runId, true, check.showUrl ?? true))
  if (url === null) {
    if (before) await db.prisma.webhook.delete({ where: { id: before.id } })
  } else if (before) {
    await db.prisma.webhook.update({
      where: { id: before.id },
      data: { url, events, createdBy: actor.label, ...(renew ? { secret: newWebhookSecret() } : {}) },
    })
  } else {
    await db.prisma.webhook.create({
      data: { ...key, url, events, secret: newWebhookSecret(), createdBy: actor.label },
    })
  }
  // the audit keeps where messages go (the origin) and which, never the whole URL (it may hold a token)
  await audit(db.prisma, actor, {
    action: url === null ? 'webhook.remove' : 'webhook.set',
    targetType: 'webhook',
    targetId: target.kind === 'user' ? `user:${key.userId}` : `run:${target.runId}`,
    runId: target.kind === 'run' ? target.runId : null,
    before: before ? { to: urlOrigin(before.url), events: before.events } : null,
    after: url === null ? null : { to: urlOrigin(url), events, ...(renew ? { secret: 'renewed' } : {}) },
  })
  return { url, events }
}

async function deliveriesOf(db: Db, where: { webhookId?: string | { in: string[] }; runId?: string }, take = 20) {
  const rows = await db.prisma.notificationDelivery.findMany({ where, orderBy: { createdAt: 'desc' }, take })
  const runs = await db.prisma.run.findMany({
    where: { id: { in: [...new Set(rows.map((r) => r.runId).filter((x): x is string => !!x))] } },
    select: { id: true, name: true },
  })
  const names = new Map(runs.map((r) => [r.id, r.name]))
  return rows.map((r) => ({
    id: r.id,
    webhookId: r.webhookId,
    type: r.type,
    runId: r.runId,
    runName: r.runId ? (names.get(r.runId) ?? null) : null,
    status: r.status,
    attempts: r.attempts,
    httpStatus: r.httpStatus,
    error: r.error,
    createdAt: r.createdAt.getTime(),
    finishedAt: r.finishedAt ? r.finishedAt.getTime() : null,
  }))
}

/** The user's settings: their webhook, its recent deliveries, the runs they watch. */
export async function myNotifications(db: Db, actor: Actor) {
  const userId = userOf(actor)
  const [hook, watching] = await Promise.all([
    db.prisma.webhook.findUnique({ where: { userId } }),
    db.prisma.runWatcher.findMany({
      where: { userId },
      orderBy: { createdAt: 'desc' },
      take: 200,
      select: { runId: true },
    }),
  ])
  const runs = await db.prisma.run.findMany({
    where: { id: { in: watching.map((w) => w.runId) } },
    select: { id: true, name: true, status: true },
  })
  return {
    webhook: hook ? { url: hook.url, events: hook.events, secret: hook.secret } : null,
    deliveries: hook ? await deliveriesOf(db, { webhookId: hook.id }) : [],
    watching: runs,
  }
}

/**
 * A run's notifications as its page shows them: whether the user watches it, its webhook and
 * deliveries. `showUrl`: whether the caller sees the webhook's whole address (it may hold a token);
 * 'own': only if they set it themselves (who set it last is the audit's latest webhook.set).
 */
export async function runNotifications(db: Db, actor: Actor, runId: string, opts: { showUrl: boolean | 'own' }) {
  await requireRun(db, runId)
  const [mine, watchers, hook, ownHook] = await Promise.all([
    actor.id
      ? db.prisma.runWatcher.findUnique({ where: { runId_userId: { runId, userId: actor.id } } })
      : Promise.resolve(null),
    db.prisma.runWatcher.count({ where: { runId } }),
    db.prisma.webhook.findUnique({ where: { runId } }),
    actor.id ? db.prisma.webhook.findUnique({ where: { userId: actor.id }, select: { id: true } }) : null,
  ])
  // a watcher's personal webhook and how it fails (its host in the error) are theirs alone: the run
  // page shows the run webhook's deliveries and the caller's own
  const shown = [hook?.id, ownHook?.id].filter((x): x is string => !!x)
  const showUrl = await seesRunWebhook(db, actor, runId, !!hook, opts.showUrl)
  return {
    watching: !!mine,
    watchers,
    // others see where messages go, not the address (it may hold a token)
    webhook: hook
      ? {
          url: showUrl ? hook.url : null,
          to: urlOrigin(hook.url),
          events: hook.events,
          // who may not see the address may not sign messages as if from here either
          secret: showUrl ? hook.secret : null,
        }
      : null,
    deliveries: (shown.length ? await deliveriesOf(db, { runId, webhookId: { in: shown } }) : []).map((d) => ({
      ...d,
      to: d.webhookId === hook?.id ? ('run webhook' as const) : ('your webhook' as const),
    })),
  }
}

/** Whether the caller sees a run webhook's whole address and secret; 'own': only if they set it (the audit's latest webhook.set). */
async function seesRunWebhook(db: Db, actor: Actor, runId: string, exists: boolean, showUrl: boolean | 'own') {
  if (showUrl !== 'own') return showUrl
  if (!exists || !actor.id) return false
  const last = await db.prisma.auditEvent.findFirst({
    where: { action: 'webhook.set', targetId: `run:${runId}` },
    orderBy: { id: 'desc' },
    select: { actorId: true },
  })
  return last?.actorId === actor.id
}

/**
 * Gives a webhook a new signing secret, for a secret that leaked: the old one stops verifying
 * with the next message. Only who sees the secret may (a new secret nobody can read would cut
 * the receiver off).
 */
export async function rotateWebhookSecret(
  db: Db,
  actor: Actor,
  target: WebhookTarget,
  opts: { showUrl: boolean | 'own' } = { showUrl: true },
) {
  const key = target.kind === 'user' ? { userId: userOf(actor) } : { runId: target.runId }
  if (target.kind === 'run') await requireRun(db, target.runId)
  const hook = await db.prisma.webhook.findFirst({ where: key })
  if (!hook) throw new BadInputError(target.kind === 'user' ? 'you have no webhook yet' : 'this run has no webhook yet')
  if (target.kind === 'run' && !(await seesRunWebhook(db, actor, target.runId, true, opts.showUrl)))
    throw new ForbiddenError("another user set this run's webhook: only they and admins may change its secret")
  const secret = newWebhookSecret()
  await db.prisma.webhook.update({ where: { id: hook.id }, data: { secret } })
  await audit(db.prisma, actor, {
    action: 'webhook.rotate-secret',
    targetType: 'webhook',
    targetId: target.kind === 'user' ? `user:${key.userId}` : `run:${target.runId}`,
    runId: target.kind === 'run' ? target.runId : null,
    // which secret, never the secret: a fingerprint a receiver's operator can compare
    before: { to: urlOrigin(hook.url), secret: secretFingerprint(hook.secret) },
    after: { to: urlOrigin(hook.url), secret: secretFingerprint(secret) },
  })
  return { secret }
}

/** Sends a test message to the user's webhook or a run's now, and says what happened. */
export async function sendTest(db: Db, actor: Actor, target: WebhookTarget, opts: DeliveryOptions = {}) {
  const hook = await db.prisma.webhook.findFirst({
    where: target.kind === 'user' ? { userId: userOf(actor) } : { runId: target.runId },
  })
  if (!hook)
    throw new BadInputError(
      target.kind === 'user'
        ? 'you have no webhook yet: save its address first'
        : 'this run has no webhook yet: save its address first',
    )
  const id = randomUUID()
  await db.prisma.notificationDelivery.create({
    data: { id, webhookId: hook.id, runId: target.kind === 'run' ? target.runId : null, type: 'test' },
  })
  const outcome = await sendDelivery(
    db,
    {
      id,
      webhookId: hook.id,
      runId: target.kind === 'run' ? target.runId : null,
      type: 'test',
      url: hook.url,
      secret: hook.secret,
    },
    testMessage(id, actor.label),
    opts,
  )
  // a test message leaves the machine on a user's request: who sent it where, and how it went
  await audit(db.prisma, actor, {
    action: 'webhook.test',
    targetType: 'webhook',
    targetId: hook.id,
    runId: target.kind === 'run' ? target.runId : null,
    after: { to: urlOrigin(hook.url), deliveryId: id, outcome: JSON.parse(JSON.stringify(outcome)) },
  })
  return { id, ...outcome }
}

export interface FeedItem {
  eventId: number
  runId: string
  event: NotifyEvent
  title: string
  body: string
  t: number
  island: number | null
}

/**
 * What the browser notifies: events of the runs the user watches after `after` (null: nothing
 * yet, just the cursor to start from). The cursor is the newest event id seen, matching or not.
 */
export async function notificationFeed(
  db: Db,
  actor: Actor,
  after: number | null,
): Promise<{ cursor: number; items: FeedItem[] }> {
  const userId = userOf(actor)
  const [top] = await db.prisma.$queryRaw<Array<{ m: bigint | number | null }>>`SELECT max(id) AS m FROM run_events`
  const cursor = top?.m === null || top?.m === undefined ? 0 : n(top.m)
  if (after === null || after >= cursor) return { cursor: Math.max(cursor, after ?? 0), items: [] }
  const rows = await db.prisma.$queryRaw<
    Array<{ id: bigint | number; run_id: string; type: string; payload: Record<string, unknown>; created_at: Date }>
  >`
    SELECT e.id, e.run_id, e.type, e.payload, e.created_at FROM run_events e
    WHERE e.id > ${after} AND e.id <= ${cursor} AND e.type IN ('status', 'stagnation')
      AND e.run_id IN (SELECT w.run_id FROM run_watchers w JOIN users u ON u.id = w.user_id
                       WHERE w.user_id = ${userId} AND NOT u.disabled)
    ORDER BY e.id LIMIT 200`
  const classified = rows
    .map((r) =>
      classifyEvent({
        id: n(r.id),
        runId: r.run_id,
        type: r.type,
        payload: r.payload ?? {},
        t: r.created_at.getTime(),
      }),
    )
    .filter((c): c is Classified => c !== null)
  const items: FeedItem[] = []
  for (const c of classified) {
    const run = await runFacts(db, c.runId)
    if (!run) continue
    items.push({
      eventId: c.eventId,
      runId: c.runId,
      event: c.event,
      title: notificationTitle(c.event, run, c.island),
      body: notificationText(c, run),
      t: c.t,
      island: c.island,
    })
  }
  // a full page: the rest comes with the next call
  return { cursor: rows.length === 200 ? n(rows[rows.length - 1]!.id) : cursor, items }
}

const secretFingerprint = (secret: string) => `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`

/** A webhook's signing secret: 32 random bytes, named as such where it is shown. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`
}
