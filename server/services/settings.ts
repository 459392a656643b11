import { randomBytes } from 'node:crypto'
import type { Db, Prisma } from '../db.ts'

export async function getSetting<T>(db: Db, key: string): Promise<T | null> {
  const row = await db.prisma.setting.findUnique({ where: { key } })
  return row ? (row.value as T) : null
}

export async function putSetting(db: Db, key: string, value: unknown) {
  const v = JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue
  await db.prisma.setting.upsert({ where: { key }, create: { key, value: v }, update: { value: v } })
}

/** A random secret created once and shared by every web process of this database. */
export async function ensureSecret(db: Db, key: string): Promise<string> {
  const existing = await getSetting<string>(db, key)
  if (existing) return existing
  const secret = randomBytes(32).toString('base64url')
  // two processes starting at once: the first insert wins, both read it back
  await db.prisma.setting.createMany({ data: [{ key, value: secret }], skipDuplicates: true })
  return (await getSetting<string>(db, key))!
}
