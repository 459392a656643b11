// API tokens for the CLI and remote workers: random, shown once, stored as SHA-256 only,
// scoped, revocable. A token acts with its owner's role (a worker token only for worker routes).
import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../db.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { audit } from './audit.ts'
import { ConflictError } from '../errors.ts'

export const TOKEN_SCOPES = ['cli', 'worker'] as const
export type TokenScope = (typeof TOKEN_SCOPES)[number]

const PREFIX = 'fma_'
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

export async function createToken(
  db: Db,
  actor: Actor,
  input: { userId: string; name: string; scope: TokenScope; expiresAt?: Date },
) {
  // two live tokens of one name could not be told apart in the list, nor the right one revoked
  const same = await db.prisma.apiToken.findFirst({
    where: {
      userId: input.userId,
      name: input.name,
      revokedAt: null,
      OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }],
    },
    select: { prefix: true },
  })
  if (same)
    throw new ConflictError(
      `a token named "${input.name}" is already in use (${same.prefix}…): give this one another name, or revoke that one first`,
    )
  const token = PREFIX + randomBytes(24).toString('base64url')
  const row = await db.prisma.apiToken.create({
    data: {
      name: input.name,
      scope: input.scope,
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
      userId: input.userId,
      expiresAt: input.expiresAt,
    },
    select: { id: true, name: true, scope: true, prefix: true, createdAt: true, expiresAt: true },
  })
  await audit(db.prisma, actor, {
    action: 'token.create',
    targetType: 'api-token',
    targetId: row.id,
    after: { name: row.name, scope: row.scope, userId: input.userId },
  })
  return { token, ...row }
}

export async function resolveToken(
  db: Db,
  token: string,
): Promise<(Actor & { scope: TokenScope; mustChangePassword: boolean }) | null> {
  if (!token.startsWith(PREFIX) || token.length > 200) return null
  // every API call of the CLI and of remote workers comes through here: plain SQL, not a query the
  // ORM compiles anew each call. Timestamps are stored as UTC without a zone; compared in the database.
  const [row] = await db.sql<{
    id: string
    scope: string
    stale: boolean
    user_id: string
    email: string
    role: string
    must_change_password: boolean
  }>(
    `SELECT t.id, t.scope, (t.last_used_at IS NULL OR t.last_used_at < (now() AT TIME ZONE 'UTC') - interval '60 seconds') AS stale,
            u.id AS user_id, u.email, u.role, u.must_change_password
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT u.disabled
        AND (t.expires_at IS NULL OR t.expires_at > (now() AT TIME ZONE 'UTC'))`,
    [hashToken(token)],
  )
  if (!row) return null
  // touch at most once a minute
  if (row.stale) await db.sql(`UPDATE api_tokens SET last_used_at = (now() AT TIME ZONE 'UTC') WHERE id = $1`, [row.id])
  return {
    id: row.user_id,
    label: `${row.email} (token ${row.scope})`,
    role: row.role as Role,
    via: 'token',
    scope: row.scope as TokenScope,
    mustChangePassword: row.must_change_password,
  }
}

export async function revokeToken(db: Db, actor: Actor, id: string) {
  const revokedAt = new Date()
  // only a live token: revoking again would move its revocation time and audit a change never made
  return db.prisma.$transaction(async (tx) => {
    const { count } = await tx.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt } })
    const row = await tx.apiToken.findUniqueOrThrow({
      where: { id },
      select: { id: true, name: true, scope: true, revokedAt: true },
    })
    if (!count)
      throw new ConflictError(
        `this token was already revoked on ${row.revokedAt?.toISOString() ?? 'an earlier request'}: nothing to do`,
      )
    const token = { id: row.id, name: row.name, scope: row.scope }
    await audit(tx, actor, {
      action: 'token.revoke',
      targetType: 'api-token',
      targetId: id,
      before: { ...token, revokedAt: null },
      after: { ...token, revokedAt },
    })
    return token
  })
}

/**
 * Why a token that resolves to no one is refused, in words its script's author can act on (a new
 * token, not a sign-in), or null when it is not one (unknown, or its owner is disabled: a plain
 * "sign in first" tells a stranger nothing about the account).
 */
export async function tokenRefusal(db: Db, token: string): Promise<string | null> {
  if (!token.startsWith(PREFIX) || token.length > 200) return null
  // timestamps are stored as UTC without a zone: worded in the database, not by the driver's local time
  const [row] = await db.sql<{ revoked: boolean; expired: boolean; expires_on: string | null; disabled: boolean }>(
    `SELECT t.revoked_at IS NOT NULL AS revoked,
            (t.expires_at IS NOT NULL AND t.expires_at <= (now() AT TIME ZONE 'UTC')) AS expired,
            to_char(t.expires_at, 'YYYY-MM-DD HH24:MI') AS expires_on, u.disabled
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1`,
    [hashToken(token)],
  )
  if (!row || row.disabled) return null
  if (row.revoked) return 'this token was revoked: create a new one (Settings → Tokens) and use it instead'
  if (row.expired)
    return `this token expired on ${row.expires_on} UTC: create a new one (Settings → Tokens) and use it instead`
  return null
}

export async function listTokens(db: Db, userId?: string) {
  return db.prisma.apiToken.findMany({
    where: userId ? { userId } : undefined,
    select: {
      id: true,
      name: true,
      scope: true,
      prefix: true,
      createdAt: true,
      lastUsedAt: true,
      expiresAt: true,
      revokedAt: true,
      user: { select: { email: true } },
    },
    orderBy: { createdAt: 'desc' },
  })
}
