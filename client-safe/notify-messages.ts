// What is worth a notification, and the message it becomes. Pure: the notifier (webhooks) and
// the browser (its own notifications) apply the same rules to the run's numbered event log.
import { z } from 'zod'

export const NOTIFY_EVENTS = ['run.completed', 'run.failed', 'run.stalled'] as const
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number]

/** Stalls of one run notify at most once in this long (a plateau raises an event per island). */
export const STALL_COOLDOWN_MS = 10 * 60_000

function parseUrl(u: string): URL | null {
  try {
    return new URL(u)
  } catch {
    return null
  }
}

/**
 * A webhook URL: http(s) only, no credentials in it (the message must not carry secrets, and a
 * URL with a password in it is one), bounded. The receiver is the user's own service.
 */
export const WebhookUrl = z
  .string()
  .trim()
  .max(2000, 'at most 2,000 characters')
  .pipe(z.url({ protocol: /^https?$/, message: 'an http:// or https:// address' }))
  .refine((u) => {
    const url = parseUrl(u)
    return !url || (!url.username && !url.password)
  }, 'no user name or password in the address')
  .refine((u) => !parseUrl(u)?.hash, 'no #fragment (it is never sent)')

export const NotifyEvents = z.array(z.enum(NOTIFY_EVENTS)).min(1).max(NOTIFY_EVENTS.length)

export interface EventRow {
  id: number
  runId: string
  type: string
  payload: Record<string, unknown>
  t: number
}

export interface Classified {
  event: NotifyEvent
  eventId: number
  runId: string
  /** the island that stalled */
  island: number | null
  reason: string | null
  t: number
}

/**
 * Whether a run event is worth a notification: the run completed or failed (a status event), or
 * an island entered a plateau (a stagnation event of kind "stagnant"; its escalations are not news).
 * A run stopped by a person is not notified: that person knows.
 */
export function classifyEvent(e: EventRow): Classified | null {
  const base = { eventId: e.id, runId: e.runId, t: e.t }
  if (e.type === 'status') {
    const status = String(e.payload.status ?? '')
    const reason = typeof e.payload.reason === 'string' ? e.payload.reason : null
    if (status === 'completed') return { ...base, event: 'run.completed', island: null, reason }
    if (status === 'failed') return { ...base, event: 'run.failed', island: null, reason }
    return null
  }
  if (e.type === 'stagnation' && e.payload.kind === 'stagnant') {
    const island = Number(e.payload.island)
    return {
      ...base,
      event: 'run.stalled',
      island: Number.isFinite(island) ? island : null,
      reason: typeof e.payload.message === 'string' ? e.payload.message : null,
    }
  }
  return null
}

/**
 * Folds stalls: of a run's stall events, only those at least `cooldownMs` after the last one
 * notified go out. `lastStall` (run id → time) is the caller's memory; it is updated here.
 */
export function foldStalls<T extends Pick<Classified, 'event' | 'runId' | 't'>>(
  events: readonly T[],
  lastStall: Map<string, number>,
  cooldownMs = STALL_COOLDOWN_MS,
): T[] {
  const out: T[] = []
  for (const c of events) {
    if (c.event !== 'run.stalled') {
      out.push(c)
      continue
    }
    const last = lastStall.get(c.runId)
    if (last !== undefined && c.t - last < cooldownMs) continue
    lastStall.set(c.runId, c.t)
    out.push(c)
  }
  return out
}

export interface RunFacts {
  id: string
  name: string | null
  problemId: string
  status: string
  evaluations: number
  bestScore: number | null
  bestCandidateId: string | null
  direction: 'max' | 'min'
}

/** The JSON a webhook receives. Facts only: no configuration, code, prompts, keys or tokens. */
export interface WebhookMessage {
  type: NotifyEvent | 'test'
  /** the delivery's id (the same on every retry: receivers can de-duplicate) */
  id: string
  at: string
  text: string
  run: {
    id: string
    name: string | null
    problem: string
    status: string
    reason: string | null
    evaluations: number
    best: { score: number; candidateId: string } | null
    direction: 'max' | 'min'
    /** the run in the console, when the server knows its public address */
    url: string | null
  } | null
  island: number | null
}

const VERB: Record<NotifyEvent, string> = {
  'run.completed': 'completed',
  'run.failed': 'failed',
  'run.stalled': 'stalled',
}

export function notificationTitle(
  event: NotifyEvent,
  run: Pick<RunFacts, 'name' | 'id'>,
  island: number | null,
): string {
  const name = run.name || `run ${run.id.slice(0, 8)}`
  return event === 'run.stalled' ? `${name}: island ${island ?? '?'} stalled` : `${name} ${VERB[event]}`
}

/** One line a person reads (chat integrations show it as is). */
export function notificationText(c: Pick<Classified, 'event' | 'island' | 'reason'>, run: RunFacts): string {
  const best = run.bestScore === null ? 'no valid candidate' : `best ${run.bestScore}`
  const head = notificationTitle(c.event, run, c.island)
  return `${head} · ${run.problemId} · ${run.evaluations} evaluation${run.evaluations === 1 ? '' : 's'} · ${best}${c.reason ? ` · ${c.reason}` : ''}`.slice(
    0,
    1000,
  )
}

export function webhookMessage(
  deliveryId: string,
  c: Pick<Classified, 'event' | 'island' | 'reason' | 't'>,
  run: RunFacts,
  consoleUrl: string | null,
): WebhookMessage {
  return {
    type: c.event,
    id: deliveryId,
    at: new Date(c.t).toISOString(),
    text: notificationText(c, run),
    run: {
      id: run.id,
      name: run.name,
      problem: run.problemId,
      status: run.status,
      reason: c.reason ? c.reason.slice(0, 500) : null,
      evaluations: run.evaluations,
      best:
        run.bestScore !== null && run.bestCandidateId
          ? { score: run.bestScore, candidateId: run.bestCandidateId }
          : null,
      direction: run.direction,
      url: consoleUrl ? `${consoleUrl.replace(/\/+$/, '')}/runs/${run.id}` : null,
    },
    island: c.island,
  }
}

export function testMessage(deliveryId: string, who: string, now = Date.now()): WebhookMessage {
  return {
    type: 'test',
    id: deliveryId,
    at: new Date(now).toISOString(),
    text: `FM Agent: a test message, sent by ${who}`,
    run: null,
    island: null,
  }
}

/** A webhook's address as the console shows it next to deliveries: its origin (a path may hold a token). */
export function urlOrigin(url: string): string {
  return parseUrl(url)?.origin ?? '–'
}
