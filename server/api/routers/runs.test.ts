// The run config's bound at the API: its settings, and apart from them the seed programs a user
// uploads, which have bounds of their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEED_PROGRAM_MAX_CHARS } from '../../../client-safe/run-config.ts'
import { createAppServices, type AppServices } from '../../app.ts'
import type { Actor } from '../../auth/roles.ts'
import type { Db } from '../../db.ts'
import { silentLogger } from '../../log.ts'
import { CommandInbox } from '../../runs/inbox.ts'
import { THIS_PROCESS } from '../../runs/lease.ts'
import { createCaller } from '../root.ts'
import { CreateRunInput, ForkInput } from './runs.ts'
import { dbModes } from '../../../test-support/db-modes.ts'
import { seedSyntheticRun } from '../../../test-support/synthetic-run.ts'

describe('a run config at the API', () => {
  it('takes seed programs up to their own bounds, beyond the 100 kB the settings may take', () => {
    const programs = [0, 1, 2].map((i) => ({ code: `x = ${i}\n${'#'.repeat(SEED_PROGRAM_MAX_CHARS - 20)}\n` }))
    expect(CreateRunInput.safeParse({ problemId: 'p', config: { seedPrograms: programs } }).success).toBe(true)
    const settings = CreateRunInput.safeParse({ problemId: 'p', config: { name: 'x'.repeat(100_000) } })
    expect(settings.error?.issues[0]?.message).toBe('the run settings are over 100 kB of JSON')
    const many = Array.from({ length: 40 }, () => ({ code: '"'.repeat(SEED_PROGRAM_MAX_CHARS) }))
    const tooMany = ForkInput.safeParse({ runId: 'r', candidateId: 'c', config: { seedPrograms: many } })
    expect(tooMany.error?.issues[0]?.message).toBe('the seed programs are over 2,000,000 characters in all')
  })
})

// Two admins pausing, stopping or resuming one run at the same moment, against an engine stand-in
// that acknowledges each command (and audits it, as a run's engine does) as soon as it sees it.
describe.each(dbModes())('pause, stop and resume by two admins at once, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  let inbox: CommandInbox
  const admin = (name: string): Actor => ({
    id: `user-${name}`,
    label: `${name}@example.test`,
    role: 'admin',
    via: 'session',
  })
  const as = (name: string) => createCaller({ app, actor: admin(name), tokenScope: null, headers: new Headers() })
  const actions = async () =>
    (await db.prisma.auditEvent.findMany({ where: { runId }, orderBy: { id: 'asc' }, select: { action: true } })).map(
      (a) => a.action,
    )
  const both = <T>(call: (name: string) => Promise<T>) => Promise.allSettled([call('admin1'), call('admin2')])
  const refusal = (s: PromiseSettledResult<unknown>[]) => s.find((x) => x.status === 'rejected')?.reason

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    runId = (await seedSyntheticRun(db, { candidates: 50, islands: 2, status: 'evolving' })).runId
    // an engine holds the run's lease; it applies a halt without ending the run (its evaluations
    // in flight are still draining), which is when a second request comes
    await db.prisma.run.update({
      where: { id: runId },
      data: { leaseOwner: THIS_PROCESS, leaseUntil: new Date(Date.now() + 600_000) },
    })
    inbox = new CommandInbox({ db, events: app.events, log: silentLogger }, runId, 'engine-stand-in', async () => ({
      status: 'applied',
      result: {},
    }))
    await inbox.start()
  })
  afterAll(async () => {
    await inbox?.stop()
    await cleanup?.()
  })

  it('audits a pause before its acknowledgement, once, and refuses the second', async () => {
    const settled = await both((name) => as(name).runs.pause({ runId }))
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1)
    expect(refusal(settled)).toMatchObject({ code: 'CONFLICT' })
    expect(refusal(settled).message).toMatch(/^a pause asked by admin[12]@example.test is already under way/)
    await inbox.drain()
    expect(await actions()).toEqual(['run.pause', 'run.pause.applied'])
    expect(await db.prisma.runCommand.count({ where: { runId, kind: 'run.pause' } })).toBe(1)
  })

  it('lets a stop follow a pause, once, its request before its acknowledgement', async () => {
    const settled = await both((name) => as(name).runs.stop({ runId }))
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1)
    expect(refusal(settled)).toMatchObject({ code: 'CONFLICT' })
    await inbox.drain()
    expect(await actions()).toEqual(['run.pause', 'run.pause.applied', 'run.stop', 'run.stop.applied'])
  })

  it('resumes a paused run once when two admins resume it together', async () => {
    // the engine ended the run paused and let go of it (a synthetic run has no stored files to go on with)
    const { problemSnapshot } = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    const { bundleHash: _, ...snapshot } = problemSnapshot as Record<string, unknown>
    await db.prisma.run.update({
      where: { id: runId },
      data: {
        status: 'paused',
        statusReason: 'paused by admin1@example.test',
        leaseOwner: null,
        leaseUntil: null,
        problemSnapshot: snapshot as object,
      },
    })
    await db.prisma.runEvent.create({ data: { runId, type: 'status', payload: { status: 'paused' } } })
    // a headless fm-agent run, whose socket takes resumes, answers for its own run only
    const headless = { ...app, drivesOnly: 'another-run' }
    await expect(
      createCaller({ app: headless, actor: admin('admin1'), tokenScope: null, headers: new Headers() }).runs.resume({
        runId,
      }),
    ).rejects.toThrow(/^a headless fm-agent run \(of run another-\) holds this data folder: resume run/)
    const settled = await both((name) => as(name).runs.resume({ runId, maxEvals: 1000 + name.length }))
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1)
    expect(refusal(settled)).toMatchObject({ code: 'CONFLICT' })
    expect((await actions()).filter((a) => a === 'run.resume')).toHaveLength(1)
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id: runId } })
    expect([run.status, run.statusReason]).toEqual(['created', null])
    // a pause asked before the run paused is not one under way now
    await db.prisma.run.update({
      where: { id: runId },
      data: { status: 'evolving', leaseOwner: THIS_PROCESS, leaseUntil: new Date(Date.now() + 600_000) },
    })
    await db.prisma.runEvent.create({ data: { runId, type: 'status', payload: { status: 'evolving' } } })
    expect((await as('admin2').runs.pause({ runId })).command).toMatchObject({ kind: 'run.pause' })
  })
})
