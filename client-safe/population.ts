// A candidate's place in the island populations, in words: live from the engine that drives the
// run, or from the engine's last save where none does here (an ended run, another process). Pure.
import { oneLine } from './candidate-outcome.ts'
import { FINAL_STATUSES, type RunStatus } from './run-config.ts'

export interface PopulationFacts {
  /** islands holding it; null when neither the engine nor a save says */
  population: number[] | null
  /** when the population shown was saved (ISO); null when it is the live engine's */
  populationSavedAt: string | null
  /** why it is not live here (the run ended, another process drives it) */
  populationUnknown: string | null
  banned: boolean
  status: string
  runStatus: string
  /** why it was rejected before evaluation, where it was */
  rejectReason?: string | null
}

export function populationWords(c: PopulationFacts, time: (iso: string) => string): { value: string; note: string } {
  // settled for good, whatever the engine holds or saved: it can never be evaluated, so never a member
  if (c.status === 'rejected')
    return {
      value: 'never a member',
      note: `rejected before evaluation: ${oneLine(c.rejectReason?.trim() || 'no reason was recorded', 120)}`,
    }
  if (c.population === null)
    return {
      value: 'unknown',
      note: `${c.populationUnknown ?? 'no engine drives the run here'}: the engine had saved no populations`,
    }
  const value = c.population.length
    ? `in island ${c.population.join(', ')}`
    : c.status === 'evaluated' || c.banned
      ? 'not a member'
      : 'not evaluated'
  const why = c.population.length
    ? 'eligible as a parent'
    : c.banned
      ? 'banned'
      : c.status === 'evaluated'
        ? 'evicted or never admitted'
        : 'not evaluated yet'
  if (c.populationSavedAt === null) return { value, note: why }
  const ended = (FINAL_STATUSES as string[]).includes(c.runStatus as RunStatus)
  const when = ended ? `when the run ${c.runStatus}` : `at the engine's last save, ${time(c.populationSavedAt)}`
  // an ended run evaluates nothing more: "yet" would promise an evaluation that is not coming
  const was = c.population.length
    ? 'was eligible as a parent'
    : ended && why === 'not evaluated yet'
      ? 'not evaluated'
      : why
  return { value, note: `${was} ${when}` }
}

/**
 * The Islands table's count of the programs an island holds, and the words that say what it counts. Not
 * "population": it includes failed programs not yet evicted and copies migrated in from other islands, so
 * read as competing programs it overstates them (150 evaluations, 89 valid, showed 155 over four islands).
 */
export const ISLAND_MEMBERS = {
  heading: 'members',
  title:
    'programs the island holds now: valid ones, failed ones not yet evicted and copies migrated in from other islands (the islands together can hold more than the run evaluated); median and best count the valid ones only',
} as const
