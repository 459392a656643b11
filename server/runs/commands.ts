// The control channel: every intervention on a run is written once (run_commands), delivered to the
// engine that drives the run (NOTIFY fm_commands wakes it; the stored row is the truth), applied by
// it exactly once and acknowledged with its outcome, which every console sees live. One path for
// both modes: the embedded server's engine reads the same table as a remote `fm-agent engine`.
import type { Actor } from '../auth/roles.ts'
import type { Db, Prisma } from '../db.ts'
import type { EventBus } from '../events.ts'
import { ACTIVE_STATUSES, type RunStatus } from '../../client-safe/run-config.ts'

export const COMMAND_CHANNEL = 'fm_commands'

/**
 * What the engine applies. State-type commands are also stored where a resumed engine reads them;
 * a queued one given to a paused run waits, pending, for the engine that resumes it.
 */
export const COMMAND_KINDS = {
  'guidance.reload': 'state',
  'candidate.pin': 'state',
  'candidate.ban': 'state',
  'candidate.rate': 'state',
  'run.weights': 'state',
  'run.exploration': 'state',
  'run.pause': 'state',
  'run.stop': 'state',
  'run.retrieve': 'live',
  'knowledge.use': 'live',
  'candidate.expert-edit': 'queued',
  'island.escalate': 'live',
} as const
export type CommandKind = keyof typeof COMMAND_KINDS

export type CommandStatus = 'pending' | 'applied' | 'refused' | 'stored'

export interface CommandOutcome {
  id: string
  kind: string
  status: CommandStatus
  /** the engine's result (applied) or its reason (refused) */
  result: Record<string, unknown> | null
  appliedBy: string | null
}

const json = (v: unknown) => JSON.parse(JSON.stringify(v ?? {})) as Prisma.InputJsonValue

/** Whether some engine drives this run now or will (an active run whose engine died is picked up again). */
export function runIsActive(status: string) {
  return (ACTIVE_STATUSES as string[]).includes(status)
}

/**
 * Writes a command and wakes the engine. For a run no engine drives (paused, finished), a command
 * is marked `stored` at once (what the caller stored applies when the run resumes), except a queued
 * one on a paused run: it stays pending for the engine that resumes the run.
 */
export async function submitCommand(
  db: Db,
  events: EventBus,
  input: {
    runId: string
    runStatus: RunStatus | string
    kind: CommandKind
    payload: Record<string, unknown>
    actor: Actor
  },
): Promise<CommandOutcome> {
  const active =
    runIsActive(input.runStatus) || (input.runStatus === 'paused' && COMMAND_KINDS[input.kind] === 'queued')
  const row = await db.prisma.runCommand.create({
    data: {
      runId: input.runId,
      kind: input.kind,
      payload: json(input.payload),
      actorId: input.actor.id,
      actorLabel: input.actor.label,
      ...(active
        ? {}
        : {
            status: 'stored',
            appliedAt: new Date(),
            result: json({ note: `the run is ${input.runStatus}: this takes effect when it resumes` }),
          }),
    },
  })
  const outcome = toOutcome(row)
  if (active) await db.notify(COMMAND_CHANNEL, input.runId)
  else events.publish({ runId: input.runId, type: 'command', payload: outcome })
  return outcome
}

/**
 * Settles a pending command with its outcome, once (null when it was settled meanwhile: another
 * engine took the run over), and tells every console: an event in the run's log, published live.
 */
export async function acknowledgeCommand(
  db: Db,
  events: EventBus,
  runId: string,
  c: { id: bigint; kind: string; actorLabel: string },
  outcome: { status: CommandStatus; result: Record<string, unknown> },
  appliedBy: string | null,
): Promise<CommandOutcome | null> {
  const updated = await db.prisma.runCommand.updateMany({
    where: { id: c.id, status: 'pending' },
    data: { status: outcome.status, result: json(outcome.result), appliedBy, appliedAt: new Date() },
  })
  if (updated.count === 0) return null
  const ack = toOutcome({ id: c.id, kind: c.kind, status: outcome.status, result: outcome.result, appliedBy })
  const event = await db.prisma.runEvent.create({
    data: { runId, type: 'command', payload: json({ ...ack, actor: c.actorLabel }) },
    select: { id: true },
  })
  events.publish({ id: String(event.id), runId, type: 'command', payload: ack })
  return ack
}

/**
 * A run that ended leaves nothing pending: what no engine will apply now (an edit queued on a paused
 * run that was then stopped, a command that came as the run finished) is refused with the reason.
 */
export async function refusePending(db: Db, events: EventBus, runId: string, reason: string) {
  const rows = await db.prisma.runCommand.findMany({
    where: { runId, status: 'pending' },
    select: { id: true, kind: true, actorLabel: true },
  })
  for (const row of rows)
    await acknowledgeCommand(db, events, runId, row, { status: 'refused', result: { reason } }, null)
  return rows.length
}

/**
 * The command's outcome once the engine acknowledged it, or as it stands after `timeoutMs` (still
 * pending: the console shows it as such and follows the acknowledgement live).
 */
export async function awaitCommand(
  db: Db,
  events: EventBus,
  runId: string,
  id: string,
  timeoutMs = 3000,
): Promise<CommandOutcome> {
  const read = async () => toOutcome(await db.prisma.runCommand.findUniqueOrThrow({ where: { id: BigInt(id) } }))
  const first = await read()
  if (first.status !== 'pending' || timeoutMs <= 0) return first
  return new Promise<CommandOutcome>((resolve) => {
    let done = false
    const finish = async () => {
      if (done) return
      const now = await read().catch(() => first)
      if (now.status === 'pending' && Date.now() < deadline) return
      done = true
      clearInterval(poll)
      clearTimeout(timer)
      unsubscribe()
      resolve(now)
    }
    const deadline = Date.now() + timeoutMs
    const unsubscribe = events.subscribe(runId, (e) => {
      if (e.type === 'command' && String((e.payload as { id?: unknown } | null)?.id) === id) void finish()
    })
    // the acknowledgement may have come between the first read and the subscription
    const poll = setInterval(() => void finish(), 500)
    const timer = setTimeout(() => void finish(), timeoutMs)
    void finish()
  })
}

export function toOutcome(row: {
  id: bigint
  kind: string
  status: string
  result: unknown
  appliedBy: string | null
}): CommandOutcome {
  return {
    id: String(row.id),
    kind: row.kind,
    status: row.status as CommandStatus,
    result: (row.result as Record<string, unknown> | null) ?? null,
    appliedBy: row.appliedBy,
  }
}

/** A run's recent commands, newest first (the console's list of interventions and their state). */
export async function listCommands(
  db: Db,
  runId: string,
  limit = 50,
): Promise<
  Array<CommandOutcome & { actorLabel: string; createdAt: number; appliedAt: number | null; payload: unknown }>
> {
  const rows = await db.prisma.runCommand.findMany({
    where: { runId },
    orderBy: { id: 'desc' },
    take: Math.min(200, Math.max(1, limit)),
  })
  return rows.map((r) => ({
    ...toOutcome(r),
    actorLabel: r.actorLabel,
    createdAt: r.createdAt.getTime(),
    appliedAt: r.appliedAt?.getTime() ?? null,
    payload: r.payload,
  }))
}
