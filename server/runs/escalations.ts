// Escalations that act: when a stalled island escalates (stagnation level 2: migrate-in, level 3:
// restart-from-elites), or an expert asks from the console (command `island.escalate`), the engine
// plans the change (engine/escalations.ts), records it (a run event `escalation` holding the plan,
// the feed's line with its outcome, and an audit entry), then applies it to the populations. A
// resumed run replays the recorded plans in order (state.ts), so it rebuilds the same islands.
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db, Prisma } from '../db.ts'
import { planMigrateIn, planRestart, type EscalationAction, type EscalationPlan } from '../engine/escalations.ts'
import type { EventBus } from '../events.ts'
import { audit } from '../services/audit.ts'
import type { RunState } from './state.ts'

export interface EscalationOutcome {
  island: number
  action: EscalationAction
  trigger: 'stagnation' | 'expert'
  /** the island's evaluation count it was applied at (the replay's clock) */
  atEval: number
  status: 'done' | 'skipped'
  /** members that joined the island, and members removed from it */
  joined: number
  removedCount: number
  reason?: string
  /** the plan, for the replay */
  removed: string[]
  moves: EscalationPlan['moves']
}

/** The plan for an island now (pure with respect to the state). */
export function planEscalation(s: RunState, island: number, action: EscalationAction): EscalationPlan {
  const islands = s.evo.islands
  if (action === 'migrate-in') return planMigrateIn(islands, island, { direction: s.direction, perIsland: 2 })
  // as many elites as a quarter of the island's room, at least 2 and at most the archive
  const size = Math.max(2, Math.ceil(s.config.populationPerIsland / 4))
  return planRestart(islands, island, s.evo.archive.list(), { size })
}

const lastSkips = new WeakMap<RunState, Map<number, string>>()

export async function escalate(
  d: { db: Db; events: EventBus; state: RunState; progress: (msg: string) => void },
  input: {
    island: number
    action: EscalationAction
    trigger: 'stagnation' | 'expert'
    actor?: string | null
    commandId?: string
  },
): Promise<EscalationOutcome> {
  const s = d.state
  const plan = planEscalation(s, input.island, input.action)
  const atEval = s.evo.evaluations
  const skipped = plan.moves.length === 0
  const joined = skipped ? 0 : s.evo.applyEscalation(plan)
  for (const m of plan.moves) if (!s.code.has(m.id)) await s.codeOf(m.id)
  const outcome: EscalationOutcome = {
    island: input.island,
    action: input.action,
    trigger: input.trigger,
    atEval,
    status: skipped ? 'skipped' : 'done',
    joined,
    removedCount: skipped ? 0 : plan.removed.length,
    ...(skipped
      ? {
          reason:
            input.action === 'migrate-in'
              ? 'no other island has a valid program this island lacks'
              : 'the elite archive holds nothing another island could give',
        }
      : {}),
    removed: skipped ? [] : plan.removed,
    moves: skipped ? [] : plan.moves,
  }
  // a stalled island escalates again every window: the same automatic skip is said once, not each time
  const said = lastSkips.get(s) ?? new Map<number, string>()
  lastSkips.set(s, said)
  const key = `${input.action}: ${outcome.reason ?? ''}`
  if (skipped && input.trigger === 'stagnation' && said.get(input.island) === key) return outcome
  if (skipped) said.set(input.island, key)
  else said.delete(input.island)
  const payload = JSON.parse(
    JSON.stringify({ ...outcome, actor: input.actor ?? null, commandId: input.commandId ?? null }),
  ) as Prisma.InputJsonValue
  const row = await d.db.prisma.runEvent.create({
    data: { runId: s.runId, type: 'escalation', payload },
    select: { id: true },
  })
  d.events.publish({
    id: String(row.id),
    runId: s.runId,
    type: 'escalation',
    payload: outcome as unknown as Record<string, unknown>,
  })
  // an expert's request is audited where it was made (console/interventions.ts); the engine's own here
  if (input.trigger === 'stagnation') {
    await audit(d.db.prisma, SYSTEM_ACTOR, {
      action: `island.${input.action}`,
      targetType: 'island',
      targetId: String(input.island),
      runId: s.runId,
      after: { trigger: input.trigger, status: outcome.status, joined, removed: outcome.removedCount, atEval },
    })
  }
  d.progress(
    skipped
      ? `island ${input.island}: ${input.action} skipped (${outcome.reason})`
      : `island ${input.island}: ${input.action}: ${joined} member(s) in${outcome.removedCount ? `, ${outcome.removedCount} out` : ''}`,
  )
  return outcome
}
