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
  const row = await db.prisma.apiToken.update({
    where: { id },
    data: { revokedAt },
    select: { id: true, name: true, scope: true },
  })
  await audit(db.prisma, actor, {
    action: 'token.revoke',
    targetType: 'api-token',
    targetId: id,
    before: { ...row, revokedAt: null },
    after: { ...row, revokedAt },
  })
  return row
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
