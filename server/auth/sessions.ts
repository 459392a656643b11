// Sign-in sessions as their user and the admins see them: listed and ended by id, never by token.
// A session's token is the cookie's value: whoever reads it is signed in as the user, so it leaves
// the server only in the httpOnly cookie Better Auth sets.
import type { Db } from '../db.ts'
import { NotFoundError } from '../errors.ts'
import { audit } from '../services/audit.ts'
import type { Actor } from './roles.ts'
import type { Auth } from './auth.ts'

/** More live sessions than this are counted, not listed (each sign-in makes one; they last a week). */
export const SESSIONS_LISTED = 100

export interface SessionView {
  id: string
  createdAt: Date
  /**
   * When Better Auth last renewed the session: it does so at most once a day while it is used
   * (session.updateAge), so this is the last activity to within a day, not a last request.
   */
  renewedAt: Date
  expiresAt: Date
  userAgent: string | null
  ipAddress: string | null
  current: boolean
}

/**
 * The id of the session the request's cookie holds, or null (an API token, no cookie, no auth).
 * Read without renewing it: a listing is no activity of its own.
 */
export async function currentSessionId(auth: Auth | null | undefined, headers: Headers): Promise<string | null> {
  if (!auth || !headers.get('cookie')) return null
  const s = await auth.api.getSession({ headers, query: { disableRefresh: true } }).catch(() => null)
  return s?.session.id ?? null
}

/** A user's live sessions, newest first, with the one making the request marked. */
export async function listSessions(
  db: Db,
  userId: string,
  currentId: string | null,
): Promise<{ sessions: SessionView[]; total: number }> {
  const where = { userId, expiresAt: { gt: new Date() } }
  const [rows, total] = await Promise.all([
    db.prisma.session.findMany({
      where,
      // never the token: the select names what leaves
      select: { id: true, createdAt: true, updatedAt: true, expiresAt: true, userAgent: true, ipAddress: true },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: SESSIONS_LISTED,
    }),
    db.prisma.session.count({ where }),
  ])
  const sessions = rows.map(({ updatedAt, ...r }) => ({ ...r, renewedAt: updatedAt, current: r.id === currentId }))
  return { sessions, total }
}

/**
 * Ends one session of the actor's own. Another user's session id is answered as an unknown one:
 * the answer confirms nothing about ids the caller does not own.
 */
export async function endOwnSession(db: Db, actor: Actor & { id: string }, sessionId: string) {
  return db.prisma.$transaction(async (tx) => {
    const s = await tx.session.findFirst({
      where: { id: sessionId, userId: actor.id },
      select: { id: true, createdAt: true, userAgent: true, ipAddress: true },
    })
    if (!s) throw new NotFoundError('no such session of yours (it may have ended already): reload the list')
    await tx.session.deleteMany({ where: { id: s.id, userId: actor.id } })
    await audit(tx, actor, {
      action: 'user.session.end',
      targetType: 'user',
      targetId: actor.id,
      before: { session: s.id, createdAt: s.createdAt, userAgent: s.userAgent, from: s.ipAddress },
      after: { sessionsEnded: 1 },
    })
    return { sessionsEnded: 1 }
  })
}

/**
 * Ends a user's sessions but `keep` (the caller's own, when they end their other ones): signing out
 * everywhere else, or an admin signing a user out. Audited even when none was left to end: the
 * request is what the log answers for ("did anyone sign them out?").
 */
export async function endUserSessions(db: Db, actor: Actor, userId: string, keep: string | null) {
  return db.prisma.$transaction(async (tx) => {
    if (!(await tx.user.findUnique({ where: { id: userId }, select: { id: true } })))
      throw new NotFoundError('no such user')
    const where = { userId, ...(keep ? { id: { not: keep } } : {}) }
    const live = await tx.session.count({ where: { ...where, expiresAt: { gt: new Date() } } })
    const ended = await tx.session.deleteMany({ where })
    await audit(tx, actor, {
      action: 'user.sessions.end',
      targetType: 'user',
      targetId: userId,
      before: { liveSessions: live },
      after: { sessionsEnded: ended.count, keptCurrent: !!keep },
    })
    return { sessionsEnded: ended.count }
  })
}
