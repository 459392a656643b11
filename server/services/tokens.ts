// API tokens for the CLI and remote workers: random, shown once, stored as SHA-256 only,
// scoped, revocable. A token acts with its owner's role (a worker token only for worker routes).
import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../db.ts'
import type { Actor, Role } from '../auth/roles.ts'
import { audit } from './audit.ts'

export const TOKEN_SCOPES = ['cli', 'worker'] as const
export type TokenScope = (typeof TOKEN_SCOPES)[number]

const PREFIX = 'fma_'
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

export async function createToken(
  db: Db,
  actor: Actor,
  input: { userId: string; name: string; scope: TokenScope; expiresAt?: Date },
) {
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
  const row = await db.prisma.apiToken.findUnique({
    where: { tokenHash: hashToken(token) },
    select: {
      id: true,
      scope: true,
      revokedAt: true,
      expiresAt: true,
      lastUsedAt: true,
      user: { select: { id: true, email: true, role: true, disabled: true, mustChangePassword: true } },
    },
  })
  if (!row || row.revokedAt || row.user.disabled || (row.expiresAt && row.expiresAt < new Date())) return null
  // touch at most once a minute: this runs on every API call
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
  }
  return {
    id: row.user.id,
    label: `${row.user.email} (token ${row.scope})`,
    role: row.user.role as Role,
    via: 'token',
    scope: row.scope as TokenScope,
    mustChangePassword: row.user.mustChangePassword,
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
