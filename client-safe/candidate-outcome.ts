// What became of a candidate, in the words the candidate page and `fm-agent candidate` share. An
// evaluator says why a result is invalid in its artifacts (`feedback`), not in an error, and a
// candidate rejected before evaluation may have no program at all: both readers must say so rather
// than "no reason given" or a diff that deletes the parent. Pure.

export interface OutcomeFacts {
  status: string
  valid: boolean | null
  error: { kind?: string; message?: string } | null
  artifacts: Record<string, unknown> | null
  rejectReason: string | null
}

/** The evaluator's own words on the result, where it gave any. */
export function evaluatorFeedback(c: Pick<OutcomeFacts, 'artifacts'>): string | null {
  const f = c.artifacts?.feedback
  return typeof f === 'string' && f.trim() ? f : null
}

/**
 * Why it has no score: the rejection's reason, or an invalid result's error or evaluator feedback.
 * null while it has one, or may still get one.
 */
export function failureReason(c: OutcomeFacts): string | null {
  if (c.status === 'rejected') return c.rejectReason?.trim() || 'no reason was recorded'
  if (c.status !== 'evaluated' || c.valid) return null
  const message = c.error?.message?.trim()
  // "invalid" as a kind would only repeat the word the reader already sees
  if (message) return c.error?.kind && c.error.kind !== 'invalid' ? `${c.error.kind}: ${message}` : message
  return evaluatorFeedback(c) ?? (c.rejectReason?.trim() || 'the evaluator gave no reason (see its artifacts)')
}

/** The first line of a reason, bounded: for a one-line place (a tile, a summary line). */
export function oneLine(text: string, max = 160): string {
  const line = text.split('\n').find((l) => l.trim()) ?? ''
  const cut = line.trim()
  const more = cut.length > max || text.trim() !== cut
  return more ? `${cut.slice(0, max).trimEnd()} …` : cut
}

export type CodeView = { show: 'diff' } | { show: 'code' } | { show: 'none'; words: string }

/**
 * What the code panel (or `--diff`, `--code`) can show. A candidate with no program has nothing to
 * diff: against its parent's code an empty one reads as "deletes everything", which it never did.
 */
export function codeView(
  c: { status: string; code: string },
  parentCode: string | null,
  asked: 'diff' | 'code',
): CodeView {
  if (!c.code)
    return {
      show: 'none',
      words:
        c.status === 'rejected'
          ? 'No program was made: it was rejected before evaluation.'
          : 'No code was kept for this candidate.',
    }
  return asked === 'diff' && parentCode ? { show: 'diff' } : { show: 'code' }
}
