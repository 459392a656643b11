// A program a run already has, as an expert's edit would repeat it: refused when the edit is sent
// (interventions.ts) and again when the engine applies it (knobs.ts), where two sent at once meet.
import type { Db } from '../db.ts'

/** Why the program whose hash this is would be nothing new for the run, or null when it is new. */
export async function twinReason(db: Db, runId: string, codeHash: string, parentId: string): Promise<string | null> {
  const [twin] = await db.sql<{ id: string; origin: string; label: string | null }>(
    `SELECT c.id, c.origin, u.email AS label FROM candidates c LEFT JOIN users u ON u.id = c.created_by_id
     WHERE c.run_id = $1 AND c.code_hash = $2 ORDER BY c.seq LIMIT 1`,
    [runId, codeHash],
  )
  if (!twin) return null
  const what =
    twin.id === parentId
      ? 'the edit changes nothing in its parent'
      : twin.origin === 'expert-edit'
        ? `an expert edit${twin.label ? ` by ${twin.label}` : ''}`
        : twin.origin
  return `this program is already candidate ${twin.id.slice(0, 8)} of this run (${what}, same code up to comments and spacing): nothing new to evaluate`
}
