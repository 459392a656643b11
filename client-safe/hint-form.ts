// The hint form's expiry, checked where it is typed: the same bounds the API keeps, in words.
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
