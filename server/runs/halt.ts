// Pausing and stopping a run. A run some engine drives (here or in another process) is halted by
// that engine, through the control channel (commands.ts): it drains its evaluations in flight first.
// A run no engine can apply a halt to (paused, or interrupted here) is halted here at once.
import type { AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import { ConflictError, NotFoundError, PreconditionError } from '../errors.ts'
import { audit } from '../services/audit.ts'
import {
  awaitCommand,
  COMMAND_CHANNEL,
  type CommandOutcome,
  refusePending,
  runIsActive,
  toOutcome,
} from './commands.ts'
import { drivenBy } from './lease.ts'
import { requireRun } from './service.ts'

type HaltServices = Pick<AppServices, 'db' | 'events' | 'runs'>
type HaltKind = 'run.pause' | 'run.stop'

/** how long a halt waits for the acknowledgement of an engine that holds the run's lease (as interventions do) */
const ACK_WAIT_MS = 3000

/**
 * An active run that no process drives, embedded: the process that drove it died (kill -9, a second
 * Ctrl-C), and this one holds the data folder, so none can take it up meanwhile. A stop needs no
 * engine then. (In server mode an engine picks such a run up within seconds: a command waits for it.)
 */
export async function interruptedHere(app: HaltServices, run: { id: string; status: string }): Promise<boolean> {
  // a run being started ('created' until its driver exists) is not one of these
  if (app.db.mode !== 'embedded' || (run.status !== 'cold-start' && run.status !== 'evolving')) return false
  if (app.runs?.get(run.id)) return false
  const lease = await app.db.prisma.run.findUnique({
    where: { id: run.id },
    select: { leaseOwner: true, leaseUntil: true },
  })
  return !!lease && drivenBy(app.db, { status: run.status, ...lease }) === null
}

/**
 * Pauses an active run: a command for its engine (null when no engine can apply it and the run was
 * paused here). An ended or paused run is refused, not audited as a change it never made.
 */
export async function pauseRun(app: HaltServices, actor: Actor, runId: string): Promise<CommandOutcome | null> {
  const run = await requireRun(app.db, runId)
  if (!runIsActive(run.status)) throw new PreconditionError(`the run is ${run.status}: nothing to pause`)
  const reason = `paused by ${actor.label}`
  if (!(await interruptedHere(app, run))) return requestHalt(app, actor, runId, 'run.pause', reason)
  await haltHere(app, run, 'paused', reason)
  await auditHalt(app, actor, run, 'run.pause')
  return null
}

/**
 * Stops an active or paused run: a command for the engine of an active one (null when the run was
 * paused, or interrupted here, and was stopped here; what was pending for it is refused).
 */
export async function stopRun(app: HaltServices, actor: Actor, runId: string): Promise<CommandOutcome | null> {
  const run = await requireRun(app.db, runId)
  if (run.status !== 'paused' && !runIsActive(run.status))
    throw new PreconditionError(`the run is ${run.status}: nothing to stop`)
  const reason = `stopped by ${actor.label}`
  // paused, or interrupted (no engine can drive it while this process holds the data folder): stopped here
  if (run.status !== 'paused' && !(await interruptedHere(app, run)))
    return requestHalt(app, actor, runId, 'run.stop', reason)
  await haltHere(app, run, 'stopped', reason)
  await refusePending(app.db, app.events, runId, 'the run was stopped before it resumed')
  await auditHalt(app, actor, run, 'run.stop')
  return null
}

function auditHalt(app: HaltServices, actor: Actor, run: { id: string; status: string }, kind: HaltKind) {
  return audit(app.db.prisma, actor, {
    action: kind,
    targetType: 'run',
    targetId: run.id,
    runId: run.id,
    before: { status: run.status },
    after: { status: kind === 'run.pause' ? 'paused' : 'stopped' },
  })
}

/**
 * A pause or stop that no engine applies (the run is paused, or interrupted here), from the status
 * this request saw: of two at once, the second finds it changed and is refused, not audited again.
 */
async function haltHere(
  app: HaltServices,
  run: { id: string; status: string },
  status: 'paused' | 'stopped',
  reason: string,
) {
  const { count } = await app.db.prisma.run.updateMany({
    where: { id: run.id, status: run.status },
    data: { status, statusReason: reason, finishedAt: status === 'stopped' ? new Date() : null },
  })
  if (!count)
    throw new ConflictError(`the run is no longer ${run.status} (someone else changed it meanwhile): look at it again`)
}

/**
 * A pause or stop for the engine that drives the run. Audited with the command, before the engine
 * can acknowledge it, so the log has the request before its outcome; decided under the run's row
 * lock, so of two admins asking at once the second finds the first under way and is refused
 * rather than applied and audited again.
 */
async function requestHalt(
  app: HaltServices,
  actor: Actor,
  runId: string,
  kind: HaltKind,
  reason: string,
): Promise<CommandOutcome> {
  const db = app.db
  const verb = kind === 'run.pause' ? 'pause' : 'stop'
  const { row, driven } = await db.prisma.$transaction(async (tx) => {
    const [run] = await tx.$queryRaw<Array<{ status: string; lease_until: Date | null; driven: boolean }>>`
      SELECT status, lease_until, (lease_until IS NOT NULL AND lease_until > (now() AT TIME ZONE 'UTC')) AS driven
        FROM runs WHERE id = ${runId} FOR UPDATE`
    if (!run) throw new NotFoundError(`no run "${runId}"`)
    if (!runIsActive(run.status))
      throw new PreconditionError(
        `the run is ${run.status} now: nothing to ${verb}${run.status === 'paused' && kind === 'run.stop' ? ' through its engine; ask again to stop the paused run' : ''}`,
      )
    // a halt asked since the run last changed status is still under way (the engine drains its
    // evaluations in flight first); a stop may follow a pause, nothing else may follow a halt
    const under = await tx.$queryRaw<Array<{ kind: string; actor: string }>>`
      SELECT kind, actor_label AS actor FROM run_commands
       WHERE run_id = ${runId} AND kind IN ('run.pause', 'run.stop') AND status IN ('pending', 'applied')
         AND created_at > coalesce((SELECT max(created_at) FROM run_events WHERE run_id = ${runId} AND type = 'status'),
                                   '-infinity'::timestamp)
       ORDER BY id DESC`
    const first = under.find((u) => kind === 'run.pause' || u.kind === 'run.stop')
    if (first)
      throw new ConflictError(
        `a ${first.kind === 'run.pause' ? 'pause' : 'stop'} asked by ${first.actor} is already under way: the run ${first.kind === 'run.pause' ? 'pauses' : 'stops'} once its evaluations in flight end`,
      )
    await audit(tx, actor, {
      action: kind,
      targetType: 'run',
      targetId: runId,
      runId,
      before: { status: run.status },
      after: { status: kind === 'run.pause' ? 'paused' : 'stopped' },
    })
    const row = await tx.runCommand.create({
      data: { runId, kind, payload: { reason }, actorId: actor.id, actorLabel: actor.label },
    })
    return { row, driven: run.driven }
  })
  await db.notify(COMMAND_CHANNEL, runId)
  // while an engine holds the run's lease, a bounded wait for its acknowledgement
  return driven ? awaitCommand(db, app.events, runId, String(row.id), ACK_WAIT_MS) : toOutcome(row)
}
