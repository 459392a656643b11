// The audit log is append-only in the database itself, in both modes: an event can be added and
// read, never changed or removed, whoever asks through the application's connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { dbModes } from '../../test-support/db-modes.ts'
import { audit } from './audit.ts'

describe.each(dbModes())('the audit log, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({ db, cleanup } = await open())
  })
  afterAll(() => cleanup?.())

  it('takes new events and refuses to change, delete or truncate them', async () => {
    await audit(db.prisma, SYSTEM_ACTOR, { action: 'user.update', targetType: 'user', targetId: 'u1', after: { a: 1 } })
    const [event] = await db.prisma.auditEvent.findMany({ where: { targetId: 'u1' } })
    expect(event).toMatchObject({ action: 'user.update', after: { a: 1 } })
    await expect(
      db.prisma.auditEvent.update({ where: { id: event!.id }, data: { actorLabel: 'someone else' } }),
    ).rejects.toThrow(/append-only/)
    await expect(db.prisma.auditEvent.deleteMany({})).rejects.toThrow(/append-only/)
    await expect(db.prisma.$executeRawUnsafe('TRUNCATE audit_events')).rejects.toThrow(/append-only/)
    expect(await db.prisma.auditEvent.findMany({ where: { targetId: 'u1' } })).toEqual([event])
  })
})
