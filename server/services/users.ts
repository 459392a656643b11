import { randomBytes, randomUUID } from 'node:crypto'
import { hashPassword } from '../auth/auth.ts'
import type { Db } from '../db.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { ForbiddenError, NotFoundError } from '../errors.ts'
import { audit } from './audit.ts'

export class UserError extends Error {}

/** 16 characters from an alphabet without look-alikes: typed once, then changed. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  const bytes = randomBytes(16)
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}

const publicUser = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabled: true,
  mustChangePassword: true,
  createdAt: true,
} as const

export async function createUser(
  db: Db,
  actor: Actor,
  input: { email: string; name?: string; role: Role; password?: string },
): Promise<{ user: { id: string; email: string; role: string }; password: string; oneTime: boolean }> {
  const email = input.email.trim().toLowerCase()
  if (await db.prisma.user.findUnique({ where: { email }, select: { id: true } })) {
    throw new UserError(`a user with the email ${email} already exists`)
  }
  const oneTime = !input.password
  const password = input.password ?? generatePassword()
  const id = randomUUID()
  const hash = await hashPassword(password)
  const user = await db.prisma.$transaction(async (tx) => {
    const u = await tx.user.create({
      data: {
        id,
        email,
        name: input.name ?? email.split('@')[0],
        role: input.role,
        mustChangePassword: oneTime,
        emailVerified: true,
      },
      select: publicUser,
    })
    // Better Auth's credential account: the password hash lives here, keyed by the user id
    await tx.account.create({
      data: { id: randomUUID(), accountId: id, providerId: 'credential', userId: id, password: hash },
    })
    await audit(tx, actor, {
      action: 'user.create',
      targetType: 'user',
      targetId: id,
      after: { email, role: input.role },
    })
    return u
  })
  return { user, password, oneTime }
}

/**
 * Sets a user's password (their own change, or an admin's reset). A password change is often a
 * response to a leak, so whatever the old password could have obtained ends with it: every session
 * (but the one a user changes their own from, which has just shown the new password), and every
 * CLI token (a token is what a leaked session would mint to stay in). Worker tokens are machine
 * credentials an admin hands to a worker host; they open no procedure and no picture, so a
 * password change leaves them alone rather than cut off machines.
 */
export async function setPassword(
  db: Db,
  actor: Actor,
  userId: string,
  password: string,
  /** the session the user changed it from: it has just proved the new password's owner, so it stays */
  keepSessionId: string | null = null,
): Promise<{ sessionsEnded: number; tokensRevoked: number }> {
  // before hashing: an unknown id is a 404, not "no password sign-in"
  if (!(await db.prisma.user.findUnique({ where: { id: userId }, select: { id: true } })))
    throw new NotFoundError('no such user')
  const hash = await hashPassword(password)
  return db.prisma.$transaction(async (tx) => {
    const n = await tx.account.updateMany({ where: { userId, providerId: 'credential' }, data: { password: hash } })
    if (n.count === 0) throw new UserError('this user has no password sign-in')
    const before = await tx.user.findUnique({ where: { id: userId }, select: { mustChangePassword: true } })
    const mustChangePassword = actor.id !== userId
    await tx.user.update({ where: { id: userId }, data: { mustChangePassword } })
    const keep = keepSessionId && actor.id === userId ? { id: { not: keepSessionId } } : {}
    const ended = await tx.session.deleteMany({ where: { userId, ...keep } })
    const revoked = await tx.apiToken.updateMany({
      where: { userId, scope: 'cli', revokedAt: null },
      data: { revokedAt: new Date() },
    })
    // never the password or its hash: what changed around it
    await audit(tx, actor, {
      action: 'user.password',
      targetType: 'user',
      targetId: userId,
      before: { mustChangePassword: before?.mustChangePassword ?? null },
      after: { mustChangePassword, passwordChanged: true, sessionsEnded: ended.count, tokensRevoked: revoked.count },
    })
    return { sessionsEnded: ended.count, tokensRevoked: revoked.count }
  })
}

export async function updateUser(
  db: Db,
  actor: Actor,
  userId: string,
  patch: { role?: Role; disabled?: boolean; name?: string },
) {
  return db.prisma.$transaction(async (tx) => {
    // the active admins, locked: two admins demoting each other at once are decided one after the
    // other, and the second finds it is no longer an admin
    const admins = (
      await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE`
    ).map((a) => a.id)
    if (actor.id && actor.via !== 'system' && !admins.includes(actor.id))
      throw new ForbiddenError('you are no longer an admin: another admin changed your account meanwhile')
    const before = await tx.user.findUnique({ where: { id: userId }, select: publicUser })
    if (!before) throw new NotFoundError('no such user')
    if (actor.id === userId && ((patch.role && patch.role !== 'admin') || patch.disabled)) {
      throw new UserError('admins cannot demote or disable themselves')
    }
    const losesAdmin = admins.includes(userId) && ((patch.role && patch.role !== 'admin') || patch.disabled)
    if (losesAdmin && admins.length <= 1) throw new UserError('the last active admin cannot be demoted or disabled')
    const after = await tx.user.update({ where: { id: userId }, data: patch, select: publicUser })
    // disabled is off-boarded: sessions end and CLI tokens are revoked, so enabling the account
    // again does not bring back tokens that may have left with a lost laptop
    let tokensRevoked = 0
    if (patch.disabled) {
      await tx.session.deleteMany({ where: { userId } })
      const revoked = await tx.apiToken.updateMany({
        where: { userId, scope: 'cli', revokedAt: null },
        data: { revokedAt: new Date() },
      })
      tokensRevoked = revoked.count
    }
    // an update that changes nothing (fields the input dropped, the same values) is no event
    const changed = (Object.keys(patch) as Array<keyof typeof patch>).some(
      (k) => patch[k] !== undefined && (before as Record<string, unknown>)[k] !== (after as Record<string, unknown>)[k],
    )
    if (changed || tokensRevoked)
      await audit(tx, actor, {
        action: 'user.update',
        targetType: 'user',
        targetId: userId,
        before,
        after: tokensRevoked ? { ...after, tokensRevoked } : after,
      })
    return after
  })
}

export async function listUsers(db: Db) {
  return db.prisma.user.findMany({ select: publicUser, orderBy: { createdAt: 'asc' } })
}

export const DEFAULT_ADMIN_EMAIL = 'admin@fm-agent.local'

/**
 * At start: an active admin exists afterwards (users made with `fm-agent user create` before the
 * first start, or an older install, may include none). Returns the one-time password when one was
 * generated (the caller prints it once), null when an admin already existed or FM_ADMIN_PASSWORD
 * was given; `blocked` when the admin's address belongs to a user who is not an active admin.
 */
export async function ensureAdmin(
  db: Db,
  opts: { email?: string; password?: string },
): Promise<{ email: string; password: string | null; blocked?: string } | null> {
  if (await db.prisma.user.count({ where: { role: 'admin', disabled: false } })) return null
  const email = (opts.email ?? DEFAULT_ADMIN_EMAIL).trim().toLowerCase()
  const holder = await db.prisma.user.findUnique({ where: { email }, select: { role: true, disabled: true } })
  if (holder)
    return {
      email,
      password: null,
      blocked: `no active admin, and ${email} is ${holder.disabled ? 'a disabled' : holder.role === 'expert' ? 'an expert' : `a ${holder.role}`} account: make one an admin with fm-agent user set --email ${email} --role admin${holder.disabled ? ' --enable' : ''} (or set FM_ADMIN_EMAIL to a new address)`,
    }
  const r = await createUser(
    db,
    { id: null, label: 'first start', role: 'admin', via: 'system' },
    {
      email,
      name: 'admin',
      role: 'admin',
      password: opts.password,
    },
  )
  if (!r.oneTime) await db.prisma.user.update({ where: { id: r.user.id }, data: { mustChangePassword: false } })
  return { email, password: r.oneTime ? r.password : null }
}
