// Roles are ordered: each one can do what the ones before it can.
import { z } from 'zod'

export const ROLES = ['viewer', 'expert', 'admin'] as const
export const Role = z.enum(ROLES)
export type Role = z.infer<typeof Role>

export function roleAtLeast(role: string | null | undefined, needed: Role): boolean {
  const have = ROLES.indexOf(role as Role)
  return have >= 0 && have >= ROLES.indexOf(needed)
}

/** Who did something: a signed-in user, a token's owner, or the system itself. */
export interface Actor {
  id: string | null
  label: string
  role: Role
  via: 'session' | 'token' | 'system'
}

export const SYSTEM_ACTOR: Actor = { id: null, label: 'system', role: 'admin', via: 'system' }
