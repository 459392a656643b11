// Pausing and stopping a run, in the service: through the engine that holds the run's lease (here or
// in another process), or here when no engine can apply it (paused, or its embedded process died).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { ConflictError, NotFoundError, PreconditionError } from '../errors.ts'
import { silentLogger } from '../log.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import { seedSyntheticRun } from '../../test-support/synthetic-run.ts'
import { pauseRun, stopRun } from './halt.ts'
import { type Applied, CommandInbox, type PendingCommand } from './inbox.ts'
import { THIS_PROCESS } from './lease.ts'

const admin = (name: string): Actor => ({
  id: `user-${name}`,
  label: `${name}@example.test`,
  role: 'admin',
  via: 'session',
})

describe.each(dbModes())('pausing and stopping a run, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  const inboxes: CommandInbox[] = []

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
  })
  afterAll(async () => {
    for (const inbox of inboxes) await inbox.stop()
    await cleanup?.()
  })

  const evolving = async (leaseOwner: string | null) => {
    const { runId } = await seedSyntheticRun(db, { candidates: 5, islands: 1, status: 'evolving' })
    if (leaseOwner)
      await db.prisma.run.update({
        where: { id: runId },
        data: { leaseOwner, leaseUntil: new Date(Date.now() + 600_000) },
      })
    return runId
  }
  /** an engine stand-in for the run, as the lease's owner: applies each command as `apply` answers */
  const engine = async (runId: string, owner: string, apply: (c: PendingCommand) => Promise<Applied>) => {
    const inbox = new CommandInbox({ db, events: app.events, log: silentLogger }, runId, owner, apply)
    inboxes.push(inbox)
    await inbox.start()
    return inbox
  }
  const applied = async (): Promise<Applied> => ({ status: 'applied', result: {} })
  const actions = async (runId: string) =>
    (await db.prisma.auditEvent.findMany({ where: { runId }, orderBy: { id: 'asc' }, select: { action: true } })).map(
      (a) => a.action,
    )
  const status = async (runId: string) =>
    db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true, statusReason: true } })

  it('refuses a run that has ended, or none, and audits no change it never made', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 3, islands: 1, status: 'completed' })
    await expect(pauseRun(app, admin('a'), runId)).rejects.toThrow(
      new PreconditionError('the run is completed: nothing to pause'),
    )
    await expect(stopRun(app, admin('a'), runId)).rejects.toThrow(
      new PreconditionError('the run is completed: nothing to stop'),
    )
    await expect(stopRun(app, admin('a'), 'no-such-run')).rejects.toThrow(new NotFoundError('no run "no-such-run"'))
    expect(await actions(runId)).toEqual([])
    expect(await db.prisma.runCommand.count({ where: { runId } })).toBe(0)
    expect((await status(runId)).status).toBe('completed')
  })

  it('asks the engine that drives the run here, audited before its acknowledgement', async () => {
    const runId = await evolving(THIS_PROCESS)
    await engine(runId, THIS_PROCESS, applied)
    const command = await pauseRun(app, admin('a'), runId)
    expect(command).toMatchObject({ kind: 'run.pause', status: 'applied', appliedBy: THIS_PROCESS })
    expect(await actions(runId)).toEqual(['run.pause', 'run.pause.applied'])
    // the engine ends the run paused once its evaluations in flight end, not the request
    expect((await status(runId)).status).toBe('evolving')
  })

  it('refuses a second stop while the first is under way, naming who asked it', async () => {
    const runId = await evolving(THIS_PROCESS)
    let received!: () => void
    const seen = new Promise<void>((r) => (received = r))
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    await engine(runId, THIS_PROCESS, async () => {
      received()
      await held
      return { status: 'applied', result: {} }
    })
    const first = stopRun(app, admin('a'), runId)
    // the engine has the first stop, not yet acknowledged
    await seen
    const underWay = /^a stop asked by a@example\.test is already under way: the run stops once/
    await expect(stopRun(app, admin('b'), runId)).rejects.toThrow(ConflictError)
    await expect(stopRun(app, admin('b'), runId)).rejects.toThrow(underWay)
    // nothing follows a stop, not even a pause
    await expect(pauseRun(app, admin('b'), runId)).rejects.toThrow(underWay)
    release()
    expect(await first).toMatchObject({ kind: 'run.stop', status: 'applied' })
    expect(await actions(runId)).toEqual(['run.stop', 'run.stop.applied'])
    expect(await db.prisma.runCommand.count({ where: { runId } })).toBe(1)
  })

  it("writes a command for another process's engine while its lease is live (embedded: it died, so halted here)", async () => {
    const elsewhere = 'another-host:4242'
    const runId = await evolving(elsewhere)
    if (db.mode === 'server') {
      await engine(runId, elsewhere, applied)
      expect(await pauseRun(app, admin('a'), runId)).toMatchObject({
        kind: 'run.pause',
        status: 'applied',
        appliedBy: elsewhere,
      })
      expect(await actions(runId)).toEqual(['run.pause', 'run.pause.applied'])
      expect((await status(runId)).status).toBe('evolving')
    } else {
      // the data folder's lock is this process's: a lease of another one is left by a process that died
      expect(await pauseRun(app, admin('a'), runId)).toBeNull()
      expect(await status(runId)).toEqual({ status: 'paused', statusReason: 'paused by a@example.test' })
      expect(await actions(runId)).toEqual(['run.pause'])
      expect(await db.prisma.runCommand.count({ where: { runId } })).toBe(0)
    }
  })

  it('a run no engine holds: a command for the engine that takes it up (embedded: none can, so stopped here)', async () => {
    const runId = await evolving(null)
    const command = await stopRun(app, admin('a'), runId)
    if (db.mode === 'server') {
      // answered at once, pending: no engine holds the lease to acknowledge it yet
      expect(command).toMatchObject({ kind: 'run.stop', status: 'pending', appliedBy: null })
      expect((await status(runId)).status).toBe('evolving')
    } else {
      expect(command).toBeNull()
      expect(await status(runId)).toEqual({ status: 'stopped', statusReason: 'stopped by a@example.test' })
    }
    expect(await actions(runId)).toEqual(['run.stop'])
  })

  it('stops a paused run here, refusing what was pending for its engine', async () => {
    const { runId } = await seedSyntheticRun(db, { candidates: 3, islands: 1, status: 'paused' })
    const queued = await db.prisma.runCommand.create({
      data: { runId, kind: 'candidate.expert-edit', payload: {}, actorId: null, actorLabel: 'x@example.test' },
    })
    expect(await stopRun(app, admin('a'), runId)).toBeNull()
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    expect([run.status, run.statusReason, !!run.finishedAt]).toEqual(['stopped', 'stopped by a@example.test', true])
    const refused = await db.prisma.runCommand.findUniqueOrThrow({ where: { id: queued.id } })
    expect([refused.status, refused.result]).toEqual(['refused', { reason: 'the run was stopped before it resumed' }])
    const audits = await db.prisma.auditEvent.findMany({ where: { runId, action: 'run.stop' } })
    expect(audits.map((a) => [a.before, a.after])).toEqual([[{ status: 'paused' }, { status: 'stopped' }]])
    await expect(stopRun(app, admin('b'), runId)).rejects.toThrow(
      new PreconditionError('the run is stopped: nothing to stop'),
    )
  })
})
