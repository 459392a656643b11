import type { Db } from '../db.ts'
import type { Prisma } from '../db.ts'
import type { Actor } from '../auth/roles.ts'

export interface AuditEntry {
  action: string
  targetType: string
  targetId?: string | null
  runId?: string | null
  before?: unknown
  after?: unknown
}

type Client = Pick<Db['prisma'], 'auditEvent'>

const json = (v: unknown) => (v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue))

/** Every intervention leaves an event with its author, time, and the state before and after. */
export async function audit(prisma: Client, actor: Actor, e: AuditEntry) {
  await prisma.auditEvent.create({
    data: {
      actorId: actor.id,
      actorLabel: actor.label,
      action: e.action,
      targetType: e.targetType,
      targetId: e.targetId ?? null,
      runId: e.runId ?? null,
      before: json(e.before),
      after: json(e.after),
    },
  })
}
