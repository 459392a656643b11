'use client'
// An intervention's state as the console shows it: pending until the engine that drives the run
// acknowledges it, then applied (by which engine) or refused (with the engine's reason); stored when
// no engine drives the run. The acknowledgement arrives in the run's live event log.
import { useMemo } from 'react'
import type { CommandOutcome } from '../server/runs/commands.ts'
import { useRunLive } from './run-live.tsx'

/** the outcome as the live event log says it now (the acknowledgement supersedes the first answer) */
export function useCommandState(initial: CommandOutcome | null | undefined): CommandOutcome | null {
  const L = useRunLive()
  return useMemo(() => {
    if (!initial) return null
    if (initial.status !== 'pending') return initial
    const ack = L.live.events.find(
      (e) => e.type === 'command' && String((e.payload as { id?: unknown }).id) === initial.id,
    )
    return ack ? (ack.payload as unknown as CommandOutcome) : initial
  }, [initial, L.live.events])
}

export function CommandNote({ outcome }: { outcome: CommandOutcome | null | undefined }) {
  const c = useCommandState(outcome)
  if (!c) return null
  const reason = c.result && typeof c.result.reason === 'string' ? c.result.reason : null
  const note = c.result && typeof c.result.note === 'string' ? c.result.note : null
  return (
    <span className="small" data-testid="command-status" data-status={c.status} data-command={c.id}>
      {c.status === 'pending' && (
        <span className="badge warn">pending: waiting for the engine that drives the run</span>
      )}
      {c.status === 'applied' && (
        <span className="badge good" title={c.appliedBy ?? undefined}>
          applied{c.appliedBy ? ` by ${c.appliedBy}` : ''}
        </span>
      )}
      {c.status === 'refused' && <span className="badge bad">refused: {reason ?? 'the engine refused it'}</span>}
      {c.status === 'stored' && <span className="badge info">stored: {note ?? 'applies when the run resumes'}</span>}
    </span>
  )
}
