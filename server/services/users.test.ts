// Admins managing each other: a console never ends up with no active admin, even when two admins
// demote each other at the same moment (server mode's PostgreSQL runs both at once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { dbModes } from '../knowledge/test-db.ts'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import { createUser, ensureAdmin, updateUser } from './users.ts'

describe.each(dbModes())('admins, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({ db, cleanup } = await open())
  })
  afterAll(() => cleanup?.())

  const admin = async (email: string): Promise<Actor> => {
    const { user } = await createUser(db, SYSTEM_ACTOR, { email, role: 'admin', password: 'a-long-password-1' })
    return { id: user.id, label: email, role: 'admin', via: 'session' }
  }
  const activeAdmins = () => db.prisma.user.count({ where: { role: 'admin', disabled: false } })

  it('two admins demoting each other at once: one change is made, the other refused', async () => {
    const a = await admin('a@example.test')
    const b = await admin('b@example.test')
    const both = await Promise.allSettled([
      updateUser(db, a, b.id!, { role: 'viewer' }),
      updateUser(db, b, a.id!, { role: 'viewer' }),
    ])
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason.message).toMatch(/no longer an admin|last active admin/)
    expect(await activeAdmins()).toBe(1)
  })

  it('the last active admin cannot be demoted or disabled, by anyone', async () => {
    const [last] = await db.prisma.user.findMany({ where: { role: 'admin', disabled: false } })
    for (const patch of [{ role: 'expert' as const }, { disabled: true }])
      await expect(updateUser(db, SYSTEM_ACTOR, last!.id, patch)).rejects.toThrow(
        'the last active admin cannot be demoted or disabled',
      )
    // with a second admin, it can
    const c = await admin('c@example.test')
    await updateUser(db, c, last!.id, { disabled: true })
    expect(await activeAdmins()).toBe(1)
  })

  it('an update that changes nothing writes no audit row', async () => {
    const d = await admin('d@example.test')
    const e = await admin('e@example.test')
    const rows = () => db.prisma.auditEvent.count({ where: { action: 'user.update', targetId: e.id! } })
    await updateUser(db, d, e.id!, {})
    await updateUser(db, d, e.id!, { role: 'admin' })
    expect(await rows()).toBe(0)
    await updateUser(db, d, e.id!, { name: 'Eve' })
    expect(await rows()).toBe(1)
  })
})

describe.each(dbModes())('the admin made at start, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({ db, cleanup } = await open())
  })
  afterAll(() => cleanup?.())

  it('is made when users exist but no active admin (users made before the first start)', async () => {
    await createUser(db, SYSTEM_ACTOR, { email: 'first@example.test', role: 'viewer' })
    // the address of an account that is not an admin: not taken over, said how to make one
    const blocked = await ensureAdmin(db, { email: 'First@example.test', password: 'a-long-admin-password-1' })
    expect(blocked?.blocked).toMatch(
      /no active admin, and first@example\.test is a viewer account: .*fm-agent user set --email first@example\.test --role admin/,
    )
    expect(await db.prisma.user.count({ where: { role: 'admin' } })).toBe(0)
    const made = await ensureAdmin(db, { email: 'boss@example.test', password: 'a-long-admin-password-1' })
    expect(made).toEqual({ email: 'boss@example.test', password: null })
    expect(await db.prisma.user.findUnique({ where: { email: 'boss@example.test' } })).toMatchObject({
      role: 'admin',
      disabled: false,
    })
    // an active admin exists: nothing more
    expect(await ensureAdmin(db, { email: 'other@example.test' })).toBeNull()
  })
})
