// The hint form's expiry, checked where it is typed: the same bounds the API keeps, in words.
import { duration } from './format.ts'
import { decimalNumber } from './run-form.ts'

export const HINT_MAX_EVALS = 10_000_000
export const HINT_MIN_MINUTES = 0.1
export const HINT_MAX_MINUTES = 30 * 24 * 60

export type HintExpiry = { expiresAfterEvals: number | null; expiresInMinutes: number | null } | { error: string }

/** What a hint's "active until" fields ask for, or why they cannot be sent. */
export function hintExpiry(kind: 'none' | 'evals' | 'minutes', amount: string): HintExpiry {
  if (kind === 'none') return { expiresAfterEvals: null, expiresInMinutes: null }
  const n = decimalNumber(amount)
  if (kind === 'evals')
    return n === null || !Number.isInteger(n) || n < 1 || n > HINT_MAX_EVALS
      ? { error: `a whole number of evaluations, 1 to ${HINT_MAX_EVALS.toLocaleString('en-US')}` }
      : { expiresAfterEvals: n, expiresInMinutes: null }
  return n === null || n < HINT_MIN_MINUTES || n > HINT_MAX_MINUTES
    ? { error: `minutes: ${HINT_MIN_MINUTES} to ${HINT_MAX_MINUTES.toLocaleString('en-US')} (30 days)` }
    : { expiresAfterEvals: null, expiresInMinutes: n }
}

/**
 * How long a hint that lasts N evaluations stays active at the run's current rate, in words, or null
 * where that says nothing (no rate yet, a time-bound expiry): 100 evaluations are minutes with a model
 * answering in seconds, and a second on a run of an instant model or offline operators.
 */
export function evalsExpiryEstimate(until: HintExpiry, evalsPerSec: number | null | undefined): string | null {
  if ('error' in until || until.expiresAfterEvals === null) return null
  if (!evalsPerSec || !Number.isFinite(evalsPerSec) || evalsPerSec <= 0) return null
  return `≈ ${duration(until.expiresAfterEvals / evalsPerSec)} at the run's current ${evalsPerSec >= 10 ? Math.round(evalsPerSec) : evalsPerSec.toPrecision(2)} evaluations/s`
}
